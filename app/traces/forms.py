"""The trace forms (new and edit), and reading what they sent: the place, drawn or typed.

One parser for the place and one way of putting an operation's errors on the fields serve
both forms; they differ only in which place wins when both are given (see typed_place).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from geoalchemy2.shape import to_shape
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

from app.errors import ValidationFailed
from app.i18n import term_choice
from app.models import Project, Scheme, Term, Trace
from app.traces import informants
from app.traces.edit_operations import COMMENT_MAX, MAX_TAGS, TAG_MAX
from app.traces.messages import geometry_message
from app.traces.validation import DESCRIPTION_MAX, LICENCES, SOURCES_MAX, TITLE_MAX
from geo.crs import SYSTEMS, parse_typed
from geo.errors import GeometryError
from geo.geojson import geometry_to_geojson


class PhotoListField(HiddenField):
    """The JSON list of staged photos to attach, written by the photos part of the form.

    Its own type (not "HiddenField") so that the error summary names it "Photos" and links to
    the photos section (id ``photos-section``) instead of the map. The input itself is written
    by templates/photos/_form_photos.html (name="photos").
    """


class SubmissionKeyField(HiddenField):
    """The browser's idempotency key (a UUID); its own type for the same reason as photos."""


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
    photos = PhotoListField(_l("Photos"), id="photos-section")
    # Written by the page's script; a resend with the same key gives the trace already made.
    submission_key = SubmissionKeyField(_l("Sending key"), id="submission_key")
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
            field.choices = empty + [term_choice(t, locale) for t in terms[scheme]]

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


