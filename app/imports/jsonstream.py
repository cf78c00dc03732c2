"""A JSON upload read in chunks, one whole value at a time, never the whole document.

imports.parse and places.readers walk a FeatureCollection with it (streamed_arrays), so
memory follows the largest feature, not the file. Numbers must be finite; invalid JSON, NaN and
Infinity refuse the whole file (FileRefused) with the line and column where they stand.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Container, Iterator
from typing import IO, Any

from flask_babel import gettext

CHUNK_CHARS = 1 << 20


class FileRefused(ValueError):
    """The whole file cannot be read; nothing in it is considered."""


class _NotFinite(ValueError):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _no_constant(text: str) -> Any:
    raise _NotFinite(text)


_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Tokens outside strings, to find where a NaN, an Infinity or a huge number stands.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|(-?(?:NaN|Infinity))|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)')


class JsonReader:
    """A JSON text read in chunks: whole values one at a time, never the whole document."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.buffer = ""
        self.pos = 0
        self.lines_before = 0  # line breaks in the text already dropped from the buffer
        self.eof = False
        self.decoder = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)

    def _more(self, at_least: int = CHUNK_CHARS) -> bool:
        """Drop what was read, append a chunk (at least as big as what is left: no rescans)."""
        if self.eof:
            return False
        if self.pos:
            self.lines_before += self.buffer.count("\n", 0, self.pos)
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        chunk = self.text.read(max(CHUNK_CHARS, at_least))
        if not chunk:
            self.eof = True
            return False
        self.buffer += chunk
        return True

    def peek(self) -> str:
        """The next character after whitespace ('' at the end of the file)."""
        while True:
            self.pos = _WHITESPACE.match(self.buffer, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def take(self, char: str) -> bool:
        """Step over char if it comes next."""
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def expect(self, char: str) -> None:
        """Step over char, or refuse the file."""
        if not self.take(char):
            raise FileRefused(self.invalid(self.pos))

    def value(self) -> Any:
        """The next complete JSON value."""
        self.peek()
        while True:
            try:
                value, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if self._more(len(self.buffer) - self.pos):
                    continue
                raise FileRefused(self.invalid(error.pos)) from None
            except _NotFinite:
                raise FileRefused(self._not_finite(self._infinite_at())) from None
            except ValueError:  # an integer with more digits than Python reads
                raise FileRefused(self.invalid(self.pos)) from None
            # A number or literal at the end of the buffer may go on in the next chunk.
            if end == len(self.buffer) and not isinstance(value, dict | list | str):
                if self._more():
                    continue
            self.pos = end
            return value

    def end(self) -> None:
        """Only whitespace may follow the document."""
        if self.peek() != "":
            raise FileRefused(self.invalid(self.pos))

    def _where(self, pos: int) -> dict[str, int]:
        line_start = self.buffer.rfind("\n", 0, pos)
        return {
            "line": self.lines_before + self.buffer.count("\n", 0, pos) + 1,
            "column": pos - line_start,
        }

    def invalid(self, pos: int) -> str:
        """The message for invalid JSON at pos."""
        return gettext(
            "The file is not valid JSON (line %(line)s, column %(column)s).", **self._where(pos)
        )

    def _infinite_at(self) -> int:
        for match in _TOKENS.finditer(self.buffer, self.pos):
            if match.group(1) or (match.group(2) and not math.isfinite(float(match.group(2)))):
                return match.start()
        return self.pos

    def _not_finite(self, pos: int) -> str:
        return gettext(
            "The file holds NaN, Infinity or a number too large (line %(line)s, column "
            "%(column)s). Coordinates and values must be finite numbers.",
            **self._where(pos),
        )


def streamed_arrays(
    reader: JsonReader,
    arrays: Container[str],
    top: dict[str, Any],
    before_array: Callable[[str], None],
    not_an_object: str,
) -> Iterator[tuple[str, Any]]:
    """The items of a JSON object's `arrays` members as (key, item), each as soon as it is read.

    The other members are stored in `top` whole (a streamed one as an empty list), and
    `before_array(key)` runs before a streamed array is entered, with the members before it
    already in `top` (a "crs" given ahead of the features). A document that is not an object
    is refused with `not_an_object`; anything after the object, as invalid JSON.
    """
    if not reader.take("{"):
        reader.value()
        reader.end()
        raise FileRefused(not_an_object)
    first = True
    while not reader.take("}"):
        if not first:
            reader.expect(",")
        first = False
        if reader.peek() != '"':
            raise FileRefused(reader.invalid(reader.pos))
        key = reader.value()
        reader.expect(":")
        if key not in arrays or reader.peek() != "[":
            top[key] = reader.value()
            continue
        top[key] = []  # its items are handed on, never kept
        before_array(key)
        reader.expect("[")
        if reader.take("]"):
            continue
        while True:
            yield key, reader.value()
            if reader.take("]"):
                break
            reader.expect(",")
    reader.end()
