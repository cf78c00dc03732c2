"""The whole co-creation path in a real browser, one context per person: a resident registers
and submits a trace, a librarian makes her a curator, she approves another resident's trace,
the librarian asks her for changes, and both residents see the outcome on their own page."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.auth.operations import register_user
from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, UserRole
from tests.browser.conftest import Watch, login, screenshot
from tests.conftest import PASSWORD

ANNE = "anne@example.org"
BERIT = "berit@example.org"
LIBRARIAN = "bibliotekar@example.org"
ANNE_TITLE = "Kullgrop ved Tverrelva"
BERIT_TITLE = "Tuft etter sjøbu i Komsa"
MESSAGE = "Kan du legge til en kilde og et bilde av gropa?"
MODERATION = re.compile(r"^\s*(Moderering|Moderation)\s*$")


def _seed_people(seed: Callable[..., Any]) -> None:
    """Project alta, its librarian (installation role and project membership), and Berit."""

    def fn() -> None:
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = register_user(LIBRARIAN, "Bibliotekar Liv", PASSWORD, role=UserRole.LIBRARIAN)
        register_user(BERIT, "Berit", PASSWORD)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id,
                       role=MembershipRole.LIBRARIAN, granted_by_id=librarian.id)
        )  # fmt: skip

    seed(fn)


def _submit_typed(page: Any, coordinates: str, title: str) -> int:
    """Submit a point trace with typed coordinates; returns its id from the page address."""
    page.goto("/traces/new")
    page.wait_for_selector("body[data-map-state]")
    page.locator("details.typed summary").click()
    page.locator("#coordinates").fill(coordinates)
    page.locator("#title").fill(title)
    page.locator("#trace-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    assert page.locator("h1").inner_text() == title
    assert page.locator(".status-pending").is_visible()
    return int(page.url.rsplit("/", 1)[1])


def _statuses(app: Any) -> dict[str, TraceStatus]:
    with app.app_context():
        rows = db.session.execute(select(Trace.title, Trace.status)).all()
        db.session.remove()
    return {title: status for title, status in rows}


def _moderation_link(page: Any) -> Any:
    return page.locator("nav.site-nav a[href$='/moderation/']")


def test_resident_becomes_curator_and_both_residents_see_the_outcome(
    app: Any, seed: Callable[..., Any], new_page: Callable[..., Any], watch: Watch
) -> None:
    _seed_people(seed)

    # Berit, a resident, submits a trace through the form.
    berit = new_page()
    login(berit, BERIT)
    berit_id = _submit_typed(berit, "69.9700, 23.2800", BERIT_TITLE)

    # Anne registers and submits her first trace.
    anne = new_page()
    anne.goto("/register")
    anne.locator("#email").fill(ANNE)
    anne.locator("#display_name").fill("Anne")
    anne.locator("#password").fill(PASSWORD)
    anne.locator("form:has(#password) button[type=submit]").click()
    anne.wait_for_url(lambda url: "/register" not in url)
    assert anne.locator("nav.site-nav a.who").inner_text() == "Anne"
    assert _moderation_link(anne).count() == 0
    anne_id = _submit_typed(anne, "69.9689, 23.2715", ANNE_TITLE)
    screenshot(anne, "curation-anne-trace-pending")

    # The librarian makes Anne a curator of the whole project.
    librarian = new_page()
    login(librarian, LIBRARIAN)
    librarian.goto("/projects/alta/members")
    librarian.wait_for_selector("body[data-map-state]")
    librarian.locator("#email").fill(ANNE)
    librarian.locator("#role").select_option("curator")
    librarian.locator("form.grant-form button[type=submit]").click()
    librarian.wait_for_url(re.compile(r"/projects/alta/members$"))
    librarian.locator(".flash-success").wait_for()
    assert librarian.locator(".member-list .member", has_text="Anne").count() == 1
    librarian.wait_for_selector("body[data-map-state=ready]")
    screenshot(librarian, "curation-members-granted")

    # Anne's next request already carries the new rights.
    anne.goto("/")
    link = _moderation_link(anne)
    assert MODERATION.match(link.inner_text())
    link.click()
    anne.wait_for_url(re.compile(r"/moderation/$"))
    anne.locator("a[href$='/moderation/alta']").click()
    anne.wait_for_url(re.compile(r"/moderation/alta$"))
    entry = anne.locator(f"article#entry-{berit_id}")
    assert BERIT_TITLE in entry.locator("h2").inner_text()
    assert "Berit" in entry.locator(".meta").inner_text()
    entry.locator("summary").click()  # the compact row opens in place (issue 10)
    anne.wait_for_selector(f"#entry-{berit_id} .preview-map path.leaflet-interactive")
    screenshot(anne, "curation-queue")

    phone = new_page(mobile=True)
    login(phone, ANNE)
    phone.goto("/moderation/alta")
    phone.locator(f"#entry-{berit_id} summary").click()
    phone.wait_for_selector(f"#entry-{berit_id} .preview-map path.leaflet-interactive")
    screenshot(phone, "curation-queue-phone")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    entry.locator("form.decide-form button[name=action][value=approve]").click()
    anne.wait_for_url(re.compile(r"/moderation/alta$"))
    anne.locator(".flash-success").wait_for()
    assert anne.locator(f"article#entry-{berit_id}").count() == 0
    screenshot(anne, "curation-queue-after-approval")

    # The librarian asks Anne for changes from the queue, with a message.
    librarian.goto("/moderation/alta")
    own = librarian.locator(f"article#entry-{anne_id}")
    own.locator("summary").click()
    own.locator("textarea[name=reason]").fill(MESSAGE)
    own.locator("button[name=action][value=request_changes]").click()
    librarian.wait_for_url(re.compile(r"/moderation/alta$"))
    librarian.locator(".flash-success").wait_for()
    assert librarian.locator(f"article#entry-{anne_id}").count() == 0
    screenshot(librarian, "curation-librarian-queue-empty")

    assert _statuses(app) == {
        ANNE_TITLE: TraceStatus.NEEDS_CHANGES,
        BERIT_TITLE: TraceStatus.APPROVED,
    }

    # Anne sees her status and the librarian's message.
    anne.goto("/me/traces")
    mine = anne.locator("li.my-trace", has_text=ANNE_TITLE)
    assert re.search(r"Må endres|Needs changes", mine.locator(".my-trace-status").inner_text())
    assert MESSAGE in mine.locator(".decision-note").inner_text()
    assert anne.locator(".notification", has_text=MESSAGE).count() == 1
    screenshot(anne, "curation-anne-my-traces")

    # Berit sees her trace approved, and the notification saying so.
    berit.goto("/me/traces")
    hers = berit.locator("li.my-trace", has_text=BERIT_TITLE)
    assert re.search(r"Godkjent|Approved", hers.locator(".my-trace-status").inner_text())
    assert berit.locator("nav.site-nav .badge").inner_text() == "1"
    notification = berit.locator(".notification-unread .notification-message")
    assert notification.count() == 1
    assert BERIT_TITLE in notification.inner_text()
    screenshot(berit, "curation-berit-my-traces")

    # An anonymous visitor finds Berit's trace on the public map, and not Anne's.
    visitor = new_page()
    response = visitor.request.get("/api/map?bbox=23,69.8,23.6,70.1&zoom=14")
    assert response.ok
    features = json.loads(response.text())["features"]
    assert [(f["id"], f["properties"]["title"]) for f in features] == [(berit_id, BERIT_TITLE)]
    visitor.goto("/")
    visitor.wait_for_selector("body[data-map-state=ready]")
    visitor.evaluate("heritageMap.setView([69.97, 23.276], 14)")
    visitor.wait_for_function("() => document.getElementById('map-count').textContent === '1'")
    visitor.locator("details.trace-list-box summary").click()
    assert visitor.locator("#trace-list a").all_inner_texts() == [BERIT_TITLE]
    screenshot(visitor, "curation-public-map")

    assert watch.page_errors == []
    assert watch.non_tile_external() == []
    assert watch.dialogs == []
