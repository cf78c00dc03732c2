"""Generalising sensitive locations: a stable point at the centre of a coarse grid cell.

The database applies the same rule in its trigger (migration 'sensitive locations'), so every
write path agrees; this is the reference in Python, used by tests to cross-check the SQL.
The grid is in EUREF89 UTM 33 (EPSG:25833), which covers all of Norway with metric cells.
"""

from __future__ import annotations

import math
from functools import lru_cache

from pyproj import Transformer
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

GRID_CRS = "EPSG:25833"
DEFAULT_CELL_METRES = 1500.0


@lru_cache(maxsize=2)
def _transformer(forward: bool) -> Transformer:
    source, target = ("EPSG:4326", GRID_CRS) if forward else (GRID_CRS, "EPSG:4326")
    return Transformer.from_crs(source, target, always_xy=True)


def generalise_location(geom: BaseGeometry, cell_metres: float = DEFAULT_CELL_METRES) -> Point:
    """The public stand-in for a sensitive shape: the centre of its grid cell, in WGS84."""
    anchor = geom.representative_point()
    x, y = _transformer(True).transform(anchor.x, anchor.y)
    cx = (math.floor(x / cell_metres) + 0.5) * cell_metres
    cy = (math.floor(y / cell_metres) + 0.5) * cell_metres
    lon, lat = _transformer(False).transform(cx, cy)
    return Point(round(lon, 6), round(lat, 6))


def cell_of(lon: float, lat: float, cell_metres: float = DEFAULT_CELL_METRES) -> tuple[int, int]:
    """The grid cell (column, row) holding a WGS84 position."""
    x, y = _transformer(True).transform(lon, lat)
    return math.floor(x / cell_metres), math.floor(y / cell_metres)
