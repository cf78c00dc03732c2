"""Near-duplicates on a queue page: pending entries close to each other shown as one group.

The queue route calls `group_entries(entries, viewer)` on the page's entry dicts (in queue
order) and renders what it returns in the same order. A plain entry stays the dict it was; a
group is a `Group`, placed where its oldest member was. In Jinja:

    {% for row in rows %}
      {% if row is queue_group %}
        {% include "moderation/_group.html" %}   {# uses `row`, `tx`, `project`, csrf_token() #}
      {% else %}
        {{ queue_row(row, tx) }}
      {% endif %}
    {% endfor %}

(the `queue_group` test is registered by app/moderation/merge_routes.py.)

Pending entries are linked when their shapes lie within NEARBY_METRES of each other, measured
here from the page's own geometries (the nearby() lists stop at five neighbours, and a group
must not depend on which five); a group is a connected component of two or more entries. The
traces already known near any member (`existing`) come from the nearby() lists.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from app.models import TraceStatus, User
from app.moderation.geodesy import metres_per_degree
from app.moderation.queries import NEARBY_METRES, Neighbour

# Fewer metres than any degree of latitude has (110.57 km at the equator): a lower bound.
_METRES_PER_DEGREE_MIN = 110_000.0


def distance_m(a: BaseGeometry, b: BaseGeometry) -> float:
    """The shortest distance in metres between two lon/lat shapes a short way apart."""
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a.bounds, b.bounds
    lon0 = (min(ax0, bx0) + max(ax1, bx1)) / 2
    lat0 = (min(ay0, by0) + max(ay1, by1)) / 2
    kx, ky = metres_per_degree(lat0)
    if a.geom_type == "Point" and b.geom_type == "Point":
        return math.hypot((ax0 - bx0) * kx, (ay0 - by0) * ky)  # most entries: no shapes made

    def local(coords: Any) -> Any:
        return (coords - (lon0, lat0)) * (kx, ky)

    return float(shapely.distance(shapely.transform(a, local), shapely.transform(b, local)))


def components(shapes: Sequence[BaseGeometry], metres: float = NEARBY_METRES) -> list[list[int]]:
    """The indexes of `shapes` in connected components under "within `metres`", each in
    ascending order, ordered by their first index; singletons included.

    A sweep over latitude: only pairs whose boxes come within `metres` north-south are
    looked at, and of those only pairs whose boxes come that close east-west are measured.
    """
    n = len(shapes)
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if not n:
        return []
    array = list(shapes)
    bounds = shapely.bounds(array).tolist()
    points = (shapely.get_type_id(array) == 0).tolist()
    # Metres per degree at each shape's middle (for points), and the fewest a degree of
    # longitude has anywhere in its box (for ruling pairs out), worked out once per shape.
    scales = [metres_per_degree((b[1] + b[3]) / 2) for b in bounds]
    fewest = [metres_per_degree(min(max(abs(b[1]), abs(b[3])), 89.9))[0] for b in bounds]
    margin = metres / _METRES_PER_DEGREE_MIN
    by_south = sorted(range(n), key=lambda i: bounds[i][1])
    for k, i in enumerate(by_south):
        x0, y0, x1, north = bounds[i]
        for j in by_south[k + 1 :]:
            b = bounds[j]
            if b[1] - north > margin:
                break  # every later box starts farther north still
            if root(i) == root(j):
                continue
            if max(0.0, b[0] - x1, x0 - b[2]) * min(fewest[i], fewest[j]) > metres:
                continue
            if points[i] and points[j]:
                # Two points a short way apart: the local plane at their middle latitude.
                kx = (scales[i][0] + scales[j][0]) / 2
                ky = (scales[i][1] + scales[j][1]) / 2
                near = math.hypot((x0 - b[0]) * kx, (y0 - b[1]) * ky) <= metres
            else:
                near = distance_m(shapes[i], shapes[j]) <= metres
            if near:
                parent[root(j)] = root(i)
    found: dict[int, list[int]] = {}
    for i in range(n):
        found.setdefault(root(i), []).append(i)
    return sorted(found.values(), key=lambda c: c[0])


@dataclass
class Group:
    """Pending entries of one queue page close to each other, and known traces near them."""

    members: list[dict[str, Any]]  # the queue's entry dicts, oldest first
    existing: list[Neighbour]  # traces near any member that are not members, nearest first
    keep_default_id: int

    @property
    def key(self) -> str:
        """A stable id for the page (the oldest member's trace id)."""
        return f"group-{self.members[0]['trace'].id}"

    @property
    def keepable(self) -> list[Neighbour]:
        """Existing traces the others may be merged into: approved, and moderated by the
        viewer too (the merged text is published there)."""
        return [n for n in self.existing if n.may_link and n.trace.status == TraceStatus.APPROVED]

    @property
    def labels(self) -> dict[int, str]:
        """A letter per trace, shared by the map and the list: members first, then existing."""
        ids = [m["trace"].id for m in self.members] + [n.trace.id for n in self.existing]
        return {trace_id: _letter(i) for i, trace_id in enumerate(ids)}


def _letter(i: int) -> str:
    """A, B, ... Z, AA, AB, ..."""
    text = ""
    i += 1
    while i:
        i, rest = divmod(i - 1, 26)
        text = chr(ord("A") + rest) + text
    return text


def _existing(members: list[dict[str, Any]]) -> list[Neighbour]:
    """The members' neighbours that are not members, once each, at their nearest distance."""
    member_ids = {m["trace"].id for m in members}
    best: dict[int, Neighbour] = {}
    for member in members:
        for n in member["nearby"]:
            if n.trace.id in member_ids or n.trace.status == TraceStatus.DELETED:
                continue
            if n.trace.id not in best or n.metres < best[n.trace.id].metres:
                best[n.trace.id] = n
    return sorted(best.values(), key=lambda n: (n.metres, n.trace.id))


def make_group(members: list[dict[str, Any]]) -> Group:
    """A group of entries (oldest first) with its known neighbours and whom to keep by default:
    the nearest approved trace the viewer may merge into, else the oldest member."""
    existing = _existing(members)
    group = Group(members, existing, members[0]["trace"].id)
    keepable = group.keepable
    if keepable:
        group.keep_default_id = keepable[0].trace.id
    return group


def group_entries(
    entries: list[dict[str, Any]], viewer: User | None = None, metres: float = NEARBY_METRES
) -> list[dict[str, Any] | Group]:
    """The page's rows in queue order: lone entries as they are, near ones as one Group in
    the place of its oldest member. `viewer` is for the rights already in the neighbours
    (may_link); the grouping itself reads nothing more."""
    shapes = list(shapely.from_geojson([e["geometry"] for e in entries])) if entries else []
    rows: list[dict[str, Any] | Group] = []
    for component in components(shapes, metres):
        if len(component) == 1:
            rows.append(entries[component[0]])
        else:
            rows.append(make_group([entries[i] for i in component]))
    return rows
