"""axe-core (WCAG 2.1 A/AA) finds no violations on any page of the app, in every language.

The pages are not listed by hand: every GET rule in ``app.url_map`` is filled in from seeded
data (project, approved and pending trace, term, revision, photo, reset token) and fetched as
anonymous, then resident, then librarian, then admin (moderation and vocabulary pages from the
librarian on, who sees their controls); the first role that gets a 200 with ``text/html`` is
the one whose browser checks it. Anything else (JSON, GeoJSON, CSV, tiles,
images, redirects) is no page and is skipped, so a page added later is checked without
touching this file. Besides the pages as loaded, some states are opened: the moderation queue
with an entry expanded, a near-duplicate group, new photos and a comment waiting; the
add-a-trace page with a drawing tool active; a waiting trace as its author and as its
librarian; and the 404 page.

Every page and state is checked in nb, nn, se and en, chosen by POST /language as the picker
does (nn and se catalogs may still fall back: axe checks structure, names and `lang`): 192
page states. One browser context per role, pages reused, axe asked for violations only,
screenshots (test-artifacts/axe-*.png) only of pages with violations. It ran in ~230 s on two
cores shared with other suites (load average 5-7); checking nn and se only on the resident's
path saved under 10 %, so every language gets every page.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, url_for
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select

from app.auth.operations import register_user
from app.auth.reset import token_hash
from app.comments.operations import post_comment
from app.db import db
from app.models import (
    Membership,
    MembershipRole,
    PasswordResetToken,
    Photo,
    PhotoStatus,
    Project,
    Term,
    Trace,
    TraceStatus,
    UserRole,
)
from app.moderation.groups import metres_per_degree
from app.traces.operations import record_revision
from tests.browser.conftest import login
from tests.browser.test_accessibility import AXE
from tests.conftest import PASSWORD
from tests.serving import ARTIFACTS

LANGUAGES = ("nb", "nn", "se", "en")
ROLES = ("anonymous", "resident", "librarian", "admin")
EMAILS = {
    "resident": "beboer@example.org",
    "librarian": "bibliotekar@example.org",
    "admin": "admin@example.org",
}
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# Routes that cannot be filled in from the seed, with why (everything else is found by fetching).
NOT_PAGES = {
    "photos.serve": "an image; its file would have to be on the live server's media disk",
    "static": "static files",
    "/metrics": "Prometheus text behind a token (a 404 when no token is configured)",
}
# WCAG 2.1 A/AA as in test_accessibility.py, plus axe's landmark rules (tagged best-practice):
# two navigations without names, or two mains, leave a screen reader's landmark list useless.
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
    rules: {'landmark-unique': {enabled: true}, 'landmark-one-main': {enabled: true},
            'landmark-no-duplicate-main': {enabled: true},
            'landmark-no-duplicate-banner': {enabled: true},
            'landmark-no-duplicate-contentinfo': {enabled: true}},
    resultTypes: ['violations'],
  });
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
}"""
# Query strings a page needs to be more than a 404.
QUERIES = {"vocab.new": "?scheme=trace_type"}
LAKE = (23.27, 69.97)
LIBRARIANS_PAGES = ("moderation.", "vocab.")


@dataclass
class Seeded:
    """Ids the URL rules are filled in from."""

    slug: str
    approved: int
    pending: int
    term: int
    photo: int
    reset_token: str


@dataclass
class Findings:
    """Violations and pages seen, for one failure message about all of them."""

    violations: list[str] = field(default_factory=list)
    checked: set[tuple[str, str]] = field(default_factory=set)
    page_languages: set[str] = field(default_factory=set)  # <html lang> seen


def at(dx: float, dy: float) -> Point:
    """A point dx, dy metres from the lake."""
    kx, ky = metres_per_degree(LAKE[1])
    return Point(LAKE[0] + dx / kx, LAKE[1] + dy / ky)


