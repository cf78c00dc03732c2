"""app.export.cells: formula neutralising and tag escaping, reversed exactly (no database)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.export.cells import (
    _FORMULA,
    FIRST_CHARACTERS,
    join_tags,
    neutralise,
    restore,
    split_tags,
)

SIGNS = "=+-@＝＋－＠"
PREFIXES = ["=", "+", "-", "@", "\t", "\r", "\n", " =", "\u3000+", "\x1c@", "'", "'=", "''-", "＝"]
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
risky = st.one_of(texts, st.tuples(st.sampled_from(PREFIXES), texts).map("".join))


def dangerous(cell: str) -> bool:
    """What a spreadsheet may run: a formula sign first, also after whitespace; a tab or CR."""
    return cell[:1] in ("\t", "\r", "\n") or cell.lstrip()[:1] in tuple(SIGNS)


@given(risky)
def test_neutralised_cells_never_run_and_restore_exactly(text: str) -> None:
    cell = neutralise(text)
    assert not dangerous(cell)
    assert restore(cell) == text
    assert cell in (text, "'" + text)


@given(texts)
def test_cells_we_did_not_write_are_read_as_they_are(text: str) -> None:
    # Only an apostrophe in front of something dangerous is ours to take off.
    if not (text.startswith("'") and dangerous(text.lstrip("'"))):
        assert restore(text) == text


@given(st.lists(risky.filter(bool), max_size=6))
def test_tags_keep_their_semicolons_and_backslashes(tags: list[str]) -> None:
    assert split_tags(restore(neutralise(join_tags(tags)))) == tags


def test_examples() -> None:
    assert neutralise('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert neutralise("  -1") == "'  -1"
    assert neutralise("a=b") == "a=b"
    assert join_tags(["a;b", "c\\d"]) == "a\\;b;c\\\\d"
    assert split_tags("elg;fangst") == ["elg", "fangst"]
    assert split_tags("C:\\data;x") == ["C:\\data", "x"]  # a lone backslash stands for itself


def test_the_sql_prefilter_knows_every_first_character_of_a_formula() -> None:
    # The export skips the regular expression for cells whose first character is not listed.
    possible = {
        chr(code)
        for code in range(0x10000)
        if not 0xD800 <= code < 0xE000 and _FORMULA.match(chr(code) + "=")
    }
    assert possible == set(FIRST_CHARACTERS)
