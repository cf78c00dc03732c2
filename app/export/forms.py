"""The export form: a GET form, choosing a download changes nothing.

parse_bbox and parse_since are shared with `flask export`, so the web and the command line
accept the same filters.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from app.bbox import bbox_message
from app.i18n import term_choice
from app.models import Project, Scheme, Term
from app.publication.features import ExportFilters
from app.timeparse import TimeError, parse_instant, time_message
from geo import bbox as geo_bbox
from geo.bbox import BBox, BBoxError

TERM_MAX = 64


def parse_bbox(text: str) -> BBox:
    """'W,S,E,N' in WGS84 degrees by geo.bbox's rules; ValueError with a message people can act on.

    The message is translated lazily: `flask export` renders it where a language is known.
    """
    try:
        return geo_bbox.parse_bbox(text)
    except BBoxError as error:
        raise ValueError(LazyString(bbox_message, error)) from None


def parse_since(text: str) -> datetime:
    """A date or a date-time (app.timeparse); without a zone it is taken as UTC."""
    try:
        return parse_instant(text, assume_utc=True)
    except TimeError as error:
        raise ValueError(LazyString(time_message, error, interval=False)) from None


def _checked(parse):  # noqa: ANN001, ANN202 - a parse_* function
    def check(form: FlaskForm, field: Field) -> None:
        if field.data and field.data.strip():
            try:
                parse(field.data)
            except ValueError as error:
                raise ValidationError(str(error)) from None

    return check


class ExportForm(FlaskForm):
    """What to download; read from the query string, so a download link is a plain URL."""

    class Meta:
        csrf = False  # a GET form: nothing changes

    format = RadioField(
        _l("Format"),
        choices=[
            SelectChoice("geojson", _l("GeoJSON (RFC 7946), for GIS tools and web maps")),
            SelectChoice(
                "csv", _l("CSV with WKT and longitude/latitude columns, for spreadsheets")
            ),
        ],
        default="geojson",
    )
    project = SelectField(_l("Project"), validators=[Optional()])
    trace_type = SelectField(_l("Type of trace"), validators=[Optional()], name="type")
    period = SelectField(_l("Period"), validators=[Optional()])
    term = StringField(
        _l("Term or tag"),
        validators=[Optional(), Length(max=TERM_MAX)],
        description=_l("A vocabulary code (any list) or a tag, for example kullgrop."),
    )
    bbox = StringField(
        _l("Bounding box"),
        validators=[Optional(), _checked(parse_bbox)],
        description=_l("West, south, east, north in degrees, for example 22.5,69.7,24,70.2."),
    )
    updated_since = StringField(
        _l("Changed since"),
        validators=[Optional(), _checked(parse_since)],
        description=_l("A date such as 2026-01-31, or a UTC time: only traces changed since then."),
    )

    def fill_choices(
        self, projects: list[Project], terms: dict[Scheme, list[Term]], locale: str
    ) -> None:
        """Offer every project and the vocabulary terms, labelled in `locale`."""
        self.project.choices = [SelectChoice("", _l("All projects"))] + [
            SelectChoice(p.slug, p.name) for p in projects
        ]
        for field, scheme in ((self.trace_type, Scheme.TRACE_TYPE), (self.period, Scheme.PERIOD)):
            field.choices = [SelectChoice("", _l("Any"))] + [
                term_choice(t, locale) for t in terms[scheme]
            ]

    def filters(self) -> ExportFilters:
        """The valid form as export filters."""
        bbox = (self.bbox.data or "").strip()
        since = (self.updated_since.data or "").strip()
        return ExportFilters(
            project_slug=self.project.data or None,
            bbox=parse_bbox(bbox) if bbox else None,
            trace_type=self.trace_type.data or None,
            period=self.period.data or None,
            term=(self.term.data or "").strip() or None,
            updated_since=parse_since(since) if since else None,
        )