def _seed(seed: Callable[..., Any]) -> Seeded:
    """A project with an approved trace (revision, comment, photo), two near-duplicate pending
    entries and a lone one, a resident, a librarian, an admin and a live reset token."""

    def fn() -> Seeded:
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        resident = register_user(EMAILS["resident"], "Beboer Bo", PASSWORD)
        librarian = register_user(
            EMAILS["librarian"], "Bibliotekar Liv", PASSWORD, role=UserRole.LIBRARIAN
        )
        register_user(EMAILS["admin"], "Admin Arne", PASSWORD, role=UserRole.ADMIN)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id,
                       role=MembershipRole.LIBRARIAN, granted_by_id=librarian.id)
        )  # fmt: skip
        term = db.session.execute(select(Term).order_by(Term.id).limit(1)).scalar_one()
        start = datetime.now(UTC) - timedelta(days=2)

        def trace(title: str, where: Point, status: TraceStatus, hours: int) -> Trace:
            made = Trace(project_id=project.id, author_id=resident.id, title=title,
                         description="Rund grop i lyngen, ca. 3 m.", status=status,
                         geom=from_shape(where, srid=4326), licence="CC-BY-4.0",
                         submitted_at=start + timedelta(hours=hours))  # fmt: skip
            if status == TraceStatus.APPROVED:
                made.approved_by_id, made.approved_at = librarian.id, start
            db.session.add(made)
            db.session.flush()
            record_revision(made, resident, event={"kind": "submitted"})
            return made

        approved = trace("Kullgrop ved Storvannet", at(0, 0), TraceStatus.APPROVED, 0)
        pending = trace("Steinrøys ved vannet", at(3000, 0), TraceStatus.PENDING, 1)
        trace("Røys", at(3020, 15), TraceStatus.PENDING, 2)  # a near-duplicate of `pending`
        trace("Fangstgrop i lia", at(-4000, 2000), TraceStatus.PENDING, 3)
        post_comment(approved, resident, "Bestefar fortalte om den.")
        photo = Photo(trace_id=approved.id, uploader_id=resident.id,
                      status=PhotoStatus.APPROVED, storage_key=secrets.token_hex(16),
                      image_format="webp", source_format="jpeg", width=1200, height=800,
                      thumb_width=300, thumb_height=200, stored_bytes=1000,
                      caption="Grop i lyngen", decided_by_id=librarian.id,
                      decided_at=start)  # fmt: skip
        db.session.add(photo)
        for on in (pending, approved):  # in the entry, and in the queue's "new photos"
            db.session.add(Photo(trace_id=on.id, uploader_id=resident.id,
                                 status=PhotoStatus.PENDING, storage_key=secrets.token_hex(16),
                                 image_format="webp", source_format="jpeg", width=1200,
                                 height=800, thumb_width=300, thumb_height=200,
                                 stored_bytes=1000))  # fmt: skip
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(hours=2)
        db.session.add(
            PasswordResetToken(
                token_hash=token_hash(token), user_id=resident.id, expires_at=expires
            )
        )
        db.session.flush()
        return Seeded(slug=project.slug, approved=approved.id, pending=pending.id,
                      term=term.id, photo=photo.id, reset_token=token)  # fmt: skip

    return seed(fn)


def _values(endpoint: str, seeded: Seeded) -> dict[str, Any]:
    """URL values for a rule's arguments: a pending entry where one is moderated or edited."""
    moderated = endpoint.startswith("moderation.") or endpoint.endswith(".edit")
    return {
        "slug": seeded.slug,
        "trace_id": seeded.pending if moderated else seeded.approved,
        "term_id": seeded.term,
        "photo_id": seeded.photo,
        "size": "thumb",
        "collection_id": seeded.slug,
        "feature_id": seeded.approved,
        "token": seeded.reset_token,
        "z": 8, "x": 144, "y": 55,  # the map tile over Alta
    }  # fmt: skip


def _urls(app: Flask, seeded: Seeded) -> Iterator[tuple[str, str]]:
    """(endpoint, path) for every GET rule, in a stable order; one path per distinct URL."""
    seen: set[str] = set()
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        if "GET" not in (rule.methods or ()) or {rule.endpoint, rule.rule} & NOT_PAGES.keys():
            continue
        values = _values(rule.endpoint, seeded)
        missing = [a for a in rule.arguments if a not in values]
        assert not missing, f"{rule.rule}: no seeded value for {missing}; add one to _values()"
        with app.test_request_context():
            path = url_for(rule.endpoint, **{a: values[a] for a in rule.arguments})
        path += QUERIES.get(rule.endpoint, "")
        if path not in seen:
            seen.add(path)
            yield rule.endpoint, path


def _is_page(context: Any, path: str) -> bool | None:
    """True for an HTML page this context may see, False for no page (JSON, a redirect
    elsewhere than the login), None when this role may not see it."""
    response = context.request.get(path, max_redirects=0, headers={"Accept": HTML_ACCEPT})
    status, kind = response.status, response.headers.get("content-type", "")
    location = response.headers.get("location", "")
    response.dispose()
    if status in (301, 302, 303):
        return None if "/login" in location else False
    if not kind.startswith("text/html"):
        return False
    return True if status == 200 else None


def _switch(page: Any, language: str) -> None:
    """Choose the language as the picker does: POST /language with the page's CSRF token."""
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    response = page.context.request.post(
        "/language", form={"lang": language, "csrf_token": token, "next": "/"}, max_redirects=0
    )
    assert response.status in (302, 303), (language, response.status)
    response.dispose()