class InformantFields:
    """Who told the trace (assisted registration): the new-trace and edit forms alike.

    Only a project's moderators get these fields; for everyone else the route removes them
    (remove_informant), so what they post in those names is never read. The values are
    checked in one place, app.traces.informants.clean_informant (via clean_submission).
    """

    informant_name = StringField(
        _l("Name or initials"),
        validators=[Optional(), Length(max=informants.NAME_MAX)],
        description=_l("Required when you register for someone else, for example “Kari N.”."),
    )
    informant_birth_year = StringField(
        _l("Year of birth (if they give it)"),
        validators=[Optional()],
        # Its help names this year: written by templates/traces/_informant_fields.html.
        render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": "4"},
    )
    informant_consent = BooleanField(
        _l("They agree to be named as the source"),
        description=_l(
            "Ticked: the name, year of birth and how they came to know it are shown on the "
            "trace’s page and sent to museums and archives with the trace. Not ticked: they "
            "read “a local informant”, and only the project’s librarians and curators see the "
            "rest."
        ),
    )
    knowledge_source = StringField(
        _l("How did they come to know it?"),
        validators=[Optional(), Length(max=informants.SOURCE_MAX)],
        render_kw={"list": "knowledge-sources", "autocomplete": "off"},
        description=_l("Choose a suggestion or write your own, for example “told by father”."),
    )

    # The form's field names for the error names clean_informant uses (informant.<key>).
    INFORMANT_FIELDS = {
        "informant": "informant_name",
        "informant.name": "informant_name",
        "informant.birth_year": "informant_birth_year",
        "informant.consent": "informant_consent",
        "informant.knowledge_source": "knowledge_source",
    }

    @property
    def records_informant(self) -> bool:
        """Whether this form offers the informant fields (the user moderates a project)."""
        return getattr(self, "informant_name", None) is not None  # del sets a field to None

    def remove_informant(self) -> None:
        """Take the informant fields out: this user may not record for an informant here."""
        for name in ("informant_name", "informant_birth_year", "informant_consent",
                     "knowledge_source"):  # fmt: skip
            delattr(self, name)

    def informant_used(self) -> bool:
        """Whether any informant field holds a value (the fieldset then opens)."""
        if not self.records_informant:
            return False
        texts = (self.informant_name, self.informant_birth_year, self.knowledge_source)
        return any((f.data or "").strip() for f in texts) or bool(self.informant_consent.data)

    def submitted_fields(self) -> dict[str, Any]:
        """The trace's fields (TraceForm's), plus the informant object when the form offers it.

        An offered fieldset left empty is sent too: clean_informant reads it as "no informant"
        (on the edit page, that removes the informant).
        """
        fields: dict[str, Any] = super().submitted_fields()  # type: ignore[misc]
        if self.records_informant:
            fields["informant"] = {
                "name": self.informant_name.data,
                "birth_year": self.informant_birth_year.data,
                "consent": bool(self.informant_consent.data),
                "knowledge_source": self.knowledge_source.data,
            }
        return fields

    def informant_errors(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        """Errors named informant.<key> renamed to this form's fields (for show_errors)."""
        renamed: dict[str, list[str]] = {}
        for name, messages in errors.items():
            renamed.setdefault(self.INFORMANT_FIELDS.get(name, name), []).extend(messages)
        return renamed


class NewTraceForm(InformantFields, TraceForm):
    """A new trace; a project's moderators may also record it for someone who told it.

    The informant fields are removed (remove_informant) for everyone who moderates no open
    project: residents never see them, and what they post in those names is never read.
    """


def knowledge_suggestions() -> list[str]:
    """Common answers to "how did they come to know it?", in the reader's language."""
    return [
        gettext("told by father"),
        gettext("told by mother"),
        gettext("told by grandparents"),
        gettext("told by neighbours"),
        gettext("own observation"),
        gettext("worked there"),
        gettext("local tradition"),
        gettext("read in a local history book"),
    ]


class EditTraceForm(InformantFields, TraceForm):
    """Everything a new trace has, plus the version it was loaded at and why it changed.

    The informant fields stay only for the trace's moderators, on a trace registered for an
    informant (edit_routes.edit removes them otherwise): there they correct what was written
    down, withdraw the consent, or empty them all to remove the informant.
    """

    # No validator: a missing or garbled version is a conflict (reload), not a field error.
    version = HiddenField()
    submission_key = None  # an edit changes one known trace: nothing to send twice
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
    """The edit form's values for a trace as it is now; the map shows the stored shape."""
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
        # Read only when the form offers them (edit_routes.edit removes them otherwise).
        "informant_name": trace.informant_name or "",
        "informant_birth_year": str(trace.informant_birth_year or ""),
        "informant_consent": trace.informant_consent,
        "knowledge_source": trace.knowledge_source or "",
    }


def typed_place(form: TraceForm, *, typed_wins: bool) -> bool:
    """Whether the typed coordinates are the place (rather than the shape drawn on the map).

    A new trace uses typed coordinates only when nothing is drawn. The edit form's hidden
    field always holds the current shape, so there typed coordinates win: without that,
    someone who cannot use the map could never move a trace.
    """
    typed = bool((form.coordinates.data or "").strip())
    drawn = bool((form.geometry.data or "").strip())
    return typed and (typed_wins or not drawn)


def submitted_geometry(form: TraceForm, *, typed_wins: bool) -> Any:
    """The place as GeoJSON: typed coordinates converted, or the drawn shape; None if neither.

    Refusals name the field the resident used (coordinates or the map's geometry).
    """
    if typed_place(form, typed_wins=typed_wins):
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


def show_errors(form: FlaskForm, errors: dict[str, list[str]], *, typed: bool) -> None:
    """Attach an operation's field errors to the form's fields, for the page to show.

    ``typed``: the place came from typed coordinates, so a refused place is shown there.
    """
    for name, messages in errors.items():
        if name == "geometry" and typed:
            name = "coordinates"
        target = getattr(form, name, None)
        if target is None:  # every name the operations use is a field; log one that is not
            current_app.logger.warning("error for unknown field %s", name)
            continue
        target.errors = list(target.errors or []) + messages


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
