"""app.timeparse: dates, date-times and intervals never overflow and never raise a stranger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.timeparse import Interval, TimeError, parse_instant, parse_interval

FIRST = datetime.min.replace(tzinfo=UTC)
LAST = datetime.max.replace(tzinfo=UTC)


@st.composite
def moments(draw: st.DrawFn) -> str:
    """Dates and RFC 3339 date-times over years 1-9999 and offsets up to ±23:59, some wrong."""
    year = draw(st.integers(0, 9999))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        return text
    hour, minute, second = (
        draw(st.integers(0, 24)),
        draw(st.integers(0, 60)),
        draw(st.integers(0, 61)),
    )
    text += draw(st.sampled_from("Tt ")) + f"{hour:02d}:{minute:02d}:{second:02d}"
    text += draw(st.sampled_from(["", ".5", ".123456789", ",25"]))
    sign = draw(st.sampled_from(["+", "-", " "]))
    offset = f"{sign}{draw(st.integers(0, 24)):02d}:{draw(st.integers(0, 60)):02d}"
    return text + draw(st.sampled_from(["Z", "z", offset, offset, ""]))


PART = st.one_of(
    moments(), st.sampled_from(["..", "", " ", "now", "9999-99-99"]), st.text(max_size=8)
)
INTERVALS = st.one_of(
    moments(), st.builds(lambda a, b: f"{a}/{b}", PART, PART), st.text(max_size=30)
)


def _aware_utc(value: datetime | None) -> bool:
    return value is None or (value.utcoffset() == timedelta(0) and FIRST <= value <= LAST)


@settings(max_examples=150, deadline=None)
@given(INTERVALS)
def test_intervals_give_utc_ranges_or_a_time_error(text: str) -> None:
    try:
        found = parse_interval(text)
    except TimeError as error:
        assert error.code in ("format", "zone", "order") and str(error)
        return
    assert isinstance(found, Interval)
    assert _aware_utc(found.start) and _aware_utc(found.stop)
    if found.start is not None and found.stop is not None:
        assert found.start <= found.stop


@settings(max_examples=120, deadline=None)
@given(moments(), st.booleans())
def test_instants_give_utc_or_a_time_error(text: str, assume_utc: bool) -> None:
    try:
        found = parse_instant(text, assume_utc=assume_utc)
    except TimeError:
        return
    assert _aware_utc(found)


@pytest.mark.parametrize(
    ("text", "start", "stop"),
    [
        ("9999-12-31T23:59:59-23:59/..", LAST, None),
        ("../0001-01-01T00:00:00+23:59", None, FIRST),
        ("9999-12-31", datetime(9999, 12, 31, tzinfo=UTC), LAST),
        ("2026-10-02T14:00:00+02:00", datetime(2026, 10, 2, 12, tzinfo=UTC),
         datetime(2026, 10, 2, 12, 0, 1, tzinfo=UTC)),
        ("2026-10-02T14:00:00 02:00", datetime(2026, 10, 2, 12, tzinfo=UTC),
         datetime(2026, 10, 2, 12, 0, 1, tzinfo=UTC)),
        ("2026-10-02T12:00:00.5Z", datetime(2026, 10, 2, 12, 0, 0, 500000, tzinfo=UTC),
         datetime(2026, 10, 2, 12, 0, 0, 600000, tzinfo=UTC)),
        ("../..", None, None),
    ],
)  # fmt: skip
def test_edges_are_clamped_not_overflowed(text: str, start, stop) -> None:  # noqa: ANN001
    assert parse_interval(text) == Interval(start, stop)


@pytest.mark.parametrize(
    ("text", "code"),
    [("yesterday", "format"), ("2026-02-30", "format"), ("", "format"), ("..", "format"),
     ("2026-10-01T12:00:00", "zone"), ("2026-10-01T12:00:00+24:00", "format"),
     ("2026-10-05/2026-10-01", "order"), ("2026-10-01/2026-10-02/2026-10-03", "format")],
)  # fmt: skip
def test_refusals_have_a_code(text: str, code: str) -> None:
    with pytest.raises(TimeError) as caught:
        parse_interval(text)
    assert caught.value.code == code


def test_an_instant_without_zone_is_utc_when_allowed() -> None:
    assert parse_instant("2026-01-31T12:00", assume_utc=True) == datetime(
        2026, 1, 31, 12, tzinfo=UTC
    )
    assert parse_instant("9999-12-31T23:59:59-23:59") == LAST
    with pytest.raises(TimeError):
        parse_instant("2026-01-31T12:00")
