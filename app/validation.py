"""One validation convention for every feature: a field-error collector and one text cleaner.

Traces, projects, comments, accounts, revisions, vocabularies and imports clean what people
type with the same two functions, so the rules are the same everywhere:

- NFC normalisation, so the same word is stored the same way whatever keyboard typed it;
- no NUL (PostgreSQL text cannot hold it), no other control characters, no lone surrogates;
- no bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C): an RTL
  override would reorder what a moderator reads, and no title or name needs one;
- titles and names must contain a letter or a digit that can be seen: zero-width characters,
  combining marks and filler characters alone are refused.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask import Flask
from flask_babel import gettext

from app.errors import ValidationFailed

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # isolates
    "\u200e\u200f\u061c"  # marks
)
# Letters that render as nothing: Hangul fillers are a known way to fake an empty name.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029|\x85")


class FieldErrors:
    """Collects every field's problems, so one answer names them all (422 with each field)."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        """Record one problem with `field`."""
        self.errors.setdefault(field, []).append(message)

    def merge(self, errors: dict[str, list[str]]) -> None:
        """Take over the problems of another check (e.g. a caught ValidationFailed.errors)."""
        for field, messages in errors.items():
            for message in messages:
                self.add(field, message)

    def __contains__(self, field: str) -> bool:
        return field in self.errors

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        """Raise ValidationFailed naming every field with a problem; nothing if all is well."""
        if self.errors:
            raise ValidationFailed(self.errors)


def is_visible(char: str) -> bool:
    """True for a letter or digit that shows on screen (not a filler, mark or format char)."""
    return unicodedata.category(char)[0] in "LN" and char not in _INVISIBLE_LETTERS


def has_visible_text(text: str) -> bool:
    """True if the text contains at least one visible letter or digit."""
    return any(is_visible(char) for char in text)


def strip_controls(text: str, *, multiline: bool) -> str:
    """NFC text without NUL, control, bidi-control or surrogate characters.

    Multi-line text keeps its line breaks (as "\\n") and tabs; one-line text turns them into
    spaces, which clean_line then collapses.
    """
    text = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", text))
    kept = []
    for char in text:
        if char in "\n\t":
            kept.append(char if multiline else " ")
        elif char in BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs"):
            continue
        else:
            kept.append(char)
    # Again after stripping: a removed control between a letter and its mark hid a composition.
    return unicodedata.normalize("NFC", "".join(kept))


# str.translate drops them in C: the queue page calls this about 1,400 times.
_BIDI_TABLE = dict.fromkeys(map(ord, BIDI_CONTROLS))


def strip_bidi(text: Any) -> str:
    """The text without bidi controls: for showing records stored before they were refused."""
    return str(text or "").translate(_BIDI_TABLE)


def init_app(app: Flask) -> None:
    """Offer the `no_bidi` template filter (titles in <title> and attributes cannot be <bdi>)."""
    app.add_template_filter(strip_bidi, "no_bidi")


def _edges_trimmed(text: str) -> str:
    """Without leading or trailing white space and zero-width (format) characters."""
    start, end = 0, len(text)
    while start < end and _blank(text[start]):
        start += 1
    while end > start and _blank(text[end - 1]):
        end -= 1
    return text[start:end]


def _blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"


def _invisible_message() -> str:
    return gettext("Use letters or digits: this text has none that can be seen.")


def _empty_message(typed: str) -> str:
    """Empty is "required"; only invisible characters (zero-width, bidi controls) say so."""
    return _invisible_message() if typed.strip() else gettext("This field is required.")


def _as_text(raw: Any, field: str, errors: FieldErrors) -> str | None:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        errors.add(field, gettext("Must be text."))
        return None
    return raw


def clean_line(
    raw: Any,
    *,
    field: str,
    errors: FieldErrors,
    required: bool = False,
    max_len: int,
    min_len: int = 0,
) -> str:
    """One line of text (a title, a name, a label): cleaned, white space collapsed, checked.

    Problems go to `errors` under `field`; the cleaned text is returned either way, so every
    field of a form can be checked before the collector raises. Non-empty text must contain a
    visible letter or digit.
    """
    text = _as_text(raw, field, errors)
    if text is None:
        return ""
    typed = text
    text = _edges_trimmed(" ".join(strip_controls(text, multiline=False).split()))
    if not text:
        if required:
            errors.add(field, _empty_message(typed))
        return ""
    if not has_visible_text(text):
        errors.add(field, _invisible_message())
    elif len(text) < min_len:
        errors.add(field, gettext("At least %(limit)s characters.", limit=min_len))
    if len(text) > max_len:
        errors.add(field, gettext("At most %(limit)s characters.", limit=max_len))
    return text


def clean_text(
    raw: Any,
    *,
    field: str,
    errors: FieldErrors,
    required: bool = False,
    max_len: int,
) -> str:
    """Multi-line text (a description, a comment, sources): cleaned, line breaks kept.

    Text with nothing visible in it counts as empty; a required field is refused, saying so
    when only invisible characters (zero-width, combining marks) were typed.
    """
    typed = _as_text(raw, field, errors)
    if typed is None:
        return ""
    text = _edges_trimmed(strip_controls(typed, multiline=True))
    if not any(not _blank(char) and unicodedata.category(char)[0] != "M" for char in text):
        text = ""  # only spaces, zero-width characters and combining marks
    if required and not has_visible_text(text):
        errors.add(field, _empty_message(typed) if not text else _invisible_message())
    if len(text) > max_len:
        errors.add(field, gettext("At most %(limit)s characters.", limit=max_len))
    return text
