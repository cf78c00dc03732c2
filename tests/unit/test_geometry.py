"""geo.geometry.parse_geometry: what is accepted, how it is normalised, and why it is refused."""

from __future__ import annotations

import functools
import json
import math
import time
from typing import Any

import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LinearRing, LineString, Point, Polygon

from geo.bounds import in_norway
from geo.errors import GeometryError
from geo.geometry import DEFAULT_MAX_VERTICES, PRECISION, parse_geometry, vertex_count
from geo.norway import boundary

OSLO = (10.7337, 59.9119)  # lon, lat: Oslo city hall
TROMSO = (18.9553, 69.6492)
LILLEHAMMER = (10.4662, 61.1153)
SVALBARD = (15.6, 78.2)  # Longyearbyen
JAN_MAYEN = (-8.5, 71.0)
COPENHAGEN = (12.57, 55.68)


# -- helpers ---------------------------------------------------------------------------------


def point(lon: Any, lat: Any) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def line(*positions: Any) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(p) for p in positions]}


def polygon(*rings: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring] for ring in rings]}


def square(west: float, south: float, size: float, clockwise: bool = False) -> list[list[float]]:
    """A closed square ring; counter-clockwise unless asked otherwise."""
    ring = [
        [west, south],
        [west + size, south],
        [west + size, south + size],
        [west, south + size],
        [west, south],
    ]
    return ring[::-1] if clockwise else ring


def refused(obj: Any, **kwargs: Any) -> GeometryError:
    """The GeometryError that parse_geometry raises for obj."""
    with pytest.raises(GeometryError) as info:
        parse_geometry(obj, **kwargs)
    return info.value


def is_ccw(coords: Any) -> bool:
    return LinearRing(coords).is_ccw


def zigzag_line(count: int, west: float = 10.0, south: float = 60.0) -> list[list[float]]:
    """count distinct positions running east in a zigzag (a valid, non-closed line)."""
    step = 1.0 / count
    return [[west + i * step, south + (0.001 if i % 2 else 0.0)] for i in range(count)]


# -- accepted geometries ---------------------------------------------------------------------


def test_point_in_norway_is_accepted() -> None:
    geom = parse_geometry(point(*OSLO))
    assert isinstance(geom, Point)
    assert (geom.x, geom.y) == OSLO


def test_integer_coordinates_are_accepted() -> None:
    geom = parse_geometry(point(10, 60))
    assert (geom.x, geom.y) == (10.0, 60.0)


def test_elevation_is_dropped() -> None:
    geom = parse_geometry({"type": "Point", "coordinates": [10.0, 60.0, 123.4]})
    assert not geom.has_z
    assert (geom.x, geom.y) == (10.0, 60.0)


def test_tuple_positions_are_accepted() -> None:
    geom = parse_geometry({"type": "LineString", "coordinates": ((10.0, 60.0), (10.5, 60.5))})
    assert list(geom.coords) == [(10.0, 60.0), (10.5, 60.5)]


def test_linestring_in_norway_is_accepted() -> None:
    geom = parse_geometry(line(OSLO, (10.8, 59.95), LILLEHAMMER))
    assert isinstance(geom, LineString)
    assert list(geom.coords) == [OSLO, (10.8, 59.95), LILLEHAMMER]


def test_polygon_in_norway_is_accepted() -> None:
    geom = parse_geometry(polygon(square(10.0, 60.0, 0.5)))
    assert isinstance(geom, Polygon)
    assert geom.is_valid
    assert geom.area == pytest.approx(0.25)
    assert vertex_count(geom) == 5


def test_polygon_with_hole_is_accepted() -> None:
    geom = parse_geometry(polygon(square(10.0, 60.0, 1.0), square(10.2, 60.2, 0.2, clockwise=True)))
    assert isinstance(geom, Polygon)
    assert len(geom.interiors) == 1
    assert geom.area == pytest.approx(1.0 - 0.04)


@pytest.mark.parametrize(
    ("name", "lon", "lat"),
    [
        ("Svalbard", *SVALBARD),
        ("Jan Mayen", *JAN_MAYEN),
        ("Kvitøya", 32.5, 80.1),
        ("Lindesnes", 7.05, 57.98),
        ("Kirkenes", 30.045, 69.727),
        ("Tromsø", *TROMSO),
        ("Utsira", 4.88, 59.31),
        ("Vardø", 31.11, 70.37),
    ],
)
def test_norwegian_places_are_accepted(name: str, lon: float, lat: float) -> None:
    geom = parse_geometry(point(lon, lat))
    assert (geom.x, geom.y) == (lon, lat), name


