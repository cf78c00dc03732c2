"""One bounding-box parser for every channel: the map, the OGC API, exports, the queue, areas.

The rules are the same everywhere:

- four numbers west,south,east,north, or six (west,south,min height,east,north,max height:
  the heights are checked and then ignored, as OGC API - Features allows);
- every number finite; longitudes from -180 to 180, latitudes from -90 to 90;
- south at most north;
- west greater than east means the box crosses the antimeridian (OGC API - Features, 7.15.3):
  ``BBox.parts()`` gives the two boxes either side of it for the SQL side.

A map view is the one exception, asked for with ``view=True``: a zoomed-out web map reports
longitudes beyond ±180 and never wraps, so the view is cut to the globe and must keep a width
and a height.

Errors are ``BBoxError`` (a ValueError) with a stable ``code`` and ``params`` the web layer
translates, and a plain English message for logs and the command line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import NamedTuple

from geo.errors import CodedError

Box = tuple[float, float, float, float]

# Commas (with optional spaces), semicolons or plain spaces separate the numbers.
_SEPARATOR = re.compile(r"\s*[,;]\s*|\s+")
NAMES_4 = ("west", "south", "east", "north")
NAMES_6 = ("west", "south", "min height", "east", "north", "max height")


class BBoxError(CodedError):
    """A bounding box that cannot be used, with a stable ``code`` and the message's ``params``.

    Codes: ``empty``, ``count`` (params count), ``longitude`` / ``latitude`` / ``height``
    (params name: west, south, east, north, min height or max height), ``south_above_north``.
    Not a GeometryError: the callers that catch both say different things for each.
    """


class BBox(NamedTuple):
    """A box in WGS84 degrees; west > east when it crosses the antimeridian."""

    west: float
    south: float
    east: float
    north: float

    @property
    def crosses_antimeridian(self) -> bool:
        """Whether the box runs east from `west` across 180° to `east`."""
        return self.west > self.east

    def parts(self) -> tuple[Box, ...]:
        """One box, or the two either side of the antimeridian (each with west <= east)."""
        if self.crosses_antimeridian:
            return (
                (self.west, self.south, 180.0, self.north),
                (-180.0, self.south, self.east, self.north),
            )
        return ((self.west, self.south, self.east, self.north),)

    def contains(self, lon: float, lat: float) -> bool:
        """Whether the point lies in the box (edges included)."""
        return any(w <= lon <= e and s <= lat <= n for w, s, e, n in self.parts())


def parse_bbox(value: str | Sequence[object] | None, *, view: bool = False) -> BBox:
    """The box a text such as "22.5,69.7,24,70.2" or a list of 4 or 6 numbers stands for.

    view=True reads a web map's view: cut to the globe, and refused without a width or a
    height. Raises BBoxError and nothing else.
    """
    numbers = _numbers(value)
    names = NAMES_6 if len(numbers) == 6 else NAMES_4
    checked = dict(zip(names, numbers, strict=True))
    for name, number in checked.items():
        if not math.isfinite(number):
            _refuse_value(name)
    if view:
        return _view(checked)
    for name in names:
        _check_range(name, checked[name])
    west, south, east, north = (checked[name] for name in NAMES_4)
    if south > north:
        raise BBoxError("south_above_north", "south must not be greater than north")
    # -0.0 and 0.0 are the same meridian; keep signs out of the crossing test.
    return BBox(west + 0.0, south + 0.0, east + 0.0, north + 0.0)


def _numbers(value: str | Sequence[object] | None) -> list[float]:
    if value is None:
        raise BBoxError("empty", "give four numbers: west,south,east,north")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise BBoxError("empty", "give four numbers: west,south,east,north")
        items: Sequence[object] = _SEPARATOR.split(text)
    else:
        items = list(value)
    if len(items) not in (4, 6):
        raise BBoxError(
            "count",
            f"give 4 numbers (west,south,east,north) or 6 (with heights), not {len(items)}",
            count=len(items),
        )
    names = NAMES_6 if len(items) == 6 else NAMES_4
    numbers = []
    for name, item in zip(names, items, strict=True):
        number = _number(item)
        if number is None:
            _refuse_value(name)
        numbers.append(number)
    return numbers


def _number(item: object) -> float | None:
    # bool is an int in Python, but True is no coordinate.
    if isinstance(item, bool):
        return None
    if isinstance(item, int | float):
        try:
            return float(item)
        except OverflowError:  # an int too large for a float
            return None
    if isinstance(item, str):
        try:
            return float(item)
        except ValueError:
            return None
    return None


def _refuse_value(name: str) -> None:
    if name in ("west", "east"):
        raise BBoxError("longitude", f"{name} must be a number between -180 and 180", name=name)
    if name in ("south", "north"):
        raise BBoxError("latitude", f"{name} must be a number between -90 and 90", name=name)
    raise BBoxError("height", f"{name} must be a finite number", name=name)


def _check_range(name: str, number: float) -> None:
    limit = {"west": 180.0, "east": 180.0, "south": 90.0, "north": 90.0}.get(name)
    if limit is not None and not -limit <= number <= limit:
        _refuse_value(name)


def _view(checked: dict[str, float]) -> BBox:
    # A web map never wraps its view: past ±180 or ±90 there is nothing to show, so the view is
    # cut to the globe, and what is left must still have a width and a height.
    west, south, east, north = (checked[name] for name in NAMES_4)
    west, east = max(west, -180.0), min(east, 180.0)
    south, north = max(south, -90.0), min(north, 90.0)
    if not west < east:
        raise BBoxError("longitude", "west must be less than east in a map view", name="west")
    if not south < north:
        raise BBoxError("south_above_north", "south must be less than north in a map view")
    return BBox(west + 0.0, south + 0.0, east + 0.0, north + 0.0)
