"""The project and rights forms, and the checks on what they accept (usable by any caller)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import orjson
from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from shapely.geometry import MultiPolygon, Polygon, box
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.bbox import bbox_message
from app.errors import ValidationFailed
from app.models import MembershipRole
from app.projects import queries
from app.projects.operations import ROLE_LABELS, ProjectData
from app.traces.messages import geometry_message
from app.validation import FieldErrors, clean_line, clean_text, strip_controls
from geo.bbox import BBoxError, parse_bbox
from geo.errors import GeometryError
from geo.geometry import parse_geometry, vertex_count

NAME_MAX = 160
DESCRIPTION_MAX = 20_000
SLUG_MAX = 64
LICENCES = ("CC-BY-4.0", "CC0-1.0")
# Words that are routes under /projects/ and so cannot name a project.
RESERVED_SLUGS = frozenset({"new", "traces"})  # "traces" is the OGC API's all-traces collection
MAX_PARTS = 50  # polygons in one area; a drawn area has one, a stored one may have a few
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Letters NFKD cannot take apart (Norwegian, Sami); everything else just loses its accents.
_TRANSLITERATE = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "ß": "ss", "đ": "d", "ŋ": "n"})
BBOX_HELP = _l(
    "Instead of drawing: west, south, east, north in degrees, for example "
    "22.9, 69.8, 23.6, 70.1. A box typed here replaces the drawn area."
)


class ProjectForm(FlaskForm):
    """A new project; forms.clean_project checks everything again."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX)])
    slug = StringField(
        _l("Short name for the address"),
        validators=[Optional(), Length(max=SLUG_MAX)],
        description=_l(
            "Letters a-z, digits and hyphens, such as alta-kulturspor. "
            "Leave it empty to make one from the name."
        ),
    )
    library_name = StringField(_l("Library"), validators=[DataRequired(), Length(max=NAME_MAX)])
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), Length(max=DESCRIPTION_MAX)],
        description=_l(
            "What the project is about and who may join. "
            "Markdown: *italic*, **bold**, lists and links."
        ),
    )
    default_licence = SelectField(
        _l("Default licence for new traces"),
        choices=[
            SelectChoice("CC-BY-4.0", _l("CC BY 4.0: others may reuse it and name the source")),
            SelectChoice("CC0-1.0", _l("CC0: free for anyone, no conditions")),
        ],
        default=LICENCES[0],
    )
    is_open = BooleanField(
        _l("Open for contributions"),
        default=True,
        description=_l("Residents can add traces to the project."),
    )
    area = HiddenField(_l("Area on the map"))
    area_bbox = StringField(
        _l("Area as a box"), validators=[Optional(), Length(max=200)], description=BBOX_HELP
    )


class ProjectEditForm(ProjectForm):
    """Editing keeps the slug: addresses, exports and OGC collections refer to it."""

    slug = None
    remove_area = BooleanField(
        _l("No area"), description=_l("Remove the area; the project is not limited to a place.")
    )


class GrantForm(FlaskForm):
    """Give a registered person a role in the project, a curator optionally within an area."""

    email = StringField(
        _l("E-mail address"),
        validators=[DataRequired(), Length(max=254)],
        description=_l("The address the person registered with."),
    )
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, ROLE_LABELS[role]) for role in MembershipRole],
        default=MembershipRole.CURATOR.value,
    )
    area = HiddenField(_l("Area on the map"))
    area_bbox = StringField(
        _l("Area as a box"), validators=[Optional(), Length(max=200)], description=BBOX_HELP
    )


def suggest_slug(name: str) -> str:
    """An address-friendly short name from a project name: a-z, 0-9 and single hyphens."""
    text = unicodedata.normalize("NFKD", name.casefold().translate(_TRANSLITERATE))
    ascii_text = text.encode("ascii", "ignore").decode()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text))[:SLUG_MAX].strip("-")


def parse_area(drawn: str | None, typed_box: str | None) -> MultiPolygon | None:
    """The area from a typed box "west,south,east,north", else a drawn GeoJSON polygon."""
    typed_box = (typed_box or "").strip()
    if typed_box:
        try:
            return MultiPolygon([_checked_polygon(part) for part in _box_geojsons(typed_box)])
        except GeometryError as error:
            raise ValidationFailed({"area_bbox": [geometry_message(error)]}) from None
        except ValueError as error:
            raise ValidationFailed({"area_bbox": [str(error)]}) from None
    drawn = (drawn or "").strip()
    if not drawn:
        return None
    try:
        return _area_from_geojson(orjson.loads(drawn))
    except orjson.JSONDecodeError:
        raise ValidationFailed(
            {"area": [gettext("The drawn area could not be read; draw it again.")]}
        ) from None
    except GeometryError as error:
        raise ValidationFailed({"area": [geometry_message(error)]}) from None
    except ValueError as error:
        raise ValidationFailed({"area": [str(error)]}) from None


