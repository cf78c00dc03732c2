"""The map's cell grid (geo.cells): tiles, cells and views agree with each other."""

from __future__ import annotations

import pytest

from geo.cells import (
    CELLS_PER_TILE_SIDE,
    CellRange,
    cell_x,
    cell_y,
    tile_bounds,
    tile_range,
    tile_xy,
    view_ranges,
)


def test_a_tile_is_four_by_four_cells_and_its_bounds_are_the_slippy_map_tiles() -> None:
    assert tile_range(1, 1, 0) == CellRange(1, 4, 7, 0, 3)
    west, south, east, north = tile_bounds(1, 1, 0)
    assert (west, east) == (0.0, 180.0)
    assert south == pytest.approx(0.0, abs=1e-9)
    assert north == pytest.approx(85.0511, abs=1e-4)


@pytest.mark.parametrize(("lon", "lat"), [(23.27, 69.97), (10.75, 59.91), (5.32, 60.39)])
@pytest.mark.parametrize("zoom", [0, 5, 11])
def test_a_point_falls_in_the_cell_whose_bounds_hold_it(lon: float, lat: float, zoom: int) -> None:
    cx, cy = cell_x(lon, zoom), cell_y(lat, zoom)
    west, south, east, north = CellRange(zoom, cx, cx, cy, cy).bounds()
    assert west <= lon < east
    assert south < lat <= north
    tile = tile_range(zoom, *tile_xy(lon, lat, zoom))
    assert tile.x0 <= cx <= tile.x1 and tile.y0 <= cy <= tile.y1


def test_the_poles_and_the_antimeridian_stay_on_the_grid() -> None:
    side = CELLS_PER_TILE_SIDE << 3
    assert cell_x(180.0, 3) == side - 1
    assert cell_x(-180.0, 3) == 0
    assert cell_y(90.0, 3) == 0
    assert cell_y(-90.0, 3) == side - 1


def test_a_view_across_180_degrees_touches_cells_on_both_sides() -> None:
    east_part, west_part = view_ranges(
        [(170.0, 60.0, 180.0, 70.0), (-180.0, 60.0, -170.0, 70.0)], 2
    )
    side = CELLS_PER_TILE_SIDE << 2
    assert east_part.x1 == side - 1
    assert west_part.x0 == 0
    assert east_part.y0 <= east_part.y1
