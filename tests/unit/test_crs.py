"""geo.crs: typed WGS84 and EUREF89 UTM coordinates -> GeoJSON in WGS84 lon/lat."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from geo.bounds import MAINLAND, in_norway
from geo.crs import SHAPES, SYSTEMS, parse_typed, to_projected
from geo.errors import GeometryError
from geo.geometry import parse_geometry

ALTA = (23.2715, 69.9689)  # lon, lat
OSLO_CITY_HALL = (10.7337, 59.9119)
BERGEN = (5.3242, 60.3929)
TROMSO = (18.9553, 69.6492)
KIRKENES = (30.0450, 69.7271)
VARDO = (31.1100, 70.3700)

EPSG = {"utm32": "EPSG:25832", "utm33": "EPSG:25833", "utm35": "EPSG:25835"}


# -- helpers ---------------------------------------------------------------------------------


def refused(text: Any, system: str = "wgs84", shape: str = "point") -> GeometryError:
    with pytest.raises(GeometryError) as info:
        parse_typed(text, system, shape)
    return info.value


def utm_line(lon: float, lat: float, system: str) -> str:
    easting, northing = to_projected(lon, lat, system)
    return f"{easting:.3f} {northing:.3f}"


def independent_projection(lon: float, lat: float, system: str) -> tuple[float, float]:
    """pyproj directly, not through geo.crs, as the reference."""
    return Transformer.from_crs("EPSG:4326", EPSG[system], always_xy=True).transform(lon, lat)


# -- WGS84 -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "69.9689 23.2715",
        "69,9689 23,2715",
        "69.9689,23.2715",
        "69.9689, 23.2715",
        "69,9689, 23,2715",
        "69,9689 , 23,2715",
        "69.9689;23.2715",
        "69.9689; 23.2715",
        "69,9689;23,2715",
        "69,9689; 23,2715",
        "69.9689\t23.2715",
        "   69.9689    23.2715   ",
        "\n\n69.9689 23.2715\n\n",
        "69.9689 23.2715\r\n",
    ],
)
def test_wgs84_point_formats(text: str) -> None:
    assert parse_typed(text, "wgs84", "point") == {
        "type": "Point",
        "coordinates": [23.2715, 69.9689],
    }


def test_wgs84_is_latitude_first() -> None:
    lon, lat = parse_typed("59.9119 10.7337", "wgs84", "point")["coordinates"]
    assert (lon, lat) == OSLO_CITY_HALL


def test_unicode_minus_sign_is_read() -> None:
    # Jan Mayen lies west of Greenwich; word processors type U+2212 for the minus sign.
    geometry = parse_typed("71,0 \u22128,5", "wgs84", "point")
    assert geometry["coordinates"] == [-8.5, 71.0]
    assert parse_geometry(geometry).x == -8.5


def test_ascii_minus_sign_is_read() -> None:
    assert parse_typed("71.0 -8.5", "wgs84", "point")["coordinates"] == [-8.5, 71.0]


def test_wgs84_rounds_to_eight_decimals() -> None:
    lon, lat = parse_typed("69.123456789123 23.987654321987", "wgs84", "point")["coordinates"]
    assert (lon, lat) == (23.98765432, 69.12345679)


def test_point_needs_exactly_one_line() -> None:
    error = refused("69.9689 23.2715\n70.0 23.3", shape="point")
    assert error.code == "point_needs_one"
    assert error.params == {"count": 2}


@pytest.mark.parametrize("text", ["", "   ", "\n \n\t\n", None])
def test_no_coordinates(text: Any) -> None:
    assert refused(text).code == "no_coordinates"


def test_line_keeps_order_and_converts_to_lon_lat() -> None:
    geometry = parse_typed("59.9119 10.7337\n60.3929 5.3242\n69.6492 18.9553", "wgs84", "line")
    assert geometry == {
        "type": "LineString",
        "coordinates": [list(OSLO_CITY_HALL), list(BERGEN), list(TROMSO)],
    }


def test_line_with_one_position_is_left_to_geometry_validation() -> None:
    geometry = parse_typed("59.9119 10.7337", "wgs84", "line")
    assert geometry["type"] == "LineString"
    with pytest.raises(GeometryError) as info:
        parse_geometry(geometry)
    assert info.value.code == "too_few_points"


def test_polygon_is_closed_for_the_user() -> None:
    geometry = parse_typed("60 10\n60 11\n61 11", "wgs84", "polygon")
    ring = geometry["coordinates"][0]
    assert geometry["type"] == "Polygon"
    assert len(geometry["coordinates"]) == 1
    assert ring == [[10.0, 60.0], [11.0, 60.0], [11.0, 61.0], [10.0, 60.0]]


def test_closed_polygon_is_not_closed_twice() -> None:
    geometry = parse_typed("60 10\n60 11\n61 11\n60 10", "wgs84", "polygon")
    assert geometry["coordinates"][0] == [[10.0, 60.0], [11.0, 60.0], [11.0, 61.0], [10.0, 60.0]]


def test_output_is_plain_json_lists_of_floats() -> None:
    geometry = parse_typed("60 10\n60 11\n61 11", "wgs84", "polygon")
    for ring in geometry["coordinates"]:
        assert isinstance(ring, list)
        for position in ring:
            assert isinstance(position, list)
            assert all(type(c) is float for c in position)


# -- UTM -------------------------------------------------------------------------------------


def test_oslo_city_hall_in_utm33_is_where_expected() -> None:
    easting, northing = to_projected(*OSLO_CITY_HALL, "utm33")
    reference = independent_projection(*OSLO_CITY_HALL, "utm33")
    assert easting == pytest.approx(reference[0], abs=1e-6)
    assert northing == pytest.approx(reference[1], abs=1e-6)
    # Roughly E 262 000, N 6 649 000 (within a kilometre).
    assert abs(easting - 262_000) < 1_000
    assert abs(northing - 6_649_000) < 1_000


def test_to_projected_in_wgs84_is_the_identity() -> None:
    assert to_projected(*ALTA, "wgs84") == ALTA


@pytest.mark.parametrize(
    ("system", "place"),
    [
        ("utm33", OSLO_CITY_HALL),
        ("utm33", TROMSO),
        ("utm32", BERGEN),
        ("utm32", OSLO_CITY_HALL),
        ("utm35", KIRKENES),
        ("utm35", VARDO),
        ("utm35", ALTA),
    ],
)
def test_utm_round_trip(system: str, place: tuple[float, float]) -> None:
    lon, lat = place
    easting, northing = independent_projection(lon, lat, system)
    assert to_projected(lon, lat, system) == pytest.approx((easting, northing), abs=1e-6)

    geometry = parse_typed(f"{easting:.4f} {northing:.4f}", system, "point")
    back_lon, back_lat = geometry["coordinates"]
    assert back_lon == pytest.approx(lon, abs=1e-7)
    assert back_lat == pytest.approx(lat, abs=1e-7)

    again = to_projected(back_lon, back_lat, system)
    assert again[0] == pytest.approx(easting, abs=0.01)
    assert again[1] == pytest.approx(northing, abs=0.01)


def test_utm_with_decimal_commas() -> None:
    easting, northing = to_projected(*OSLO_CITY_HALL, "utm33")
    text = f"{easting:.2f} {northing:.2f}".replace(".", ",")
    lon, lat = parse_typed(text, "utm33", "point")["coordinates"]
    assert (lon, lat) == pytest.approx(OSLO_CITY_HALL, abs=1e-6)


def test_utm_line_and_polygon() -> None:
    corners = [(10.70, 59.90), (10.75, 59.90), (10.75, 59.93)]
    text = "\n".join(utm_line(lon, lat, "utm33") for lon, lat in corners)
    line = parse_typed(text, "utm33", "line")["coordinates"]
    assert len(line) == len(corners)
    for position, corner in zip(line, corners, strict=True):
        assert position == pytest.approx(list(corner), abs=1e-7)
    ring = parse_typed(text, "utm33", "polygon")["coordinates"][0]
    assert len(ring) == 4
    assert ring[0] == ring[-1]


def test_swapped_easting_and_northing() -> None:
    easting, northing = to_projected(*OSLO_CITY_HALL, "utm33")
    error = refused(f"{northing:.0f} {easting:.0f}", "utm33")
    assert error.code == "utm_swapped"
    assert error.params == {"line": 1}


def test_swapped_easting_and_northing_names_the_line() -> None:
    good = utm_line(*OSLO_CITY_HALL, "utm33")
    easting, northing = to_projected(10.75, 59.92, "utm33")
    error = refused(f"{good}\n{northing:.0f} {easting:.0f}", "utm33", "line")
    assert error.code == "utm_swapped"
    assert error.params == {"line": 2}


@pytest.mark.parametrize(
    "text", ["262000 5000000", "262000 9600000", "262000 -6649000", "100 200", "0 0"]
)
def test_northing_outside_norway(text: str) -> None:
    error = refused(text, "utm33")
    assert error.code == "utm_out_of_range"
    assert error.params == {"line": 1}


def test_wgs84_is_not_checked_against_utm_ranges() -> None:
    # Latitude/longitude plausibility is parse_geometry's job, not parse_typed's.
    assert parse_typed("10 200", "wgs84", "point")["coordinates"] == [200.0, 10.0]


# -- unreadable input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "69.9689",
        "69.9689 23.2715 12",
        "69,9689,23,2715",
        "69.9689 abc",
        "N69.9689 E23.2715",
        "69°58' 23°16'",
        ";;",
    ],
)
def test_garbage_line_is_bad_line(text: str) -> None:
    error = refused(text)
    assert error.code == "bad_line"
    assert error.params == {"line": 1}


def test_trailing_separator_is_tolerated() -> None:
    assert parse_typed("69.9689 23.2715;", "wgs84", "point")["coordinates"] == list(ALTA)


def test_bad_line_names_its_line_number() -> None:
    text = "59.9119 10.7337\n60.3929 5.3242\nhello there\n69.6492 18.9553"
    error = refused(text, shape="line")
    assert error.code == "bad_line"
    assert error.params == {"line": 3}
    assert "Line 3" in error.message and "hello there" in error.message


def test_bad_line_number_counts_blank_lines() -> None:
    error = refused("59.9119 10.7337\n\nhello there", shape="line")
    assert error.params == {"line": 3}


def test_bad_line_message_is_truncated() -> None:
    error = refused("x" * 500)
    assert error.code == "bad_line"
    assert len(error.message) < 200


@pytest.mark.parametrize("text", ["nan 10", "10 inf", "-inf 10", "1e400 10", "NaN NaN"])
def test_non_finite_numbers(text: str) -> None:
    error = refused(text)
    assert error.code == "not_finite"
    assert error.params == {"line": 1}


@pytest.mark.parametrize("system", ["utm34", "", "WGS84", "EPSG:4326", "utm 33"])
def test_unknown_system(system: str) -> None:
    error = refused("69.9689 23.2715", system)
    assert error.code == "unknown_system"
    assert error.params == {"system": system}


@pytest.mark.parametrize("shape", ["area", "", "Point", "multipoint", "polyline"])
def test_unknown_shape(shape: str) -> None:
    error = refused("69.9689 23.2715", "wgs84", shape)
    assert error.code == "unknown_shape"
    assert error.params == {"shape": shape}


def test_system_is_checked_before_the_text() -> None:
    assert refused("", "utm99").code == "unknown_system"
    assert refused("", "wgs84", "blob").code == "unknown_shape"


def test_known_systems_and_shapes() -> None:
    assert set(SYSTEMS) == {"wgs84", "utm32", "utm33", "utm35"}
    assert SHAPES == ("point", "line", "polygon")


# -- chained with parse_geometry -------------------------------------------------------------


def _typed_cases() -> list[tuple[str, str, str, str]]:
    corners = [(10.70, 59.90), (10.75, 59.90), (10.75, 59.93)]
    cases = [
        ("wgs84", "point", "69,9689 23,2715", "Point"),
        ("wgs84", "point", "78.2;15.6", "Point"),
        ("wgs84", "line", "59.9119 10.7337\n60.3929, 5.3242", "LineString"),
        ("wgs84", "polygon", "\n".join(f"{lat} {lon}" for lon, lat in corners), "Polygon"),
        ("wgs84", "polygon", "\n".join(f"{lon} {lat}" for lat, lon in corners), "Polygon"),
        ("utm32", "point", utm_line(*BERGEN, "utm32"), "Point"),
        ("utm35", "point", utm_line(*KIRKENES, "utm35"), "Point"),
    ]
    for system in ("utm32", "utm33", "utm35"):
        lines = "\n".join(utm_line(lon, lat, system) for lon, lat in corners)
        cases.append((system, "line", lines, "LineString"))
        cases.append((system, "polygon", lines, "Polygon"))
    return cases


@pytest.mark.parametrize(("system", "shape", "text", "gtype"), _typed_cases())
def test_typed_output_is_accepted_by_parse_geometry(
    system: str, shape: str, text: str, gtype: str
) -> None:
    geometry = parse_typed(text, system, shape)
    assert geometry["type"] == gtype
    shape_obj = parse_geometry(geometry)
    assert shape_obj.geom_type == gtype
    assert shape_obj.is_valid


def test_typed_polygon_comes_back_counter_clockwise() -> None:
    clockwise = "59.90 10.70\n59.93 10.75\n59.90 10.75"
    assert parse_geometry(parse_typed(clockwise, "wgs84", "polygon")).exterior.is_ccw


def test_typed_lon_lat_instead_of_lat_lon_is_caught_as_swapped() -> None:
    geometry = parse_typed("23.2715 69.9689", "wgs84", "point")
    with pytest.raises(GeometryError) as info:
        parse_geometry(geometry)
    assert info.value.code == "swapped"


def test_utm_zone_matters() -> None:
    # Kirkenes's zone 35 numbers read as zone 32 land 18 degrees (three zones) further west, in
    # the sea off Vesterålen: only the outline of Norway catches it; choose the zone explicitly.
    geometry = parse_typed(utm_line(*KIRKENES, "utm35"), "utm32", "point")
    lon, lat = geometry["coordinates"]
    assert lon == pytest.approx(KIRKENES[0] - 18.0, abs=1e-6)
    assert lat == pytest.approx(KIRKENES[1], abs=1e-6)
    with pytest.raises(GeometryError) as info:
        parse_geometry(geometry)
    assert info.value.code == "outside_norway"


# -- property --------------------------------------------------------------------------------


def _coordinate(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=low, max_value=high, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["utm32", "utm33", "utm35"]),
    _coordinate(MAINLAND[0], MAINLAND[2]),
    _coordinate(MAINLAND[1], MAINLAND[3]),
)
def test_any_mainland_position_round_trips_through_utm(system: str, lon: float, lat: float) -> None:
    geometry = parse_typed(utm_line(lon, lat, system), system, "point")
    back_lon, back_lat = geometry["coordinates"]
    assert abs(back_lon - lon) <= 1e-7
    assert abs(back_lat - lat) <= 1e-7
    if in_norway(lon, lat):  # the box around the mainland also holds Sweden and open sea
        assert parse_geometry(geometry).geom_type == "Point"
