"""The Web Mercator cell grid of the map's clusters: cells of 64 pixels, four to a tile side.

At zoom z the world is 4 * 2^z cells a side, so tile z/x/y holds the cells cx in [4x, 4x + 3]
and cy in [4y, 4y + 3]. The same grid is computed in SQL by heritage_cell_x / heritage_cell_y
(migration 'map cells, places, search'), which fill the precomputed map_cells: the two must
agree, cell for cell. Everything works on rectangles of cells (`CellRange`): a tile is one, a
map view is one or two (across 180°).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# A cell is a quarter of a 256-px tile side: 64 px, about the size of a cluster marker.
CELLS_PER_TILE_SIDE = 4
MAX_ZOOM = 22


@dataclass(frozen=True)
class CellRange:
    """A rectangle of cells at one zoom level: cx in [x0, x1], cy in [y0, y1] (inclusive)."""

    zoom: int
    x0: int
    x1: int
    y0: int
    y1: int

    def bounds(self) -> tuple[float, float, float, float]:
        """West, south, east, north in degrees of the cells' outer edges."""
        side = CELLS_PER_TILE_SIDE << self.zoom
        return (
            self.x0 / side * 360.0 - 180.0,
            _lat(self.y1 + 1, side),
            (self.x1 + 1) / side * 360.0 - 180.0,
            _lat(self.y0, side),
        )


def _lat(row: int, side: int) -> float:
    """The latitude of a cell row's top edge (inverse Web Mercator)."""
    return math.degrees(math.atan(math.sinh(math.pi * (1.0 - 2.0 * row / side))))


def cell_x(lon: float, zoom: int) -> int:
    """The cell column of a longitude (as SQL heritage_cell_x)."""
    side = CELLS_PER_TILE_SIDE << zoom
    return min(max(math.floor((lon + 180.0) / 360.0 * side), 0), side - 1)


def cell_y(lat: float, zoom: int) -> int:
    """The cell row of a latitude (as SQL heritage_cell_y)."""
    side = CELLS_PER_TILE_SIDE << zoom
    lat = math.radians(min(max(lat, -85.0511), 85.0511))
    row = (1.0 - math.log(math.tan(lat) + 1.0 / math.cos(lat)) / math.pi) / 2.0 * side
    return min(max(math.floor(row), 0), side - 1)


def tile_xy(lon: float, lat: float, zoom: int) -> tuple[int, int]:
    """The x, y of the tile (at `zoom`) that holds a point."""
    return cell_x(lon, zoom) // CELLS_PER_TILE_SIDE, cell_y(lat, zoom) // CELLS_PER_TILE_SIDE


def tile_range(z: int, x: int, y: int) -> CellRange:
    """The 4 x 4 cells of tile z/x/y."""
    k = CELLS_PER_TILE_SIDE
    return CellRange(z, k * x, k * x + k - 1, k * y, k * y + k - 1)


def view_ranges(parts: list[tuple[float, float, float, float]], zoom: int) -> list[CellRange]:
    """The cells a map view touches: one rectangle per part of the box (two across 180°)."""
    return [
        CellRange(zoom, cell_x(w, zoom), cell_x(e, zoom), cell_y(n, zoom), cell_y(s, zoom))
        for w, s, e, n in parts
    ]


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """West, south, east, north of tile z/x/y in degrees."""
    return tile_range(z, x, y).bounds()
