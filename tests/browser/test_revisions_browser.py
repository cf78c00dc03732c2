"""Editing a trace in Chromium (the stored shape round-trips through the drawing map), its
history with the before/after map, and a librarian's revert."""

from __future__ import annotations

import re
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Polygon
from sqlalchemy import select

from app.db import db
from app.models import Membership, MembershipRole, Revision, Trace, TraceStatus
from app.traces.compare import same_geometry
from app.traces.operations import record_revision
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations

SQUARE = Polygon([(23.27, 69.96), (23.28, 69.96), (23.28, 69.97), (23.27, 69.97)])
HOSTILE = "${globalThis.PWNED=1}<img src=x onerror=alert(1)>"


def _seed_trace(seed: Any, basics: dict[str, Any]) -> int:
    """A pending polygon by the resident with its first revision; the librarian runs the project."""

    def fn() -> int:
        db.session.add(
            Membership(
                project_id=basics["project_id"],
                user_id=basics["librarian_id"],
                role=MembershipRole.LIBRARIAN,
            )
        )
        trace = Trace(
            project_id=basics["project_id"],
            author_id=basics["resident_id"],
            title=HOSTILE,
            description="Første tekst",
            geom=from_shape(SQUARE, srid=4326),
            status=TraceStatus.PENDING,
        )
        db.session.add(trace)
        db.session.flush()
        record_revision(trace, trace.author, event={"kind": "submitted"})
        return trace.id

    return seed(fn)


def _trace_and_revisions(app: Any, trace_id: int) -> tuple[Trace, list[Revision]]:
    with app.app_context():
        trace = db.session.get(Trace, trace_id)
        revisions = list(
            db.session.execute(
                select(Revision).where(Revision.trace_id == trace_id).order_by(Revision.version)
            ).scalars()
        )
        db.session.expunge_all()
        db.session.remove()
    assert trace is not None
    return trace, revisions


def test_edit_keeps_the_shape_and_history_compares_and_reverts(
    app, new_page, seed, seed_basics, watch
):
    trace_id = _seed_trace(seed, seed_basics())
    page = new_page()
    login(page, "resident@example.org")
    page.goto(f"/traces/{trace_id}/edit")
    page.wait_for_selector("body[data-map-state=ready]")
    # The stored polygon is restored onto the drawing map, ready to be edited.
    page.wait_for_selector(".draw-map path.leaflet-interactive")
    assert page.locator("#drawn-note").is_visible()
    assert _violations(page) == []
    page.locator("#title").fill("Tuft ved elva")
    page.locator("#comment").fill("Bedre navn")
    screenshot(page, "edit-trace")
    page.locator("#trace-form button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/traces/{trace_id}$"))

    trace, revisions = _trace_and_revisions(app, trace_id)
    assert (trace.title, trace.version) == ("Tuft ved elva", 2)
    assert same_geometry(to_shape(trace.geom), SQUARE), "an untouched shape must not move"
    assert [r.comment for r in revisions] == ["", "Bedre navn"]

    librarian = new_page(mobile=True)
    login(librarian, "librarian@example.org")
    librarian.goto(f"/traces/{trace_id}/history?version=2")
    librarian.wait_for_selector(".trace-map .leaflet-container path.leaflet-interactive")
    assert librarian.evaluate("document.documentElement.scrollWidth") <= 390
    assert _violations(librarian) == []
    screenshot(librarian, "trace-history-phone")
    librarian.locator("form[action$='/revert/1'] button").first.click()
    librarian.wait_for_url(re.compile(rf"/traces/{trace_id}/history$"))

    trace, revisions = _trace_and_revisions(app, trace_id)
    assert trace.title == HOSTILE and trace.version == 3
    assert (revisions[-1].comment, revisions[-1].event) == ("", {"kind": "revert", "to": 1})
    for p in (page, librarian):
        assert p.evaluate("typeof globalThis.PWNED") == "undefined"
    assert watch.dialogs == [] and watch.page_errors == []
    assert watch.non_tile_external() == []
