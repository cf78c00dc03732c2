"""One parser for dates, date-times and intervals: OGC `datetime`, export `updated_since`.

Every moment is worked out in whole microseconds on the UTC time line before it becomes a
Python datetime, so an offset that pushes a moment past year 9999 or before year 1 (such as
9999-12-31T23:59:59-23:59) cannot overflow: such moments are clamped to the ends of the
range a datetime can hold, which is what they mean for a filter (after everything, or before
everything). Errors are ``TimeError`` (a ValueError) with a stable ``code``; ``time_message``
turns them into the visitor's language, and ``str()`` gives plain English for the command line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# RFC 3339 date-time; seconds and the zone may be left out where the caller allows it (export).
# A space before the offset is a "+" that a URL decoded into a space.
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,32}))?)?"
    r"([Zz]|[+\- ]\d{2}:?\d{2})?"
)
_US = 1_000_000
_DAY_US = 86_400 * _US
_EPOCH = datetime.min.replace(tzinfo=UTC)  # microsecond 0 of the time line used here
_LAST_US = (datetime.max.replace(tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_OPEN = ("", "..")


class TimeError(ValueError):
    """A date, date-time or interval that cannot be used; ``code`` is format, zone or order."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Interval:
    """A time range in UTC: start inclusive, stop exclusive; None is an open end."""

    start: datetime | None
    stop: datetime | None


def _refuse_format() -> TimeError:
    return TimeError(
        "format",
        "give a date (2026-01-31) or an RFC 3339 date-time (2026-01-31T12:00:00Z), "
        "or an interval start/end with .. for an open end",
    )


def _moment(text: str, assume_utc: bool) -> tuple[int, int]:
    """[start, stop) in microseconds on the UTC line, at the precision the text is written in."""
    text = text.strip()
    try:
        found = _DATE.fullmatch(text)
        if found:
            day = date(*(int(part) for part in found.groups()))
            start = (day.toordinal() - 1) * _DAY_US
            return start, start + _DAY_US
        found = _DATETIME.fullmatch(text)
        if not found:
            raise _refuse_format()
        year, month, day_, hour, minute, second, fraction, zone = found.groups()
        local = datetime(int(year), int(month), int(day_), int(hour), int(minute),
                         int(second or 0))  # fmt: skip
    except ValueError as error:  # a well-formed string that is no real time, or no match
        if isinstance(error, TimeError):
            raise
        raise _refuse_format() from None
    start = (local - datetime.min) // timedelta(microseconds=1)
    digits = (fraction or "")[:6]
    start += int(digits.ljust(6, "0")) if digits else 0
    if second is None:
        step = 60 * _US
    else:
        step = 10 ** (6 - len(digits))
    if zone is None:
        if not assume_utc:
            raise TimeError("zone", "a date-time needs its offset from UTC, such as Z or +01:00")
    elif zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        if hours > 23 or minutes > 59:
            raise _refuse_format()
        start -= sign * (hours * 3600 + minutes * 60) * _US
    return start, start + step


def _clamped(microseconds: int) -> datetime:
    return _EPOCH + timedelta(microseconds=min(max(microseconds, 0), _LAST_US))


def parse_instant(text: str, *, assume_utc: bool = False) -> datetime:
    """The start of a date or date-time in UTC (a time without a zone is UTC if assume_utc)."""
    return _clamped(_moment(text, assume_utc)[0])


def parse_interval(text: str) -> Interval:
    """An instant (matched at its precision) or start/end with `..` or nothing for an open end."""
    text = text.strip()
    if "/" not in text:
        if text in _OPEN:
            raise _refuse_format()
        start, stop = _moment(text, assume_utc=False)
        return Interval(_clamped(start), _clamped(stop))
    left, _, right = text.partition("/")
    begin = None if left.strip() in _OPEN else _moment(left, assume_utc=False)[0]
    end = None if right.strip() in _OPEN else _moment(right, assume_utc=False)[1]
    if begin is not None and end is not None and begin >= end:
        raise TimeError("order", "the interval ends before it starts")
    return Interval(
        None if begin is None else _clamped(begin), None if end is None else _clamped(end)
    )


def time_message(error: TimeError, *, interval: bool = True) -> str:
    """The translated message for a refused date, time or interval (needs a request)."""
    if error.code == "zone":
        return gettext("A date-time needs its offset from UTC, such as Z or +01:00.")
    if error.code == "order":
        return gettext("The interval ends before it starts.")
    if not interval:
        return gettext("Give a date like 2026-01-31 or a time like 2026-01-31T12:00:00Z.")
    return gettext(
        "Give a date (2026-01-31) or an RFC 3339 date-time (2026-01-31T12:00:00Z), "
        "or an interval start/end with .. for an open end."
    )
