"""The one text cleaner (app.validation): whatever comes in, what goes out is visible, clean text
or a refusal naming the field."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.errors import ValidationFailed
from app.validation import (
    BIDI_CONTROLS,
    FieldErrors,
    clean_line,
    clean_text,
    has_visible_text,
    strip_controls,
)

# Text made of the characters that cause trouble, mixed with ordinary ones.
TRICKY = st.sampled_from(
    [
        *BIDI_CONTROLS,
        "\x00", "\x01", "\x1b", "\x7f", "\r", "\n", "\r\n", "\t", "\x85", "\u2028",
        "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # zero-width / format
        "\u0301", "\u0308", "\u20dd", "\u0489",  # combining marks
        "\u3164", "\u115f", "\uffa0",  # Hangul fillers
        " ", "\u00a0", "\u3000",
        "a", "Å", "ø", "9", "ق", "א", "語", "🏛", "e\u0301",
    ]
)  # fmt: skip
ANY_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(TRICKY, max_size=30).map("".join),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
)
CONTROLS = {chr(c) for c in range(32)} | {"\x7f"}


def _clean_of_bad_characters(text: str, *, multiline: bool) -> bool:
    allowed = {"\n", "\t"} if multiline else set()
    return not any(
        (c in CONTROLS and c not in allowed)
        or c in BIDI_CONTROLS
        or unicodedata.category(c) == "Cs"
        for c in text
    )


@settings(max_examples=120, deadline=None)
@given(ANY_TEXT)
@example("\u200b\u200b")
@example("\u0301\u0301")
@example("\u3164")
@example("\u202eevil.exe")
@example("a\x00b")
def test_clean_line_gives_visible_clean_text_or_a_field_message(raw: str) -> None:
    errors = FieldErrors()
    text = clean_line(raw, field="title", errors=errors, required=True, max_len=30)
    assert _clean_of_bad_characters(text, multiline=False)
    assert text == text.strip() and "  " not in text and "\n" not in text
    assert unicodedata.is_normalized("NFC", text) or not has_visible_text(text)
    if errors:
        assert set(errors.errors) == {"title"} and all(errors.errors["title"])
        with pytest.raises(ValidationFailed) as refused:
            errors.raise_if_any()
        assert refused.value.errors["title"]
    else:
        assert has_visible_text(text) and len(text) <= 30


@settings(max_examples=80, deadline=None)
@given(ANY_TEXT)
def test_clean_text_keeps_lines_and_drops_controls(raw: str) -> None:
    errors = FieldErrors()
    text = clean_text(raw, field="body", errors=errors, required=True, max_len=30)
    assert _clean_of_bad_characters(text, multiline=True)
    assert "\r" not in text
    if not errors:
        assert has_visible_text(text) and len(text) <= 30


@pytest.mark.parametrize(
    "raw",
    [
        "\u200b", "\u200b\u200c\u200d\u2060\ufeff", "\u0301", "\u0301\u0308\u20dd",
        "\u3164\u3164", "\u202e\u202c", "  \u200b  ", "\u00ad", "...", "🏛",
    ],
)  # fmt: skip
def test_titles_without_visible_letters_or_digits_are_refused(raw: str) -> None:
    errors = FieldErrors()
    clean_line(raw, field="title", errors=errors, required=True, max_len=200)
    assert "title" in errors


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Fangst\u202egrop  ", "Fangstgrop"),
        ("Gamle\u00a0 \tbu", "Gamle bu"),
        ("Cafe\u0301", "Café"),  # NFC
        ("\u200bStorvatnet\u200b", "Storvatnet"),
        ("ᚱ 1", "ᚱ 1"),
        ("مقبرة قديمة", "مقبرة قديمة"),  # right-to-left text itself is fine
    ],
)
def test_clean_line_keeps_real_titles(raw: str, expected: str) -> None:
    errors = FieldErrors()
    assert clean_line(raw, field="title", errors=errors, required=True, max_len=200) == expected
    assert not errors


def test_clean_text_keeps_line_breaks_and_tabs() -> None:
    errors = FieldErrors()
    raw = "Line one\r\nline\ttwo\x00\u2067\rthree"
    assert clean_text(raw, field="d", errors=errors, max_len=100) == "Line one\nline\ttwo\nthree"
    assert not errors


def test_optional_invisible_text_counts_as_empty() -> None:
    errors = FieldErrors()
    assert clean_text("\u200b\u0301 \n", field="d", errors=errors, max_len=100) == ""
    assert clean_line(None, field="t", errors=errors, max_len=100) == ""
    assert not errors


def test_non_text_is_refused() -> None:
    errors = FieldErrors()
    assert clean_line(["a"], field="title", errors=errors, max_len=10) == ""
    assert errors.errors == {"title": ["Must be text."]}


def test_strip_controls_removes_every_bidi_control() -> None:
    raw = "".join(sorted(BIDI_CONTROLS)) + "ok"
    assert strip_controls(raw, multiline=False) == "ok"


def test_field_errors_collects_all_fields() -> None:
    errors = FieldErrors()
    errors.add("title", "a")
    errors.merge({"title": ["b"], "area": ["c"]})
    with pytest.raises(ValidationFailed) as refused:
        errors.raise_if_any()
    assert refused.value.errors == {"title": ["a", "b"], "area": ["c"]}
