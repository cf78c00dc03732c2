"""The message catalogs: Bokmål and Nynorsk complete and reviewed (no empty, no fuzzy entry),
placeholders the same as the English msgid's in every language (Sami included), and no
English catalog to fall out of step (the msgids are the English text). docs/languages.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
# Complete and reviewed: a missing or fuzzy entry would show the reader Bokmål (nn) or
# English (nb) where their own language belongs.
COMPLETE = ("nb", "nn")
# Python %-placeholders (named and bare) and the {name} ones the map script fills in.
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*\d*(?:\.\d+)?[sdifr]|%[sdifr]|\{(\w+)\}")


def catalog(lang: str) -> Catalog:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def placeholders(text: str) -> list[str]:
    return sorted(m.group(0).replace(" ", "") for m in PLACEHOLDER.finditer(text or ""))


def entries(lang: str) -> list[Message]:
    return [m for m in catalog(lang) if m.id]  # obsolete (#~) entries are not iterated


def ids(message: Message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def strings(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def languages() -> list[str]:
    return sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


@pytest.mark.parametrize("lang", COMPLETE)
def test_every_message_is_translated(lang: str) -> None:
    untranslated = [ids(m)[0] for m in entries(lang) if not all(s.strip() for s in strings(m))]
    assert untranslated == [], f"{len(untranslated)} untranslated in {lang}: {untranslated}"


@pytest.mark.parametrize("lang", COMPLETE)
def test_no_message_is_left_fuzzy(lang: str) -> None:
    fuzzy = [ids(m)[0] for m in entries(lang) if m.fuzzy]
    assert fuzzy == [], f"{len(fuzzy)} fuzzy in {lang} (a reader must check them): {fuzzy}"


@pytest.mark.parametrize("lang", languages())
def test_placeholders_match_the_msgid(lang: str) -> None:
    """A translation that drops or renames a placeholder breaks the page or loses a value."""
    wrong = []
    for message in entries(lang):
        wanted = placeholders(ids(message)[-1])
        for form in strings(message):
            if form.strip() and placeholders(form) != wanted:
                # A singular form may leave the number out ("one trace"), never a name.
                singular_only = len(ids(message)) > 1 and set(placeholders(form)) <= set(wanted)
                if not singular_only:
                    wrong.append((ids(message)[0], form))
    assert wrong == [], f"{lang}: {wrong}"


def test_every_language_has_a_catalog_and_english_needs_none() -> None:
    """The msgids are the English text; an en catalog could only fall behind them."""
    assert set(languages()) == {"nb", "nn", "se"}
    assert not (TRANSLATIONS / "en").exists()


def test_catalogs_follow_the_template() -> None:
    """Every message in the template is in each catalog (make extract-messages was run)."""
    with (TRANSLATIONS / "messages.pot").open("rb") as pot:
        template = {m.id for m in read_po(pot) if m.id}
    for lang in languages():
        missing = template - {m.id for m in entries(lang)}
        assert not missing, f"{lang} lacks {len(missing)} messages: {sorted(missing)[:10]}"


def test_the_placeholder_check_can_fail() -> None:
    assert placeholders("Sporet «%(title)s» fra %(n)d") != placeholders("Trace “%(title)s”")
    assert placeholders("{name} ({count} spor)") == placeholders("{name} ({count} traces)")
