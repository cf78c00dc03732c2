"""A small coverage map for SVG: an area outline and counted dots, from longitude/latitude.

Pure (no Flask, no database): the caller gives the bounds, the outline's rings and the dots
already counted per grid cell (app/projects/story.py counts them in SQL with the same Frame
numbers). The projection is a plain equirectangular one scaled by the cosine of the middle
latitude, which keeps a municipality's shape recognisable without a projection library.
The result is pixels rounded to one decimal (templates/projects/_charts.html writes the SVG):
no longitude or latitude reaches the page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The smallest extent drawn (degrees), so one trace or a tiny area still makes a map.
MIN_SPAN = 0.02
# Dots are counted per square cell of this many pixels (the map's resolution).
CELL_PX = 8.0

Ring = Sequence[tuple[float, float]]


@dataclass(frozen=True)
class Dot:
    """The traces counted in one grid cell (column, row)."""

    column: int
    row: int
    count: int


@dataclass(frozen=True)
class Frame:
    """Bounds in degrees and the pixel box they are drawn in (x = kx·(lon−west) + pad)."""

    west: float
    south: float
    east: float
    north: float
    kx: float
    ky: float
    width: float
    height: float
    pad: float

    def project(self, lon: float, lat: float) -> tuple[float, float]:
        """The pixel position of a longitude/latitude."""
        return (self.kx * (lon - self.west) + self.pad, self.ky * (self.north - lat) + self.pad)

    def cell_of(self, lon: float, lat: float) -> tuple[int, int]:
        """The grid cell (column, row) a longitude/latitude falls in."""
        x, y = self.project(lon, lat)
        return math.floor(x / CELL_PX), math.floor(y / CELL_PX)


def frame_for(
    bounds: tuple[float, float, float, float],
    max_width: float = 640.0,
    max_height: float = 440.0,
    pad: float = 12.0,
) -> Frame:
    """A frame that fits the bounds (west, south, east, north) into the given box."""
    west, south, east, north = bounds
    west, east = _widen(west, east)
    south, north = _widen(south, north)
    shrink = math.cos(math.radians((south + north) / 2))
    scale = min(
        (max_width - 2 * pad) / ((east - west) * shrink), (max_height - 2 * pad) / (north - south)
    )
    kx, ky = scale * shrink, scale
    width = kx * (east - west) + 2 * pad
    height = ky * (north - south) + 2 * pad
    return Frame(west, south, east, north, kx, ky, width, height, pad)


def _widen(low: float, high: float) -> tuple[float, float]:
    if high - low >= MIN_SPAN:
        return low, high
    middle = (low + high) / 2
    return middle - MIN_SPAN / 2, middle + MIN_SPAN / 2


def dot_radius(count: int, largest: int) -> float:
    """A dot's radius: its area grows with the count, from 2.5 px up to 11 px."""
    if largest <= 1:
        return 3.0
    return round(2.5 + 8.5 * math.sqrt((count - 1) / (largest - 1)), 1)


def outline_path(frame: Frame, polygons: Iterable[Sequence[Ring]]) -> str:
    """SVG path data for polygons given as lists of rings of (lon, lat)."""
    parts: list[str] = []
    for rings in polygons:
        for ring in rings:
            points = [frame.project(lon, lat) for lon, lat in ring]
            if len(points) < 3:
                continue
            head, *tail = points
            parts.append(f"M{head[0]:.1f} {head[1]:.1f}")
            parts.extend(f"L{x:.1f} {y:.1f}" for x, y in tail)
            parts.append("Z")
    return "".join(parts)


@dataclass(frozen=True)
class Drawing:
    """The map in pixels: its size, the outline's path data and the dots (cx, cy, r)."""

    width: float
    height: float
    outline: str
    circles: list[tuple[float, float, float]]


def drawing(frame: Frame, polygons: Iterable[Sequence[Ring]], dots: Sequence[Dot]) -> Drawing:
    """The map: the outline (if any) and a dot per counted cell, larger dots first so that
    small ones stay visible on top of them."""
    largest = max((dot.count for dot in dots), default=1)
    circles = [
        (
            round((dot.column + 0.5) * CELL_PX, 1),
            round((dot.row + 0.5) * CELL_PX, 1),
            dot_radius(dot.count, largest),
        )
        for dot in sorted(dots, key=lambda d: -d.count)
    ]
    return Drawing(round(frame.width), round(frame.height), outline_path(frame, polygons), circles)
