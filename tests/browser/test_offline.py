"""Field capture without a signal, in Chromium: the service worker serves the form offline, the
draft survives a closed tab, "Send for approval" offline fills the outbox, and going online
sends it exactly once. A new release is never hidden by the old worker's caches."""

from __future__ import annotations

import http.server
import io
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.db import db
from app.models import Photo, Trace
from tests.browser.conftest import login, screenshot
from tests.serving import ARTIFACTS, ROOT, free_port

CONTROLLED = "() => !!(navigator.serviceWorker && navigator.serviceWorker.controller)"
PHOTO_INPUT = (
    "input[type=file][name=file], #trace-form input[type=file], input[type=file][form=trace-form]"  # noqa: E501
)


def _jpeg() -> bytes:
    """A small real JPEG, made here."""
    image = Image.new("RGB", (64, 48), (150, 110, 60))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _open_form(page: Any) -> None:
    page.goto("/traces/new")
    page.wait_for_selector("body[data-new-trace=ready]")
    page.wait_for_selector("#outbox[data-outbox-ready]", state="attached")


def _controlled(page: Any) -> None:
    """Wait until the service worker controls the page (it claims pages when it activates)."""
    page.wait_for_function(CONTROLLED, timeout=20_000)


def _tap_map(page: Any) -> None:
    page.evaluate("heritageMap.setView([69.97, 23.27], 14)")
    box = page.locator(".draw-map .leaflet-container").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")


def _attach_photo(page: Any) -> bool:
    """Attach the JPEG through the photos-form helper's file input; False when it has none."""
    picker = page.locator(PHOTO_INPUT)
    if not picker.count():
        return False
    picker.first.set_input_files({"name": "grop.jpg", "mimeType": "image/jpeg", "buffer": _jpeg()})
    page.wait_for_function("() => heritagePhotos.state().length === 1")
    return True


def _traces(app: Any) -> list[tuple[int, str, str | None, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(Trace.id, Trace.title, Trace.submission_key, func.count(Photo.id))
            .outerjoin(Photo, Photo.trace_id == Trace.id)
            .group_by(Trace.id)
        ).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def _english(page: Any) -> None:
    """Choose English on a page with no map requests in flight (they save the session too,
    and the last one written wins: the choice was sometimes lost under load)."""
    page.goto("/projects")
    page.wait_for_load_state("networkidle")
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]", state="attached")


def _small_targets(page: Any, selector: str) -> list[str]:
    """The visible matches of selector under 44 px high (a finger's width on a phone)."""
    return page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)"
        ".map(e => e.outerHTML.slice(0, 80) + ' ' + e.getBoundingClientRect().height)"
    )


def _entries(page: Any) -> list[str]:
    return page.locator("#outbox-list > li").evaluate_all("els => els.map(e => e.dataset.state)")


@pytest.mark.parametrize("mobile", [False, True], ids=["desktop", "phone"])
def test_offline_entry_waits_in_the_outbox_and_is_sent_once(
    app: Any, new_page: Callable[..., Any], seed_basics: Callable[..., Any], watch: Any,
    mobile: bool,
) -> None:  # fmt: skip
    seed_basics()
    page = new_page(mobile=mobile, service_workers="allow")
    context = page.context
    login(page, "resident@example.org")
    _english(page)
    _open_form(page)
    _controlled(page)
    _open_form(page)  # once more, now through the worker: it keeps the page for offline use

    context.set_offline(True)
    page.wait_for_function("() => navigator.onLine === false")
    assert "offline" in page.locator("#outbox-note").inner_text()
    _tap_map(page)
    page.get_by_label("Title").fill("Fangstgrop ved Storvatnet")
    page.get_by_label("Description").fill("Tre groper på rad, typed with no signal.")
    assert _attach_photo(page), "the photos-form helper's file input is missing"
    page.wait_for_function(
        "() => document.getElementById('photos-status').textContent.includes('grop.jpg')"
    )
    key = page.locator("#submission_key").input_value()
    assert re.fullmatch(r"[0-9a-f-]{36}", key)
    page.get_by_role("button", name="Send for approval").click()

    page.wait_for_selector("#outbox-list > li[data-state=waiting]")
    assert "outbox" in page.locator("#outbox-note").inner_text()
    assert page.locator("#geometry").input_value() == ""  # the form is ready for the next one
    # The photo went to the outbox with the entry: the form's "No connection: grop.jpg is
    # kept…" note went with it (it stayed on the emptied form once).
    assert page.locator("#photos-status").inner_text() == ""
    assert page.locator("#photos-status").is_hidden()
    assert _traces(app) == []
    screenshot(page, f"offline-outbox-waiting-{'phone' if mobile else 'desktop'}")

    # Reloaded without a signal: the worker serves the page, the outbox still holds the entry.
    page.reload()
    page.wait_for_selector("#outbox[data-outbox-ready]", state="attached")
    page.wait_for_selector("body[data-new-trace=ready]")  # Leaflet and the form, from the worker
    assert _entries(page) == ["waiting"]
    assert page.locator(".outbox-title").inner_text() == "Fangstgrop ved Storvatnet"
    assert _traces(app) == []

    context.set_offline(False)
    page.wait_for_selector("#outbox-list > li[data-state=sent]", timeout=20_000)
    rows = _traces(app)
    assert len(rows) == 1
    trace_id, title, stored_key, photos = rows[0]
    assert title == "Fangstgrop ved Storvatnet"
    assert stored_key == key
    assert photos == 1
    assert page.locator("#outbox-list a").get_attribute("href").endswith(f"/traces/{trace_id}")
    if mobile:
        assert _small_targets(page, "#outbox-list a, #outbox-list button") == []
    screenshot(page, f"offline-outbox-sent-{'phone' if mobile else 'desktop'}")

    # The entry marked waiting again (as if the answer had been lost) and flushed twice more:
    # the server answers the trace it already has, never a second one.
    page.evaluate(
        """async () => {
            const db = await new Promise((ok, no) => {
              const user = document.querySelector('meta[name="heritage-user"]').content;
              const r = indexedDB.open('heritage-offline-' + user);  // one database per account
              r.onsuccess = () => ok(r.result);
              r.onerror = () => no(r.error); });
            const all = await new Promise(ok => { const r = db.transaction('outbox')
              .objectStore('outbox').getAll(); r.onsuccess = () => ok(r.result); });
            for (const e of all) { e.state = 'waiting'; }
            await new Promise(ok => { const tx = db.transaction('outbox', 'readwrite');
              all.forEach(e => tx.objectStore('outbox').put(e)); tx.oncomplete = ok; });
        }"""
    )
    page.reload()
    page.wait_for_selector("#outbox-list > li[data-state=sent]", timeout=20_000)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(500)
    assert len(_traces(app)) == 1

    # The page the worker shows for what it has not kept: its two ways on are buttons.
    page.goto("/offline")
    assert page.locator(".offline-actions a.button").count() == 2
    if mobile:
        assert _small_targets(page, ".offline-actions a") == []
    screenshot(page, f"offline-page-{'phone' if mobile else 'desktop'}")
    assert watch.page_errors == []