def test_line_on_svalbard_is_accepted() -> None:
    geom = parse_geometry(line(SVALBARD, (16.0, 78.5)))
    assert vertex_count(geom) == 2


# -- RFC 7946 winding ------------------------------------------------------------------------


def test_clockwise_outer_ring_comes_back_counter_clockwise() -> None:
    ring = square(10.0, 60.0, 0.5, clockwise=True)
    assert not is_ccw(ring)
    geom = parse_geometry(polygon(ring))
    assert geom.exterior.is_ccw
    assert is_ccw(list(geom.exterior.coords))
    assert set(geom.exterior.coords) == {tuple(p) for p in ring}


def test_counter_clockwise_outer_ring_stays_counter_clockwise() -> None:
    ring = square(10.0, 60.0, 0.5)
    assert is_ccw(ring)
    geom = parse_geometry(polygon(ring))
    assert geom.exterior.is_ccw


@pytest.mark.parametrize("outer_clockwise", [True, False])
@pytest.mark.parametrize("hole_clockwise", [True, False])
def test_holes_come_back_clockwise(outer_clockwise: bool, hole_clockwise: bool) -> None:
    outer = square(10.0, 60.0, 1.0, clockwise=outer_clockwise)
    holes = [
        square(10.1, 60.1, 0.2, clockwise=hole_clockwise),
        square(10.6, 60.6, 0.2, clockwise=not hole_clockwise),
    ]
    geom = parse_geometry(polygon(outer, *holes))
    assert geom.exterior.is_ccw
    assert len(geom.interiors) == 2
    for interior in geom.interiors:
        assert not LinearRing(interior.coords).is_ccw


# -- rounding --------------------------------------------------------------------------------


def _all_rounded(geom: Any) -> bool:
    coords = []
    if isinstance(geom, Polygon):
        coords.extend(geom.exterior.coords)
        for interior in geom.interiors:
            coords.extend(interior.coords)
    else:
        coords.extend(geom.coords)
    return all(abs(c - round(c, PRECISION)) < 1e-12 for xy in coords for c in xy)


def test_point_is_rounded_to_seven_decimals() -> None:
    geom = parse_geometry(point(10.123456789, 60.987654321))
    assert geom.x == pytest.approx(10.1234568, abs=1e-12)
    assert geom.y == pytest.approx(60.9876543, abs=1e-12)


def test_line_and_polygon_are_rounded_to_seven_decimals() -> None:
    wobbly_line = line((10.111111111, 60.222222222), (10.333333333, 60.444444444))
    wobbly_ring = [
        [10.000000049, 60.000000051],
        [10.512345678, 60.000000001],
        [10.512345678, 60.598765432],
        [10.000000049, 60.000000051],
    ]
    for geom in (parse_geometry(wobbly_line), parse_geometry(polygon(wobbly_ring))):
        assert _all_rounded(geom)


def test_rounding_moves_a_position_less_than_a_centimetre() -> None:
    lon, lat = 10.73371234999, 59.91194444444
    geom = parse_geometry(point(lon, lat))
    assert abs(geom.x - lon) <= 0.5e-7 + 1e-12
    assert abs(geom.y - lat) <= 0.5e-7 + 1e-12


# -- refused: not a geometry / unsupported types ---------------------------------------------


@pytest.mark.parametrize("obj", [None, [10.0, 60.0], "POINT (10 60)", 42, b"{}"])
def test_non_objects_are_refused(obj: Any) -> None:
    assert refused(obj).code == "not_geometry"


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "MultiPoint", "coordinates": [[10.0, 60.0], [10.5, 60.5]]},
        {"type": "MultiLineString", "coordinates": [[[10.0, 60.0], [10.5, 60.5]]]},
        {"type": "MultiPolygon", "coordinates": [[square(10.0, 60.0, 0.5)]]},
        {"type": "GeometryCollection", "geometries": [point(10.0, 60.0)]},
        {"type": "Feature", "geometry": point(10.0, 60.0), "properties": {}},
        {"coordinates": [10.0, 60.0]},
        {"type": None, "coordinates": [10.0, 60.0]},
        {"type": "point", "coordinates": [10.0, 60.0]},
        {"type": ["Point"], "coordinates": [10.0, 60.0]},
        {},
    ],
    ids=[
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
        "Feature",
        "missing-type",
        "null-type",
        "lowercase-point",
        "list-type",
        "empty-object",
    ],
)
def test_unsupported_types_are_refused(obj: dict[str, Any]) -> None:
    assert refused(obj).code == "unsupported_type"


