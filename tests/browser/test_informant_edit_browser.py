"""A librarian withdraws an informant's consent on the edit page (phone and desktop): the
fieldset is open with what is stored, the page has no axe violations, the public reads "a
local informant" afterwards."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from app.db import db
from app.models import Membership, MembershipRole, Trace, TraceStatus
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations
from tests.browser.test_assisted_registration import _element_shot, _english

NAME = "Kari Nordmann"


def _told(seed: Callable[..., Any], ids: dict[str, int]) -> int:
    def fn() -> int:
        db.session.add(Membership(project_id=ids["project_id"], user_id=ids["librarian_id"],
                                  role=MembershipRole.LIBRARIAN))  # fmt: skip
        trace = Trace(
            project_id=ids["project_id"], author_id=ids["librarian_id"], title="Kullgrop",
            geom=from_shape(Point(23.2715, 69.9689), srid=4326), status=TraceStatus.APPROVED,
            licence="CC-BY-4.0", approved_by_id=ids["librarian_id"],
            approved_at="2026-10-01T12:00:00Z", recorder_id=ids["librarian_id"],
            informant_name=NAME, informant_birth_year=1948, informant_consent=True,
            knowledge_source="told by father",
        )  # fmt: skip
        db.session.add(trace)
        db.session.flush()
        return trace.id

    return seed(fn)


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_a_librarian_withdraws_the_informants_consent(new_page, seed, seed_basics, watch, mobile):
    ids = seed_basics()
    trace_id = _told(seed, ids)
    page = new_page(mobile=mobile)
    login(page, "librarian@example.org")
    _english(page)
    page.goto(f"/traces/{trace_id}/edit")
    page.wait_for_selector("body[data-map-state=ready]")
    fieldset = page.locator("details.informant")
    assert fieldset.get_attribute("open") is not None  # it holds an informant: shown open
    assert page.get_by_label("Name or initials").input_value() == NAME
    consent = page.get_by_label("They agree to be named as the source")
    assert consent.is_checked()
    consent.uncheck()
    fieldset.scroll_into_view_if_needed()
    size = "phone" if mobile else "desktop"
    screenshot(page, f"informant-edit-{size}")
    _element_shot(page, "details.informant", f"informant-edit-fieldset-{size}")
    assert _violations(page) == []
    page.get_by_label("What did you change, and why?").fill("Kari withdrew her consent")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(rf"/traces/{trace_id}$"))

    visitor = new_page(mobile=mobile)
    _english(visitor)
    visitor.goto(f"/traces/{trace_id}")
    told = visitor.locator("section.provenance").inner_text()
    assert "Told by a local informant." in told and NAME not in told and "father" not in told
    history = visitor.goto(f"/traces/{trace_id}/history")
    assert history is not None and NAME not in visitor.content()
    assert watch.page_errors == []
