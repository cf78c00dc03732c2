"""Changes asked, changes made, in the browser and counted (issue 10, item 4): a contributor opens
the trace from "My traces", reads the librarian's message, edits, presses the one button, and
the entry is back in the librarian's queue, showing what changed since the request.

Every action the contributor takes is counted (a click or tap, the fill of one field = 1);
logging in, choosing English and opening "My traces" are not. At most 4 after opening the trace.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select

from app.auth.operations import register_user
from app.db import db
from app.models import Membership, MembershipRole, Project, Revision, Trace, TraceStatus, UserRole
from app.moderation.operations import decide
from app.moderation.states import Action
from app.traces.operations import record_revision
from tests.browser.conftest import choose_language, login, screenshot
from tests.browser.test_accessibility import _violations
from tests.conftest import PASSWORD

MAX_AFTER_OPENING = 4
AUTHOR, LIBRARIAN = "beboer@example.org", "bibliotekar@example.org"
TITLE = "Tuft ved Storvatnet"
MESSAGE = "Fint funn! Skriv hvor du har opplysningene fra (kilde), og beskriv tufta litt mer."


class Counter:
    """Performs the contributor's interactions and counts each one."""

    def __init__(self, touch: bool) -> None:
        self.touch = touch
        self.steps: list[str] = []

    def press(self, locator: Any, what: str) -> None:
        """One tap (phone) or click (desktop)."""
        self.steps.append(f"{'tap' if self.touch else 'click'} {what}")
        locator.tap() if self.touch else locator.click()

    def fill(self, locator: Any, text: str, what: str) -> None:
        """Typing into one field counts once, however long the text."""
        self.steps.append(f"fill {what}")
        locator.fill(text)

    def report(self) -> str:
        """The counted steps, numbered, for messages."""
        return "\n".join(f"{n}. {step}" for n, step in enumerate(self.steps, 1))


def _seed(app: Flask, seed: Callable[..., Any]) -> int:
    """Project alta and its librarian, who asked for changes on a resident's pending entry."""

    def fn() -> int:
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = register_user(LIBRARIAN, "Bibliotekar Liv", PASSWORD, role=UserRole.LIBRARIAN)
        author = register_user(AUTHOR, "Beboer Bo", PASSWORD)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
        )
        trace = Trace(project_id=project.id, author_id=author.id, title=TITLE,
                      description="Ei tuft.", geom=from_shape(Point(23.27, 69.97), srid=4326),
                      status=TraceStatus.PENDING, licence="CC-BY-4.0",
                      submitted_at=datetime(2026, 11, 20, tzinfo=UTC))  # fmt: skip
        db.session.add(trace)
        db.session.flush()
        record_revision(trace, author, event={"kind": "submitted"})
        with app.test_request_context("/"):
            decide(librarian, trace, Action.REQUEST_CHANGES, trace.version, MESSAGE)
        return trace.id

    return seed(fn)


def _english(page: Any) -> None:
    choose_language(page, "en")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_contributor_answers_a_request_and_it_is_back_in_the_queue(
    app: Flask, new_page, seed, watch, device: str
) -> None:
    trace_id = _seed(app, seed)
    phone = device == "phone"
    page = new_page(mobile=phone)
    login(page, AUTHOR)
    _english(page)
    page.goto("/me/traces")  # the start: not counted
    act = Counter(touch=phone)

    act.press(page.locator("a.my-trace-title", has_text=TITLE), "the trace in My traces")
    page.wait_for_url(re.compile(rf"/traces/{trace_id}$"))
    opened = len(act.steps)
    banner = page.locator(".changes-asked")
    banner.wait_for()
    assert MESSAGE in banner.inner_text()
    assert (
        page.locator(".changes-asked").bounding_box()["y"]
        < page.locator(".facts").bounding_box()["y"]
    )
    assert _violations(page) == []
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"resubmit-trace-banner-{device}")

    act.press(banner.get_by_role("link", name="Edit the trace"), "Edit the trace")
    page.wait_for_url(re.compile(rf"/traces/{trace_id}/edit$"))
    page.wait_for_selector("body[data-map-state=ready]")
    assert MESSAGE in page.locator(".changes-asked").inner_text(), "the message on the edit page"
    buttons = page.locator("#trace-form button[type=submit]")
    assert buttons.count() == 1 and buttons.inner_text() == "Save and send for approval again"
    assert _violations(page) == []
    if phone:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"resubmit-edit-page-{device}")

    act.fill(page.locator("#sources"), "Bygdebok for Alta, bind 2, s. 114", "sources")
    act.fill(page.locator("#description"), "Ei tuft, ca. 6 x 4 m, med steinfot.", "description")
    act.press(buttons, "Save and send for approval again")
    page.wait_for_url(re.compile(rf"/traces/{trace_id}$"))
    assert "Saved and sent back to the librarians." in page.locator("body").inner_text()
    assert page.locator(".changes-asked").count() == 0
    after_opening = len(act.steps) - opened
    assert after_opening <= MAX_AFTER_OPENING, f"{after_opening} after opening:\n{act.report()}"

    with app.app_context():
        trace = db.session.get(Trace, trace_id)
        assert trace is not None and trace.status == TraceStatus.PENDING
        history = db.session.execute(
            select(Revision).where(Revision.trace_id == trace_id).order_by(Revision.version)
        ).scalars()
        assert [r.snapshot["status"] for r in history] == [
            "pending", "needs_changes", "needs_changes", "pending"]  # fmt: skip
        db.session.remove()

    librarian = new_page(mobile=phone)
    login(librarian, LIBRARIAN)
    _english(librarian)
    librarian.goto("/moderation/alta")
    assert TITLE in librarian.locator("main").inner_text(), "back in the queue"
    librarian.goto(f"/moderation/alta/entry/{trace_id}")
    since = librarian.locator(".since-asked")
    since.wait_for()
    text = since.inner_text()
    assert MESSAGE in text and "Bibliotekar Liv" in text
    assert since.locator("li").all_inner_texts() == ["Description", "Sources"]
    assert (
        since.get_by_role("link")
        .get_attribute("href")
        .endswith(f"/traces/{trace_id}/history?version=3")
    )
    screenshot(librarian, f"resubmit-since-asked-{device}")
    assert watch.page_errors == [] and watch.non_tile_external() == []
    print(f"\nresubmit ({device}): {len(act.steps)} interactions, {after_opening} after opening\n"
          f"{act.report()}")  # fmt: skip
