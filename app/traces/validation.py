"""One cleaning step for trace submissions from the web form and the JSON API alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from app.db import db
from app.models import Project, Scheme, Term

# flag (a checkbox or a JSON boolean) is defined in informants, which cannot import this module.
from app.traces.informants import Informant, clean_informant, flag
from app.traces.messages import geometry_message
from app.validation import FieldErrors, clean_line, clean_text
from geo.errors import GeometryError
from geo.geometry import parse_geometry

TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
SOURCES_MAX = 5_000
LICENCES = ("CC-BY-4.0", "CC0-1.0")
TERM_FIELDS = {
    "trace_type": Scheme.TRACE_TYPE,
    "period": Scheme.PERIOD,
    "condition": Scheme.CONDITION,
    "dating_method": Scheme.DATING_METHOD,
}


@dataclass
class Submission:
    """A checked submission, ready for submit_trace."""

    project: Project | None  # None: the place chooses it (app/traces/placement.py)
    title: str
    description: str
    sources: str
    licence: str
    geometry: BaseGeometry
    terms: dict[str, Term | None]
    confirm_outside_area: bool = False
    # Assisted registration: who told it (app/traces/informants.py); None for one's own trace.
    informant: Informant | None = None


def clean_submission(
    raw: dict[str, Any], geometry: Any, project: Project | None = None
) -> Submission:
    """Check every field at once and raise ValidationFailed naming each bad field and why.

    A given `project` (an edit keeps the trace's own, open or closed) skips the project field.
    No project at all leaves the choice to the place (placement.place, in submit_trace).
    """
    errors = FieldErrors()
    title = clean_line(raw.get("title"), field="title", errors=errors, required=True,
                       max_len=TITLE_MAX)  # fmt: skip
    description = clean_text(raw.get("description"), field="description", errors=errors,
                             max_len=DESCRIPTION_MAX)  # fmt: skip
    sources = clean_text(raw.get("sources"), field="sources", errors=errors, max_len=SOURCES_MAX)

    project = project or _project(raw.get("project"), errors)
    # Without a project yet, "" lets submit_trace take the placed project's default licence.
    licence = raw.get("licence") or (project.default_licence if project else "")
    if licence and licence not in LICENCES:
        errors.add("licence", gettext("Choose one of: %(choices)s.", choices=", ".join(LICENCES)))

    terms: dict[str, Term | None] = {}
    for field, scheme in TERM_FIELDS.items():
        terms[field] = _term(field, scheme, raw.get(field), errors)

    shape: BaseGeometry | None = None
    if geometry in (None, "", {}):
        errors.add("geometry", gettext("Mark the place on the map, or type its coordinates."))
    else:
        try:
            shape = parse_geometry(geometry, current_app.config["MAX_VERTICES"])
        except GeometryError as error:
            errors.add("geometry", geometry_message(error))

    informant = clean_informant(raw.get("informant"), errors)

    errors.raise_if_any()
    assert shape is not None
    confirmed = flag(raw.get("confirm_outside_area"))
    return Submission(
        project, title, description, sources, licence, shape, terms, confirmed, informant
    )


def _project(slug: Any, errors: FieldErrors) -> Project | None:
    if not slug:
        return None  # never "the first open project": the place decides (placement.place)
    if not isinstance(slug, str) or "\x00" in slug:
        errors.add("project", gettext("Choose a project from the list."))
        return None
    project = db.session.execute(
        select(Project).where(Project.is_open.is_(True), Project.slug == slug)
    ).scalar_one_or_none()
    if project is None:
        errors.add(
            "project", gettext("This project does not exist or is closed for contributions.")
        )
    return project


def _term(field: str, scheme: Scheme, code: Any, errors: FieldErrors) -> Term | None:
    if code in (None, ""):
        return None
    term = None
    if isinstance(code, str) and "\x00" not in code:  # PostgreSQL text cannot hold NUL
        term = db.session.execute(
            select(Term).where(Term.scheme == scheme, Term.code == code, Term.is_active.is_(True))
        ).scalar_one_or_none()
    if term is None:
        errors.add(
            field, gettext("Unknown value %(code)s; choose one from the list.", code=str(code)[:64])
        )
    return term
