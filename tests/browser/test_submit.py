"""Submitting traces in a real browser: drawing a polygon, and typed coordinates by keyboard."""

from __future__ import annotations

import json
import re

import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import select

from app.db import db
from app.models import Project, Trace, TraceStatus
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations
from tests.serving import ARTIFACTS


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


EIKER = (9.6, 59.6, 10.1, 59.9)


def _shot(page, name: str) -> None:
    """A screenshot of what the resident sees now (the viewport, not the whole page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _geometry(page) -> dict:
    return json.loads(page.locator("#geometry").input_value())


def _position_page(new_page, *, mobile: bool, accuracy: float):
    return new_page(
        mobile=mobile,
        geolocation={"latitude": 69.96891, "longitude": 23.27153, "accuracy": accuracy},
        permissions=["geolocation"],
    )


def _login_in_english(page) -> None:
    """Log in as the resident, then choose English (stored on the account after the first time)."""
    login(page, "resident@example.org")
    # Choose on a page with no map requests in flight: they write the session too, and the
    # last one written won over the choice now and then (the form then spoke Bokmål).
    page.goto("/projects")
    page.wait_for_load_state("networkidle")
    # The choice is a form post and a redirect: wait for the page it lands on to be English,
    # or the next goto can overtake it and find the old language still in the cookie.
    if page.locator("html").get_attribute("lang") != "en":
        with page.expect_navigation():
            page.locator("button[name=lang][value=en]").click()
    assert page.locator("html").get_attribute("lang") == "en"


def test_use_my_position_marks_the_point_on_a_phone(app, new_page, seed_basics, watch):
    seed_basics()
    page = _position_page(new_page, mobile=True, accuracy=8)
    _login_in_english(page)
    page.goto("/traces/new")
    page.wait_for_selector("body[data-new-trace=ready]")
    page.locator("#use-position").click()
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    assert _geometry(page) == {"type": "Point", "coordinates": [23.27153, 69.96891]}
    # A marker to check the spot, with its accuracy circle, and the map zoomed to it.
    assert page.locator(".leaflet-marker-icon.leaflet-marker-draggable").count() == 1
    assert page.locator("path.leaflet-interactive, path").count() >= 1
    assert page.evaluate("heritageMap.getZoom()") >= 16
    status = page.locator("#use-position-status")
    assert status.get_attribute("role") == "status"
    assert "about 8 m" in status.inner_text()
    assert page.locator("#coordinates").input_value() == ""  # the drawn point is the one source
    page.get_by_label("Title").fill("Naust i fjæra")
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    point = to_shape(_only_trace(app).geom)
    assert (round(point.x, 5), round(point.y, 5)) == (23.27153, 69.96891)
    assert watch.page_errors == []


def test_poor_accuracy_is_said_and_the_point_can_be_dragged(app, new_page, seed_basics, watch):
    seed_basics()
    for width, height in ((390, 844), (1280, 800)):
        page = _position_page(new_page, mobile=width < 500, accuracy=350)
        if width >= 500:
            page.set_viewport_size({"width": width, "height": height})
        _login_in_english(page)
        page.goto("/traces/new?at=13/69.96/23.26")
        page.wait_for_selector("body[data-new-trace=ready]")
        _shot(page, f"new-trace-carried-view-{width}")
        # The map flies to the position: drag only once it has come to rest (a loaded machine
        # animates slowly, and a moving marker is missed).
        page.evaluate(
            "window.__settled = false;"
            " heritageMap.once('moveend', () => { window.__settled = true; })"
        )
        page.locator("#use-position").click()
        status = page.locator("#use-position-status.warning")
        status.wait_for()
        assert status.inner_text() == "Accuracy is about 350 m: drag the point to the right spot."
        page.wait_for_function("window.__settled === true")
        page.wait_for_timeout(300)
        _shot(page, f"new-trace-poor-accuracy-{width}")
        assert _violations(page) == []  # the marker, its circle and the warning
        before = _geometry(page)["coordinates"]
        marker = page.locator(".leaflet-marker-icon.leaflet-marker-draggable")
        box = marker.bounding_box()
        assert box is not None
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + 30, y + 20, steps=8)
        page.mouse.move(x + 60, y + 40, steps=8)
        page.mouse.up()
        page.wait_for_function(
            "(b) => JSON.parse(document.getElementById('geometry').value).coordinates[0] !== b",
            arg=before[0],
        )
        after = _geometry(page)["coordinates"]
        assert after[0] > before[0] and after[1] < before[1]  # moved right and down
    assert watch.page_errors == []


def test_refused_position_is_said_and_one_tap_places_a_point(app, new_page, seed_basics, watch):
    seed_basics()
    page = new_page(mobile=True)  # no permission for the position
    _login_in_english(page)
    page.goto("/traces/new?at=14/69.97/23.27")
    page.wait_for_selector("body[data-new-trace=ready]")
    page.locator("#use-position").click()
    status = page.locator("#use-position-status.warning")
    status.wait_for()
    assert "refused" in status.inner_text()
    assert page.locator("#geometry").input_value() == ""
    # The carried view was kept, and one tap on the map places a draggable point there.
    assert page.evaluate("heritageMap.getZoom()") == 14
    page.locator(".draw-map .leaflet-container").scroll_into_view_if_needed()
    box = page.locator(".draw-map .leaflet-container").bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.7)
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    lon, lat = _geometry(page)["coordinates"]
    assert abs(lon - 23.27) < 0.05 and abs(lat - 69.97) < 0.05
    assert page.locator(".leaflet-marker-icon.leaflet-marker-draggable").count() == 1
    # A second tap does not move or add anything: the point is dragged instead.
    page.touchscreen.tap(box["x"] + 40, box["y"] + box["height"] * 0.7)
    page.wait_for_timeout(200)
    assert _geometry(page)["coordinates"] == [lon, lat]
    assert watch.page_errors == []


def test_outside_the_chosen_area_is_said_at_once_with_a_switch(app, new_page, seed, seed_basics):
    seed_basics()

    def areas() -> None:
        alta = db.session.execute(select(Project).where(Project.slug == "alta")).scalar_one()
        alta.area = from_shape(MultiPolygon([box(22.5, 69.6, 24.5, 70.3)]), srid=4326)
        eiker = Project(slug="eiker", name="Kulturspor i Øvre Eiker", library_name="Eiker")
        eiker.area = from_shape(MultiPolygon([box(*EIKER)]), srid=4326)
        db.session.add(eiker)

    seed(areas)
    for width, height, mobile in ((1280, 800, False), (390, 844, True)):
        page = new_page(mobile=mobile)
        if not mobile:
            page.set_viewport_size({"width": width, "height": height})
        _login_in_english(page)
        page.goto("/traces/new?project=alta&at=13/59.745/9.91")
        page.wait_for_selector("body[data-new-trace=ready]")
        assert page.evaluate("heritageMap.getZoom()") == 13  # the view beats the project's area
        page.locator(".draw-map .leaflet-container").scroll_into_view_if_needed()
        box_ = page.locator(".draw-map .leaflet-container").bounding_box()
        assert box_ is not None
        page.mouse.click(box_["x"] + box_["width"] / 2, box_["y"] + box_["height"] * 0.7)
        switch = page.locator("#project-switch")
        switch.wait_for()
        # The answer of /api/where fills the text; wait for it rather than read it once.
        page.wait_for_function(
            "() => document.getElementById('project-place-text').textContent"
            ".includes('outside the area of Kulturspor i Alta')"
        )
        text = page.locator("#project-place-text").inner_text()
        assert "outside the area of Kulturspor i Alta" in text and "Øvre Eiker" in text, text
        assert page.locator("#confirm-outside").is_visible()
        page.locator("#project-place").scroll_into_view_if_needed()
        _shot(page, f"new-trace-outside-area-{width}")
        assert _violations(page) == []  # the warning, its switch and the confirmation
        switch.click()
        assert page.locator("#project").input_value() == "eiker"
        assert page.locator("#project-place-text").inner_text() == ""
        assert not page.locator("#confirm-outside").is_visible()
    page.get_by_label("Title").fill("Kullgrop")
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    with app.app_context():
        trace = db.session.execute(select(Trace)).scalar_one()
        assert db.session.get(Project, trace.project_id).slug == "eiker"
        db.session.remove()


def test_the_map_opens_at_the_project_area_else_at_the_position(app, new_page, seed, seed_basics):
    seed_basics()

    def area() -> None:
        alta = db.session.execute(select(Project).where(Project.slug == "alta")).scalar_one()
        alta.area = from_shape(MultiPolygon([box(23.0, 69.8, 23.5, 70.1)]), srid=4326)

    seed(area)
    page = _position_page(new_page, mobile=True, accuracy=20)
    login(page, "resident@example.org")
    # The chosen project's area, not all of Norway and not the position.
    page.goto("/traces/new?project=alta")
    page.wait_for_selector("body[data-new-trace=ready]")
    bounds = page.evaluate(
        "(() => { const b = heritageMap.getBounds(); "
        "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()"
    )
    assert bounds[0] <= 23.0 and bounds[2] >= 23.5 and bounds[2] - bounds[0] < 3
    # Nothing better than the country view: the resident's position (the browser allows it).
    page.goto("/traces/new?at=5/65/13")
    page.wait_for_selector("body[data-new-trace=ready]")
    page.wait_for_function("() => heritageMap.getZoom() >= 12")
    centre = page.evaluate(
        "(() => { const c = heritageMap.getCenter(); return [c.lng, c.lat]; })()"
    )
    assert abs(centre[0] - 23.27153) < 0.01 and abs(centre[1] - 69.96891) < 0.01
    assert page.locator("#geometry").input_value() == ""  # the view moved; no point was placed
