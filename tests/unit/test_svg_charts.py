"""The story page's SVG builders: well-formed for any label, numbers drawn to scale, and the
map keeps every point inside its drawing and no longitude or latitude in its text."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment, FileSystemLoader, select_autoescape

from app.projects.charts import LABEL_WIDTH, VALUE_ROOM, WIDTH, bar_length, columns, horizontal_bars
from geo.svgmap import CELL_PX, Dot, dot_radius, drawing, frame_for

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parents[2] / "templates"),
    autoescape=select_autoescape(default=True),
)
MACROS = TEMPLATES.get_template("projects/_charts.html").module


def _bars_svg(data, labelled_by="c", kind="bars"):
    chart = horizontal_bars(data) if kind == "bars" else columns(data)
    return str(MACROS.bars(chart, labelled_by, kind))


def coverage_svg(frame, polygons, dots, labelled_by):
    return str(MACROS.coverage(drawing(frame, polygons, dots), labelled_by))


SVG = "{http://www.w3.org/2000/svg}"
labels = st.text(max_size=60)
rows = st.lists(st.tuples(labels, st.integers(min_value=0, max_value=10**6)), max_size=30)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well formed


def _bars(svg: str) -> list[float]:
    return [float(r.get("width")) for r in _parse(svg).iter(f"{SVG}rect")]


@given(rows)
def test_bars_are_well_formed_and_to_scale(data):
    svg = _bars_svg(data)
    root = _parse(svg)  # any label, markup included, is escaped
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c"
    widths = _bars(svg)
    assert len(widths) == len(data)
    largest = max((value for _, value in data), default=0)
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    for (_, value), width in zip(data, widths, strict=True):
        assert width == bar_length(value, largest, room)
        assert 0 <= width <= room
        assert (width == 0) == (value == 0)
    texts = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "value"]
    assert texts == [str(value) for _, value in data]


def test_a_label_cannot_inject_markup():
    svg = _bars_svg([('<script>alert(1)</script>"', 3)], "x")
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_bar_length_proportional_and_visible():
    assert bar_length(0, 10, 100) == 0
    assert bar_length(10, 10, 100) == 100
    assert bar_length(5, 10, 100) == 50
    assert bar_length(1, 10**6, 100) == 1  # a single trace still shows


months = st.text(alphabet="JanFebMrpyulgSOctNvDs 0123456789.", min_size=1, max_size=9)


@given(st.lists(st.tuples(months, st.integers(0, 500)), min_size=1, max_size=24))
def test_columns_one_per_month_labels_every_third(data):
    root = _parse(_bars_svg(data, "m", "columns"))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert len(bars) == len(data)
    shown = [t for t in root.iter(f"{SVG}text") if t.get("class") == "label"]
    assert len(shown) == math.ceil(len(data) / 3)
    for bar in bars:
        assert float(bar.get("y")) + float(bar.get("height")) <= float(root.get("height"))


coordinates = st.tuples(
    st.floats(min_value=4.0, max_value=31.0), st.floats(min_value=57.9, max_value=71.2)
)


@given(st.lists(coordinates, min_size=1, max_size=40))
def test_frame_holds_every_point_of_its_bounds(points):
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    frame = frame_for((min(lons), min(lats), max(lons), max(lats)))
    assert frame.width <= 640.001 and frame.height <= 440.001
    for lon, lat in points:
        x, y = frame.project(lon, lat)
        assert frame.pad - 1e-6 <= x <= frame.width - frame.pad + 1e-6
        assert frame.pad - 1e-6 <= y <= frame.height - frame.pad + 1e-6
        column, row = frame.cell_of(lon, lat)
        assert column * CELL_PX <= x < (column + 1) * CELL_PX


def test_map_keeps_the_shape_and_draws_pixels_only():
    # About 30 km by 28 km at 70 N: a square-ish municipality stays square-ish.
    frame = frame_for((23.0, 69.85, 23.8, 70.1))
    assert 0.8 < (frame.width / frame.height) < 1.4
    ring = [(23.0, 69.85), (23.8, 69.85), (23.8, 70.1), (23.0, 70.1), (23.0, 69.85)]
    svg = coverage_svg(frame, [[ring]], [Dot(3, 4, 1), Dot(10, 10, 9)], labelled_by="map")
    root = _parse(svg)
    assert root.get("role") == "img"
    assert len(list(root.iter(f"{SVG}circle"))) == 2
    assert root.find(f"{SVG}path") is not None
    assert not re.search(r"(23|69|70)\.\d{3}", svg)  # no degrees, only rounded pixels


def test_dot_radius_grows_with_the_count():
    radii = [dot_radius(n, 100) for n in (1, 2, 10, 50, 100)]
    assert radii == sorted(radii) and radii[0] == 2.5 and radii[-1] == 11.0
    assert dot_radius(1, 1) == 3.0


def test_empty_map_and_single_point_still_draw():
    frame = frame_for((23.5, 70.0, 23.5, 70.0))  # one trace: a small square around it
    assert frame.width > 100 and frame.height > 100
    svg = coverage_svg(frame, [], [Dot(*frame.cell_of(23.5, 70.0), 1)], labelled_by="m")
    assert _parse(svg).find(f"{SVG}path") is None
