"""What a form or the API says about one photo: caption, credit, licence and date taken."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import gettext

from app.traces.validation import LICENCES
from app.validation import FieldErrors, clean_line

CAPTION_MAX = 300
CREDIT_MAX = 200
# The first photograph was taken in 1826; an earlier date is a typing error.
EARLIEST_TAKEN = date(1826, 1, 1)


def latest_date() -> date:
    """The latest calendar date anywhere on Earth now (a date taken may not come after it)."""
    return (datetime.now(UTC) + timedelta(hours=14)).date()


def clean_taken_on(raw: Any, field: str, errors: FieldErrors) -> date | None:
    """A date taken (YYYY-MM-DD, not in the future), or None when empty."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if not isinstance(raw, str):
        errors.add(field, gettext("Write the date taken as YYYY-MM-DD."))
        return None
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        errors.add(field, gettext("Write the date taken as YYYY-MM-DD."))
        return None
    if value > latest_date():
        errors.add(field, gettext("The date taken cannot be in the future."))
        return None
    if value < EARLIEST_TAKEN:
        errors.add(field, gettext("The date taken cannot be before 1826."))
        return None
    return value


def clean_licence(raw: Any, field: str, errors: FieldErrors) -> str:
    """A licence from the project's vocabulary, or "" for the trace's own."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str) or raw not in LICENCES:
        errors.add(field, gettext("Choose one of: %(choices)s.", choices=", ".join(LICENCES)))
        return ""
    return raw


def clean_details(raw: dict[str, Any], errors: FieldErrors, prefix: str = "") -> dict[str, Any]:
    """Caption, credit, licence and date taken from a form or an object, cleaned and checked.

    Problems are added under ``{prefix}{name}`` (the form's own field names when no prefix).
    """
    return {
        "caption": clean_line(
            raw.get("caption"), field=f"{prefix}caption", errors=errors, max_len=CAPTION_MAX
        ),
        "credit": clean_line(
            raw.get("credit"), field=f"{prefix}credit", errors=errors, max_len=CREDIT_MAX
        ),
        "licence": clean_licence(raw.get("licence"), f"{prefix}licence", errors),
        "taken_on": clean_taken_on(raw.get("taken_on"), f"{prefix}taken_on", errors),
    }
