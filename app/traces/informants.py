"""Assisted registration: a trace a librarian or curator records for a resident who told it.

The informant is the knowledge holder, the logged-in moderator the recorder (docs/domain.md,
"Provenance and informants"). The informant's name and year of birth leave the project's
moderators only with the informant's consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext

from app.errors import Forbidden
from app.validation import FieldErrors, clean_line

NAME_MAX = 120  # traces.informant_name
SOURCE_MAX = 200  # traces.knowledge_source
FIRST_BIRTH_YEAR = 1850  # the table's check allows 1850..2100; the form stops at this year


class InformantNotAllowed(Forbidden):
    """Only the project's moderators (librarians, curators in their area) record for others."""

    code = "informant_not_allowed"


@dataclass(frozen=True)
class Informant:
    """Who told the trace, as the recorder wrote it down."""

    name: str
    birth_year: int | None
    consent: bool
    knowledge_source: str | None


# The trace's columns an edit of the informant writes (app.traces.edit_operations): never
# recorded in a revision's snapshot, which the public history shows.
COLUMNS = ("informant_name", "informant_birth_year", "informant_consent", "knowledge_source")


def columns(informant: Informant | None) -> dict[str, Any]:
    """The informant columns' values for `informant`; None clears them all (no informant)."""
    if informant is None:
        return dict.fromkeys(COLUMNS) | {"informant_consent": False}
    return {
        "informant_name": informant.name,
        "informant_birth_year": informant.birth_year,
        "informant_consent": informant.consent,
        "knowledge_source": informant.knowledge_source,
    }


def change_summary(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What an edit did to the informant, for the audit log: never the name or year itself."""
    return {
        "informant_fields": [name for name in COLUMNS if before[name] != after[name]],
        "consent_withdrawn": bool(before["informant_consent"]) and not after["informant_consent"],
        "consent_given": not before["informant_consent"] and bool(after["informant_consent"]),
        "informant_removed": before["informant_name"] is not None
        and after["informant_name"] is None,
    }


def last_birth_year() -> int:
    """The latest year of birth accepted: this year."""
    return datetime.now(UTC).year


def not_allowed() -> InformantNotAllowed:
    """The refusal for someone who may not record for an informant in the chosen project."""
    return InformantNotAllowed(
        gettext(
            "Only the project's librarians and curators can register a trace for an "
            "informant; choose a project you moderate, or leave the informant out."
        )
    )


def clean_informant(raw: Any, errors: FieldErrors) -> Informant | None:
    """The informant object ({"name", "birth_year", "consent", "knowledge_source"}) checked.

    None or an object whose every value is empty means "no informant". Any given value makes
    the name required. Problems are added to `errors` as informant.<key>.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("informant", gettext("The informant must be an object, or null."))
        return None
    if not _given(raw):
        return None
    name = clean_line(raw.get("name"), field="informant.name", errors=errors, required=True,
                      max_len=NAME_MAX)  # fmt: skip
    source = clean_line(raw.get("knowledge_source"), field="informant.knowledge_source",
                        errors=errors, max_len=SOURCE_MAX)  # fmt: skip
    year = _birth_year(raw.get("birth_year"), errors)
    consent = raw.get("consent")
    if not (consent is None or isinstance(consent, (bool, str))):
        errors.add("informant.consent", gettext("Consent must be true or false."))
    if any(field.startswith("informant") for field in errors.errors):
        return None
    return Informant(name, year, flag(consent), source or None)


def _given(raw: dict[str, Any]) -> bool:
    """Whether any value is filled in (blanks and an unticked consent do not count)."""
    texts = (raw.get("name"), raw.get("birth_year"), raw.get("knowledge_source"))
    filled = any(not (v is None or (isinstance(v, str) and not v.strip())) for v in texts)
    consent = raw.get("consent")
    # A consent of another type (a number) counts, so that its error is reported.
    return filled or flag(consent) or not (consent is None or isinstance(consent, (bool, str)))


def flag(value: Any) -> bool:
    """A checkbox or JSON boolean: true, "y", "yes", "on", "1", "true"."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in {"y", "yes", "on", "1", "true"}


def _birth_year(raw: Any, errors: FieldErrors) -> int | None:
    """A year 1850..this year; the form sends text, the API an integer (or null)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    year: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        year = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        year = int(raw.strip())
    last = last_birth_year()
    if year is None or not FIRST_BIRTH_YEAR <= year <= last:
        errors.add(
            "informant.birth_year",
            gettext(
                "Write the year of birth with four digits, between %(first)s and %(last)s "
                "(for example 1948), or leave it empty.",
                first=FIRST_BIRTH_YEAR,
                last=last,
            ),
        )
        return None
    return year
