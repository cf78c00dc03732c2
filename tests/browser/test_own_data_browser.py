"""A resident downloads their data from the account page and deletes their account, in
Chromium: the ZIP opens and holds their trace; afterwards they are on the front page, logged
out, and cannot log in. Screenshots of the account page's end and the deletion page at desktop
and phone widths (test-artifacts/own-data-*.png); no axe violations on either page."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from app.db import db
from app.models import Trace, TraceStatus
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import _violations
from tests.conftest import PASSWORD

EMAIL = "resident@example.org"


def _with_a_trace(seed: Callable[..., Any], ids: dict[str, Any]) -> None:
    def fn() -> None:
        place = from_shape(Point(23.2456789, 69.9612345), srid=4326)
        db.session.add(Trace(project_id=ids["project_id"], author_id=ids["resident_id"],
                             title="Kolgrop ved Bossekop", status=TraceStatus.PENDING,
                             geom=place))  # fmt: skip

    seed(fn)


def _login_to_account(page: Any, password: str = PASSWORD) -> None:
    """Log in with the keyboard, straight to the account page (not the map: a busy machine
    takes long to load it)."""
    page.goto("/login?next=/account")
    page.get_by_label("E-postadresse").fill(EMAIL)
    page.get_by_label("Passord").fill(password)
    with page.expect_navigation():
        page.get_by_label("Passord").press("Enter")


def test_a_resident_downloads_their_data_and_deletes_the_account(
    new_page: Callable[..., Any], seed: Callable[..., Any], seed_basics: Callable[..., Any],
    tmp_path: Path, live_server: str,
) -> None:  # fmt: skip
    ids = seed_basics()
    _with_a_trace(seed, ids)
    for mobile in (True, False):  # the phone only looks; then the desktop does the whole path
        page = new_page(mobile=mobile)
        _login_to_account(page)
        data_link = page.locator("a[href='/me/data.zip']")
        data_link.scroll_into_view_if_needed()
        assert _violations(page) == []
        screenshot(page, f"own-data-account-{'phone' if mobile else 'desktop'}")
        page.goto("/me/delete")
        assert page.locator("input[value='keep']").is_checked()  # the safe choice is chosen
        assert _violations(page) == []
        screenshot(page, f"own-data-delete-{'phone' if mobile else 'desktop'}")
        if mobile:
            continue
        page.goto("/account")
        with page.expect_download() as info:
            page.locator("a[href='/me/data.zip']").click()
        download = info.value
        assert download.suggested_filename.startswith("kulturspor-mine-data-")
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        with zipfile.ZipFile(path) as zf:
            account = json.loads(zf.read("account.json"))
            features = json.loads(zf.read("traces.geojson"))["features"]
            assert "README.txt" in zf.namelist()
        assert account["email"] == EMAIL and account["display_name"] == "Resident Rita"
        assert [f["properties"]["title"] for f in features] == ["Kolgrop ved Bossekop"]
        assert features[0]["geometry"]["coordinates"] == [23.2456789, 69.9612345]

        # Through the account page's link, choosing to remove what is not published.
        page.locator("a[href='/me/delete']").click()
        page.wait_for_url("**/me/delete")
        page.locator("input[value='remove_unpublished']").check()
        page.locator("#password").fill(PASSWORD)
        page.locator("form[action='/me/delete'] button[type='submit']").click()
        page.wait_for_url(f"{live_server}/", wait_until="domcontentloaded")  # front page
        assert page.locator(".flash-info").is_visible()
        assert page.locator("header a[href^='/login']").first.is_visible()  # logged out
        assert page.goto("/account").url.split("?")[0].endswith("/login")

    # The old login no longer works.
    again = new_page()
    _login_to_account(again)
    assert "/login" in again.url
    assert again.locator(".error").first.is_visible()
