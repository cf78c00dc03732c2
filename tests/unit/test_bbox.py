"""geo.bbox: one set of rules for every bounding box the application reads."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.bbox import BBox, BBoxError, parse_bbox

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True)
LON = st.floats(-180, 180, allow_nan=False)
LAT = st.floats(-90, 90, allow_nan=False)
# What people and programs type: numbers in every spelling, words, blanks, odd separators.
TOKEN = st.one_of(
    ANY_FLOAT.map(repr),
    ANY_FLOAT.map(str),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " ", "nan", "-inf", "Infinity", "1e400", "0x10", "1_0", "..", "٣"]),
    st.text(max_size=6),
)
SEPARATOR = st.sampled_from([",", ", ", " ", ";", ",,"])


@st.composite
def texts(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(TOKEN, min_size=0, max_size=8))
    separator = draw(SEPARATOR)
    return separator.join(tokens)


def _check_invariants(box: BBox) -> None:
    assert all(math.isfinite(v) for v in box)
    assert -180 <= box.west <= 180 and -180 <= box.east <= 180
    assert -90 <= box.south <= box.north <= 90
    for west, south, east, north in box.parts():
        assert west <= east and south <= north
    assert len(box.parts()) == (2 if box.crosses_antimeridian else 1)


@settings(max_examples=120, deadline=None)
@given(st.one_of(texts(), st.lists(st.one_of(ANY_FLOAT, st.integers(), TOKEN), max_size=8)))
def test_parse_raises_only_its_own_error_and_results_keep_the_rules(value) -> None:  # noqa: ANN001
    try:
        box = parse_bbox(value)
    except BBoxError as error:
        assert error.code in ("empty", "count", "longitude", "latitude", "height",
                              "south_above_north")  # fmt: skip
        assert str(error)
        return
    _check_invariants(box)


@settings(max_examples=80, deadline=None)
@given(st.lists(ANY_FLOAT, min_size=4, max_size=4), st.booleans())
def test_view_mode_raises_only_its_own_error(numbers: list[float], as_text: bool) -> None:
    value = ",".join(map(repr, numbers)) if as_text else numbers
    try:
        box = parse_bbox(value, view=True)
    except BBoxError:
        return
    _check_invariants(box)
    assert box.west < box.east and box.south < box.north


@settings(max_examples=80, deadline=None)
@given(LON, LAT, LON, LAT, st.booleans())
def test_valid_numbers_in_any_order_give_the_box_they_say(
    west: float, south: float, east: float, north: float, six: bool
) -> None:
    numbers = [west, south, 0.0, east, north, 12.5] if six else [west, south, east, north]
    if south > north:
        with pytest.raises(BBoxError) as caught:
            parse_bbox(numbers)
        assert caught.value.code == "south_above_north"
        return
    # As a list and as the text a URL carries: the same box.
    box = parse_bbox(numbers)
    assert box == parse_bbox(",".join(map(repr, numbers)))
    assert tuple(box) == (west, south, east, north)
    assert box.crosses_antimeridian == (west > east)
    _check_invariants(box)


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 180), st.floats(0, 180), LAT)
def test_a_box_across_180_holds_both_sides_and_not_the_middle(
    west_gap: float, east_gap: float, lat: float
) -> None:
    west, east = 180.0 - west_gap / 2 - 0.001, -180.0 + east_gap / 2 + 0.001
    box = parse_bbox([west, -90, east, 90])
    assert box.crosses_antimeridian
    assert box.contains(180.0, lat) and box.contains(-180.0, lat)
    assert box.contains(west, lat) and box.contains(east, lat)
    middle = (west + east) / 2
    assert not box.contains(middle, lat) or middle in (west, east)


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        ("", "empty", "four numbers"),
        (None, "empty", "four numbers"),
        ("1,2,3", "count", "not 3"),
        ("1,2,3,4,5", "count", "not 5"),
        ("a,2,3,4", "longitude", "west must be a number between -180 and 180"),
        ("181,2,182,4", "longitude", "west must be a number between -180 and 180"),
        ("1,-91,3,4", "latitude", "south must be a number between -90 and 90"),
        ("1,2,inf,4", "longitude", "east must be a number between -180 and 180"),
        ("1,2,3,nan", "latitude", "north must be a number between -90 and 90"),
        ("1,2,nan,3,4,5", "height", "min height must be a finite number"),
        ("1,5,3,4", "south_above_north", "south must not be greater than north"),
        ([True, 2, 3, 4], "longitude", "west"),
        ([1, 2, 10**400, 4], "longitude", "east"),
    ],
)
def test_refusals_say_what_is_wrong(value, code: str, message: str) -> None:  # noqa: ANN001
    with pytest.raises(BBoxError) as caught:
        parse_bbox(value)
    assert caught.value.code == code
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_six_numbers_drop_the_heights_and_spellings_agree() -> None:
    assert parse_bbox("5,60,-100,6,61,2500") == BBox(5.0, 60.0, 6.0, 61.0)
    assert parse_bbox(" 5, 60 ,6,61 ") == parse_bbox("5 60 6 61") == parse_bbox("5;60;6;61")
    assert parse_bbox("179,-1,-179,1").parts() == ((179, -1, 180, 1), (-180, -1, -179, 1))
    assert not parse_bbox("-0.0,0,0,1").crosses_antimeridian


def test_a_map_view_is_cut_to_the_globe() -> None:
    assert parse_bbox("-250,-95,-100,95", view=True) == BBox(-180, -90, -100, 90)
    for empty in ("200,70,210,71", "24,70,24,71", "24,71,25,70"):
        with pytest.raises(BBoxError):
            parse_bbox(empty, view=True)