def clean_project(raw: dict[str, Any], *, new: bool) -> ProjectData:
    """Check every project field at once; ValidationFailed names each bad field and why.

    raw holds the form's fields; the area comes from "area_bbox" or the drawn "area", and is
    dropped when "remove_area" is set. The slug is only read for a new project.
    """
    errors = FieldErrors()
    area: MultiPolygon | None = None
    if not raw.get("remove_area"):
        try:
            area = parse_area(raw.get("area"), raw.get("area_bbox"))
        except ValidationFailed as error:
            errors.merge(error.errors)

    name = clean_line(raw.get("name"), field="name", errors=errors, required=True,
                      max_len=NAME_MAX)  # fmt: skip
    library_name = clean_line(raw.get("library_name"), field="library_name", errors=errors,
                              required=True, max_len=NAME_MAX)  # fmt: skip
    description = clean_text(raw.get("description"), field="description", errors=errors,
                             max_len=DESCRIPTION_MAX)  # fmt: skip
    licence = raw.get("default_licence") or LICENCES[0]
    if licence not in LICENCES:
        errors.add("default_licence", gettext("Choose one of: %(choices)s.",
                                              choices=", ".join(LICENCES)))  # fmt: skip
    slug = ""
    if new:
        typed = strip_controls(str(raw.get("slug") or ""), multiline=False).strip().lower()
        slug = typed or suggest_slug(name)
        problem = (
            gettext("At most %(limit)s characters.", limit=SLUG_MAX)
            if len(slug) > SLUG_MAX
            else _slug_problem(slug)
        )
        if problem:
            errors.add("slug", problem)
    errors.raise_if_any()
    is_open = bool(raw.get("is_open"))
    return ProjectData(name, slug, library_name, description, licence, is_open, area)


def _slug_problem(slug: str) -> str | None:
    if not slug:
        return gettext("Give the project a name, or a short name for its address.")
    if len(slug) < 2 or not SLUG_PATTERN.fullmatch(slug):
        return gettext("Use at least two characters: letters a-z, digits and single hyphens.")
    if slug in RESERVED_SLUGS or queries.slug_taken(slug):
        return gettext(
            "The short name %(slug)s is already used; choose another, such as %(suggestion)s.",
            slug=slug,
            suggestion=_free_slug(slug),
        )
    return None


def _free_slug(slug: str) -> str:
    stem = slug[: SLUG_MAX - 5].rstrip("-")
    taken = queries.slugs_like(stem)
    return next(f"{stem}-{n}" for n in range(2, 100_000) if f"{stem}-{n}" not in taken)


def _box_geojsons(typed: str) -> list[dict[str, Any]]:
    """The typed box as polygons, by geo.bbox's rules (two when it crosses 180°)."""
    try:
        found = parse_bbox(typed)
    except BBoxError as error:
        raise ValueError(bbox_message(error)) from None
    west, south, east, north = found
    if west == east or south == north:
        raise ValueError(
            gettext("West must be less than east, and south less than north (in degrees).")
        )
    return [dict(box(*part).__geo_interface__) for part in found.parts()]


def _area_from_geojson(obj: Any) -> MultiPolygon:
    gtype = obj.get("type") if isinstance(obj, dict) else None
    if gtype == "Polygon":
        return MultiPolygon([_checked_polygon(obj)])
    coords = obj.get("coordinates") if gtype == "MultiPolygon" else None
    if isinstance(coords, list) and 0 < len(coords) <= MAX_PARTS:
        parts = [_checked_polygon({"type": "Polygon", "coordinates": c}) for c in coords]
        area = MultiPolygon(parts)
        limit = current_app.config["MAX_VERTICES"]
        if vertex_count(area) > limit:
            raise GeometryError("too_many_vertices", "Too many points.", limit=limit)
        if area.is_valid:
            return area
        raise ValueError(gettext("The parts of the area overlap; draw it as one polygon."))
    raise ValueError(gettext("Draw the area as a polygon, not as a point or a line."))


def _checked_polygon(obj: dict[str, Any]) -> Polygon:
    shape = parse_geometry(obj, current_app.config["MAX_VERTICES"])
    if not isinstance(shape, Polygon):
        raise ValueError(gettext("Draw the area as a polygon, not as a point or a line."))
    return shape
