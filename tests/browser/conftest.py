"""Browser fixtures: the app served by gunicorn on the test database, and Debian's Chromium
driven by Playwright. Every request not to 127.0.0.1 is blocked and recorded."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from psycopg.errors import DeadlockDetected
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.auth.operations import register_user
from app.db import db
from app.models import Project, UserRole
from tests.conftest import PASSWORD
from tests.serving import ARTIFACTS, gunicorn

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]  # fmt: skip
# Tiles are the only thing a page may ask the internet for; they are blocked here anyway.
TILE_HOSTS = ("cache.kartverket.no", "tile.openstreetmap.org")
DATA_TABLES = (
    "audit_events, notifications, media_garbage, photos, comments, password_reset_tokens, "
    "revisions, traces, memberships, user_sessions, projects, users, mail_outbox, places"
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def live_server(database_url: str) -> Iterator[str]:
    """The app as deployed (gunicorn, 2 workers) on a free port; yields its base URL."""
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "browser-test-secret",
           "HERITAGE_ENV": "development",
           "HERITAGE_MEDIA_DIR": tempfile.mkdtemp(prefix="heritage-live-media-")}  # fmt: skip
    with gunicorn(env, log_name="live-server.log") as base:
        yield base


@pytest.fixture
def clean_db(app: Flask) -> Iterator[None]:
    """Browser tests commit for real; empty the data tables after each one (terms stay)."""
    yield
    # The live server may still be finishing the last request (mail sent after the response,
    # a session touch), locking tables in another order: PostgreSQL then breaks the deadlock by
    # aborting the TRUNCATE, which is safe to run again.
    for attempt in range(5):
        try:
            with app.app_context(), db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))
            return
        except OperationalError as error:
            if not isinstance(error.orig, DeadlockDetected) or attempt == 4:
                raise
            time.sleep(0.2)


@pytest.fixture
def seed(app: Flask, clean_db: None) -> Callable[..., Any]:
    """Run a function with a committed session, for data the live server must see."""

    def run(fn: Callable[[], Any]) -> Any:
        with app.app_context():
            result = fn()
            db.session.commit()
            db.session.expunge_all()
            db.session.remove()
        return result

    return run


@pytest.fixture
def seed_basics(seed: Callable[..., Any]) -> Callable[..., dict[str, Any]]:
    """A project open for contributions, a resident and a librarian, all committed."""

    def make() -> dict[str, Any]:
        def fn() -> dict[str, Any]:
            project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
            db.session.add(project)
            resident = register_user("resident@example.org", "Resident Rita", PASSWORD)
            librarian = register_user(
                "librarian@example.org", "Librarian Lars", PASSWORD, role=UserRole.LIBRARIAN
            )
            db.session.flush()
            return {"project_id": project.id, "resident_id": resident.id,
                    "librarian_id": librarian.id}  # fmt: skip

        return seed(fn)

    return make


@dataclass
class Watch:
    """What a page did that a test may want to assert on."""

    external: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def non_tile_external(self) -> list[str]:
        """External requests that were not base-map tiles."""
        return [u for u in self.external if not any(h in u for h in TILE_HOSTS)]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (Debian's, never a downloaded one)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}; run scripts/ensure-chromium.sh")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def watch() -> Watch:
    """Records blocked requests, console errors, page errors and dialogs."""
    return Watch()


@pytest.fixture
def new_page(browser: Any, live_server: str, watch: Watch) -> Iterator[Callable[..., Any]]:
    """Factory for pages in fresh contexts (desktop by default; mobile=True for a phone)."""
    contexts: list[Any] = []

    def make(mobile: bool = False, **extra: Any) -> Any:
        # The service worker answers before page.route() can: tests that stub or fail a
        # request need it out of the way, so only the offline tests let it in (pass "allow").
        options: dict[str, Any] = {"base_url": live_server, "locale": "nb-NO",
                                   "service_workers": "block", **extra}  # fmt: skip
        if mobile:
            options.update(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                           is_mobile=True, has_touch=True)  # fmt: skip
        else:
            options.update(viewport={"width": 1280, "height": 860})
        context = browser.new_context(**options)
        contexts.append(context)

        def block(r: Any) -> None:
            watch.external.append(r.request.url)
            r.abort()

        # Only what leaves the live server is routed: routing every request through this
        # (synchronous) Python handler made a tile-heavy page's load wait on the test's thread.
        context.route(lambda url: not url.startswith(live_server), block)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and watch.console_errors.append(m.text))
        page.on("pageerror", lambda e: watch.page_errors.append(str(e)))

        def on_dialog(d: Any) -> None:
            watch.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        page.set_default_timeout(10_000)
        # A page load may wait on many tiles on a busy 2-core CI machine; actions stay at 10 s.
        page.set_default_navigation_timeout(30_000)
        return page

    yield make
    for context in contexts:
        context.close()


def login(page: Any, email: str, password: str = PASSWORD) -> None:
    """Log in through the form with the keyboard."""
    page.goto("/login")
    page.get_by_label("E-postadresse").fill(email)
    page.get_by_label("Passord").fill(password)
    page.get_by_label("Passord").press("Enter")
    page.wait_for_url(lambda url: "/login" not in url)


def screenshot(page: Any, name: str) -> None:
    """Keep a screenshot for people to look at (test-artifacts/ is not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def choose_language(page: Any, language: str) -> None:
    """Choose a language in the header, on a page with no map requests in flight.

    The choice is kept in the `lang` cookie and, when logged in, on the account, so a later
    browser of the same person may already be in it: then nothing is clicked.
    """
    page.goto("/projects")
    page.wait_for_load_state("networkidle")
    if page.locator("html").get_attribute("lang") != language:
        with page.expect_navigation():
            page.locator(f"button[name=lang][value={language}]").click()
    assert page.locator("html").get_attribute("lang") == language
