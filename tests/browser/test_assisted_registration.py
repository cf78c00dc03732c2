"""A librarian at a library event registers a trace for a resident who tells it, on a tablet."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update

from app.db import db
from app.models import Membership, MembershipRole, Revision, Trace, TraceStatus
from tests.browser.conftest import choose_language, login, screenshot
from tests.browser.test_accessibility import _violations
from tests.serving import ARTIFACTS

TABLET = {"width": 820, "height": 1180}  # an iPad Air held upright


def _tablet(new_page: Callable[..., Any]) -> Any:
    """A touch page 820 px wide (new_page sets the desktop size: resized after)."""
    page = new_page(is_mobile=True, has_touch=True)
    page.set_viewport_size(TABLET)
    return page


def _english(page: Any) -> None:
    choose_language(page, "en")


def _librarian_of_alta(seed: Callable[..., Any], ids: dict[str, int]) -> None:
    def fn() -> None:
        db.session.add(Membership(project_id=ids["project_id"], user_id=ids["librarian_id"],
                                  role=MembershipRole.LIBRARIAN))  # fmt: skip

    seed(fn)


def _element_shot(page: Any, selector: str, name: str) -> None:
    """A close-up of one part of the page, beside the whole-page screenshot."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(selector).screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _fill_the_trace(page: Any) -> None:
    """A place typed, not drawn (the librarian types what the resident points at)."""
    page.get_by_text("Type coordinates instead").click()
    page.get_by_label("Coordinates", exact=True).fill("69.9689, 23.2715")
    page.get_by_label("Title").fill("Kullgrop ved Tverrelva")
    page.get_by_label("Description").fill("Tre kullgroper på rad langs stien.")


def test_librarian_registers_a_trace_for_an_informant_on_a_tablet(
    new_page, seed, seed_basics, watch
):
    ids = seed_basics()
    _librarian_of_alta(seed, ids)
    page = _tablet(new_page)
    login(page, "librarian@example.org")
    _english(page)
    page.goto("/traces/new?project=alta")
    page.wait_for_selector("body[data-map-state=ready]")
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    fieldset = page.locator("details.informant")
    assert fieldset.is_visible() and fieldset.get_attribute("open") is None  # closed at first
    _fill_the_trace(page)

    page.get_by_text("Registered for someone else (an informant)").click()
    page.get_by_label("Name or initials").fill("Kari Nordmann")
    page.get_by_label("Year of birth (if they give it)").fill("1848")  # a slip of the finger
    source = page.get_by_label("How did they come to know it?")
    source.fill("told by father")
    suggestions = page.locator("#knowledge-sources option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    assert "told by father" in suggestions and "own observation" in suggestions
    page.get_by_label("They agree to be named as the source").check()
    page.get_by_role("button", name="Send for approval").click()

    # Refused with the year named; the fieldset is open again with everything kept.
    page.wait_for_selector(".error-summary")
    assert page.locator("details.informant").get_attribute("open") is not None
    error = page.locator("#informant_birth_year-error").inner_text()
    assert "between 1850 and" in error
    assert page.get_by_label("Name or initials").input_value() == "Kari Nordmann"
    assert page.get_by_label("They agree to be named as the source").is_checked()
    page.get_by_label("Year of birth (if they give it)").fill("1948")
    page.locator("details.informant").scroll_into_view_if_needed()
    screenshot(page, "assisted-registration-form-tablet")
    _element_shot(page, "details.informant", "assisted-registration-fieldset-tablet")
    assert _violations(page) == []
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))

    provenance = page.locator("section.provenance")
    assert "Told by Kari Nordmann (born 1948) — told by father." in provenance.inner_text()
    assert "Recorded by Librarian Lars for Alta bibliotek." in provenance.inner_text()
    # The librarian does not show their name publicly: staff are told it is not public.
    assert "Not public: the recorder’s name" in provenance.inner_text()
    screenshot(page, "assisted-registration-trace-staff-tablet")

    def stored() -> tuple[Any, ...]:
        trace = db.session.execute(select(Trace)).scalar_one()
        event = db.session.execute(
            select(Revision.event).where(Revision.trace_id == trace.id)
        ).scalar_one()
        approved = {"status": TraceStatus.APPROVED, "approved_by_id": trace.author_id,
                    "approved_at": func.now()}  # fmt: skip
        db.session.execute(update(Trace).where(Trace.id == trace.id).values(**approved))
        return (trace.id, trace.author_id, trace.recorder_id, trace.informant_name,
                trace.informant_birth_year, trace.informant_consent, trace.knowledge_source,
                event)  # fmt: skip

    trace_id, author, recorder, *informant, event = seed(stored)
    assert author == recorder == ids["librarian_id"]
    assert informant == ["Kari Nordmann", 1948, True, "told by father"]
    assert event == {"kind": "submitted", "on_behalf": True}

    # The public (a visitor on the library's tablet) reads the name, not the recorder's.
    visitor = _tablet(new_page)
    _english(visitor)
    visitor.goto(f"/traces/{trace_id}")
    told = visitor.locator("section.provenance").inner_text()
    assert "Told by Kari Nordmann (born 1948) — told by father." in told
    assert "Recorded for Alta bibliotek." in told and "Lars" not in told
    screenshot(visitor, "assisted-registration-trace-public-tablet")
    assert watch.page_errors == []
    assert watch.non_tile_external() == []


def test_the_fieldset_on_a_desktop_and_never_for_residents(new_page, seed, seed_basics):
    ids = seed_basics()
    _librarian_of_alta(seed, ids)
    page = new_page()
    login(page, "librarian@example.org")
    _english(page)
    page.goto("/traces/new?project=alta")
    page.wait_for_selector("body[data-map-state=ready]")
    page.get_by_text("Registered for someone else (an informant)").click()
    page.get_by_label("Name or initials").fill("O. H.")
    page.get_by_label("How did they come to know it?").fill("own observation")
    page.locator("details.informant").scroll_into_view_if_needed()
    screenshot(page, "assisted-registration-form-desktop")
    _element_shot(page, "details.informant", "assisted-registration-fieldset-desktop")
    assert _violations(page) == []

    resident = new_page()
    login(resident, "resident@example.org")
    resident.goto("/traces/new")
    resident.wait_for_selector("body[data-map-state=ready]")
    assert resident.locator("details.informant").count() == 0
    assert resident.locator("[name=informant_name]").count() == 0
