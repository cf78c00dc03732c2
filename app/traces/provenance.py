"""Who told a trace and who recorded it, as one viewer of its page may see it.

The informant's name, year of birth and how they came to know it (free text that may name
people: "told by my father Ola Hansen") are public only with their consent, the recorder's
name only with the recorder's show_name_publicly; the project's moderators see everything,
told that it is not public (docs/domain.md, "Provenance and informants").
"""

from __future__ import annotations

from dataclasses import dataclass

from app.access import can_moderate
from app.models import Trace, User


@dataclass(frozen=True)
class Provenance:
    """What the trace page says about the informant and the recorder."""

    informant: str | None  # None: "a local informant"
    birth_year: int | None
    knowledge_source: str | None
    recorder: str | None  # None: the recorder's name is not shown
    library: str
    staff: bool  # the viewer moderates the trace and sees what the public does not
    informant_hidden: bool  # staff only: the name is not public (no consent)
    recorder_hidden: bool  # staff only: the recorder's name is not public


def provenance_for(trace: Trace, viewer: User | None) -> Provenance | None:
    """The provenance line for this viewer; None for a trace nobody recorded for an informant."""
    if trace.informant_name is None:
        return None
    staff = can_moderate(viewer, trace)
    consent = trace.informant_consent
    recorder = trace.recorder
    recorder_public = recorder is not None and recorder.show_name_publicly
    shows_informant = consent or staff
    return Provenance(
        informant=trace.informant_name if shows_informant else None,
        birth_year=trace.informant_birth_year if shows_informant else None,
        knowledge_source=trace.knowledge_source if shows_informant else None,
        recorder=recorder.display_name if recorder and (recorder_public or staff) else None,
        library=trace.project.library_name,
        staff=staff,
        informant_hidden=staff and not consent,
        recorder_hidden=staff and recorder is not None and not recorder_public,
    )
