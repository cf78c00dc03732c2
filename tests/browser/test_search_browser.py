"""The map's search box in Chromium: keyboard choice flies the map, traces link to their page,
the phone layout keeps the zoom buttons free, and the box works without script."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import delete

from app.db import db
from app.models import Place, Trace, TraceStatus
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import AXE, RUN_AXE

SOURCE = "browser-test"


def shot(page: Any, name: str) -> None:
    """A screenshot in the test artifacts, for people to look at."""
    screenshot(page, f"search-{name}")


@pytest.fixture
def world(app: Flask, seed: Callable[..., Any], seed_basics: Callable[..., Any]) -> Iterator[Any]:
    """An approved trace near Alta and three places; the places are removed afterwards
    (the browser fixtures' TRUNCATE does not cover the gazetteer)."""
    ids = seed_basics()

    def fn() -> int:
        trace = Trace(
            project_id=ids["project_id"], author_id=ids["librarian_id"],
            title="Fangstgroper ved Komsa", geom=from_shape(Point(23.2716, 69.969), srid=4326),
            status=TraceStatus.APPROVED, licence="CC-BY-4.0",
            approved_by_id=ids["librarian_id"], approved_at="2026-10-01T12:00:00Z",
        )  # fmt: skip
        db.session.add(trace)
        for n, (name, kind, lon, lat) in enumerate(
            [("Raufoss", "By", 10.61, 60.726), ("Raufoss kirke", "Kirke", 10.612, 60.724),
             ("Komsa", "Fjell", 23.15, 69.96)]
        ):  # fmt: skip
            point = from_shape(Point(lon, lat), srid=4326)
            db.session.add(Place(name=name, kind=kind, municipality="Test", source=SOURCE,
                                 source_id=str(n), geom=point))  # fmt: skip
        db.session.flush()
        return trace.id

    trace_id = seed(fn)
    yield {"trace_id": trace_id}
    with app.app_context():
        db.session.execute(delete(Place).where(Place.source == SOURCE))
        db.session.commit()


def _ready(page: Any) -> None:
    page.goto("/")
    page.wait_for_selector("body[data-map-state=ready]")
    page.wait_for_selector(".map-search.is-enhanced")


def _centre(page: Any) -> tuple[float, float, int]:
    return page.evaluate(
        "() => { const c = heritageMap.getCenter(); return [c.lng, c.lat, heritageMap.getZoom()]; }"
    )


def test_type_a_place_choose_it_with_the_keyboard_and_the_map_flies_there(new_page, world, watch):
    page = new_page()
    _ready(page)
    box = page.locator("#map-search-input")
    assert box.get_attribute("role") == "combobox"
    box.focus()
    page.keyboard.type("raufos")
    page.wait_for_selector("#map-search-place-0")
    assert box.get_attribute("aria-expanded") == "true"
    assert page.locator("#map-search-results [role=group]").count() == 1
    assert page.locator("#map-search-place-0 bdi").inner_text() == "Raufoss"
    # The live region counts the results (two places, no traces).
    page.wait_for_function(
        "() => /2/.test(document.getElementById('map-search-status').textContent)"
    )
    # Temporary markers for the results.
    assert page.locator("path.map-search-marker").count() == 2
    shot(page, "desktop-places")
    # The open combobox and its grouped listbox pass axe's WCAG rules.
    page.evaluate(AXE)
    assert page.evaluate(RUN_AXE) == []
    page.keyboard.press("ArrowDown")
    assert box.get_attribute("aria-activedescendant") == "map-search-place-0"
    assert page.locator("#map-search-place-0").get_attribute("aria-selected") == "true"
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => heritageMap.getZoom() === 14"
        " && Math.abs(heritageMap.getCenter().lat - 60.726) < 0.01"
    )
    lon, lat, zoom = _centre(page)
    assert abs(lon - 10.61) < 0.01 and zoom == 14
    assert page.locator("#map-search-results").is_hidden()
    assert box.input_value() == "Raufoss"
    # Escape clears the box (the list is closed already).
    page.keyboard.press("Escape")
    assert box.input_value() == ""
    assert watch.page_errors == []
    assert watch.non_tile_external() == []


def test_type_a_trace_title_and_follow_its_link(new_page, world, watch):
    page = new_page()
    _ready(page)
    page.locator("#map-search-input").fill("fangstg")
    page.wait_for_selector("#map-search-trace-0")
    assert page.locator("#map-search-trace-0 bdi").inner_text() == "Fangstgroper ved Komsa"
    page.keyboard.press("ArrowDown")  # the first option is the trace: no place matches
    page.keyboard.press("Enter")
    page.wait_for_function("() => heritageMap.getZoom() === 15")
    lon, lat, _zoom = _centre(page)
    assert abs(lon - 23.2716) < 0.01 and abs(lat - 69.969) < 0.01
    link = page.locator("#map-search-chosen a")
    assert link.get_attribute("href") == f"/traces/{world['trace_id']}"
    shot(page, "desktop-trace-chosen")
    link.click()
    page.wait_for_url(f"**/traces/{world['trace_id']}")
    assert "Fangstgroper ved Komsa" in page.locator("h1").inner_text()
    assert watch.page_errors == []


def test_phone_the_box_spans_the_map_and_leaves_the_zoom_buttons_free(new_page, world):
    page = new_page(mobile=True)
    _ready(page)
    search = page.locator("#map-search").bounding_box()
    zoom = page.locator(".leaflet-control-zoom").bounding_box()
    frame = page.locator(".map-frame").bounding_box()
    assert search["width"] > frame["width"] - 24  # (nearly) the map's whole width
    assert zoom["y"] >= search["y"] + search["height"]  # the zoom buttons are below it
    page.locator("#map-search-input").fill("raufoss")
    page.wait_for_selector("#map-search-place-1")
    shot(page, "phone-results")
    page.locator("#map-search-place-0").tap()
    page.wait_for_function("() => heritageMap.getZoom() === 14")
    shot(page, "phone-chosen")


def test_without_script_the_box_submits_to_the_results_page(new_page, world):
    page = new_page(java_script_enabled=False)
    page.goto("/")
    page.locator("#map-search-input").fill("komsa")
    page.locator("#map-search-input").press("Enter")
    page.wait_for_url("**/search?q=komsa")
    assert page.locator("#search-places a").first.inner_text() == "Komsa"
    trace_link = page.locator("#search-traces a")
    assert trace_link.inner_text() == "Fangstgroper ved Komsa"
    shot(page, "nojs-results")
    trace_link.click()
    page.wait_for_url(f"**/traces/{world['trace_id']}")
