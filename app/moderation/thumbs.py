"""Small server-drawn maps for the compact queue rows: the entry and its neighbours as SVG.

No tiles and no script: a row's thumbnail is a few shapes in a local plane (longitude scaled
by the cosine of the latitude), so 50 rows cost microseconds and nothing in them takes focus.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from app.text import svg_figure

WIDTH, HEIGHT = 96, 72
# The smallest area a thumbnail shows, in degrees of latitude (~100 m): a lone point sits in
# a readable frame instead of filling it.
_MIN_SPAN = 0.0009


@dataclass(frozen=True)
class Shape:
    """One shape of a thumbnail: its SVG path (or a circle for a point) and its role."""

    path: str
    point: tuple[float, float] | None
    entry: bool


@dataclass(frozen=True)
class Thumbnail:
    """What the row macro draws: the viewBox size and the shapes, entry last (on top)."""

    width: int
    height: int
    shapes: list[Shape]

    def svg(self, label: str) -> Markup:
        """The thumbnail as inline SVG, labelled for screen readers (app.text.svg_figure)."""
        elements = []
        for s in self.shapes:
            role = "th-entry" if s.entry else "th-near"
            if s.point:
                radius = 5 if s.entry else 3.5
                elements.append(
                    ("circle", {"cx": s.point[0], "cy": s.point[1], "r": radius, "class": role})
                )
            else:
                elements.append(("path", {"d": s.path, "class": role}))
        return svg_figure(self.width, self.height, label, "row-thumb", elements)


def _rings(geometry: dict[str, Any]) -> list[tuple[list[list[float]], bool]]:
    """(coordinates, closed) for every line or ring of a GeoJSON geometry."""
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    if kind == "Point":
        return [([coords], False)]
    if kind == "MultiPoint":
        return [([c], False) for c in coords]
    if kind == "LineString":
        return [(coords, False)]
    if kind == "MultiLineString":
        return [(line, False) for line in coords]
    if kind == "Polygon":
        return [(ring, True) for ring in coords]
    if kind == "MultiPolygon":
        return [(ring, True) for polygon in coords for ring in polygon]
    if kind == "GeometryCollection":
        return [r for g in geometry.get("geometries", []) for r in _rings(g)]
    return []


def thumbnail(geometry_json: str, nearby_json: list[str]) -> Thumbnail | None:
    """The entry (solid) and its neighbours (dashed) fitted into a WIDTH x HEIGHT frame."""
    try:
        parts = [(_rings(json.loads(geometry_json)), True)]
        parts += [(_rings(json.loads(g)), False) for g in nearby_json]
    except (ValueError, TypeError, AttributeError):
        return None  # an unreadable geometry costs the row its thumbnail, not the page
    points = [p for rings, _ in parts for ring, _ in rings for p in ring]
    if not points:
        return None
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lat0 = (min(lats) + max(lats)) / 2
    kx = math.cos(math.radians(lat0))
    span = max((max(lons) - min(lons)) * kx, max(lats) - min(lats), _MIN_SPAN) * 1.3
    # The frame is wider than high: fit the larger relative extent, centre the other.
    scale = min(WIDTH / span, HEIGHT / span)
    cx, cy = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2

    # x = x0 + (lon - cx) * sx, y = y0 - (lat - cy) * scale; written out in the loops below
    # (~850 points a page: a helper function per point was a third of the thumbnails' time).
    sx, x0, y0 = kx * scale, WIDTH / 2, HEIGHT / 2
    shapes = []
    for rings, entry in sorted(parts, key=lambda part: part[1]):  # neighbours first
        for ring, closed in rings:
            if len(ring) == 1:
                lon, lat = ring[0][0], ring[0][1]
                point = (round(x0 + (lon - cx) * sx, 1), round(y0 - (lat - cy) * scale, 1))
                shapes.append(Shape("", point, entry))
                continue
            d = " ".join(
                [f"{x0 + (p[0] - cx) * sx:.1f},{y0 - (p[1] - cy) * scale:.1f}" for p in ring]
            )
            shapes.append(Shape(f"M{d}{'Z' if closed else ''}", None, entry))
    return Thumbnail(WIDTH, HEIGHT, shapes)