def test_draft_survives_a_closed_tab(
    app: Any, new_page: Callable[..., Any], seed_basics: Callable[..., Any], watch: Any
) -> None:
    seed_basics()
    page = new_page(service_workers="allow")
    context = page.context
    login(page, "resident@example.org")
    _english(page)
    _open_form(page)
    _tap_map(page)
    page.get_by_label("Title").fill("Kolgrop i lia")
    page.get_by_label("Sources").fill("Farfar, 1962")
    geometry = page.locator("#geometry").input_value()
    key = page.locator("#submission_key").input_value()
    page.wait_for_function("() => document.getElementById('outbox').dataset.draftSaved")
    page.close()  # the tab is gone

    page = context.new_page()
    _open_form(page)
    offer = page.locator("#draft-offer")
    offer.wait_for(state="visible")
    assert "unsent draft" in offer.inner_text()
    assert page.get_by_label("Title").input_value() == ""
    screenshot(page, "offline-draft-offer")
    page.get_by_role("button", name="Restore").click()
    assert page.get_by_label("Title").input_value() == "Kolgrop i lia"
    assert page.get_by_label("Sources").input_value() == "Farfar, 1962"
    assert page.locator("#geometry").input_value() == geometry
    assert page.locator("#submission_key").input_value() == key

    # Sent online with the form itself: the draft is gone afterwards, and one trace has its key.
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    rows = _traces(app)
    assert len(rows) == 1 and rows[0][1] == "Kolgrop i lia"
    _open_form(page)
    page.wait_for_timeout(300)
    assert page.locator("#draft-offer").is_hidden()

    # Discard: the offer goes and does not come back.
    page.get_by_label("Title").fill("Noe annet")
    page.wait_for_function(
        "() => document.getElementById('outbox').dataset.draftSaved", timeout=5_000
    )
    _open_form(page)
    page.locator("#draft-offer").wait_for(state="visible")
    page.get_by_role("button", name="Discard").click()
    _open_form(page)
    page.wait_for_timeout(300)
    assert page.locator("#draft-offer").is_hidden()
    assert watch.page_errors == []


@contextmanager
def _release_server(database_url: str, release: str, port: int, **extra: str) -> Iterator[str]:
    """The app on a fixed port (one origin, so one service worker) running `release`."""
    env = {**extra,**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "browser-test-secret",
           "HERITAGE_ENV": "development", "HERITAGE_RELEASE": release,
           "HERITAGE_BASE_URL": f"http://127.0.0.1:{port}",
           "HERITAGE_MEDIA_DIR": tempfile.mkdtemp(prefix="heritage-release-media-")}  # fmt: skip
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / f"release-{release}.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--no-control-socket", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):  # noqa: S310
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"release {release} did not start") from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def _caches(page: Any) -> list[str]:
    return sorted(page.evaluate("caches.keys()"))


def _worker_release(page: Any) -> str:
    return page.evaluate(
        """() => new Promise(ok => { const ch = new MessageChannel();
            ch.port1.onmessage = e => ok(e.data.release);
            navigator.serviceWorker.controller.postMessage({type: 'release'}, [ch.port2]); })"""
    )


