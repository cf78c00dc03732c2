"""Every entry in the moderation queue gets its preview map, with and without nearby traces, and
one entry whose map cannot be drawn does not take the maps of the others with it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point, Polygon, box

from app.auth.operations import register_user
from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, UserRole
from tests.browser.conftest import Watch, login, screenshot
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


def _drawn(page: Any) -> list[dict[str, Any]]:
    """For each preview map on the page: is it a Leaflet map, how many shapes, its data."""
    return page.eval_on_selector_all(
        ".queue-entry .preview-map",
        """nodes => nodes.map(node => ({
            title: node.closest('.queue-entry').querySelector('h2').innerText.trim(),
            leaflet: node.classList.contains('leaflet-container'),
            drawn: node.getAttribute('data-drawn') === 'true',
            failed: node.classList.contains('preview-map-failed'),
            shapes: node.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length,
            nearby: node.getAttribute('data-nearby'),
            text: node.innerText.trim(),
        }))""",
    )


def _open_queue(new_page: Callable[..., Any]) -> Any:
    page = new_page()
    login(page, LIBRARIAN)
    return page


def test_every_entry_gets_a_map_with_its_nearby_traces(
    seed: Callable[..., Any], new_page: Callable[..., Any], watch: Watch
) -> None:
    expected = _seed_queue(seed)
    page = _open_queue(new_page)
    page.goto("/moderation/alta")
    page.wait_for_function(
        "n => document.querySelectorAll('.preview-map[data-drawn=\"true\"]').length === n",
        arg=len(expected),
    )
    maps = _drawn(page)
    screenshot(page, "queue-previews")
    assert [m["title"] for m in maps] == [title for title, _ in expected]
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

    def break_second_entry(route: Any) -> None:
        response = route.fetch()
        html = response.text()
        marker = 'class="preview-map" data-geometry="'
        first = html.index(marker)
        second = html.index(marker, first + 1) + len(marker)
        route.fulfill(response=response, body=html[:second] + "{not json" + html[second:])

    page.route("**/moderation/alta", break_second_entry)
    page.goto("/moderation/alta")
    page.wait_for_function(
        "n => document.querySelectorAll('.preview-map[data-drawn=\"true\"]').length === n",
        arg=len(expected) - 1,
    )
    maps = _drawn(page)
    assert [m["failed"] for m in maps] == [False, True, False, False, False]
    assert maps[1]["text"]  # says the map could not be drawn
    assert all(m["drawn"] and m["shapes"] >= 1 for i, m in enumerate(maps) if i != 1)
    assert watch.page_errors == []
