"""A librarian clears 50 pending entries in the compact queue, counted (issue 10, item 6).

The same job that took 62 interactions: approve most, reject a few with a reason, merge two
groups of near-duplicates (keep one, merge the others: two moves each), ask for changes on one.
Every action the script takes goes through Counter: a click, the fill of one field, a key
press = 1. Opening the queue at the start and waiting do not count. The failure message lists
each counted step. The end state is read from the database, entry by entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select

from app.auth.operations import register_user
from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, UserRole
from tests.browser.conftest import Watch, login, screenshot
from tests.conftest import PASSWORD

MAX_INTERACTIONS = 25
LIBRARIAN = "bibliotekar@example.org"
REASON = "Ikke et kulturminne: en moderne vedstabel."
CHANGES = "Kan du legge til hvilken gård tufta hører til?"
ENTRIES = 50


class Counter:
    """Performs the test's interactions and counts each one."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.steps: list[str] = []

    def click(self, locator: Any, what: str) -> None:
        """One click on an element."""
        self.steps.append(f"click {what}")
        locator.click()

    def fill(self, locator: Any, text: str, what: str) -> None:
        """Typing into one field counts once, however long the text."""
        self.steps.append(f"fill {what}")
        locator.fill(text)

    def press(self, key: str, what: str) -> None:
        """One key press on the page."""
        self.steps.append(f"press {key} ({what})")
        self.page.keyboard.press(key)

    def __len__(self) -> int:
        return len(self.steps)

    def report(self) -> str:
        """The counted steps, numbered, for the failure message."""
        return "\n".join(f"{n}. {step}" for n, step in enumerate(self.steps, 1))


def _seed(seed: Callable[..., Any]) -> dict[str, Any]:
    """50 pending entries ~2 km apart, except two groups of near-duplicates (2 and 3 entries
    within 30 m of each other). Returns the ids by role in the scenario."""

    def fn() -> dict[str, Any]:
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = register_user(LIBRARIAN, "Bibliotekar Liv", PASSWORD, role=UserRole.LIBRARIAN)
        residents = [
            register_user(f"beboer{k}@example.org", f"Beboer {k}", PASSWORD) for k in range(5)
        ]
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id,
                       role=MembershipRole.LIBRARIAN, granted_by_id=librarian.id)
        )  # fmt: skip
        start = datetime.now(UTC) - timedelta(days=20)
        places: list[tuple[str, Point]] = []
        # Two groups: 25 m and 20 m steps of longitude-corrected metres at 70 N.
        for k in range(2):
            places.append((f"Tuft ved elva {k + 1}", Point(23.30 + 0.0007 * k, 69.95)))
        for k in range(3):
            places.append((f"Kullgrop i lia {k + 1}", Point(23.40 + 0.0005 * k, 69.90)))
        n = 0
        while len(places) < ENTRIES:
            # A grid 0.05 deg apart (about 2 km): no other entry within 100 m.
            x, y = 23.0 + 0.05 * (n % 8), 69.70 + 0.02 * (n // 8)
            places.append((f"Spor nummer {n + 1}", Point(x, y)))
            n += 1
        ids: list[int] = []
        for i, (title, point) in enumerate(places):
            trace = Trace(
                project_id=project.id, author_id=residents[i % 5].id, title=title,
                description=f"Beskrivelse av {title.lower()}.",
                geom=from_shape(point, srid=4326), status=TraceStatus.PENDING,
                licence="CC-BY-4.0", submitted_at=start + timedelta(hours=i),
            )  # fmt: skip
            db.session.add(trace)
            db.session.flush()
            ids.append(trace.id)
        return {
            "group_a": ids[0:2],
            "group_b": ids[2:5],
            "changes": ids[10],
            "reject": [ids[20], ids[30], ids[40]],
            "all": ids,
        }

    return seed(fn)


def _statuses(app: Any) -> dict[int, tuple[TraceStatus, int | None, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Trace.id, Trace.status, Trace.duplicate_of_id, Trace.decision_note)
        ).all()
        db.session.remove()
    return {row.id: (row.status, row.duplicate_of_id, row.decision_note) for row in rows}


def _wait_for_queue(page: Any) -> None:
    page.wait_for_url(re.compile(r"/moderation/alta(\?.*)?$"))
    page.wait_for_load_state("load")


def test_librarian_clears_fifty_entries_in_at_most_25_interactions(
    app: Any, seed: Callable[..., Any], new_page: Callable[..., Any], watch: Watch
) -> None:
    ids = _seed(seed)
    page = new_page()
    login(page, LIBRARIAN)
    page.goto("/moderation/alta")  # the start: not counted
    assert page.locator(".queue-row").count() == ENTRIES  # one page holds them all
    screenshot(page, "queue-counted-start")
    act = Counter(page)

    # The two groups: keep one, merge the others (and approve the kept one): two moves each.
    for key, keep in (("group_a", ids["group_a"][1]), ("group_b", ids["group_b"][0])):
        group = page.locator(f"#group-{ids[key][0]}")
        act.click(group.locator(f"input[name=keep][value='{keep}']"), f"keep {keep} in {key}")
        with page.expect_navigation():
            act.click(group.locator("form.merge-form button[type=submit]"), f"merge {key}")
        _wait_for_queue(page)

    # Ask for changes on one: open its row, write the message, send.
    row = page.locator(f"#entry-{ids['changes']}")
    act.click(row.locator("summary"), "open the entry")
    part = row.locator(".entry-part")
    part.wait_for()
    act.fill(part.locator("textarea[name=reason]"), CHANGES, "message to the contributor")
    with page.expect_navigation():
        act.click(part.locator("button[name=action][value=request_changes]"), "ask for changes")
    _wait_for_queue(page)

    # Reject three with one reason: tick them, write the reason, Enter sends the rejection.
    for trace_id in ids["reject"]:
        act.click(page.locator(f"#select-{trace_id}"), f"select {trace_id}")
    act.fill(page.locator("#bulk-reason"), REASON, "reason for rejecting")
    with page.expect_navigation():
        act.press("Enter", "send the rejection")
    _wait_for_queue(page)

    # Approve everything left on the page.
    act.click(page.locator("#select-page"), "select all on this page")
    assert page.locator("#bulk-count").inner_text().strip().endswith(str(ENTRIES - 9))
    with page.expect_navigation():
        act.click(page.locator("#bulk-form button[value=approve]"), "approve selected")
    _wait_for_queue(page)
    screenshot(page, "queue-counted-end")

    assert len(act) <= MAX_INTERACTIONS, act.report()
    assert page.locator(".queue-row").count() == 0, act.report()

    state = _statuses(app)
    kept_a, kept_b = ids["group_a"][1], ids["group_b"][0]
    expected_merged = {ids["group_a"][0]: kept_a, ids["group_b"][1]: kept_b,
                       ids["group_b"][2]: kept_b}  # fmt: skip
    for trace_id in ids["all"]:
        status, duplicate_of, note = state[trace_id]
        if trace_id in expected_merged:
            assert duplicate_of == expected_merged[trace_id], trace_id
            assert status != TraceStatus.PENDING, trace_id
        elif trace_id in ids["reject"]:
            assert (status, note) == (TraceStatus.REJECTED, REASON), trace_id
        elif trace_id == ids["changes"]:
            assert (status, note) == (TraceStatus.NEEDS_CHANGES, CHANGES), trace_id
        else:
            assert (status, duplicate_of) == (TraceStatus.APPROVED, None), trace_id
    assert watch.page_errors == []
    print(f"\n{len(act)} interactions:\n{act.report()}")
