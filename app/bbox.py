"""The web side of geo.bbox: its errors in the visitor's language and the box as SQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flask_babel import gettext
from sqlalchemy import ColumnElement, func, or_

from geo.bbox import BBox, BBoxError


def _name(name: object) -> str:
    names = {
        "west": gettext("west"),
        "south": gettext("south"),
        "east": gettext("east"),
        "north": gettext("north"),
        "min height": gettext("min height"),
        "max height": gettext("max height"),
    }
    return names.get(str(name), str(name))


def bbox_message(error: BBoxError) -> str:
    """The translated message for a refused box (needs a request, for the language)."""
    params = error.params
    if error.code == "empty":
        return gettext("Give four numbers: west, south, east, north.")
    if error.code == "count":
        return gettext(
            "Give four numbers (west, south, east, north) or six (with heights), not %(count)s.",
            count=params.get("count", 0),
        )
    if error.code == "longitude":
        return gettext(
            "%(name)s must be a number between -180 and 180.", name=_name(params.get("name"))
        )
    if error.code == "latitude":
        return gettext(
            "%(name)s must be a number between -90 and 90.", name=_name(params.get("name"))
        )
    if error.code == "height":
        return gettext("%(name)s must be a finite number.", name=_name(params.get("name")))
    if error.code == "south_above_north":
        return gettext("south must not be greater than north.")
    return error.message


def in_box(box: Sequence[float], test: Callable[[Any], ColumnElement[bool]]) -> ColumnElement[bool]:
    """SQL condition: `test` holds for the box's envelope, or for either half across 180°."""
    # Not one multi-polygon: located_in() tests with `&&`, and the bounding box of the two
    # halves spans the whole globe.
    envelopes = [func.ST_MakeEnvelope(*part, 4326) for part in BBox(*box[:4]).parts()]
    return or_(*(test(shape) for shape in envelopes))
