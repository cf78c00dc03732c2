"""The provenance properties of a published feature: who told a trace and who recorded it.

A trace registered for an informant (app/traces/informants.py) carries the informant's name,
year of birth and how the knowledge was passed on (free text that may name people) only with
their consent, and the recorder's display name only when the recorder shows it publicly.
Built in SQL, as members of the feature's json_build_object
(app.publication.features.feature_query), so the exports, the OGC API and the CSV carry the
same values.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case

from app.models import Trace


def provenance_members(recorder: Any) -> list[Any]:
    """Key/value arguments for json_build_object, `recorder` being the joined recorder."""
    # `recorder` is an aliased User outer-joined on Trace.recorder_id: a join, not a
    # correlated subquery, which PostgreSQL runs only in the leader (no parallel workers).
    consent = Trace.informant_consent.is_(True)
    return [
        "informant", case((consent, Trace.informant_name)),
        "informant_birth_year", case((consent, Trace.informant_birth_year)),
        "knowledge_source", case((consent, Trace.knowledge_source)),
        "recorded_by", case((recorder.show_name_publicly.is_(True), recorder.display_name)),
        "recorded_for_informant", Trace.informant_name.is_not(None),
    ]  # fmt: skip
