"""The story page in Chromium: no axe violations in either language, two A4 pages at most on
paper, and screenshots of it and of the moderation backlog for people to look at."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import select

from app.auth.operations import register_user
from app.db import db
from app.demo import DEMO_PASSWORD, load_demo
from app.models import Membership, Project, Trace, TraceStatus, User
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations
from tests.serving import ARTIFACTS

STORY = "/projects/demo-alta/story"
NAMES = ["Aslak Eira", "Berit Hansen", "Kari Nordmann", "Ola Olsen", "Sigrid Persen",
         "Trond Isaksen", "Ingrid Pedersen", "Nils Mathis Sara"]  # fmt: skip


def _demo_story() -> dict[str, Any]:
    """The demo data with more traces, spread over the last two years, and named people."""
    load_demo(per_project=60)
    project = db.session.execute(select(Project).where(Project.slug == "demo-alta")).scalar_one()
    people = []
    for index, name in enumerate(NAMES):
        person = register_user(f"person{index}@example.org", name, DEMO_PASSWORD)
        person.show_name_publicly = index % 4 != 3  # two of them do not want their name shown
        people.append(person)
    db.session.flush()
    traces = db.session.execute(
        select(Trace).where(Trace.project_id == project.id).order_by(Trace.id)
    ).scalars()
    now = datetime.now(UTC)
    for index, trace in enumerate(traces):
        trace.author_id = people[index % len(people)].id
        if trace.status == TraceStatus.APPROVED:
            trace.submitted_at = now - timedelta(days=(index * 11) % 700 + 4)
            trace.approved_at = trace.submitted_at + timedelta(days=index % 9 + 1)
    # A curator with an area, so the librarian's backlog has a row per area.
    curator = db.session.execute(
        select(User).where(User.email_normalized == "kurator@demo.example.org")
    ).scalar_one()
    membership = db.session.execute(
        select(Membership).where(
            Membership.user_id == curator.id, Membership.project_id == project.id
        )
    ).scalar_one()
    membership.area = from_shape(MultiPolygon([box(23.0, 69.85, 23.27, 70.1)]), srid=4326)
    return {"hidden": [p.display_name for p in people if not p.show_name_publicly]}


def _english(page: Any) -> None:
    page.goto("/projects")
    page.wait_for_load_state("networkidle")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]", state="attached")


def test_story_page_has_no_axe_violations_in_either_language(new_page, seed):
    seeded = seed(_demo_story)
    page = new_page()
    page.goto(STORY)
    assert page.locator("html").get_attribute("lang") == "nb"
    assert _violations(page) == []
    body = page.content()
    for name in seeded["hidden"]:
        assert name not in body
    screenshot(page, "story-nb-desktop")
    _english(page)
    page.goto(STORY)
    assert _violations(page) == []
    assert page.get_by_role("heading", name="Traces per period").is_visible()
    screenshot(page, "story-en-desktop")
    # Each chart is an image named by its caption.
    for label in ("types", "periods", "months", "map"):
        image = page.locator(f"svg[aria-labelledby={label}-caption]")
        assert image.get_attribute("role") == "img"
        assert page.locator(f"#{label}-caption").inner_text().strip()


def test_story_page_on_a_tablet(new_page, seed):
    seed(_demo_story)
    page = new_page(viewport={"width": 820, "height": 1180})
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(STORY)
    # Nothing wider than the screen: the charts scale down.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(page, "story-nb-tablet")


def test_story_prints_on_at_most_two_a4_pages(new_page, seed):
    seed(_demo_story)
    page = new_page()
    page.goto(STORY)
    pdf = page.pdf(format="A4", print_background=True)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "story-print.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert 1 <= pages <= 2, pages
    # The first sheet as print media lays it out (A4 at 96 dpi), for people to look at.
    page.set_viewport_size({"width": 794, "height": 1123})
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    page.screenshot(path=str(ARTIFACTS / "story-print-first-page.png"))


def test_moderation_index_shows_the_librarians_backlog(new_page, seed):
    seed(_demo_story)
    page = new_page()
    login(page, "bibliotekar@demo.example.org", DEMO_PASSWORD)
    page.goto("/moderation/")
    assert page.locator(".backlog-oldest").count() == 4  # every demo project has entries waiting
    assert page.locator(".backlog-areas").count() == 1  # only demo-alta has an area curator
    assert _violations(page) == []
    screenshot(page, "moderation-backlog")
