"""The map page in a real browser: Leaflet loads, data arrives by viewport, nothing external."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point

from app.db import db
from app.models import Trace, TraceStatus
from tests.browser.conftest import screenshot


def _approved(project_id: int, author_id: int, title: str, geometry: Any) -> Trace:
    trace = Trace(
        project_id=project_id, author_id=author_id, title=title,
        geom=from_shape(geometry, srid=4326), status=TraceStatus.APPROVED,
        licence="CC-BY-4.0", approved_by_id=author_id, approved_at="2026-10-01T12:00:00Z",
    )  # fmt: skip
    db.session.add(trace)
    return trace


def test_map_loads_with_self_hosted_leaflet_and_no_errors(new_page, seed, seed_basics, watch):
    ids = seed_basics()

    def fn() -> None:
        _approved(ids["project_id"], ids["librarian_id"], "Fangstgrop ved Komsa",
                  Point(23.2716, 69.9690))  # fmt: skip
        _approved(ids["project_id"], ids["librarian_id"], "Gamle kirkeveien",
                  LineString([(23.28, 69.97), (23.29, 69.975), (23.30, 69.972)]))  # fmt: skip

    seed(fn)
    page = new_page()
    page.goto("/")
    page.wait_for_selector("body[data-map-state=ready]")
    assert page.evaluate("typeof L !== 'undefined' && L.version") == "1.9.4"
    assert page.locator(".leaflet-container").count() == 1
    # Country view: the two traces are counted in clusters, not embedded in the page.
    assert "Fangstgrop ved Komsa" not in page.content()
    assert page.locator(".trace-cluster").count() >= 1
    screenshot(page, "map-desktop-country")

    page.evaluate("heritageMap.setView([69.971, 23.285], 14)")
    page.wait_for_function(
        "() => document.querySelectorAll('path.leaflet-interactive').length >= 2"
    )
    assert page.locator("#map-count").inner_text() == "2"
    # The traces in view are also a list of links, reachable without a pointer.
    page.get_by_text("List opp sporene i visningen").click()
    links = page.locator("#trace-list a")
    assert sorted(links.all_inner_texts()) == ["Fangstgrop ved Komsa", "Gamle kirkeveien"]
    screenshot(page, "map-desktop-z14")

    assert watch.console_errors == [] or all("net::ERR_FAILED" in e for e in watch.console_errors)
    assert watch.page_errors == []
    assert watch.non_tile_external() == []


def test_map_works_on_a_phone(new_page, seed_basics, watch):
    seed_basics()
    page = new_page(mobile=True)
    page.goto("/")
    page.wait_for_selector("body[data-map-state=ready]")
    box = page.locator(".leaflet-container").bounding_box()
    assert box is not None and box["width"] >= 380 and box["height"] >= 400
    # The header must not overflow sideways on a narrow screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "map-phone")
    assert watch.page_errors == []
    assert watch.non_tile_external() == []


def test_hostile_title_executes_nothing(new_page, seed, seed_basics, watch):
    ids = seed_basics()
    payload = "${globalThis.PWNED=1}<img src=x onerror=alert(1)>"

    def fn() -> int:
        trace = _approved(ids["project_id"], ids["resident_id"], payload, Point(23.2716, 69.969))
        db.session.flush()
        return trace.id

    trace_id = seed(fn)
    page = new_page()
    page.goto("/")
    page.wait_for_selector("body[data-map-state=ready]")
    page.evaluate("heritageMap.setView([69.969, 23.2716], 15)")
    marker = page.locator("path.leaflet-interactive").first
    marker.wait_for()
    marker.click()
    popup = page.locator(".trace-popup-title")
    popup.wait_for()
    assert popup.inner_text() == payload  # shown as text, not interpreted
    page.goto(f"/traces/{trace_id}")
    assert page.locator("h1").inner_text() == payload
    page.wait_for_timeout(300)
    assert page.evaluate("typeof globalThis.PWNED") == "undefined"
    assert watch.dialogs == []
    assert page.locator("img[src=x]").count() == 0
