"""The account and password-reset pages in Chromium: no axe violations, usable at phone width
and with the keyboard alone. Locators use ids, so they hold whatever the translation says."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.db import db
from app.models import PasswordResetToken
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations

pytestmark = pytest.mark.browser


def _no_sideways_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_account_page_is_accessible(new_page, seed_basics, mobile: bool) -> None:
    seed_basics()
    page = new_page(mobile=mobile)
    login(page, "resident@example.org")
    page.goto("/account")
    assert page.locator("h1").count() == 1
    assert _violations(page) == []
    assert _no_sideways_scroll(page)
    screenshot(page, f"account-{'phone' if mobile else 'desktop'}")
    # A refused password change shows the error summary; still no violations.
    page.locator("#new_password").fill("a brand new passphrase")
    page.locator("#new_password_confirm").fill("a brand new passphrase")
    page.locator("#new_password_confirm").press("Enter")
    page.wait_for_selector("#current_password-error")
    assert _violations(page) == []


def test_reset_by_keyboard(new_page, seed_basics, seed) -> None:
    ids = seed_basics()
    token = secrets.token_urlsafe(32)

    def add_token() -> None:
        db.session.add(
            PasswordResetToken(
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                user_id=ids["resident_id"],
                expires_at=datetime.now(UTC) + timedelta(minutes=30),
            )
        )

    seed(add_token)
    page = new_page(mobile=True)
    page.goto("/login")
    page.locator("a[href='/reset-password']").click()
    page.locator("#email").fill("resident@example.org")
    page.locator("#email").press("Enter")
    page.wait_for_selector("[role=status]")
    assert _violations(page) == []

    page.goto(f"/reset-password/{token}")
    assert _violations(page) == []
    page.locator("#new_password").fill("a brand new passphrase")
    page.keyboard.press("Tab")
    page.keyboard.type("a brand new passphrase")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: url.endswith("/account"))
    assert _no_sideways_scroll(page)
    screenshot(page, "reset-done-phone")
    # The link is spent.
    response = page.goto(f"/reset-password/{token}")
    assert response is not None and response.status == 400
    assert _violations(page) == []
