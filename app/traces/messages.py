"""Translated explanations for the geometry refusals raised by geo/ (which knows no Flask)."""

from __future__ import annotations

from flask_babel import gettext, lazy_gettext

from app.models import TraceStatus
from geo.errors import GeometryError


def geometry_message(error: GeometryError) -> str:
    """The user's-language message for a GeometryError, with its numbers filled in."""
    p = error.params
    messages = {
        "not_geometry": lambda: gettext("The geometry must be a GeoJSON geometry object."),
        "unsupported_type": lambda: gettext(
            "Geometry type %(type)s is not supported; use a point, a line or a polygon.",
            type=p.get("type"),
        ),
        "bad_position": lambda: gettext(
            "Each position must be [longitude, latitude] in decimal degrees."
        ),
        "not_a_number": lambda: gettext("Coordinates must be numbers."),
        "not_finite": lambda: gettext("Coordinates must be finite numbers (no NaN or Infinity)."),
        "out_of_range": lambda: gettext(
            "Longitude %(lon)s and latitude %(lat)s are outside the valid range.",
            lon=p.get("lon"),
            lat=p.get("lat"),
        ),
        "swapped": lambda: gettext(
            "Latitude and longitude look swapped: read the other way round, the position lies "
            "in Norway. Check the order of the numbers."
        ),
        "outside_norway": lambda: gettext(
            "The position %(lat)s N, %(lon)s E is outside Norway.",
            lat=p.get("lat"),
            lon=p.get("lon"),
        ),
        "too_many_vertices": lambda: gettext(
            "The shape has more than %(limit)s points; simplify it first.", limit=p.get("limit")
        ),
        "too_few_points": lambda: gettext(
            "The shape needs at least %(minimum)s points.", minimum=p.get("minimum")
        ),
        "ring_not_closed": lambda: gettext("A polygon must end where it starts."),
        "self_intersection": lambda: gettext(
            "The outline crosses itself near latitude %(lat)s, longitude %(lon)s. Move the "
            "corners so that the edges do not cross.",
            lat=p.get("lat"),
            lon=p.get("lon"),
        ),
        "invalid": lambda: gettext(
            "The shape is not valid (%(reason)s).", reason=p.get("reason", "")
        ),
        "empty": lambda: gettext("The shape is empty."),
        "unknown_system": lambda: gettext("Choose a coordinate system from the list."),
        "unknown_shape": lambda: gettext("Choose point, line or area."),
        "no_coordinates": lambda: gettext("Type at least one position."),
        "point_needs_one": lambda: gettext(
            "A point needs exactly one position, but %(count)s lines were typed. Choose line or "
            "area for several positions.",
            count=p.get("count"),
        ),
        "bad_line": lambda: gettext(
            "Line %(line)s could not be read: type two numbers, such as 69.9689, 23.2715.",
            line=p.get("line"),
        ),
        "utm_swapped": lambda: gettext(
            "Line %(line)s: easting and northing look swapped. Type the easting (6 digits) "
            "first, then the northing (7 digits).",
            line=p.get("line"),
        ),
        "utm_out_of_range": lambda: gettext(
            "Line %(line)s: the northing is not in Norway. Check the numbers and the UTM zone.",
            line=p.get("line"),
        ),
    }
    build = messages.get(error.code)
    return build() if build else error.message


STATUS_LABELS = {
    TraceStatus.DRAFT: lazy_gettext("Draft"),
    TraceStatus.PENDING: lazy_gettext("Waiting for approval"),
    TraceStatus.NEEDS_CHANGES: lazy_gettext("Needs changes"),
    TraceStatus.APPROVED: lazy_gettext("Approved"),
    TraceStatus.REJECTED: lazy_gettext("Rejected"),
    TraceStatus.WITHDRAWN: lazy_gettext("Withdrawn"),
    TraceStatus.DELETED: lazy_gettext("Deleted"),
}


def status_label(status: TraceStatus) -> str:
    """The moderation state in the user's language."""
    return str(STATUS_LABELS[status])
