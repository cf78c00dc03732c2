"""The front-page map's legend, filters, shareable address, low-zoom list and tile loading."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import delete, select

from app.db import db
from app.models import Scheme, Term, Trace, TraceStatus
from app.models.places import Place
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations

ALTA = (69.9690, 23.2716)  # lat, lon
TILE_REQUEST = re.compile(r"/api/map/tiles/(\d+)/(\d+)/(\d+)")


def _term(scheme: Scheme, code: str) -> int:
    return db.session.execute(
        select(Term.id).where(Term.scheme == scheme, Term.code == code)
    ).scalar_one()


@pytest.fixture
def alta(seed: Callable[..., Any], seed_basics: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """Two hunting pits and a charcoal pit near Alta, approved, in the project 'alta'."""
    ids = seed_basics()

    def fn() -> None:
        pit, kiln = _term(Scheme.TRACE_TYPE, "fangstanlegg"), _term(Scheme.TRACE_TYPE, "kullgrop")
        iron_age = _term(Scheme.PERIOD, "jernalder")
        rows = [
            ("Fangstgrop ved Komsa", pit, iron_age, 0.0),
            ("Fangstgrop i lia", pit, None, 0.004),
            ("Kullgrop ved elva", kiln, None, 0.008),
        ]
        for title, type_id, period_id, offset in rows:
            db.session.add(
                Trace(
                    project_id=ids["project_id"], author_id=ids["librarian_id"], title=title,
                    geom=from_shape(Point(ALTA[1] + offset, ALTA[0] + offset / 4), srid=4326),
                    status=TraceStatus.APPROVED, licence="CC-BY-4.0", trace_type_id=type_id,
                    period_id=period_id, approved_by_id=ids["librarian_id"],
                    approved_at="2026-10-01T12:00:00Z",
                )
            )  # fmt: skip

    seed(fn)
    return ids


@pytest.fixture
def alta_place(app: Flask, alta: dict[str, Any]) -> Iterator[None]:
    """The place name 'Alta' in the gazetteer (which the browser fixtures do not empty)."""
    with app.app_context():
        db.session.add(
            Place(name="Alta", kind="By", municipality="Alta", source="test", source_id="alta",
                  geom=from_shape(Point(ALTA[1], ALTA[0]), srid=4326))
        )  # fmt: skip
        db.session.commit()
    yield
    with app.app_context():
        db.session.execute(delete(Place).where(Place.source == "test"))
        db.session.commit()


def _english(new_page: Callable[..., Any], **options: Any) -> Any:
    """A page whose visitor chose English (the language is kept in the session)."""
    page = new_page(**options)
    # A page with no map requests in flight: their session writes could overtake the choice.
    page.goto("/projects")
    page.wait_for_load_state("networkidle")
    page.locator("button[name=lang][value=en]").click()
    page.wait_for_selector("html[lang=en]")
    page.goto("about:blank")  # so that the next address loads the page anew
    return page


def _ready(page: Any) -> None:
    page.wait_for_selector("body[data-map-state=ready]")


def _count(page: Any) -> str:
    return page.locator("#map-count").inner_text()


def test_legend_is_visible_labelled_and_collapsible_on_a_phone(new_page, alta, watch) -> None:
    page = _english(new_page)
    page.goto("/")
    _ready(page)
    # The page stays light: the data comes by tile, the filters are plain selects.
    assert len(page.request.get("/").body()) <= 100_000
    legend = page.locator("#map-legend")
    assert legend.is_visible()
    assert legend.locator("summary").inner_text() == "Legend"
    assert legend.get_attribute("open") is not None  # open on a desktop
    families = legend.locator("li[data-family]")
    assert families.count() >= 5
    assert "Hunting, crafts and industry" in families.all_inner_texts()
    colours = legend.locator("li[data-family]").evaluate_all(
        "items => items.map(li => li.getAttribute('data-colour'))"
    )
    assert len(set(colours)) == len(colours)  # one colour per family
    assert page.get_by_text("Protected site: approximate place").is_visible()
    height = page.evaluate("heritageMap.getSize().y")
    page.locator("#map-filters > summary").click()
    # The map knows its box shrank under the open filters (its bounds, tiles and list follow).
    page.wait_for_function(f"() => heritageMap.getSize().y < {height}")
    box = page.locator(".leaflet-container").bounding_box()
    assert box is not None and page.evaluate("heritageMap.getSize().y") == round(box["height"])
    screenshot(page, "front-desktop-legend-filters")

    phone = _english(new_page, mobile=True)
    phone.goto("/")
    _ready(phone)
    legend = phone.locator("#map-legend")
    assert legend.get_attribute("open") is None  # a button on a phone, not a wall over the map
    assert not phone.get_by_text("Graves and rock art").is_visible()
    screenshot(phone, "front-phone-closed")
    legend.locator("summary").click()
    assert phone.get_by_text("Graves and rock art").is_visible()
    phone.locator("#map-filters > summary").click()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for name in ("type", "period", "project"):
        box = phone.locator(f"#filter-{name}").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        assert box["height"] >= 32  # big enough to tap
    screenshot(phone, "front-phone-legend-filters")
    assert watch.page_errors == []
    assert watch.non_tile_external() == []


def test_type_filter_narrows_the_map_and_lives_in_the_address(new_page, alta, watch) -> None:
    page = _english(new_page)
    page.goto("/#14/69.9697/23.2756")
    _ready(page)
    page.wait_for_function("() => document.querySelectorAll('path.leaflet-interactive').length > 2")
    assert _count(page) == "3"
    page.locator("#map-filters > summary").click()
    page.get_by_label("Type of trace").select_option("fangstanlegg")  # with the keyboard too
    page.wait_for_url(re.compile(r"\?type=fangstanlegg#14/"))
    page.wait_for_function("() => document.getElementById('map-count').textContent === '2'")
    _ready(page)
    assert page.locator("path.leaflet-interactive").count() == 2
    page.get_by_text("List the traces in view").click()
    titles = sorted(page.locator("#trace-list a").all_inner_texts())
    assert titles == ["Fangstgrop i lia", "Fangstgrop ved Komsa"]
    assert page.locator("#map-filter-count").inner_text().strip() == "(1)"
    # "Add a trace" keeps the view; the period narrows further.
    page.get_by_label("Period").select_option("jernalder")
    page.wait_for_function("() => document.getElementById('map-count').textContent === '1'")
    assert sorted(page.locator("#trace-list a").all_inner_texts()) == ["Fangstgrop ved Komsa"]
    assert "period=jernalder" in page.url

    # Back: the period filter goes, the type filter stays, and the map follows.
    page.go_back()
    page.wait_for_function("() => document.getElementById('map-count').textContent === '2'")
    assert page.get_by_label("Period").input_value() == ""
    assert page.get_by_label("Type of trace").input_value() == "fangstanlegg"
    page.go_back()
    page.wait_for_function("() => document.getElementById('map-count').textContent === '3'")
    assert page.get_by_label("Type of trace").input_value() == ""
    assert watch.page_errors == []


def test_a_shared_address_restores_filters_and_view(new_page, alta, watch) -> None:
    page = _english(new_page)
    page.goto("/?type=kullgrop&project=alta#14/69.9697/23.2756")
    _ready(page)
    assert page.evaluate("heritageMap.getZoom()") == 14
    center = page.evaluate("[heritageMap.getCenter().lat, heritageMap.getCenter().lng]")
    assert abs(center[0] - 69.9697) < 1e-3 and abs(center[1] - 23.2756) < 1e-3
    assert page.locator("#map-filters").get_attribute("open") is not None
    assert page.get_by_label("Type of trace").input_value() == "kullgrop"
    assert page.get_by_label("Project").input_value() == "alta"
    page.wait_for_function("() => document.getElementById('map-count').textContent === '1'")
    page.get_by_text("List the traces in view").click()
    assert page.locator("#trace-list a").all_inner_texts() == ["Kullgrop ved elva"]
    # The add-trace links carry the view and the project, in the page and in the menu.
    # (Opening the list below the map resizes it around its centre: a pixel's rounding moves it.)
    for link in page.locator("a[data-add-trace]").all():
        href = link.get_attribute("href") or ""
        found = re.fullmatch(r"/traces/new\?at=14/([\d.]+)/([\d.]+)&project=alta", href)
        assert found, href
        assert abs(float(found[1]) - 69.9697) < 1e-4 and abs(float(found[2]) - 23.2756) < 1e-4
    # Clearing the filters shows everything again.
    page.locator("#map-filter-clear").click()
    page.wait_for_function("() => document.getElementById('map-count').textContent === '3'")
    assert "type=" not in page.url and re.search(r"/#14/69\.9\d*/23\.2\d*$", page.url)
    assert watch.page_errors == []


def test_add_trace_link_follows_the_view(new_page, alta, watch) -> None:
    page = new_page()
    page.goto("/")
    _ready(page)
    link = page.locator(".map-footer a[data-add-trace]")
    assert link.get_attribute("href").startswith("/traces/new?at=")
    page.evaluate("heritageMap.setView([59.7312, 9.9012], 15, {animate: false})")
    page.wait_for_function(
        "() => document.querySelector('.site-nav a[data-add-trace]').getAttribute('href')"
        " === '/traces/new?at=15/59.7312/9.9012'"
    )
    assert link.get_attribute("href") == "/traces/new?at=15/59.7312/9.9012"
    assert page.url.endswith("/#15/59.7312/9.9012")
    assert watch.page_errors == []


def test_low_zoom_loads_tiles_and_lists_areas(new_page, alta_place, watch) -> None:
    page = _english(new_page)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto("/#6/69.9/23.3")
    _ready(page)
    tiles = [TILE_REQUEST.search(u) for u in requests]
    tiles = [m.groups() for m in tiles if m]
    assert tiles, requests
    assert {z for z, _x, _y in tiles} == {"6"}
    # Alta (23.27 E, 69.97 N) lies in tile 6/36/13: it must be among those asked for.
    assert ("6", "36", "13") in tiles
    assert not any("/api/map?" in u for u in requests)  # no bbox query below the cluster zoom
    assert _count(page) == "3"

    page.get_by_text("List the traces in view").click()
    area = page.get_by_role("button", name="Alta (3 traces)")
    area.wait_for()
    page.locator("#map-filters > summary").click()
    screenshot(page, "front-desktop-low-zoom-list")
    # Legend, filters and the list of areas pass axe's WCAG 2.1 AA rules.
    assert _violations(page) == []
    area.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => heritageMap.getZoom() === 9")
    # The list now names what is in the closer view, and has the focus.
    page.wait_for_function("() => document.activeElement.id === 'trace-list'")
    _ready(page)
    assert page.locator("#trace-list li").count() >= 1

    # Panning back to the first view asks for no tile again: they are kept.
    before = len([u for u in requests if TILE_REQUEST.search(u)])
    page.evaluate("heritageMap.setView([69.9, 23.3], 6, {animate: false})")
    page.wait_for_function("() => document.getElementById('map-count').textContent === '3'")
    _ready(page)
    assert len([u for u in requests if TILE_REQUEST.search(u)]) == before
    assert watch.page_errors == []


def test_filters_go_to_the_tile_requests(new_page, alta, watch) -> None:
    page = new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto("/?type=kullgrop#6/69.9/23.3")
    _ready(page)
    page.wait_for_function("() => document.getElementById('map-count').textContent === '1'")
    tile_urls = [u for u in requests if TILE_REQUEST.search(u)]
    assert tile_urls and all(u.endswith("?type=kullgrop") for u in tile_urls)
    assert watch.page_errors == []


def test_own_pending_trace_is_dashed_and_the_legend_says_so(new_page, seed, alta, watch) -> None:
    def fn() -> None:
        db.session.add(
            Trace(
                project_id=alta["project_id"], author_id=alta["resident_id"], title="Min tuft",
                geom=from_shape(Point(ALTA[1] - 0.004, ALTA[0]), srid=4326),
                status=TraceStatus.PENDING, licence="CC-BY-4.0",
                trace_type_id=_term(Scheme.TRACE_TYPE, "boplass"),
            )
        )  # fmt: skip

    seed(fn)
    anonymous = new_page()
    anonymous.goto("/")
    assert anonymous.locator("#map-legend [data-state=pending]").count() == 0
    page = new_page()
    login(page, "resident@example.org")
    page.goto("about:blank")  # the login ends on "/": a hash alone would not load the page anew
    page.goto("/#14/69.969/23.2716")
    _ready(page)
    assert page.locator("#map-legend [data-state=pending]").is_visible()
    page.wait_for_function("() => document.getElementById('map-count').textContent === '4'")
    dashed = page.locator("path.leaflet-interactive[stroke-dasharray='3 3']")
    dashed.first.wait_for()
    assert dashed.count() == 1
    # Drawn in its family's colour (settlements), as the legend shows.
    colour = page.locator("#map-legend li[data-family=dwelling]").get_attribute("data-colour")
    assert dashed.get_attribute("fill") == colour
    screenshot(page, "front-desktop-z14-styles")
    assert watch.page_errors == []


def test_an_unknown_filter_in_the_address_is_dropped(new_page, alta, watch) -> None:
    page = new_page()
    response = page.goto("/?type=nope&period=%3Cscript%3E&project=gone#14/69.9697/23.2756")
    assert response is not None and response.status == 200
    _ready(page)
    assert page.locator("#map-filters").get_attribute("open") is None
    for name in ("type", "period", "project"):
        assert page.locator(f"#filter-{name}").input_value() == ""
    assert _count(page) == "3"  # a stale bookmark shows everything rather than an error
    assert page.url.endswith("/#14/69.9697/23.2756")
    assert watch.page_errors == []
