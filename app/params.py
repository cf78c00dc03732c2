"""Request parameters that PostgreSQL cannot take never reach a view.

- `<int:...>` in a route accepts 0..2147483647 only (PostgreSQL `integer`); a larger number
  is an unknown id, so 404 like any other, instead of an overflow in the database.
- int_arg() reads an integer query parameter within bounds, else a 400 naming it; db_int()
  and clamped_whole_number() read digits for callers with their own message.
- refuse_control_characters() turns away NUL and other control characters in the path, the
  query string and form fields (400): PostgreSQL text cannot hold NUL, and no field needs
  the others. Tabs and line breaks stay legal in query and form values.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, request
from flask_babel import gettext
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, ValidationError

from app.errors import DomainError

PG_INT_MAX = 2_147_483_647  # PostgreSQL `integer`, the type of every id column
# In the path nothing below U+0020 belongs; in values tab, LF and CR may (multi-line text).
_PATH_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_VALUE_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]{1,30}")


class BadParameter(DomainError):
    """A query parameter or a path segment the application cannot use."""

    status = 400
    code = "bad_parameter"


class DatabaseIntConverter(IntegerConverter):
    """Werkzeug's `int`, limited to what a PostgreSQL integer holds (larger: no such page)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", PG_INT_MAX)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> int:
        """The number, or no match (404) when it cannot be an id; never an error."""
        if len(value.lstrip("0")) > len(str(PG_INT_MAX)):  # spares int() a 5,000-digit string
            raise ValidationError()
        return super().to_python(value)


def int_arg(
    name: str, default: int | None = None, *, min: int = 0, max: int = PG_INT_MAX
) -> int | None:
    """The query parameter `name` as an integer in min..max, `default` if absent or empty.

    Anything else (not a whole number, out of range) is a 400 that names the parameter.
    """
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        raise BadParameter(gettext("%(name)s must be a whole number.", name=name))
    value = int(text)
    if not min <= value <= max:
        raise BadParameter(
            gettext(
                "%(name)s must be a whole number from %(min)s to %(max)s.",
                name=name,
                min=min,
                max=max,
            )
        )
    return value


def db_int(text: str) -> int | None:
    """Plain digits as an int when a PostgreSQL integer holds it (an id, a version); else None."""
    if not (text.isascii() and text.isdigit()) or len(text.lstrip("0")) > len(str(PG_INT_MAX)):
        return None  # also spares int() a 5,000-digit string
    value = int(text)
    return value if value <= PG_INT_MAX else None


def clamped_whole_number(raw: str) -> int | None:
    """A whole number 0 or more (surrounding space allowed), else None; past 18 digits 10**18.

    For limits and offsets, where the exact value of a huge number no longer matters and
    PostgreSQL takes a bigint.
    """
    text = raw.strip()
    if not (text.isascii() and text.isdigit()):
        return None
    return int(text) if len(text) <= 18 else 10**18


def refuse_control_characters() -> None:
    """Before every view: 400 for a control character in the path, query or form fields."""
    if _PATH_CONTROLS.search(request.path):
        raise BadParameter(gettext("The address contains a control character."))
    for values in (request.args, _form_fields()):
        for key, value in values.items(multi=True):
            if _VALUE_CONTROLS.search(key) or _VALUE_CONTROLS.search(value):
                raise BadParameter(
                    gettext(
                        "The parameter %(name)s contains a control character.",
                        name=_VALUE_CONTROLS.sub("?", key)[:64],
                    )
                )
    for key, upload in request.files.items(multi=True) if _has_form_body() else ():
        if _VALUE_CONTROLS.search(key) or _VALUE_CONTROLS.search(upload.filename or ""):
            raise BadParameter(gettext("The uploaded file's name contains a control character."))


def _has_form_body() -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _form_fields() -> Any:
    return request.form if _has_form_body() else MultiDict()


def init_app(app: Flask) -> None:
    """Install the bounded `int` converter and the control-character check."""
    app.url_map.converters["int"] = DatabaseIntConverter
    app.before_request(refuse_control_characters)