def test_a_new_release_is_not_hidden_by_the_old_worker(
    browser: Any, database_url: str, seed_basics: Callable[..., Any]
) -> None:
    seed_basics()
    port = free_port()
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    context.route(lambda url: not url.startswith(f"http://127.0.0.1:{port}"),
                  lambda r: r.abort())  # fmt: skip
    try:
        with _release_server(database_url, "rel-a", port) as base:
            page = context.new_page()
            page.goto(base + "/")
            _controlled(page)
            page.reload()
            assert _worker_release(page) == "rel-a"
            assert "heritage-static-rel-a" in _caches(page)
            css = page.locator("link[rel=stylesheet][href*='app.css']").get_attribute("href")
            assert css.endswith("?v=rel-a")
        with _release_server(database_url, "rel-b", port) as base:
            # The old worker still controls the page when the new release's page comes in.
            page.goto(base + "/")
            css = page.locator("link[rel=stylesheet][href*='app.css']").get_attribute("href")
            assert css.endswith("?v=rel-b")
            # The new worker installs (the browser checks /sw.js on navigation) and activates:
            # the old release's caches go. page.evaluate awaits the promise; poll it.
            deadline = time.monotonic() + 20
            while any("rel-a" in name for name in _caches(page)):
                assert time.monotonic() < deadline, _caches(page)
                page.wait_for_timeout(200)
            page.reload()
            assert _worker_release(page) == "rel-b"
            names = _caches(page)
            assert "heritage-static-rel-b" in names
            assert not [n for n in names if "rel-a" in n]
            # Every asset the page loaded is the new release's (none from the old cache).
            assets = page.evaluate(
                "performance.getEntriesByType('resource').map(e => e.name)"
                ".filter(n => n.includes('/static/') && n.includes('?v='))"
            )
            assert assets and all(a.endswith("?v=rel-b") for a in assets), assets
    finally:
        context.close()


class _TileHandler(http.server.BaseHTTPRequestHandler):
    """A tile server of our own on another origin: a small PNG per tile, with CORS."""

    tile = b""
    served: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        type(self).served.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "max-age=86400")
        self.send_header("Content-Length", str(len(self.tile)))
        self.end_headers()
        self.wfile.write(self.tile)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def _tile_keys(page: Any) -> list[str]:
    return page.evaluate(
        "caches.open('heritage-tiles').then(c => c.keys()).then(k => k.map(r => r.url))"
    )


def test_seen_tiles_are_kept_within_the_limit_and_shown_offline(
    browser: Any, database_url: str, seed_basics: Callable[..., Any]
) -> None:
    seed_basics()
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 220, 200)).save(out, "PNG")
    _TileHandler.tile = out.getvalue()
    _TileHandler.served = []
    tiles = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TileHandler)
    threading.Thread(target=tiles.serve_forever, daemon=True).start()
    # "localhost" is another origin than the app's 127.0.0.1, as a real tile server is.
    tile_url = f"http://localhost:{tiles.server_address[1]}/{{z}}/{{x}}/{{y}}.png"
    port = free_port()
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-GB")
    limit = 40
    try:
        with _release_server(
            database_url, "tiles", port, HERITAGE_TILE_URL=tile_url,
            HERITAGE_TILE_CACHE_LIMIT=str(limit),
        ) as base:  # fmt: skip
            page = context.new_page()
            page.goto(base + "/")
            _controlled(page)
            page.reload()
            page.wait_for_selector("body[data-map-state]")
            page.evaluate("heritageMap.setView([69.97, 23.27], 12, {animate: false})")
            page.wait_for_timeout(1500)
            seen = _tile_keys(page)
            assert seen and all(u.startswith(tile_url.split("{z}")[0]) for u in seen)
            # Panning far and wide: more tiles than the limit pass through; the cache trims
            # the oldest (every 20 stored tiles), so it never holds much more than the limit.
            for lat, lon in ((60.0, 6.0), (63.4, 10.4), (67.3, 14.4), (70.7, 29.0)):
                page.evaluate(f"heritageMap.setView([{lat}, {lon}], 12, {{animate: false}})")
                page.wait_for_timeout(800)
            page.wait_for_timeout(1000)
            kept = _tile_keys(page)
            assert len(set(_TileHandler.served)) > limit + 20
            assert len(kept) <= limit + 20, len(kept)
            # The last place's tiles stay; offline, the map shows them from the cache.
            last = set(kept)
            context.set_offline(True)
            before = len(_TileHandler.served)
            page.evaluate("heritageMap.setView([70.7, 29.0], 12, {animate: false})")
            page.wait_for_timeout(500)
            shown = page.evaluate(
                "[...document.querySelectorAll('.leaflet-tile-loaded')].map(i => i.src)"
            )
            assert shown and set(shown) <= last
            assert len(_TileHandler.served) == before  # nothing reached the tile server
            context.set_offline(False)
    finally:
        context.close()
        tiles.shutdown()
        # shutdown() only stops the loop: without this its listening socket was left to the
        # garbage collector, whose ResourceWarning then failed whichever test ran next.
        tiles.server_close()
