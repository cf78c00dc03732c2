"""The form for a new trace: drawn on the map or typed as coordinates."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from app.models import Project, Scheme, Term
from app.traces.validation import DESCRIPTION_MAX, LICENCES, SOURCES_MAX, TITLE_MAX
from geo.crs import SYSTEMS


class TraceForm(FlaskForm):
    """Where, what and when; the server validates everything again in clean_submission."""

    # Empty: the place chooses (app/traces/placement.py); the page preselects it as you draw.
    project = SelectField(_l("Project"), validators=[Optional()])
    title = StringField(
        _l("Title"),
        validators=[DataRequired(), Length(max=TITLE_MAX)],
        description=_l("A short name, such as “Hunting pit by Storvatnet”."),
    )
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=DESCRIPTION_MAX)],
        description=_l(
            "What is there, what it looks like, what you know about it. "
            "Markdown: *italic*, **bold**, lists and links."
        ),
    )
    trace_type = SelectField(_l("Type of trace"), validators=[Optional()])
    period = SelectField(_l("Period"), validators=[Optional()])
    condition = SelectField(_l("Condition"), validators=[Optional()])
    dating_method = SelectField(_l("How is it dated?"), validators=[Optional()])
    sources = TextAreaField(
        _l("Sources"),
        validators=[Optional(), Length(max=SOURCES_MAX)],
        description=_l("Who told you, books, maps or archives, one per line."),
    )
    licence = SelectField(
        _l("Licence"),
        choices=[
            SelectChoice("CC-BY-4.0", _l("CC BY 4.0: others may reuse it and name the source")),
            SelectChoice("CC0-1.0", _l("CC0: free for anyone, no conditions")),
        ],
        default=LICENCES[0],
    )
    geometry = HiddenField()
    # Shown only when the place is outside the chosen project's area (app/traces/placement.py).
    confirm_outside_area = BooleanField()
    coord_system = SelectField(
        _l("Coordinate system"),
        choices=[
            SelectChoice("wgs84", _l("Latitude, longitude (WGS84 degrees)")),
            *(
                SelectChoice(code, _l("%(system)s (easting, northing)", system=SYSTEMS[code][1]))
                for code in ("utm32", "utm33", "utm35")
            ),
        ],
        default="wgs84",
    )
    coord_shape = RadioField(
        _l("Shape"),
        choices=[
            SelectChoice("point", _l("Point")),
            SelectChoice("line", _l("Line")),
            SelectChoice("polygon", _l("Area")),
        ],
        default="point",
    )
    coordinates = TextAreaField(
        _l("Coordinates"),
        validators=[Optional(), Length(max=200_000)],
        description=_l(
            "One position per line, for example 69.9689, 23.2715. "
            "For a line or an area, type each corner on its own line."
        ),
    )

    def fill_choices(
        self, projects: list[Project], terms: dict[Scheme, list[Term]], locale: str
    ) -> None:
        """Offer the open projects and the active vocabulary terms, labelled in `locale`."""
        self.project.choices = [SelectChoice("", _l("Chosen from the place on the map"))] + [
            SelectChoice(p.slug, p.name) for p in projects
        ]
        empty = [SelectChoice("", _l("Not known / choose later"))]
        for field, scheme in (
            (self.trace_type, Scheme.TRACE_TYPE),
            (self.period, Scheme.PERIOD),
            (self.condition, Scheme.CONDITION),
            (self.dating_method, Scheme.DATING_METHOD),
        ):
            field.choices = empty + [SelectChoice(t.code, t.label(locale)) for t in terms[scheme]]

    def join_form(self, form_id: str) -> None:
        """Let the place fields, written outside the <form> element, belong to form_id.

        The new-trace page keeps the map outside the form so that the map's search box, a form
        of its own, is never nested in it (HTML has no nested forms).
        """
        for field in (self.geometry, self.coord_system, self.coordinates, self.project):
            field.render_kw = {**(field.render_kw or {}), "form": form_id}

    def submitted_fields(self) -> dict[str, Any]:
        """The allow-listed fields clean_submission reads (nothing else is ever written)."""
        return {
            "project": self.project.data,
            "title": self.title.data,
            "description": self.description.data,
            "trace_type": self.trace_type.data,
            "period": self.period.data,
            "condition": self.condition.data,
            "dating_method": self.dating_method.data,
            "sources": self.sources.data,
            "licence": self.licence.data,
            "confirm_outside_area": bool(self.confirm_outside_area.data),
        }
