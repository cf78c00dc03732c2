"""A new resident on a phone, counted: from the front page to a submitted point, registration
included, in at most 8 interactions and 60 seconds of script time (issue 8, item 6).

Every action the script takes goes through Counter, which counts it: a tap, the fill of one
field, a key press, a choice in a list = 1. Opening the front page at the start and waiting
do not count. The failure message prints each counted step."""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import select

from app.db import db
from app.models import Project, Trace, User
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

MAX_INTERACTIONS = 8
MAX_SECONDS = 60
POSITION = {"latitude": 59.74512, "longitude": 9.91234, "accuracy": 25}  # Øvre Eiker


class Counter:
    """Performs the test's interactions and counts each one."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.steps: list[str] = []

    def tap(self, locator: Any, what: str) -> None:
        """One tap on an element."""
        self.steps.append(f"tap {what}")
        locator.tap()

    def fill(self, locator: Any, text: str, what: str) -> None:
        """Typing into one field counts once, however long the text."""
        self.steps.append(f"fill {what}")
        locator.fill(text)

    def press(self, locator: Any, key: str, what: str) -> None:
        """One key press."""
        self.steps.append(f"press {key} in {what}")
        locator.press(key)

    def select(self, locator: Any, value: str, what: str) -> None:
        """One choice in a list."""
        self.steps.append(f"select {what}")
        locator.select_option(value)

    def __len__(self) -> int:
        return len(self.steps)

    def report(self) -> str:
        """The counted steps, numbered, for the failure message."""
        return "\n".join(f"{n}. {step}" for n, step in enumerate(self.steps, 1))


def _seed_projects(seed) -> None:
    def fn() -> None:
        alta = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        eiker = Project(slug="eiker", name="Kulturspor i Øvre Eiker", library_name="Eiker")
        alta.area = from_shape(MultiPolygon([box(22.5, 69.6, 24.5, 70.3)]), srid=4326)
        eiker.area = from_shape(MultiPolygon([box(9.6, 59.6, 10.1, 59.9)]), srid=4326)
        db.session.add_all([alta, eiker])  # Alta comes first in the list, as in the report

    seed(fn)


def test_new_resident_submits_a_point_in_eight_interactions(app, new_page, seed, watch):
    _seed_projects(seed)
    page = new_page(mobile=True, geolocation=POSITION, permissions=["geolocation"])
    page.goto("/")  # the start: not counted
    page.wait_for_selector("body[data-map-state=ready]")
    act = Counter(page)
    started = time.monotonic()

    act.tap(page.locator("a[data-add-trace]:visible").first, "Add a trace")
    page.wait_for_url(re.compile(r"/login\?"))
    carried = parse_qs(urlsplit(page.url).query).get("next", [""])[0]
    assert "at=" in carried, carried  # the front page's view rides along through the login
    act.tap(page.locator("#register-instead"), "Create an account")
    page.wait_for_url(re.compile(r"/register\?"))
    act.fill(page.locator("#email"), "ny.beboer@example.org", "e-mail")
    act.fill(page.locator("#password"), PASSWORD, "password")
    act.tap(page.locator("form:has(#password) button[type=submit]"), "Create account")
    page.wait_for_url(re.compile(r"/traces/new"))
    page.wait_for_selector("body[data-new-trace=ready]")
    # The new-trace page is the one "Add a trace" pointed at, view included.
    assert unquote(urlsplit(page.url).path + "?" + urlsplit(page.url).query) == unquote(carried)

    act.tap(page.locator("#use-position"), "Use my position")
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    page.wait_for_selector("body[data-where-state=ready]")
    assert page.locator("#project").input_value() == "eiker"  # chosen from the place
    act.fill(page.locator("#title"), "Kullgrop ved Hoensvatnet", "title")
    act.tap(page.locator("#trace-form button[type=submit]"), "Send for approval")
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    elapsed = time.monotonic() - started
    screenshot(page, "phone-flow-submitted")

    assert len(act) <= MAX_INTERACTIONS, (
        f"{len(act)} interactions (at most {MAX_INTERACTIONS}):\n{act.report()}"
    )
    assert elapsed <= MAX_SECONDS, f"{elapsed:.1f} s of script time:\n{act.report()}"
    with app.app_context():
        trace = db.session.execute(select(Trace)).scalar_one()
        author = db.session.get(User, trace.author_id)
        point = to_shape(trace.geom)
        project = db.session.get(Project, trace.project_id)
        assert (round(point.x, 5), round(point.y, 5)) == (9.91234, 59.74512)
        assert project.slug == "eiker"
        assert author.email == "ny.beboer@example.org"
        db.session.remove()
    assert watch.page_errors == []
    assert watch.non_tile_external() == []
    print(f"\nphone flow: {len(act)} interactions, {elapsed:.1f} s\n{act.report()}")
