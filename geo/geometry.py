"""GeoJSON geometry -> validated Shapely geometry, with a specific reason for every refusal.

Only Point, LineString and Polygon are accepted; coordinates must be finite WGS84
longitude/latitude inside Norway (the mainland, Svalbard and Jan Mayen with a sea margin, see
geo/norway.py), and so must every part of a line or polygon; invalid shapes are refused with the
place of the fault, never silently repaired (docs/security.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from geo.errors import GeometryError
from geo.norway import contains_position as in_norway
from geo.norway import outside_part

ALLOWED_TYPES = ("Point", "LineString", "Polygon")
DEFAULT_MAX_VERTICES = 5000
PRECISION = 7  # decimals; about 1 cm, what RFC 7946 readers expect

_REASON_AT = re.compile(r"^(?P<reason>[^\[]+)\[(?P<x>[-0-9.eE+]+) (?P<y>[-0-9.eE+]+)\]")


def parse_geometry(obj: Any, max_vertices: int = DEFAULT_MAX_VERTICES) -> BaseGeometry:
    """Validate a GeoJSON geometry object and return it as a Shapely geometry ready to store.

    Polygons come back with the right-hand rule (outer ring counter-clockwise) and every
    coordinate rounded to seven decimals. Raises GeometryError with a code and a reason.
    """
    if not isinstance(obj, dict):
        raise GeometryError("not_geometry", "The geometry must be a GeoJSON geometry object.")
    gtype = obj.get("type")
    if gtype not in ALLOWED_TYPES:
        raise GeometryError(
            "unsupported_type",
            f"Geometry type {gtype!r} is not supported; use Point, LineString or Polygon.",
            type=str(gtype)[:40],
        )
    coords = obj.get("coordinates")
    if gtype == "Point":
        geom: BaseGeometry = Point(_position(coords))
    elif gtype == "LineString":
        positions = _positions(coords, max_vertices)
        if len({p for p in positions}) < 2:
            raise GeometryError(
                "too_few_points", "A line needs at least two different points.", minimum=2
            )
        geom = LineString(positions)
    else:
        geom = _polygon(coords, max_vertices)
    return finish(geom)


def finish(geom: BaseGeometry) -> BaseGeometry:
    """Round to storage precision, check validity and place, and apply RFC 7946 winding."""
    geom = shapely.set_precision(geom, 10**-PRECISION, mode="pointwise")
    if geom.is_empty:
        raise GeometryError("empty", "The geometry is empty.")
    reason = shapely.is_valid_reason(geom)
    if reason != "Valid Geometry":
        raise _invalid(reason)
    _check_place(geom)
    if isinstance(geom, Polygon):
        geom = orient(geom, sign=1.0)
    return geom


def vertex_count(geom: BaseGeometry) -> int:
    """Number of coordinate positions in a geometry."""
    return int(shapely.get_num_coordinates(geom))


def _position(value: Any) -> tuple[float, float]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not 2 <= len(value) <= 3:
        raise GeometryError(
            "bad_position",
            "Each position must be [longitude, latitude] (an optional elevation may follow).",
        )
    lon, lat = (_number(v) for v in value[:2])
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        # Not called "swapped": a swapped Norwegian position has both numbers in range and is
        # caught by the place check, which can say so truthfully.
        raise GeometryError(
            "out_of_range",
            f"Longitude {lon} / latitude {lat} is outside the valid range.",
            lon=lon,
            lat=lat,
        )
    return lon, lat


def _number(value: Any) -> float:
    # bool is an int in Python; true/false are not coordinates.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GeometryError("not_a_number", "Coordinates must be numbers.")
    try:
        number = float(value)
    except OverflowError:  # a huge integer, as Python's json module produces for 1e400 digits
        raise GeometryError("not_finite", "Coordinates must be finite numbers.") from None
    if not math.isfinite(number):
        raise GeometryError(
            "not_finite", "Coordinates must be finite numbers (no NaN or Infinity)."
        )
    return number


def _positions(value: Any, max_vertices: int, seen: int = 0) -> list[tuple[float, float]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise GeometryError("bad_position", "Coordinates must be a list of positions.")
    if seen + len(value) > max_vertices:
        raise _too_many(seen + len(value), max_vertices)
    return [_position(p) for p in value]


def _polygon(value: Any, max_vertices: int) -> Polygon:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise GeometryError("bad_position", "A polygon needs a list of rings.")
    rings: list[list[tuple[float, float]]] = []
    seen = 0
    for ring_value in value:
        ring = _positions(ring_value, max_vertices, seen)
        seen += len(ring)
        if len(ring) < 4:
            raise GeometryError(
                "too_few_points",
                "A polygon ring needs at least four positions (three corners and the first "
                "one again).",
                minimum=4,
            )
        if ring[0] != ring[-1]:
            raise GeometryError(
                "ring_not_closed",
                "A polygon ring must end where it starts.",
            )
        rings.append(ring)
    return Polygon(rings[0], rings[1:])


def _check_place(geom: BaseGeometry) -> None:
    # Vertices first: the first one outside names the place, and says whether the numbers look
    # swapped. Then the whole shape: a line between two Norwegian places may cross Sweden.
    for lon, lat in shapely.get_coordinates(geom):
        if not in_norway(lon, lat):
            if in_norway(lat, lon):
                raise _swapped(lon, lat)
            raise _outside(lon, lat)
    crossing = outside_part(geom)
    if crossing is not None:
        raise _outside(*crossing)


def _outside(lon: float, lat: float) -> GeometryError:
    return GeometryError(
        "outside_norway",
        f"The position {lat:.5f} N, {lon:.5f} E is outside Norway.",
        lon=round(float(lon), 5),
        lat=round(float(lat), 5),
    )


def _swapped(lon: float, lat: float) -> GeometryError:
    return GeometryError(
        "swapped",
        f"Latitude and longitude look swapped: {lon}, {lat} lies in Norway read the other way "
        "round. GeoJSON wants [longitude, latitude].",
        lon=lon,
        lat=lat,
    )


def _too_many(count: int, limit: int) -> GeometryError:
    return GeometryError(
        "too_many_vertices",
        f"The geometry has more than {limit} points; simplify it first.",
        count=count,
        limit=limit,
    )


def _invalid(reason: str) -> GeometryError:
    match = _REASON_AT.match(reason)
    if match:
        what = match["reason"].strip()
        lon, lat = round(float(match["x"]), 6), round(float(match["y"]), 6)
        if what in ("Self-intersection", "Ring Self-intersection"):
            return GeometryError(
                "self_intersection",
                f"The outline crosses itself near longitude {lon}, latitude {lat}.",
                lon=lon,
                lat=lat,
            )
        return GeometryError(
            "invalid",
            f"The geometry is not valid ({what}) near longitude {lon}, latitude {lat}.",
            reason=what,
            lon=lon,
            lat=lat,
        )
    return GeometryError("invalid", f"The geometry is not valid ({reason}).", reason=reason)
