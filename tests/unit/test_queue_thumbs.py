"""The queue rows' thumbnails: every shape lands inside the frame, the entry drawn last."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from app.moderation.thumbs import HEIGHT, WIDTH, thumbnail

lon = st.floats(min_value=4.0, max_value=31.0)
lat = st.floats(min_value=57.0, max_value=71.5)
offset = st.floats(min_value=-0.01, max_value=0.01)


@st.composite
def geometries(draw):  # noqa: ANN001, ANN201 - a hypothesis strategy
    x, y = draw(lon), draw(lat)
    kind = draw(st.sampled_from(["Point", "LineString", "Polygon"]))
    if kind == "Point":
        return {"type": "Point", "coordinates": [x, y]}
    points = [[x + draw(offset), y + draw(offset)] for _ in range(draw(st.integers(2, 6)))]
    if kind == "LineString":
        return {"type": "LineString", "coordinates": points}
    return {"type": "Polygon", "coordinates": [[*points, points[0]]]}


@settings(max_examples=200, deadline=None)
@given(geometries(), st.lists(offset, max_size=4))
def test_every_shape_is_inside_the_frame(geometry, shifts):
    nearby = []
    for shift in shifts:
        other = json.loads(json.dumps(geometry))
        if other["type"] == "Point":
            other["coordinates"] = [other["coordinates"][0] + shift, other["coordinates"][1]]
        nearby.append(json.dumps(other))
    thumb = thumbnail(json.dumps(geometry), nearby)
    assert thumb is not None
    assert thumb.shapes[-1].entry and not any(s.entry for s in thumb.shapes[: len(nearby)])
    for s in thumb.shapes:
        coords = (
            [s.point]
            if s.point
            else [tuple(map(float, p.split(","))) for p in re.findall(r"-?[\d.]+,-?[\d.]+", s.path)]
        )
        for x, y in coords:
            assert -0.1 <= x <= WIDTH + 0.1 and -0.1 <= y <= HEIGHT + 0.1, (x, y)


def test_an_unreadable_geometry_costs_only_the_thumbnail():
    assert thumbnail("{not json", []) is None
    assert thumbnail('{"type": "Point", "coordinates": [23.2, 69.9]}', ["{bad"]) is None
