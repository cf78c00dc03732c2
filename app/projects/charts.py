"""Bar charts as server-rendered SVG for the story page: no script, no CDN, printable.

Each chart is an image (role="img") labelled by the caption of the figure it sits in; the
table next to it carries the same numbers for screen readers and for copying.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
BAR = 16  # height of one horizontal bar
GAP = 6
LABEL_WIDTH = 210
VALUE_ROOM = 56  # room right of the longest bar for its number
CHARS_IN_LABEL = 30  # a longer label is cut with an ellipsis (the table has it whole)


def _svg_open(width: float, height: float, labelled_by: str, css_class: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{escape(css_class)}" role="img" '
        f'aria-labelledby="{escape(labelled_by)}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" preserveAspectRatio="xMinYMin meet">'
    )


# Controls, lone surrogates and non-characters (U+FFFE): XML cannot hold them.
_BAD = ("Cc", "Cs", "Cn")


def _text(label: str) -> str:
    """The label as SVG text: escaped, without characters XML cannot hold (controls)."""
    return escape("".join(c for c in label if c in "\t" or unicodedata.category(c) not in _BAD))


def _short(label: str) -> str:
    return label if len(label) <= CHARS_IN_LABEL else label[: CHARS_IN_LABEL - 1].rstrip() + "…"


def bar_length(value: int, largest: int, room: float) -> float:
    """Pixels for a value on a scale where the largest value fills the room (0 for 0)."""
    if largest <= 0 or value <= 0:
        return 0.0
    return max(1.0, room * value / largest)


def horizontal_bars(rows: Sequence[tuple[str, int]], *, labelled_by: str) -> Markup:
    """One bar per (label, value), labels on the left, numbers at the bars' ends."""
    room = WIDTH - LABEL_WIDTH - VALUE_ROOM
    largest = max((value for _, value in rows), default=0)
    height = max(1, len(rows)) * (BAR + GAP) + GAP
    parts = [_svg_open(WIDTH, height, labelled_by, "story-chart bars")]
    for index, (label, value) in enumerate(rows):
        top = GAP + index * (BAR + GAP)
        middle = top + BAR / 2
        length = bar_length(value, largest, room)
        parts.append(
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="central">{_text(_short(label))}</text>'
            f'<rect class="bar" x="{LABEL_WIDTH}" y="{top}" width="{length:.1f}" height="{BAR}"/>'
            f'<text class="value" x="{LABEL_WIDTH + length + 6:.1f}" y="{middle:.1f}" '
            f'dominant-baseline="central">{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above


def columns(rows: Sequence[tuple[str, int]], *, labelled_by: str, label_every: int = 3) -> Markup:
    """One column per (label, value) in order (months), every label_every-th label shown."""
    height, top, bottom, side = 200, 18, 34, 28  # side: room for the first and last label
    room = height - top - bottom
    count = max(1, len(rows))
    step = (WIDTH - 2 * side) / count
    largest = max((value for _, value in rows), default=0)
    parts = [_svg_open(WIDTH, height, labelled_by, "story-chart columns")]
    parts.append(
        f'<line class="axis" x1="{side}" y1="{height - bottom}" x2="{WIDTH - side}" '
        f'y2="{height - bottom}"/>'
    )
    for index, (label, value) in enumerate(rows):
        length = bar_length(value, largest, room)
        left = side + index * step + step * 0.15
        centre = side + index * step + step / 2
        y = height - bottom - length
        parts.append(
            f'<rect class="bar" x="{left:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
            f'height="{length:.1f}"/>'
        )
        if value:
            parts.append(
                f'<text class="value" x="{centre:.1f}" y="{y - 4:.1f}" '
                f'text-anchor="middle">{value}</text>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text class="label" x="{centre:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle">{_text(label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
