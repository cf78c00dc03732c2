"""Projects in a real browser: drawing a project's area, and sharing curation by keyboard."""

from __future__ import annotations

import re

from geoalchemy2.shape import to_shape
from shapely.geometry import Point, box
from sqlalchemy import select

from app.db import db
from app.models import Membership, MembershipRole, Project
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations


def _project(app, slug: str) -> Project:
    with app.app_context():
        project = db.session.execute(select(Project).where(Project.slug == slug)).scalar_one()
        db.session.expunge_all()
        db.session.remove()
    return project


def test_librarian_draws_the_area_of_a_new_project(app, seed_basics, new_page, watch):
    # seed_basics before new_page: the pages close before the tables are emptied.
    seed_basics()
    page = new_page()
    login(page, "librarian@example.org")
    page.goto("/projects/new")
    page.wait_for_selector("body[data-map-state]")

    page.locator("#name").fill("Kulturspor i Øvre Eiker")
    assert page.locator("#slug").input_value() == "kulturspor-i-ovre-eiker"
    page.locator("#library_name").fill("Øvre Eiker bibliotek")

    page.evaluate("heritageMap.setView([69.97, 23.27], 12)")
    page.wait_for_timeout(300)
    page.locator("a.leaflet-draw-draw-rectangle").click()
    frame = page.locator(".draw-map .leaflet-container").bounding_box()
    assert frame is not None
    cx, cy = frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2
    page.mouse.move(cx - 90, cy - 60)
    page.mouse.down()
    page.mouse.move(cx, cy, steps=5)
    page.mouse.move(cx + 90, cy + 60, steps=5)
    page.mouse.up()
    page.wait_for_function("() => document.getElementById('area').value.includes('Polygon')")
    assert page.locator("#drawn-note").is_visible()
    screenshot(page, "new-project-drawn")
    page.locator("#project-form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/projects/kulturspor-i-ovre-eiker$"))

    area = to_shape(_project(app, "kulturspor-i-ovre-eiker").area)
    assert area.geom_type == "MultiPolygon" and area.is_valid
    assert area.contains(Point(23.27, 69.97))

    # The stored area is drawn again on the edit page, ready to be changed.
    page.goto("/projects/kulturspor-i-ovre-eiker/edit")
    page.wait_for_selector(".draw-map path.leaflet-interactive")
    assert page.locator("#drawn-note").is_visible()
    page.wait_for_selector("body[data-map-state=ready]")
    assert watch.page_errors == []
    assert watch.dialogs == []
    assert watch.non_tile_external() == []


def test_curation_is_shared_with_the_keyboard_on_a_phone(app, seed_basics, new_page, watch):
    ids = seed_basics()
    with app.app_context():
        db.session.add(
            Membership(
                project_id=ids["project_id"],
                user_id=ids["librarian_id"],
                role=MembershipRole.LIBRARIAN,
                granted_by_id=ids["librarian_id"],
            )
        )
        db.session.commit()
        db.session.remove()
    page = new_page(mobile=True)
    login(page, "librarian@example.org")
    page.goto("/projects/alta/members")
    page.wait_for_selector("body[data-map-state]")
    # Nothing wider than the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    page.locator("#email").fill("RESIDENT@example.org")
    page.locator("#role").select_option("curator")
    page.locator("#area_bbox").fill("23.0, 69.9, 23.5, 70.1")
    page.locator("#area_bbox").press("Enter")
    page.wait_for_url(re.compile(r"/projects/alta/members$"))
    page.wait_for_selector(".member-list .member >> text=Resident Rita")
    page.wait_for_selector("body[data-map-state=ready]")
    screenshot(page, "members-phone")

    with app.app_context():
        membership = db.session.execute(
            select(Membership).where(
                Membership.user_id == ids["resident_id"], Membership.revoked_at.is_(None)
            )
        ).scalar_one()
        area = to_shape(membership.area)
        db.session.remove()
    assert membership.role == MembershipRole.CURATOR
    assert area.equals(box(23.0, 69.9, 23.5, 70.1)) or area.geoms[0].equals(
        box(23.0, 69.9, 23.5, 70.1)
    )
    assert watch.page_errors == []
    assert watch.non_tile_external() == []


def test_project_pages_have_no_axe_violations(app, seed_basics, new_page):
    ids = seed_basics()
    with app.app_context():
        db.session.add(
            Membership(
                project_id=ids["project_id"],
                user_id=ids["librarian_id"],
                role=MembershipRole.LIBRARIAN,
                granted_by_id=ids["librarian_id"],
            )
        )
        db.session.commit()
        db.session.remove()
    page = new_page()
    for path in ("/projects/", "/projects/alta"):
        page.goto(path)
        page.wait_for_load_state("load")
        assert _violations(page) == [], path
    login(page, "librarian@example.org")
    for path in ("/projects/", "/projects/alta", "/projects/new", "/projects/alta/edit",
                 "/projects/alta/members"):  # fmt: skip
        page.goto(path)
        page.wait_for_load_state("load")
        if page.locator("body[data-map-state]").count():
            page.wait_for_selector("body[data-map-state=ready]")
        assert _violations(page) == [], path
    # The forms after a refused submit, with the error summary and field errors.
    page.goto("/projects/new")
    page.locator("#area-section details summary").click()
    page.locator("#area_bbox").fill("1, 2, 3")
    page.locator("#project-form button[type=submit]").click()
    page.wait_for_selector(".error-summary")
    assert _violations(page) == [], "new project with errors"
    page.goto("/projects/alta/members")
    page.locator("#email").fill("nobody@example.org")
    page.locator("#email").press("Enter")
    page.wait_for_selector(".error-summary")
    assert _violations(page) == [], "members with errors"
    page.wait_for_selector("body[data-map-state=ready]")