def test_unsupported_type_names_the_type_briefly() -> None:
    error = refused({"type": "MultiPoint", "coordinates": []})
    assert error.params == {"type": "MultiPoint"}
    long_error = refused({"type": "X" * 500, "coordinates": []})
    assert len(long_error.params["type"]) <= 40


# -- refused: bad numbers --------------------------------------------------------------------


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("where", ["point-lon", "point-lat", "line", "polygon"])
def test_non_finite_coordinates_are_refused(bad: float, where: str) -> None:
    obj = {
        "point-lon": point(bad, 60.0),
        "point-lat": point(10.0, bad),
        "line": line((10.0, 60.0), (10.5, bad)),
        "polygon": polygon([[10.0, 60.0], [bad, 60.0], [10.5, 60.5], [10.0, 60.0]]),
    }[where]
    assert refused(obj).code == "not_finite"


@pytest.mark.parametrize("bad", [True, False, "10.5", "", None, [10.0], {"value": 10.0}], ids=repr)
def test_non_numbers_as_coordinates_are_refused(bad: Any) -> None:
    assert refused(point(bad, 60.0)).code == "not_a_number"
    assert refused(point(10.0, bad)).code == "not_a_number"


def test_booleans_in_a_polygon_are_refused() -> None:
    ring = [[10.0, 60.0], [11.0, 60.0], [True, 61.0], [10.0, 60.0]]
    assert refused(polygon(ring)).code == "not_a_number"


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "Point", "coordinates": None},
        {"type": "Point", "coordinates": "10.0, 60.0"},
        {"type": "Point", "coordinates": [10.0]},
        {"type": "Point", "coordinates": [10.0, 60.0, 0.0, 0.0]},
        {"type": "Point", "coordinates": {"lon": 10.0, "lat": 60.0}},
        {"type": "LineString", "coordinates": None},
        {"type": "LineString", "coordinates": "10 60, 11 61"},
        {"type": "LineString", "coordinates": [10.0, 60.0]},
        {"type": "Polygon", "coordinates": []},
        {"type": "Polygon", "coordinates": None},
        {"type": "Polygon", "coordinates": "ring"},
        {"type": "Polygon", "coordinates": [None]},
    ],
    ids=str,
)
def test_malformed_positions_are_refused(obj: dict[str, Any]) -> None:
    assert refused(obj).code == "bad_position"


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(200.0, 100.0), (-181.0, 0.0), (181.0, 60.0), (200.0, 60.0), (10.0, -1000.0), (-500.0, 500.0)],
)
def test_out_of_range_coordinates_are_refused(lon: float, lat: float) -> None:
    error = refused(point(lon, lat))
    assert error.code == "out_of_range"
    assert error.params == {"lon": lon, "lat": lat}


@pytest.mark.parametrize(("lon", "lat"), [(10.0, 100.0), (60.0, 95.0), (-80.0, 100.0)])
def test_latitude_out_of_range_is_not_called_swapped(lon: float, lat: float) -> None:
    assert refused(point(lon, lat)).code == "out_of_range"


def test_huge_integer_coordinate_is_a_geometry_error() -> None:
    refused(point(10**400, 60))


# -- refused: wrong place --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(69.97, 23.27), (59.9119, 10.7337), (78.2, 15.6), (71.0, -8.5)],
    ids=["Alta", "Oslo", "Svalbard", "Jan Mayen"],
)
def test_swapped_lat_lon_is_refused(lon: float, lat: float) -> None:
    error = refused(point(lon, lat))
    assert error.code == "swapped"
    assert error.params == {"lon": pytest.approx(lon), "lat": pytest.approx(lat)}


def test_swapped_vertex_in_a_line_is_refused() -> None:
    assert refused(line(OSLO, (59.95, 10.8))).code == "swapped"


def test_swapped_polygon_is_refused() -> None:
    ring = [[lat, lon] for lon, lat in square(10.0, 60.0, 0.5)]
    assert refused(polygon(ring)).code == "swapped"


@pytest.mark.parametrize(
    ("lon", "lat"),
    [COPENHAGEN, (-0.1276, 51.5072), (-21.94, 64.15), (0.0, 0.0), (3.99, 60.0), (36.0, 70.0)],
    ids=["Copenhagen", "London", "Reykjavik", "null-island", "west-of-mainland", "east-of-arctic"],
)
def test_outside_norway_is_refused(lon: float, lat: float) -> None:
    error = refused(point(lon, lat))
    assert error.code == "outside_norway"
    assert error.params == {"lon": round(lon, 5), "lat": round(lat, 5)}


