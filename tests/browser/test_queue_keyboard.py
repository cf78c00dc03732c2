"""The queue's keyboard shortcuts (j/k, o/Enter, x, a, r, ?) do what the page says, never while
typing or with a modifier key; and the queue works without script (progressive enhancement)."""

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
from tests.browser.conftest import Watch, login
from tests.conftest import PASSWORD

LIBRARIAN = "bibliotekar@example.org"
REASON = "Finnes allerede i Askeladden."


def _seed(seed: Callable[..., Any], n: int = 4) -> list[int]:
    """n pending entries ~2 km apart in project alta, oldest first; returns their ids."""

    def fn() -> list[int]:
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = register_user(LIBRARIAN, "Bibliotekar Liv", PASSWORD, role=UserRole.LIBRARIAN)
        resident = register_user("beboer@example.org", "Beboer Bo", PASSWORD)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id,
                       role=MembershipRole.LIBRARIAN, granted_by_id=librarian.id)
        )  # fmt: skip
        start = datetime.now(UTC) - timedelta(days=3)
        ids = []
        for k in range(n):
            trace = Trace(
                project_id=project.id, author_id=resident.id, title=f"Spor {k + 1}",
                geom=from_shape(Point(23.1 + 0.05 * k, 69.97), srid=4326),
                status=TraceStatus.PENDING, licence="CC-BY-4.0",
                submitted_at=start + timedelta(hours=k),
            )  # fmt: skip
            db.session.add(trace)
            db.session.flush()
            ids.append(trace.id)
        return ids

    return seed(fn)


def _statuses(app: Any) -> dict[int, tuple[TraceStatus, str]]:
    with app.app_context():
        rows = db.session.execute(select(Trace.id, Trace.status, Trace.decision_note)).all()
        db.session.remove()
    return {row.id: (row.status, row.decision_note) for row in rows}


def _current(page: Any) -> str | None:
    return page.evaluate(
        "(document.querySelector('.queue-row.is-current') || {}).id || null"
    )  # fmt: skip


def test_shortcuts_move_open_select_and_decide(
    app: Any, seed: Callable[..., Any], new_page: Callable[..., Any], watch: Watch
) -> None:
    ids = _seed(seed)
    page = new_page()
    login(page, LIBRARIAN)
    page.goto("/moderation/alta")
    page.wait_for_load_state("load")
    keys = page.keyboard

    # The shortcuts are written on the page, and ? shows them.
    help_text = page.locator("#shortcuts").text_content() or ""
    assert all(k in help_text for k in ("j", "k", "o", "x", "a", "r", "?"))
    keys.press("?")
    assert page.locator("#shortcuts").get_attribute("open") is not None

    # j / k move between rows, focus and highlight follow.
    keys.press("j")
    assert _current(page) == f"entry-{ids[0]}"
    keys.press("j")
    keys.press("j")
    keys.press("k")
    assert _current(page) == f"entry-{ids[1]}"
    assert page.evaluate("document.activeElement.id") == f"entry-{ids[1]}"

    # o and Enter open and close the row in place.
    keys.press("o")
    page.locator(f"#entry-{ids[1]} .entry-part").wait_for()
    assert page.locator(f"#entry-{ids[1]} details").get_attribute("open") is not None
    page.locator(f"#entry-{ids[1]}").focus()
    keys.press("Enter")
    assert page.locator(f"#entry-{ids[1]} details").get_attribute("open") is None

    # x selects the current row; the bar counts it.
    keys.press("x")
    assert page.locator(f"#select-{ids[1]}").is_checked()
    assert page.locator("#bulk-count").inner_text().strip().endswith("1")

    # Never while typing, never with a modifier.
    page.locator("#bulk-reason").fill("")
    page.locator("#bulk-reason").press("j")
    page.locator("#bulk-reason").press("x")
    assert page.locator("#bulk-reason").input_value() == "jx"
    assert _current(page) == f"entry-{ids[1]}"
    assert page.locator(f"#select-{ids[1]}").is_checked()
    page.locator("#bulk-reason").fill("")
    page.locator(f"#entry-{ids[1]}").focus()
    keys.press("Control+x")
    keys.press("Alt+j")
    keys.press("Shift+J")
    assert _current(page) == f"entry-{ids[1]}"
    assert page.locator(f"#select-{ids[1]}").is_checked()
    # A checkbox ticked with the mouse keeps the focus but takes no letters: j still moves.
    page.locator(f"#select-{ids[0]}").click()
    assert page.evaluate("document.activeElement.id") == f"select-{ids[0]}"
    keys.press("j")
    assert _current(page) == f"entry-{ids[1]}"
    page.locator(f"#select-{ids[0]}").click()  # untick: only ids[1] stays selected
    assert not page.locator(f"#select-{ids[0]}").is_checked()
    filter_field = page.locator("#f-bbox")
    filter_field.press("a")  # "a" typed into the area filter approves nothing
    assert page.url.endswith("/moderation/alta")
    assert filter_field.input_value() == "a"
    filter_field.fill("")

    # a approves the selected row.
    page.locator(f"#entry-{ids[1]}").focus()
    with page.expect_navigation():
        keys.press("a")
    page.wait_for_load_state("load")
    assert _statuses(app)[ids[1]][0] == TraceStatus.APPROVED
    assert page.locator(f"#entry-{ids[1]}").count() == 0

    # r on a row with nothing selected: selects it and goes to the reason; Enter rejects.
    keys.press("j")
    keys.press("j")
    assert _current(page) == f"entry-{ids[2]}"
    keys.press("r")
    assert page.evaluate("document.activeElement.id") == "bulk-reason"
    assert page.locator(f"#select-{ids[2]}").is_checked()
    keys.type(REASON)
    with page.expect_navigation():
        keys.press("Enter")
    page.wait_for_load_state("load")
    state = _statuses(app)
    assert state[ids[2]] == (TraceStatus.REJECTED, REASON)
    assert state[ids[0]][0] == state[ids[3]][0] == TraceStatus.PENDING  # untouched
    assert watch.page_errors == []


def test_the_queue_works_without_script(
    app: Any, seed: Callable[..., Any], new_page: Callable[..., Any]
) -> None:
    ids = _seed(seed, 3)
    page = new_page(java_script_enabled=False)
    login(page, LIBRARIAN)
    page.goto("/moderation/alta")
    # Select two rows and approve them from the bar.
    page.locator(f"#select-{ids[0]}").check()
    page.locator(f"#select-{ids[1]}").check()
    with page.expect_navigation():
        page.locator("#bulk-form button[value=approve]").click()
    assert page.locator(".flash-success").count() == 1
    # Open the last row: its link leads to the entry's own page, where the decision is made.
    row = page.locator(f"#entry-{ids[2]}")
    row.locator("summary").click()
    with page.expect_navigation():
        row.locator(".row-part a").click()
    assert re.search(rf"/moderation/alta/entry/{ids[2]}\?next=", page.url)
    page.locator("textarea[name=reason]").fill(REASON)
    with page.expect_navigation():
        page.locator("button[name=action][value=request_changes]").click()
    assert re.search(r"/moderation/alta$", page.url)  # back to the queue
    state = _statuses(app)
    assert [state[i][0] for i in ids] == [
        TraceStatus.APPROVED,
        TraceStatus.APPROVED,
        TraceStatus.NEEDS_CHANGES,
    ]
