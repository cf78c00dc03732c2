"""Submitting traces in a real browser: drawing a polygon, and typed coordinates by keyboard."""

from __future__ import annotations

import re

import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import select

from app.db import db
from app.models import Trace, TraceStatus
from tests.browser.conftest import login, screenshot


def _only_trace(app) -> Trace:
    with app.app_context():
        traces = db.session.execute(select(Trace)).scalars().all()
        db.session.remove()
    assert len(traces) == 1
    return traces[0]


def test_drawn_polygon_is_submitted_and_shown_on_its_page(app, new_page, seed_basics, watch):
    seed_basics()
    page = new_page()
    login(page, "resident@example.org")
    page.goto("/traces/new")
    page.wait_for_selector("body[data-map-state]")
    page.evaluate("heritageMap.setView([69.97, 23.27], 15)")
    page.wait_for_timeout(300)

    page.locator("a.leaflet-draw-draw-polygon").click()
    box = page.locator(".draw-map .leaflet-container").bounding_box()
    assert box is not None
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(cx - 80, cy - 60), (cx + 80, cy - 60), (cx + 80, cy + 60), (cx - 80, cy + 60)]
    for x, y in corners:
        page.mouse.click(x, y)
        page.wait_for_timeout(250)
    page.mouse.click(*corners[0])  # closing on the first corner finishes the polygon
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Polygon')")
    assert page.locator("#drawn-note").is_visible()

    page.get_by_label("Tittel").fill("Tuft etter sommerfjøs")
    page.get_by_label("Type kulturspor").select_option("boplass")
    page.get_by_label("Beskrivelse").fill("Grunnmur av *gråstein*, om lag 6 x 4 meter.")
    screenshot(page, "new-trace-drawn")
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))

    assert page.locator("h1").inner_text() == "Tuft etter sommerfjøs"
    assert page.locator(".status-pending").is_visible()
    assert page.locator(".markdown em").inner_text() == "gråstein"
    page.wait_for_selector(".trace-map path.leaflet-interactive")
    screenshot(page, "trace-page-polygon")

    trace = _only_trace(app)
    shape = to_shape(trace.geom)
    assert trace.status == TraceStatus.PENDING
    assert shape.geom_type == "Polygon" and shape.is_valid
    assert shapely.get_num_coordinates(shape) == 5
    assert shape.exterior.is_ccw  # RFC 7946 winding, whatever way it was drawn
    assert watch.page_errors == []
    assert watch.non_tile_external() == []


def _tab_to(page, selector: str, limit: int = 120) -> None:
    """Press Tab until the element matching selector has focus (keyboard-only navigation)."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)",
                         selector):  # fmt: skip
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"could not reach {selector} with the Tab key")


def test_typed_coordinates_with_the_keyboard_alone(app, new_page, seed_basics, watch):
    seed_basics()
    page = new_page()
    login(page, "resident@example.org")
    page.goto("/traces/new")
    page.wait_for_selector("body[data-map-state]")

    page.locator("body").focus()
    _tab_to(page, "details.typed summary")
    page.keyboard.press("Enter")  # opens "type coordinates instead"
    _tab_to(page, "#coord_system")
    _tab_to(page, "#coord_shape-0")  # "point" is the default; keep it
    _tab_to(page, "#coordinates")
    page.keyboard.type("69,9689 23,2715")  # Norwegian decimal commas
    _tab_to(page, "#title")
    page.keyboard.type("Kullgrop ved Tverrelva")
    screenshot(page, "new-trace-typed")
    _tab_to(page, "button[type=submit].button")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    assert page.locator("h1").inner_text() == "Kullgrop ved Tverrelva"

    trace = _only_trace(app)
    point = to_shape(trace.geom)
    assert (round(point.x, 4), round(point.y, 4)) == (23.2715, 69.9689)
    assert watch.page_errors == []


def test_refused_input_keeps_what_was_typed_and_says_why(app, new_page, seed_basics):
    seed_basics()
    page = new_page(mobile=True)
    login(page, "resident@example.org")
    page.goto("/traces/new")
    page.get_by_text("Skriv inn koordinater i stedet").click()
    page.get_by_label("Koordinater", exact=True).fill("23.2715, 69.9689")  # lon/lat swapped
    page.get_by_label("Tittel").fill("Steingjerde")
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_selector(".error-summary")
    assert page.get_by_label("Tittel").input_value() == "Steingjerde"
    error = page.locator("#coordinates-error").inner_text()
    assert "bytte" in error.lower() or "swapped" in error.lower()
    screenshot(page, "new-trace-error-phone")
    with app.app_context():
        assert db.session.execute(select(Trace.id)).first() is None
        db.session.remove()


def test_use_my_position_fills_the_coordinates_on_a_phone(app, new_page, seed_basics, watch):
    seed_basics()
    page = new_page(
        mobile=True,
        geolocation={"latitude": 69.96891, "longitude": 23.27153, "accuracy": 8},
        permissions=["geolocation"],
    )
    login(page, "resident@example.org")
    page.goto("/traces/new")
    page.wait_for_selector("body[data-map-state]")
    page.get_by_role("button", name="Bruk min posisjon").click()
    page.wait_for_function("() => document.getElementById('coordinates').value !== ''")
    assert page.locator("#coordinates").input_value() == "69.968910, 23.271530"
    assert page.locator("details.typed").get_attribute("open") is not None
    page.get_by_label("Tittel").fill("Naust i fjæra")
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    point = to_shape(_only_trace(app).geom)
    assert (round(point.x, 5), round(point.y, 5)) == (23.27153, 69.96891)
    assert watch.page_errors == []