def test_line_leaving_norway_is_refused() -> None:
    error = refused(line(OSLO, COPENHAGEN))
    assert error.code == "outside_norway"
    assert error.params == {"lon": 12.57, "lat": 55.68}


def test_polygon_with_hole_outside_norway_is_refused_somehow() -> None:
    # The hole lies outside the shell, which makes the polygon invalid before place is checked.
    error = refused(polygon(square(10.0, 60.0, 1.0), square(12.0, 55.0, 0.1, clockwise=True)))
    assert error.code in {"invalid", "outside_norway"}


def test_error_params_are_json_serialisable() -> None:
    for obj in (point(69.97, 23.27), point(*COPENHAGEN), point(200.0, 100.0)):
        error = refused(obj)
        assert json.loads(json.dumps(error.params)) == pytest.approx(error.params)


# -- refused: shape problems -----------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        line(OSLO),
        line(OSLO, OSLO),
        line(OSLO, OSLO, OSLO),
        {"type": "LineString", "coordinates": []},
        polygon([[10.0, 60.0], [11.0, 60.0], [10.0, 60.0]]),
        polygon([]),
        polygon(square(10.0, 60.0, 1.0), [[10.2, 60.2], [10.4, 60.2], [10.2, 60.2]]),
    ],
    ids=["line-1", "line-2-same", "line-3-same", "line-0", "ring-3", "ring-0", "hole-3"],
)
def test_too_few_points_are_refused(obj: dict[str, Any]) -> None:
    error = refused(obj)
    assert error.code == "too_few_points"
    assert error.params["minimum"] in (2, 4)


def test_line_that_collapses_when_rounded_is_refused() -> None:
    assert refused(line((10.0, 60.0), (10.00000001, 60.0))).code == "invalid"


def test_polygon_that_collapses_when_rounded_is_refused() -> None:
    ring = [[10.0, 60.0], [10.00000001, 60.0], [10.00000001, 60.00000001], [10.0, 60.0]]
    assert refused(polygon(ring)).code in {"invalid", "empty"}


def test_polygon_ring_not_closed_is_refused() -> None:
    ring = [[10.0, 60.0], [11.0, 60.0], [11.0, 61.0], [10.0, 61.0]]
    assert refused(polygon(ring)).code == "ring_not_closed"


def test_hole_not_closed_is_refused() -> None:
    hole = [[10.2, 60.2], [10.2, 60.4], [10.4, 60.4], [10.4, 60.2]]
    assert refused(polygon(square(10.0, 60.0, 1.0), hole)).code == "ring_not_closed"


def test_bowtie_polygon_is_refused_at_the_crossing() -> None:
    bowtie = [[10.0, 60.0], [11.0, 61.0], [11.0, 60.0], [10.0, 61.0], [10.0, 60.0]]
    error = refused(polygon(bowtie))
    assert error.code == "self_intersection"
    assert error.params["lon"] == pytest.approx(10.5, abs=1e-6)
    assert error.params["lat"] == pytest.approx(60.5, abs=1e-6)
    assert "10.5" in error.message and "60.5" in error.message


def test_figure_eight_ring_is_refused() -> None:
    ring = [[10.0, 60.0], [11.0, 60.0], [10.5, 60.5], [11.0, 61.0], [10.0, 61.0], [10.5, 60.5]]
    error = refused(polygon([*ring, ring[0]]))
    assert error.code == "self_intersection"
    assert (error.params["lon"], error.params["lat"]) == pytest.approx((10.5, 60.5), abs=1e-6)


def test_hole_outside_shell_is_refused_with_reason() -> None:
    error = refused(polygon(square(10.0, 60.0, 1.0), square(12.2, 60.2, 0.2, clockwise=True)))
    assert error.code == "invalid"
    assert error.params["reason"] == "Hole lies outside shell"
    assert {"lon", "lat"} <= set(error.params)


def test_self_crossing_line_is_allowed() -> None:
    # OGC: a LineString may cross itself; only polygons must be simple.
    geom = parse_geometry(line((10.0, 60.0), (11.0, 61.0), (11.0, 60.0), (10.0, 61.0)))
    assert vertex_count(geom) == 4


# -- vertex limits ---------------------------------------------------------------------------


def test_line_at_the_vertex_limit_is_accepted() -> None:
    geom = parse_geometry(line(*zigzag_line(5_000)), max_vertices=5_000)
    assert vertex_count(geom) == 5_000


def test_line_over_the_vertex_limit_is_refused() -> None:
    error = refused(line(*zigzag_line(5_001)), max_vertices=5_000)
    assert error.code == "too_many_vertices"
    assert error.params == {"count": 5_001, "limit": 5_000}


