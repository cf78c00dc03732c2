"""The compact queue's maps: every row has a server-drawn thumbnail of the entry and its nearby
traces; opening a row creates its Leaflet preview with the same shapes; one entry whose map
cannot be drawn does not take the maps of the others with it. And axe finds nothing on the
queue, collapsed and opened, in Bokmål and in English."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point, Polygon, box

from app.auth.operations import register_user
from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, UserRole
from tests.browser.conftest import Watch, choose_language, login, screenshot
from tests.browser.test_accessibility import _violations
from tests.conftest import PASSWORD

LIBRARIAN = "bibliotekar@example.org"
# Entries about 2 km apart (0.05 degrees of longitude at 70 N), so none is another's neighbour.
WEST = 23.10


def _entry_shapes() -> list[tuple[str, Any, int]]:
    """(title, shape, how many approved traces lie within 100 m of it), oldest first."""
    x = [WEST + 0.05 * i for i in range(5)]
    return [
        ("Tuft med to naboer", Point(x[0], 69.97), 2),
        ("Røys uten naboer", box(x[1], 69.97, x[1] + 0.0004, 69.9702), 0),
        ("Sti med én nabo", LineString([(x[2], 69.97), (x[2] + 0.0006, 69.9703)]), 1),
        ("Grop uten naboer", Point(x[3], 69.97), 0),
        ("Hustuft med tre naboer", Polygon([(x[4], 69.97), (x[4] + 0.0003, 69.97),
                                            (x[4] + 0.0003, 69.9701), (x[4], 69.97)]), 3),
    ]  # fmt: skip


def _seed_queue(seed: Callable[..., Any]) -> list[tuple[str, int]]:
    """Project alta with its librarian and five pending entries; returns (title, nearby)."""

    def fn() -> list[tuple[str, int]]:
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = register_user(LIBRARIAN, "Bibliotekar Liv", PASSWORD, role=UserRole.LIBRARIAN)
        resident = register_user("beboer@example.org", "Beboer Bo", PASSWORD)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id,
                       role=MembershipRole.LIBRARIAN, granted_by_id=librarian.id)
        )  # fmt: skip
        start = datetime(2026, 10, 1, tzinfo=UTC)
        expected = []
        for n, (title, shape, neighbours) in enumerate(_entry_shapes()):
            db.session.add(
                Trace(project_id=project.id, author_id=resident.id, title=title,
                      geom=from_shape(shape, srid=4326), status=TraceStatus.PENDING,
                      licence="CC-BY-4.0", submitted_at=start + timedelta(hours=n))
            )  # fmt: skip
            centre = shape.centroid
            for k in range(neighbours):
                # 15, 30, 45 m east of the entry: well inside the 100 m of the nearby hint.
                near = Point(centre.x + 0.0004 * (k + 1), centre.y)
                db.session.add(Trace(project_id=project.id, author_id=resident.id,
                                     title=f"Kjent spor {n}.{k}", geom=from_shape(near, srid=4326),
                                     status=TraceStatus.APPROVED, licence="CC-BY-4.0",
                                     approved_by_id=librarian.id, approved_at=start))  # fmt: skip
            expected.append((title, neighbours))
        return expected

    return seed(fn)


def _open_all(page: Any) -> None:
    """Open every row (one click on its summary each) and wait for each part to arrive."""
    for row in page.locator(".queue-row").all():
        row.locator("summary").click()
        row.locator(".entry-part").wait_for()


def _drawn(page: Any) -> list[dict[str, Any]]:
    """For each row: its thumbnail's shapes, and its opened preview map's state."""
    return page.eval_on_selector_all(
        ".queue-row",
        """rows => rows.map(row => {
            const node = row.querySelector('.preview-map');
            return {
              title: row.querySelector('h2').innerText.trim(),
              thumb: row.querySelectorAll('svg.row-thumb .th-entry').length,
              thumbNear: row.querySelectorAll('svg.row-thumb .th-near').length,
              leaflet: !!node && node.classList.contains('leaflet-container'),
              drawn: !!node && node.getAttribute('data-drawn') === 'true',
              failed: !!node && node.classList.contains('preview-map-failed'),
              shapes: node ? node.querySelectorAll(
                '.leaflet-overlay-pane path.leaflet-interactive').length : 0,
              nearby: node ? node.getAttribute('data-nearby') : null,
              text: node ? node.innerText.trim() : '',
            };
        })""",
    )


def _open_queue(new_page: Callable[..., Any], **options: Any) -> Any:
    page = new_page(**options)
    login(page, LIBRARIAN)
    return page


def test_every_row_has_a_thumbnail_and_its_map_is_made_when_opened(
    seed: Callable[..., Any], new_page: Callable[..., Any], watch: Watch
) -> None:
    expected = _seed_queue(seed)
    page = _open_queue(new_page)
    page.goto("/moderation/alta")
    page.wait_for_load_state("load")
    # Nothing of Leaflet before a row is opened: the rows are light.
    assert page.locator(".leaflet-container").count() == 0
    before = _drawn(page)
    assert [m["title"] for m in before] == [title for title, _ in expected]
    for row, (title, neighbours) in zip(before, expected, strict=True):
        assert (row["thumb"], row["thumbNear"]) == (1, neighbours), title
    heights = page.locator(".queue-row").evaluate_all(
        "rows => rows.map(r => r.getBoundingClientRect().height)"
    )
    assert all(60 <= h <= 130 for h in heights), heights  # compact: about 120 px or less
    _open_all(page)
    page.wait_for_function(
        "n => document.querySelectorAll('.preview-map[data-drawn=\"true\"]').length === n",
        arg=len(expected),
    )
    maps = _drawn(page)
    for entry, (title, neighbours) in zip(maps, expected, strict=True):
        assert entry["leaflet"] and entry["drawn"] and not entry["failed"], entry
        # The entry itself and one shape per nearby trace.
        assert entry["shapes"] == 1 + neighbours, entry
        assert len(json.loads(entry["nearby"])) == neighbours, title
    assert watch.page_errors == []
    # Blocked tile requests are the only console errors a page may show.
    assert all("net::ERR_FAILED" in error for error in watch.console_errors), watch.console_errors


def test_an_entry_whose_map_fails_does_not_stop_the_others(
    seed: Callable[..., Any], new_page: Callable[..., Any], watch: Watch
) -> None:
    expected = _seed_queue(seed)
    page = _open_queue(new_page)
    page.goto("/moderation/alta")
    second = page.locator(".queue-row").nth(1).get_attribute("data-entry")

    def break_entry(route: Any) -> None:
        response = route.fetch()
        html = response.text()
        marker = 'class="preview-map" data-geometry="'
        at = html.index(marker) + len(marker)
        route.fulfill(response=response, body=html[:at] + "{not json" + html[at:])

    page.route(re.compile(rf"/moderation/alta/entry/{second}\?part=1"), break_entry)
    _open_all(page)
    page.wait_for_function(
        "n => document.querySelectorAll('.preview-map[data-drawn]').length === n",
        arg=len(expected),
    )
    maps = _drawn(page)
    assert [m["failed"] for m in maps] == [False, True, False, False, False]
    assert maps[1]["text"]  # says the map could not be drawn
    assert all(m["drawn"] and m["shapes"] >= 1 for i, m in enumerate(maps) if i != 1)
    assert watch.page_errors == []


def test_the_queue_has_no_axe_violations_collapsed_and_opened_in_both_languages(
    seed: Callable[..., Any], new_page: Callable[..., Any]
) -> None:
    _seed_queue(seed)
    for width in (1280, 820):
        page = _open_queue(new_page)
        page.set_viewport_size({"width": width, "height": 900})
        for language in ("nb", "en"):
            choose_language(page, language)
            page.goto("/moderation/alta")
            page.wait_for_load_state("load")
            assert page.locator("html").get_attribute("lang") == language
            assert _violations(page) == [], (width, language, "collapsed")
            screenshot(page, f"queue-compact-{width}-{language}")
            first = page.locator(".queue-row").first
            first.locator("summary").click()
            first.locator(".preview-map[data-drawn=true]").wait_for()
            page.keyboard.press("?")  # the shortcuts, opened
            assert page.locator("#shortcuts").get_attribute("open") is not None
            assert _violations(page) == [], (width, language, "opened")
            screenshot(page, f"queue-expanded-{width}-{language}")
            # The bulk bar stays in view at the bottom of the page.
            page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
            top = page.locator("#bulk-form").evaluate("f => f.getBoundingClientRect().top")
            assert 0 <= top < 5, top
            assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_on_a_phone_the_bar_stays_small_and_in_view(
    seed: Callable[..., Any], new_page: Callable[..., Any]
) -> None:
    _seed_queue(seed)
    page = _open_queue(new_page, mobile=True)
    page.goto("/moderation/alta")
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator(".queue-row").last.scroll_into_view_if_needed()
    bar = page.locator("#bulk-form").evaluate(
        "f => { const r = f.getBoundingClientRect(); return {top: r.top, height: r.height}; }"
    )
    assert 0 <= bar["top"] < 5 and bar["height"] <= 220, bar  # a quarter of the screen at most
    page.screenshot(path="test-artifacts/queue-phone-scrolled.png")  # the viewport, as seen
    assert _violations(page) == []
