"""Typed coordinates in WGS84 or EUREF89 UTM (zones 32, 33, 35) -> GeoJSON geometry in WGS84.

Residents who cannot or will not draw on a map type positions instead (WCAG: a non-pointer
alternative). Norwegian habits are honoured: decimal commas, latitude first for degrees, and
easting before northing for UTM.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from pyproj import Transformer

from geo.errors import GeometryError

WGS84 = "EPSG:4326"
# code -> (EPSG, short label); labels are proper names, not translated.
SYSTEMS: dict[str, tuple[str, str]] = {
    "wgs84": (WGS84, "WGS84"),
    "utm32": ("EPSG:25832", "EUREF89 UTM 32"),
    "utm33": ("EPSG:25833", "EUREF89 UTM 33"),
    "utm35": ("EPSG:25835", "EUREF89 UTM 35"),
}
SHAPES = ("point", "line", "polygon")

_SPLIT = re.compile(r"[;\s]+|,\s+")
# Northings in Norway run from about 6.4 to 9.0 million metres; eastings stay below 1.1 million.
_NORTHING = (6_000_000.0, 9_500_000.0)


@lru_cache(maxsize=8)
def _to_wgs84(epsg: str) -> Transformer:
    return Transformer.from_crs(epsg, WGS84, always_xy=True)


@lru_cache(maxsize=8)
def _from_wgs84(epsg: str) -> Transformer:
    return Transformer.from_crs(WGS84, epsg, always_xy=True)


def parse_typed(text: str, system: str, shape: str) -> dict[str, Any]:
    """Turn lines of typed coordinates into a GeoJSON geometry dict in WGS84 lon/lat.

    One position per line. A polygon is closed for the user when they did not repeat the
    first corner. Raises GeometryError naming the line that could not be read.
    """
    if system not in SYSTEMS:
        raise GeometryError("unknown_system", "Unknown coordinate system.", system=system)
    if shape not in SHAPES:
        raise GeometryError("unknown_shape", "Choose point, line or area.", shape=shape)
    # Numbered as the user sees them in the text box, blank lines included.
    lines = [(n, ln.strip()) for n, ln in enumerate((text or "").splitlines(), 1) if ln.strip()]
    if not lines:
        raise GeometryError("no_coordinates", "Type at least one position.")
    positions = [_read_line(line, number, system) for number, line in lines]
    if shape == "point":
        if len(positions) != 1:
            raise GeometryError(
                "point_needs_one", "A point needs exactly one position.", count=len(positions)
            )
        return {"type": "Point", "coordinates": list(positions[0])}
    if shape == "line":
        return {"type": "LineString", "coordinates": [list(p) for p in positions]}
    if positions[0] != positions[-1]:
        positions.append(positions[0])
    return {"type": "Polygon", "coordinates": [[list(p) for p in positions]]}


def to_projected(lon: float, lat: float, system: str) -> tuple[float, float]:
    """WGS84 lon/lat -> (x, y) in one of SYSTEMS; easting/northing in metres for UTM."""
    epsg = SYSTEMS[system][0]
    if epsg == WGS84:
        return lon, lat
    return _from_wgs84(epsg).transform(lon, lat)


def _read_line(line: str, number: int, system: str) -> tuple[float, float]:
    parts = [p for p in _SPLIT.split(line) if p]
    if len(parts) == 1 and parts[0].count(",") == 1:
        parts = parts[0].split(",")  # "69.97,23.27" typed without a space
    if len(parts) != 2:
        raise GeometryError(
            "bad_line",
            f"Line {number} ({line[:60]!r}) must hold two numbers.",
            line=number,
        )
    try:
        a, b = (float(p.replace(",", ".").replace("\u2212", "-")) for p in parts)
    except ValueError:
        raise GeometryError(
            "bad_line", f"Line {number} ({line[:60]!r}) must hold two numbers.", line=number
        ) from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise GeometryError("not_finite", "Coordinates must be finite numbers.", line=number)
    if system == "wgs84":
        lat, lon = a, b
        return round(lon, 8), round(lat, 8)
    easting, northing = a, b
    if not _NORTHING[0] <= northing <= _NORTHING[1]:
        if _NORTHING[0] <= easting <= _NORTHING[1]:
            raise GeometryError(
                "utm_swapped",
                f"Line {number}: easting and northing look swapped; type the easting "
                "(about 6 digits) first, then the northing (7 digits).",
                line=number,
            )
        raise GeometryError(
            "utm_out_of_range",
            f"Line {number}: the northing {northing:.0f} is not in Norway.",
            line=number,
        )
    lon, lat = _to_wgs84(SYSTEMS[system][0]).transform(easting, northing)
    return round(lon, 8), round(lat, 8)
