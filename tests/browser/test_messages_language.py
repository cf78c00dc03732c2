"""Messages in the reader's language, in the browser: a librarian decides in Bokmål, and the
author reads "My traces" and a trace's history in the language the author chose. The English
interface shows no Bokmål system text there, and the Bokmål interface no English.

Everything a person typed here (titles, the librarian's messages, names, the project's name)
is made of neutral tokens ("Q-…"), so any word of either language on these parts of the page
is the system's own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import current_app
from flask_babel import force_locale
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func

from app.auth.operations import register_user
from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, UserRole
from tests.browser.conftest import choose_language, login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# Words only one of the two languages uses in these sentences (function words and the
# system's own vocabulary), matched as whole words, case-insensitively.
ENGLISH = (
    "your", "the", "was", "with", "and", "to", "added", "changed", "removed", "requested",
    "approved", "submitted", "version", "photo", "photos", "trace", "merged", "changes",
    "again", "needs", "rejected", "not", "message", "author", "first", "recorded", "sent",
    "location", "protection", "protected", "another", "now", "project", "waiting", "approval",
)  # fmt: skip
BOKMAL = (
    "ditt", "sporet", "spor", "ble", "og", "til", "med", "er", "på", "av", "endret", "endres",
    "godkjent", "versjon", "bilde", "bilder", "lagt", "sendt", "slått", "sammen", "beskyttet",
    "melding", "forfatteren", "ikke", "igjen", "nå", "prosjektet", "avvist", "godkjenning",
)  # fmt: skip
FOREIGN = {"en": BOKMAL, "nb": ENGLISH}


def _words(language: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(" + "|".join(language) + r")(?!\w)", re.IGNORECASE)


def foreign_words(text: str, reader: str) -> list[str]:
    """The words of the other language in a text the system wrote for this reader."""
    found = _words(FOREIGN[reader]).findall(text)
    if reader == "en":
        found += re.findall(r"[æøåÆØÅ]", text)
    return found


def _seed(seed: Callable[..., Any]) -> dict[str, int]:
    """A librarian deciding in Bokmål on a resident's traces: every kind of message."""

    def fn() -> dict[str, int]:
        from app.moderation.operations import decide, mark_duplicate, set_sensitivity
        from app.moderation.states import Action
        from app.projects.operations import grant_role
        from app.traces.operations import record_revision

        project = Project(slug="qvist", name="Q-Qvist", library_name="Q-Bibliotek")
        db.session.add(project)
        author = register_user("author@example.org", "Q-Author", PASSWORD)
        librarian = register_user("lib@example.org", "Q-Lib", PASSWORD, role=UserRole.RESIDENT)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
        )
        author.notify_by_email = False
        db.session.flush()

        def trace(title: str, x: float) -> Trace:
            made = Trace(
                project_id=project.id, author_id=author.id, title=title, licence="CC-BY-4.0",
                geom=from_shape(Point(23.27 + x, 69.97), srid=4326), status=TraceStatus.PENDING,
            )  # fmt: skip
            db.session.add(made)
            db.session.flush()
            record_revision(made, author, event={"kind": "submitted"})
            return made

        with current_app.test_request_context("/"), force_locale("nb"):
            kept, rejected, merged, asked = (trace(f"Q-{n}", n / 100) for n in (1, 2, 3, 4))
            decide(librarian, kept, Action.REQUEST_CHANGES, kept.version, "Q-42")
            decide(author, kept, Action.RESUBMIT, kept.version)
            decide(librarian, kept, Action.APPROVE, kept.version)
            set_sensitivity(librarian, kept, "sensitive", kept.version)
            for event in (
                {"kind": "photos_added", "count": 2},
                {"kind": "photo_changed"},
                {"kind": "photo_removed"},
                {"kind": "revert", "to": 2},
            ):
                kept.updated_at = func.now()  # a new version for each, as the operations make
                db.session.flush()
                record_revision(kept, librarian, event=event)
            decide(librarian, rejected, Action.REJECT, rejected.version, "Q-43")
            mark_duplicate(librarian, merged, kept, merged.version)
            decide(librarian, asked, Action.REQUEST_CHANGES, asked.version, "Q-44")
            grant_role(librarian, project, author.email, MembershipRole.CONTRIBUTOR, None)
        return {"kept": kept.id, "merged": merged.id}

    return seed(fn)


def _system_text(page: Any, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts() if t.strip()]


@pytest.mark.parametrize("language", ["en", "nb"])
def test_my_traces_and_the_history_speak_only_the_readers_language(
    seed: Callable[..., Any], new_page: Callable[..., Any], language: str
) -> None:
    ids = _seed(seed)
    page = new_page()
    login(page, "author@example.org")
    choose_language(page, language)

    page.goto("/me/traces")
    notes = _system_text(page, ".notification-message")
    statuses = _system_text(page, ".my-trace-status")
    assert len(notes) == 6, notes  # needs changes, approved, rejected, merged, changes, rights
    assert len(statuses) == 4, statuses
    for line in notes + statuses:
        assert foreign_words(line, language) == [], (language, line)
    assert "Q-42" in " ".join(notes) and "Q-43" in " ".join(notes)  # messages as typed
    merged = page.locator(".my-trace-status a", has_text="Q-1")
    assert merged.count() == 1 and merged.get_attribute("href") == f"/traces/{ids['kept']}"
    screenshot(page, f"my-traces-messages-{language}")

    for trace_id in (ids["kept"], ids["merged"]):
        page.goto(f"/traces/{trace_id}/history")
        lines = _system_text(
            page,
            ".revision-list .revision-event, .revision-list .revision-message strong, "
            ".revision-list .help",
        )
        assert lines, trace_id
        for line in lines:
            assert foreign_words(line, language) == [], (language, trace_id, line)
            assert not re.search(r"\b[a-z]+_[a-z_]+\b|\b(?:resubmit|approve|reject)\b", line)
    page.goto(f"/traces/{ids['kept']}/history")
    assert "Q-42" in page.locator(".revision-list").inner_text()  # the author reads it
    screenshot(page, f"history-messages-{language}")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, f"history-messages-phone-{language}")
    page.goto("/me/traces")
    screenshot(page, f"my-traces-messages-phone-{language}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