def test_default_vertex_limit_applies() -> None:
    assert DEFAULT_MAX_VERTICES == 5_000
    error = refused(line(*zigzag_line(DEFAULT_MAX_VERTICES + 1)))
    assert error.code == "too_many_vertices"
    assert error.params["limit"] == DEFAULT_MAX_VERTICES


def test_vertex_limit_counts_all_rings_together() -> None:
    obj = polygon(square(10.0, 60.0, 1.0), square(10.2, 60.2, 0.2, clockwise=True))
    assert vertex_count(parse_geometry(obj, max_vertices=10)) == 10
    error = refused(obj, max_vertices=9)
    assert error.code == "too_many_vertices"
    assert error.params == {"count": 10, "limit": 9}


def test_small_custom_limit() -> None:
    assert refused(polygon(square(10.0, 60.0, 1.0)), max_vertices=4).code == "too_many_vertices"


def _zigzag_bowtie(count: int) -> list[list[float]]:
    """A closed ring of about count positions: a zigzag east along the bottom, then a zigzag
    back west that crosses it in the middle (a long, many-toothed bowtie)."""
    half = count // 2
    step = 1.0 / half
    bottom = [[10.0 + i * step, 60.0 + (0.002 if i % 2 else 0.0)] for i in range(half)]
    top = [[11.0 - i * step, 60.0 + 0.004 * (1 - i / half) - 0.002] for i in range(half)]
    ring = bottom + top
    ring.append(ring[0])
    return ring


def test_huge_self_intersecting_polygon_is_refused_quickly() -> None:
    ring = _zigzag_bowtie(20_000)
    assert len(ring) > DEFAULT_MAX_VERTICES
    start = time.perf_counter()
    error = refused(polygon(ring))
    elapsed = time.perf_counter() - start
    assert error.code == "too_many_vertices"
    assert elapsed < 1.0  # a sanity bound: the count is checked before any geometry work


def test_huge_self_intersecting_polygon_is_not_repaired_under_a_high_limit() -> None:
    ring = _zigzag_bowtie(20_000)
    assert not Polygon(ring).is_valid
    error = refused(polygon(ring), max_vertices=50_000)
    assert error.code in {"self_intersection", "invalid"}


# -- the error type --------------------------------------------------------------------------


def test_geometry_error_is_a_value_error_with_a_message() -> None:
    error = refused(point(*COPENHAGEN))
    assert isinstance(error, ValueError)
    assert str(error) == error.message
    assert "outside Norway" in error.message


# -- properties ------------------------------------------------------------------------------


def _coordinate(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


@functools.cache
def _triangles() -> list[tuple[tuple[float, float], ...]]:
    """Norway's outline cut into triangles (the corners of each), for drawing positions in it."""
    parts = shapely.get_parts(shapely.constrained_delaunay_triangles(boundary()))
    return [tuple(map(tuple, part.exterior.coords[:3])) for part in parts]


@st.composite
def norwegian_positions(draw: st.DrawFn) -> tuple[float, float]:
    """A position inside Norway's outline (mainland, Svalbard, Jan Mayen, the sea margin)."""
    corners = draw(st.sampled_from(_triangles()))
    # Weights of at least 1 % keep the position well inside its triangle, clear of rounding.
    a = draw(st.floats(min_value=0.01, max_value=0.98))
    b = draw(st.floats(min_value=0.01, max_value=0.99 - a))
    weights = (a, b, 1.0 - a - b)
    lon = sum(w * x for w, (x, _) in zip(weights, corners, strict=True))
    lat = sum(w * y for w, (_, y) in zip(weights, corners, strict=True))
    return lon, lat


@settings(max_examples=300, deadline=None)
@given(norwegian_positions())
def test_any_norwegian_point_parses_and_round_trips(position: tuple[float, float]) -> None:
    lon, lat = position
    geom = parse_geometry(point(lon, lat))
    assert abs(geom.x - lon) <= 1e-7
    assert abs(geom.y - lat) <= 1e-7
    assert math.isclose(geom.x, round(geom.x, PRECISION), abs_tol=1e-12)


@settings(max_examples=300, deadline=None)
@given(norwegian_positions())
def test_any_swapped_norwegian_point_is_called_swapped(position: tuple[float, float]) -> None:
    lon, lat = position
    # A swapped pair that itself lies in Norway is a different, valid place.
    assume(not in_norway(round(lat, PRECISION), round(lon, PRECISION)))
    assert refused(point(lat, lon)).code == "swapped"
