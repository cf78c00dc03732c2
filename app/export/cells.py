"""CSV cells that a spreadsheet cannot run as formulas, and tags that keep their semicolons.

The export (stream.CSV_COPY, in SQL) and the importer (imports.parse, in Python) use the same
rules, written once here, so our own CSV comes back exactly as it left (docs/csv.md):

- A cell is *dangerous* when it starts with a tab, CR or LF, or when its first character after
  any leading whitespace is a formula sign: = + - @ (or their full-width forms). The export puts
  one apostrophe in front of every dangerous cell, and also in front of every cell that already
  starts with apostrophes followed by something dangerous, so that the importer can always
  take exactly one apostrophe off again: restore(neutralise(x)) == x for every text x.
- Tags are joined with ';'; inside a tag, '\\' is written '\\\\' and ';' is written '\\;'.
  A backslash before any other character stands for itself, so ordinary files still read.
- A trace's photos take one cell per attribute (photo_urls, photo_captions, ...), the values
  in photo order joined with ' | '; inside a value, '\\' is written '\\\\' and '|' is written
  '\\|'. Every photo has a value in every photo column (empty when it has none), so the n-th
  caption belongs to the n-th URL.

FORMULA_PATTERN is written in the syntax both Python's re and PostgreSQL's regular expressions
read the same way (character-entry escapes only, no classes such as \\s whose meaning differs).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Whitespace a spreadsheet may skip before a formula sign: everything Python calls a space
# (ASCII, the information separators, Unicode spaces), the zero-width space and the BOM.
_SPACE = (
    r"[ \t\n\v\f\r\x1c-\x1f\u0085\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]"
)
_SIGN = r"[=+@\uff1d\uff0b\uff20\uff0d-]"
FORMULA_PATTERN = rf"^'*([\t\r\n]|{_SPACE}*{_SIGN})"
_FORMULA = re.compile(FORMULA_PATTERN)
# Every character a dangerous cell can start with (the pattern's first position): the SQL tests
# this cheaply before running the regular expression (a third of the cost on a large export).
FIRST_CHARACTERS = (
    "'\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(chr(code) for code in range(0x2000, 0x200C))
    + "\u2028\u2029\u202f\u205f\u3000\ufeff=+@-\uff1d\uff0b\uff20\uff0d"
)


def neutralise(text: str) -> str:
    """The cell as the export writes it: one apostrophe in front when it could run."""
    return "'" + text if _FORMULA.match(text) else text


def restore(cell: str) -> str:
    """The text our export neutralised, exactly; any other cell unchanged."""
    if cell.startswith("'") and _FORMULA.match(cell[1:]):
        return cell[1:]
    return cell


def join_tags(tags: Iterable[str]) -> str:
    """Tags in one cell: ';' between them, backslash before ';' and '\\' inside them."""
    return ";".join(tag.replace("\\", "\\\\").replace(";", "\\;") for tag in tags)


def split_tags(cell: str) -> list[str]:
    """The tags of one cell (join_tags reversed); empty pieces are dropped."""
    return [tag for tag in _split_escaped(cell, ";") if tag]


def _split_escaped(cell: str, separator: str) -> list[str]:
    """Pieces of a cell cut at every ``separator`` without a backslash before it, unescaped.

    A backslash escapes only the separator and itself; any other backslash is kept as it is.
    """
    pieces: list[str] = []
    current: list[str] = []
    index = 0
    while index < len(cell):
        char = cell[index]
        following = cell[index + 1] if index + 1 < len(cell) else ""
        if char == "\\" and following in ("\\", separator):
            current.append(following)
            index += 2
            continue
        if char == separator:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    pieces.append("".join(current))
    return pieces


VALUE_SEPARATOR = " | "


def join_values(values: Iterable[str]) -> str:
    """Values in one cell: ' | ' between them, backslash before '|' and '\\' inside them."""
    return VALUE_SEPARATOR.join(v.replace("\\", "\\\\").replace("|", "\\|") for v in values)


def split_values(cell: str) -> list[str]:
    """The values of one cell (join_values reversed); an empty cell holds none.

    Pieces are cut at every '|' without a backslash before it, and the one space the
    separator puts on each side of it is taken off again (empty values are kept: they hold
    a photo's place in the list).
    """
    if cell == "":
        return []
    pieces = _split_escaped(cell, "|")
    last = len(pieces) - 1
    for number, piece in enumerate(pieces):
        if number < last and piece.endswith(" "):
            piece = piece[:-1]
        if number > 0 and piece.startswith(" "):
            piece = piece[1:]
        pieces[number] = piece
    return pieces


def sql_neutralise(expression: str) -> str:
    """SQL for neutralise() on a text expression (for the export's COPY statement)."""
    pattern = "'" + FORMULA_PATTERN.replace("'", "''") + "'"
    first = "E'" + "".join(f"\\u{ord(char):04x}" for char in FIRST_CHARACTERS) + "'"
    # CASE evaluates in order: most cells stop at the first, cheap test.
    return (
        f"(CASE WHEN strpos({first}, left({expression}, 1)) = 0 THEN {expression} "
        f"WHEN {expression} ~ {pattern} THEN '''' || {expression} ELSE {expression} END)"
    )


def sql_join_values(member: str) -> str:
    """SQL aggregate: join_values() over one member of the photo objects e(ph, n), in order."""
    # member is a fixed name of ours, never input.
    value = f"coalesce(e.ph->>'{member}', '')"
    escaped = f"replace(replace({value}, '\\', '\\\\'), '|', '\\|')"
    return f"coalesce(string_agg({escaped}, '{VALUE_SEPARATOR}' ORDER BY e.n), '')"


def sql_join_tags(array: str) -> str:
    """SQL for join_tags() on a jsonb array of strings, in its order."""
    # array is a fixed expression of ours, never input.
    escaped = "replace(replace(e.tag, '\\', '\\\\'), ';', '\\;')"
    elements = f"jsonb_array_elements_text({array}) WITH ORDINALITY AS e(tag, n)"
    return f"array_to_string(ARRAY(SELECT {escaped} FROM {elements} ORDER BY e.n), ';')"  # noqa: S608
