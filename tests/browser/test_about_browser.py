"""The statements, about pages and footer in Chromium: no axe violations at desktop and phone
widths, the map still fills a phone's screen with the footer under it, the accessibility
statement claims only the widths and languages the axe tests use, and screenshots to look at
(test-artifacts/about-*.png)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.about.routes import TESTED_WIDTHS
from app.db import db
from app.models import Membership, MembershipRole, Project, User
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _violations
from tests.browser.test_axe_every_page import LANGUAGES as AXE_LANGUAGES

# How the accessibility statement names each language in English.
LANGUAGE_NAMES_EN = {"nb": "Bokmål", "nn": "Nynorsk", "se": "Northern Sami", "en": "English"}
PAGES = {
    "privacy": "/privacy",
    "accessibility": "/accessibility",
    "about": "/about",
    "project-about": "/projects/alta/about",
    "front": "/",
}


def _project_with_moderators(seed: Callable[..., Any], ids: dict[str, Any]) -> None:
    """A described project whose librarian shows their name and whose curator does not."""

    def fn() -> None:
        project = db.session.get(Project, ids["project_id"])
        assert project is not None
        project.description = (
            "Vi samler fangstgroper, tufter og stedsnavn i Alta.\n\n"
            "Ta med deg **telefonen** på tur!"
        )
        librarian = db.session.get(User, ids["librarian_id"])
        assert librarian is not None
        librarian.show_name_publicly = True
        db.session.add_all([
            Membership(project_id=project.id, user_id=ids["librarian_id"],
                       role=MembershipRole.LIBRARIAN),
            Membership(project_id=project.id, user_id=ids["resident_id"],
                       role=MembershipRole.CURATOR),
        ])  # fmt: skip

    seed(fn)


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_statements_about_pages_and_footer_pass_axe(
    new_page: Callable[..., Any],
    seed: Callable[..., Any],
    seed_basics: Callable[..., Any],
    mobile: bool,
) -> None:
    _project_with_moderators(seed, seed_basics())
    page = new_page(mobile=mobile)
    width = "phone" if mobile else "desktop"
    for name, path in PAGES.items():
        page.goto(path)
        if path == "/":
            page.wait_for_selector("body[data-map-state=ready]")
        else:
            page.wait_for_load_state("load")
        assert _violations(page) == [], path
        footer = page.get_by_role("contentinfo")
        assert footer.count() == 1, path
        # By address: the Bokmål words arrive with the translations, written later.
        for link in ("/privacy", "/accessibility", "/about"):
            assert footer.locator(f'a[href="{link}"]').is_visible(), (path, link)
        screenshot(page, f"about-{name}-{width}")


def test_on_a_phone_the_map_keeps_the_screen_and_the_footer_sits_under_it(
    new_page: Callable[..., Any], seed_basics: Callable[..., Any]
) -> None:
    seed_basics()
    page = new_page(mobile=True)
    page.goto("/")
    page.wait_for_selector("body[data-map-state=ready]")
    viewport = page.viewport_size
    map_box = page.locator(".map-frame").bounding_box()
    welcome = page.locator(".welcome").bounding_box()
    footer = page.locator("footer.site-footer").bounding_box()
    assert map_box is not None and welcome is not None and footer is not None
    assert map_box["height"] >= 0.55 * viewport["height"]
    assert welcome["height"] <= 90  # a few short lines, not a banner that eats the map
    assert footer["y"] >= map_box["y"] + map_box["height"]
    assert footer["height"] <= 100
    screenshot(page, "about-map-page-phone")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.screenshot(path=str(_artifact("about-map-page-phone-bottom")))


def _artifact(name: str) -> Any:
    from tests.serving import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_export_is_done_with_the_keyboard_alone_as_the_statement_says(
    new_page: Callable[..., Any], seed_basics: Callable[..., Any]
) -> None:
    """The accessibility statement claims a keyboard-only export test: this is it."""
    seed_basics()
    page = new_page()
    page.goto("/export")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Enter")  # into <main>
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.name") == "format":
            break
    page.keyboard.press("ArrowDown")  # GeoJSON -> CSV
    assert page.evaluate("document.activeElement.value") == "csv"
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('button')"):
            break
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename.endswith(".csv")


def test_the_accessibility_statement_claims_the_widths_and_languages_axe_is_run_at(
    app: Flask, new_page: Callable[..., Any]
) -> None:
    """The statement's "How we tested" names what the tests do, and no more."""
    # test_axe_every_page checks every page in exactly the service's languages, at desktop width.
    assert set(AXE_LANGUAGES) == set(app.config["LANGUAGES"])
    desktop = new_page(locale="en-GB")
    phone = new_page(mobile=True)
    # Page for page (PAGES above), the statements are checked at both of these widths.
    assert "accessibility" in PAGES and "privacy" in PAGES
    assert desktop.viewport_size["width"] == TESTED_WIDTHS["desktop"]
    assert phone.viewport_size["width"] == TESTED_WIDTHS["phone"]
    desktop.goto("/accessibility")
    assert desktop.locator("html").get_attribute("lang") == "en"
    tested = desktop.locator("#tested + ul li").first.inner_text()
    assert f"every language it offers ({_listed(AXE_LANGUAGES)})" in tested
    assert f"at desktop width ({TESTED_WIDTHS['desktop']} pixels)" in tested
    assert f"At phone width ({TESTED_WIDTHS['phone']} pixels)" in tested
    assert "in Bokmål" in tested  # new_page's locale: what the phone checks are in
    assert phone.evaluate("navigator.language") == "nb-NO"


def _listed(codes: tuple[str, ...]) -> str:
    """Languages as the statement lists them: "A, B, C and D"."""
    names = [LANGUAGE_NAMES_EN[code] for code in codes]
    return ", ".join(names[:-1]) + " and " + names[-1]