def _settle(page: Any) -> None:
    """Wait for what the page builds after load: its map, lazily filled parts."""
    page.wait_for_load_state("load")
    if page.locator("body[data-map-state]").count():
        page.wait_for_selector("body[data-map-state=ready], body[data-map-state=error]")


def _check(page: Any, name: str, language: str, findings: Findings) -> None:
    """Run axe on the page as it is now; record each violation with its nodes."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE)  # through the DevTools protocol, so the page's CSP allows it
    found = page.evaluate(RUN_AXE)
    findings.checked.add((name, language))
    findings.page_languages.add(page.evaluate("document.documentElement.lang"))
    if not found:
        return
    for violation in found:
        findings.violations.append(
            f"{name} [{language}] {violation['id']} ({violation['impact']}): "
            f"{violation['help']} -> {violation['nodes']}"
        )
    ARTIFACTS.mkdir(exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", f"axe-{name}-{language}".lower()).strip("-")
    page.screenshot(path=str(ARTIFACTS / f"{slug}.png"), full_page=True)


def _opened_states(page: Any, role: str, language: str, seeded: Seeded, f: Findings) -> None:
    """States a page reaches by using it: the queue with an entry open and a duplicate group,
    the add-a-trace page with a drawing tool active."""
    if role == "librarian":
        page.goto(f"/moderation/{seeded.slug}")
        _settle(page)
        assert page.locator(".dup-group").count() == 1, "the seed makes one duplicate group"
        row = page.locator(".queue-rows > .queue-row").first
        row.locator("summary").click()
        row.locator(".row-part form, .row-part .entry-part").first.wait_for()
        _check(page, "queue, an entry opened", language, f)
        page.goto(f"/traces/{seeded.pending}")
        _settle(page)
        _check(page, "a waiting trace, as its librarian", language, f)
    if role == "resident":
        page.goto("/traces/new")
        _settle(page)
        page.locator(".leaflet-draw-draw-polygon").click()
        page.locator(".leaflet-draw-actions").first.wait_for()
        _check(page, "add a trace, drawing a polygon", language, f)
        page.goto(f"/traces/{seeded.pending}")
        _settle(page)
        _check(page, "a waiting trace, as its author", language, f)
    if role == "anonymous":
        page.goto("/no-such-page")
        _check(page, "404 page", language, f)


def test_every_page_in_every_language_has_no_axe_violations(
    app: Flask, seed: Callable[..., Any], new_page: Callable[..., Any]
) -> None:
    started = time.monotonic()
    seeded = _seed(seed)
    urls = list(_urls(app, seeded))
    pages: dict[str, Any] = {}
    for role in ROLES:
        pages[role] = new_page()
        if role != "anonymous":
            login(pages[role], EMAILS[role])

    # Each URL goes to the first role that sees it as an HTML page.
    plan: dict[str, list[tuple[str, str]]] = {role: [] for role in ROLES}
    unreachable, skipped = [], []
    for endpoint, path in urls:
        # The librarians' own pages are checked as a librarian, who sees their controls.
        order = ROLES[2:] if endpoint.startswith(LIBRARIANS_PAGES) else ROLES
        for role in order:
            verdict = _is_page(pages[role].context, path)
            if verdict is None:
                continue
            (plan[role] if verdict else skipped).append((endpoint, path))
            break
        else:
            response = pages["admin"].context.request.get(path, headers={"Accept": HTML_ACCEPT})
            unreachable.append(f"{path} ({response.status})")
            response.dispose()
    for must in ("main.index", "moderation.queue", "vocab.index", "traces.new", "me.traces"):
        assert any(e == must for r in ROLES for e, _ in plan[r]), f"{must} was not checked"

    findings = Findings()
    for role in ROLES:
        page = pages[role]
        page.goto("/")
        for language in LANGUAGES:
            _switch(page, language)
            for _endpoint, path in plan[role]:
                page.goto(path)
                _settle(page)
                _check(page, f"{path} ({role})", language, findings)
            _opened_states(page, role, language, seeded, findings)

    elapsed = time.monotonic() - started
    checked = len(findings.checked)
    print(f"\naxe: {checked} page states checked in {elapsed:.0f} s; skipped (no HTML): "
          f"{[p for _, p in skipped]}")  # fmt: skip
    assert not unreachable, f"no role could open these pages (seed them?): {unreachable}"
    # The language switch took: each language was the page's language somewhere.
    assert set(LANGUAGES) <= findings.page_languages, findings.page_languages
    assert not findings.violations, (
        f"{len(findings.violations)} axe violation(s) on {checked} page states:\n"
        + "\n".join(findings.violations)
    )
