"""Bar and column charts for the story page, laid out on the server: no script, no CDN.

The builders are pure: they turn (label, value) rows into shapes with pixel positions, and the
template macros in templates/projects/_charts.html write them as SVG with Jinja's escaping
(so no markup is built in Python). Each chart is an image (role="img") named by its figure's
caption; the table beside it carries the same numbers for screen readers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
BAR = 16  # height of one horizontal bar
GAP = 6
LABEL_WIDTH = 210
VALUE_ROOM = 56  # room right of the longest bar for its number
CHARS_IN_LABEL = 30  # a longer label is cut with an ellipsis (the table has it whole)
# Controls, lone surrogates and non-characters (U+FFFE): SVG text cannot hold them.
_BAD = ("Cc", "Cs", "Cn")


@dataclass(frozen=True)
class Bar:
    """One bar: its rectangle, its label and its number, in pixels."""

    x: float
    y: float
    width: float
    height: float
    value: int
    label: str  # "" when this bar's label is not drawn
    label_x: float
    label_y: float
    value_x: float
    value_y: float


@dataclass(frozen=True)
class Chart:
    """A chart's size, its bars and (for columns) the base line."""

    width: float
    height: float
    bars: list[Bar]
    axis: tuple[float, float, float, float] | None = None


def clean(label: str) -> str:
    """The label without characters SVG text cannot hold (controls, non-characters)."""
    return "".join(c for c in label if unicodedata.category(c) not in _BAD)


def _short(label: str) -> str:
    label = clean(label)
    return label if len(label) <= CHARS_IN_LABEL else label[: CHARS_IN_LABEL - 1].rstrip() + "…"


def bar_length(value: int, largest: int, room: float) -> float:
    """Pixels for a value on a scale where the largest value fills the room (0 for 0)."""
    if largest <= 0 or value <= 0:
        return 0.0
    return round(max(1.0, room * value / largest), 1)


def horizontal_bars(rows: Sequence[tuple[str, int]]) -> Chart:
    """One bar per (label, value), labels on the left, numbers at the bars' ends."""
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    largest = max((value for _, value in rows), default=0)
    bars = []
    for index, (label, value) in enumerate(rows):
        top = GAP + index * (BAR + GAP)
        middle = top + BAR / 2
        length = bar_length(value, largest, room)
        bars.append(
            Bar(
                LABEL_WIDTH,
                top,
                length,
                BAR,
                value,
                _short(label),
                LABEL_WIDTH - 8,
                middle,
                LABEL_WIDTH + length + 6,
                middle,
            )  # fmt: skip
        )
    return Chart(WIDTH, max(1, len(rows)) * (BAR + GAP) + GAP, bars)


def columns(rows: Sequence[tuple[str, int]], label_every: int = 3) -> Chart:
    """One column per (label, value) in order (months), every label_every-th label drawn."""
    height, top, bottom, side = 200, 18, 34, 28  # side: room for the first and last label
    room = height - top - bottom
    step = (WIDTH - 2 * side) / max(1, len(rows))
    largest = max((value for _, value in rows), default=0)
    bars = []
    for index, (label, value) in enumerate(rows):
        length = bar_length(value, largest, room)
        centre = round(side + index * step + step / 2, 1)
        y = height - bottom - length
        bars.append(
            Bar(
                round(side + index * step + step * 0.15, 1),
                round(y, 1),
                round(step * 0.7, 1),
                length,
                value,
                clean(label) if index % label_every == 0 else "",
                centre,
                height - bottom + 16,
                centre,
                round(y - 4, 1),
            )  # fmt: skip
        )
    return Chart(WIDTH, height, bars, (side, height - bottom, WIDTH - side, height - bottom))
