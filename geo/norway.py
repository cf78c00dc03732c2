"""Where a position counts as in Norway: the mainland, Svalbard and Jan Mayen, with a sea margin.

The outline is Natural Earth's (public domain) widened by about 12 nautical miles at sea, split
from Swedish and Russian waters at the median line; geo/data/README.md says how it is made and
scripts/build_norway_boundary.py makes it. It is read once, on first use, and prepared, so a
test of one position costs microseconds.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

BOUNDARY_FILE = Path(__file__).resolve().parent / "data" / "norway.geojson"


@cache
def boundary() -> BaseGeometry:
    """The accepted area as a prepared Shapely (multi)polygon in WGS84 longitude/latitude."""
    document = json.loads(BOUNDARY_FILE.read_text(encoding="utf-8"))
    area = shape(document["geometry"])
    shapely.prepare(area)
    return area


def contains_position(lon: float, lat: float) -> bool:
    """True when the position lies in the accepted area (its edge included)."""
    return bool(shapely.intersects_xy(boundary(), lon, lat))


def covers(geom: BaseGeometry) -> bool:
    """True when every part of the geometry lies in the accepted area, not only its vertices."""
    return bool(shapely.covers(boundary(), geom))


def outside_part(geom: BaseGeometry) -> tuple[float, float] | None:
    """A position (lon, lat) on the part of the geometry that leaves the area, or None."""
    if covers(geom):
        return None
    rest = shapely.get_parts(shapely.difference(geom, boundary()))
    if not len(rest):  # outside only by rounding along the edge
        return None
    # The middle of the largest piece outside, clear of the edge that a rounded number may touch.
    largest = max(rest, key=lambda part: (part.area, part.length))
    if largest.geom_type == "LineString":
        point = largest.interpolate(0.5, normalized=True)
    else:
        point = largest.representative_point()
    return float(point.x), float(point.y)
