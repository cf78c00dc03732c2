"""A small server-drawn map of a near-duplicate group: the members (solid) and the traces
already known nearby (dashed), each marked with the letter the list beside it uses.

SVG made on the server rather than a Leaflet map: it is one picture with nothing to focus
(role="img" holds no controls), costs no script or tile requests, and prints. The members'
own rows keep their Leaflet previews for the surroundings.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import shapely
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry

from app.moderation.groups import Group, metres_per_degree

XY = tuple[float, float]
WIDTH, HEIGHT, PAD = 360.0, 240.0, 28.0
# At least this many metres across, so entries at one spot are not drawn as one smudge.
MIN_EXTENT_M = 40.0
SCALES_M = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000)
LABEL_GAP = 15.0  # px between label centres before a label is moved round its mark
MARK_GAP = 11.0  # px between a label's centre and any mark's


@dataclass
class Mark:
    """One trace on the map: how to draw it and where its letter goes."""

    trace_id: int
    letter: str
    member: bool
    kind: str  # "point", "line" or "polygon"
    cx: float = 0.0
    cy: float = 0.0
    points: str = ""  # polyline points, or a path's d for a polygon
    lx: float = 0.0
    ly: float = 0.0


@dataclass
class GroupMap:
    """What the template draws: the marks, the view box and a scale bar."""

    width: float
    height: float
    marks: list[Mark] = field(default_factory=list)
    scale_px: float = 0.0
    scale_m: int = 0


def _shapes(group: Group) -> list[tuple[int, bool, BaseGeometry]]:
    found: list[tuple[int, bool, BaseGeometry]] = []
    for member in group.members:
        found.append((member["trace"].id, True, shape(json.loads(member["geometry"]))))
    for n in group.existing:
        try:
            found.append((n.trace.id, False, shape(json.loads(n.geometry_json))))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # an unreadable neighbour is left off the map, not the group
    return found


def group_map(group: Group) -> GroupMap:
    """The group drawn to fit WIDTH x HEIGHT, north up, metres to pixels alike both ways."""
    found = _shapes(group)
    lon0, lat0 = shapely.GeometryCollection([g for _, _, g in found]).centroid.coords[0]
    kx, ky = metres_per_degree(lat0)
    local = [
        (tid, member, shapely.transform(g, lambda c: (c - (lon0, lat0)) * (kx, ky)))
        for tid, member, g in found
    ]
    x0, y0, x1, y1 = shapely.GeometryCollection([g for _, _, g in local]).bounds
    scale = min((WIDTH - 2 * PAD) / max(x1 - x0, MIN_EXTENT_M),
                (HEIGHT - 2 * PAD) / max(y1 - y0, MIN_EXTENT_M))  # fmt: skip
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2

    def px(x: float, y: float) -> tuple[float, float]:
        return round(WIDTH / 2 + (x - mx) * scale, 1), round(HEIGHT / 2 - (y - my) * scale, 1)

    labels = group.labels
    result = GroupMap(WIDTH, HEIGHT)
    anchors: list[XY] = []
    for tid, member, g in local:
        mark = Mark(tid, labels[tid], member, _kind(g))
        if isinstance(g, Point):
            mark.cx, mark.cy = px(g.x, g.y)
            anchor = (mark.cx, mark.cy)
        elif isinstance(g, LineString):
            mark.points = " ".join(_xy(px(x, y)) for x, y in g.coords)
            anchor = px(*g.interpolate(0.5, normalized=True).coords[0])
        elif isinstance(g, Polygon):
            mark.points = " ".join(
                "M" + " L".join(_xy(px(x, y)) for x, y in ring.coords) + " Z"
                for ring in (g.exterior, *g.interiors)
            )
            anchor = px(*g.representative_point().coords[0])
        else:
            continue
        anchors.append(anchor)
        result.marks.append(mark)
    placed: list[XY] = []
    for mark, anchor in zip(result.marks, anchors, strict=True):
        mark.lx, mark.ly = _free_spot(anchor, placed, anchors)
        placed.append((mark.lx, mark.ly))
    result.scale_m = _nice_scale((WIDTH - 2 * PAD) / 3 / scale)
    result.scale_px = round(result.scale_m * scale, 1)
    return result


def _kind(g: BaseGeometry) -> str:
    return {"Point": "point", "LineString": "line", "Polygon": "polygon"}.get(g.geom_type, "")


def _xy(p: tuple[float, float]) -> str:
    return f"{p[0]},{p[1]}"


def _free_spot(anchor: XY, labels: list[XY], marks: list[XY]) -> XY:
    """Where a letter goes: up and right of its mark, moved round it while another letter
    or mark sits there (several entries at one spot are the usual case for duplicates)."""
    ax, ay = anchor
    reach = 15.0 + 2 * 9 + LABEL_GAP  # the farthest spot tried, plus the gap kept
    close_labels = [p for p in labels if abs(p[0] - ax) < reach and abs(p[1] - ay) < reach]
    close_marks = [p for p in marks if abs(p[0] - ax) < reach and abs(p[1] - ay) < reach]
    spot = anchor
    for step in range(18):
        ring, turn = divmod(step, 6)
        angle = math.radians(-45 + turn * 60 + ring * 30)
        radius = 15.0 + ring * 9
        spot = (
            min(max(ax + radius * math.cos(angle), 8), WIDTH - 8),
            min(max(ay + radius * math.sin(angle), 10), HEIGHT - 6),
        )
        if all(math.dist(spot, other) >= LABEL_GAP for other in close_labels) and all(
            math.dist(spot, other) >= MARK_GAP for other in close_marks
        ):
            break
    return round(spot[0], 1), round(spot[1], 1)


def _nice_scale(metres: float) -> int:
    """The largest round length no longer than `metres` (at least 1 m)."""
    fitting = [s for s in SCALES_M if s <= metres]
    return fitting[-1] if fitting else SCALES_M[0]
