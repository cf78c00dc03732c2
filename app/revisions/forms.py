"""The edit form: the new-trace form plus the loaded version, a comment and (moderators) tags."""

from __future__ import annotations

from typing import Any

import orjson
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from geoalchemy2.shape import to_shape
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.errors import ValidationFailed
from app.models import Trace
from app.revisions.operations import COMMENT_MAX, MAX_TAGS, TAG_MAX
from app.traces.forms import TraceForm
from app.traces.messages import geometry_message
from geo.crs import parse_typed
from geo.errors import GeometryError
from geo.geojson import geometry_to_geojson


class EditTraceForm(TraceForm):
    """Everything a new trace has, plus the version it was loaded at and why it changed."""

    # No validator: a missing or garbled version is a conflict (reload), not a field error.
    version = HiddenField()
    comment = TextAreaField(
        _l("What did you change, and why?"),
        validators=[Optional(), Length(max=COMMENT_MAX)],
        description=_l("Shown in the trace's history, for example “Added the source”."),
    )
    # Removed from the form (del form.tags) for everyone who may not moderate the trace.
    tags = StringField(
        _l("Tags"),
        validators=[Optional(), Length(max=MAX_TAGS * (TAG_MAX + 2))],
        description=_l(
            "Free words separated by commas, such as “needs a visit, reindeer fence”. "
            "Stored in lower case."
        ),
    )


def initial_data(trace: Trace) -> dict[str, Any]:
    """The form's values for a trace as it is now; the map shows the stored shape."""
    geometry = geometry_to_geojson(to_shape(trace.geom))
    return {
        "project": trace.project.slug,
        "title": trace.title,
        "description": trace.description,
        "trace_type": trace.trace_type.code if trace.trace_type else "",
        "period": trace.period.code if trace.period else "",
        "condition": trace.condition.code if trace.condition else "",
        "dating_method": trace.dating_method.code if trace.dating_method else "",
        "sources": trace.sources,
        "licence": trace.licence,
        "geometry": orjson.dumps(geometry).decode(),
        "version": str(trace.version),
        "tags": ", ".join(trace.tags or []),
    }


def submitted_fields(form: EditTraceForm, trace: Trace) -> dict[str, Any]:
    """The allow-listed fields for clean_submission; the project is always the trace's own."""
    return {**form.submitted_fields(), "project": trace.project.slug}


def uses_typed_coordinates(form: EditTraceForm) -> bool:
    """Typed coordinates replace the place; otherwise the (prefilled) drawn shape counts."""
    return bool((form.coordinates.data or "").strip())


def submitted_geometry(form: EditTraceForm) -> Any:
    """The typed coordinates as GeoJSON if any, else the drawn shape from the hidden field.

    Typed coordinates win because the hidden field always holds the current shape: without
    this, someone who cannot use the map could never move a trace.
    """
    if uses_typed_coordinates(form):
        try:
            typed = form.coordinates.data or ""
            return parse_typed(typed, form.coord_system.data or "", form.coord_shape.data or "")
        except GeometryError as error:
            raise ValidationFailed({"coordinates": [geometry_message(error)]}) from None
    drawn = (form.geometry.data or "").strip()
    if not drawn:
        return None
    try:
        return orjson.loads(drawn)
    except orjson.JSONDecodeError:
        raise ValidationFailed(
            {"geometry": [gettext("The drawn shape could not be read; draw it again.")]}
        ) from None


def expected_version(raw: str | None) -> int | None:
    """The version number the form was loaded at, or None when it is missing or garbled."""
    try:
        value = int((raw or "").strip())
    except ValueError:
        return None
    return value if value > 0 else None


def split_tags(raw: str | None) -> list[str]:
    """The comma-separated tags as typed; normalise_tags cleans them."""
    return (raw or "").split(",")


def show_errors(form: FlaskForm, errors: dict[str, list[str]], typed: bool) -> None:
    """Attach an operation's field errors to the form's fields, for the page to show."""
    for name, messages in errors.items():
        if name == "geometry" and typed:
            name = "coordinates"
        target = getattr(form, name, None)
        if target is None:  # every name clean_submission and normalise_tags use is a field
            continue
        target.errors = list(target.errors or []) + messages
