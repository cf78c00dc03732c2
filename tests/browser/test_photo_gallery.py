"""Photos in Chromium: a resident adds photos on the trace page, the librarian decides on them in
the queue, and the public then sees them in the gallery (keyboard, dialog, axe) and in the map's
popup and list. Screenshots of the gallery and the queue, desktop and phone."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from geoalchemy2.shape import from_shape
from PIL import Image, ImageDraw
from shapely.geometry import Point

from app.auth.operations import register_user
from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, UserRole
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations
from tests.conftest import PASSWORD

RESIDENT = "beboer@example.org"
LIBRARIAN = "bibliotekar@example.org"
HERE = (69.9689, 23.2715)  # lat, lon


def _photo(tmp: Path, name: str, colour: tuple[int, int, int], size: tuple[int, int]) -> Path:
    """A real JPEG with something on it (a band and a disc), made here."""
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle([0, int(h * 0.65), w, h], fill=(70, 90, 50))
    draw.ellipse([int(w * 0.35), int(h * 0.2), int(w * 0.65), int(h * 0.6)], fill=(230, 220, 190))
    path = tmp / name
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    path.write_bytes(out.getvalue())
    return path


def _seed(seed: Callable[..., Any]) -> dict[str, int]:
    def fn() -> dict[str, int]:
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = register_user(LIBRARIAN, "Bibliotekar Liv", PASSWORD, role=UserRole.LIBRARIAN)
        resident = register_user(RESIDENT, "Beboer Bo", PASSWORD)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id,
                       role=MembershipRole.LIBRARIAN, granted_by_id=librarian.id)
        )  # fmt: skip
        approved = Trace(
            project_id=project.id, author_id=resident.id, title="Hustuft ved Altaelva",
            geom=from_shape(Point(HERE[1], HERE[0]), srid=4326), status=TraceStatus.APPROVED,
            licence="CC-BY-4.0", approved_by_id=librarian.id,
            approved_at=datetime(2026, 10, 1, tzinfo=UTC),
        )  # fmt: skip
        pending = Trace(
            project_id=project.id, author_id=resident.id, title="Kullgrop i lia",
            geom=from_shape(Point(23.40, 69.95), srid=4326), status=TraceStatus.PENDING,
            licence="CC-BY-4.0", submitted_at=datetime(2026, 10, 2, tzinfo=UTC),
        )  # fmt: skip
        db.session.add_all([approved, pending])
        db.session.flush()
        return {"approved": approved.id, "pending": pending.id}

    return seed(fn)


def _english(page: Any) -> None:
    """Switch to English unless the account already chose it (the choice is stored on it)."""
    if page.locator("html").get_attribute("lang") != "en":
        with page.expect_navigation():
            page.locator("button[name=lang][value=en]").click()
    assert page.locator("html").get_attribute("lang") == "en"


def _add_photo(page: Any, trace_id: int, file: Path, caption: str, credit: str) -> None:
    page.goto(f"/traces/{trace_id}")
    details = page.locator("details.photo-add")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    page.locator("#photo-add-file").set_input_files(str(file))
    page.locator("#photo-add-caption").fill(caption)
    page.locator("#photo-add-credit").fill(credit)
    with page.expect_navigation():
        page.locator(".photo-add-form button[type=submit]").click()
    assert re.search(r"#photo-\d+$", page.url), page.url


def _thumb_loaded(page: Any, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def _small_targets(page: Any, selector: str) -> list[str]:
    """The visible matches of selector under 44 px high (a finger's width on a phone)."""
    return page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)"
        ".map(e => e.outerHTML.slice(0, 80) + ' ' + e.getBoundingClientRect().height)"
    )


def test_librarian_approves_photos_and_the_public_sees_them(
    new_page: Callable[..., Any], seed: Callable[..., Any], tmp_path: Path, watch: Any
) -> None:
    ids = _seed(seed)
    files = [
        _photo(tmp_path, "sor.jpg", (120, 150, 190), (1600, 1200)),
        _photo(tmp_path, "nord.jpg", (190, 140, 90), (1200, 1600)),
        _photo(tmp_path, "grop.jpg", (90, 90, 110), (1024, 768)),
    ]
    resident = new_page(mobile=True)
    login(resident, RESIDENT)
    _english(resident)
    _add_photo(resident, ids["approved"], files[0], "Tufta sett fra sør", "Beboer Bo")
    _add_photo(resident, ids["approved"], files[1], "Steinene i nordveggen", "Beboer Bo")
    _add_photo(resident, ids["pending"], files[2], "Kullgropa etter regn", "Beboer Bo")
    # The author sees their photos waiting, with the state said in words.
    resident.goto(f"/traces/{ids['approved']}")
    assert resident.locator(".photo-item.photo-pending").count() == 2
    assert (
        _small_targets(resident, ".photo-edit summary, .photo-remove button, .photo-add summary")
        == []
    )
    screenshot(resident, "photos-gallery-author-phone")

    librarian = new_page()
    login(librarian, LIBRARIAN)
    _english(librarian)
    librarian.goto("/moderation/alta")
    entry = librarian.locator(f"#entry-{ids['pending']}")
    entry.locator("summary").click()  # the compact row opens in place (issue 10)
    entry.locator(".entry-part").wait_for()
    assert entry.locator(".queue-photos img").count() == 1
    new = librarian.locator(f"#new-photos-{ids['approved']}")
    assert new.locator("img").count() == 2
    for img in librarian.locator(".queue-photos img, .queue-new-photos img").all():
        img.scroll_into_view_if_needed()
        assert img.evaluate("i => i.complete && i.naturalWidth > 0")
    assert _violations(librarian) == []
    screenshot(librarian, "photos-queue-desktop")
    phone_queue = new_page(mobile=True)
    login(phone_queue, LIBRARIAN)
    _english(phone_queue)
    phone_queue.goto("/moderation/alta")
    phone_queue.locator(f"#entry-{ids['pending']} summary").click()
    phone_queue.locator(f"#entry-{ids['pending']} .entry-part").wait_for()
    assert phone_queue.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    for img in phone_queue.locator(".queue-photos img, .queue-new-photos img").all():
        img.scroll_into_view_if_needed()  # lazily loaded: into view before the screenshot
        phone_queue.wait_for_function(
            "i => i.complete && i.naturalWidth > 0", arg=img.element_handle()
        )
    assert _small_targets(phone_queue, ".queue-photo-grid .button, .queue-photo-grid input") == []
    # One photo a row on a phone: the reason field and both buttons have room.
    lefts = phone_queue.locator(".queue-photo-grid > li").evaluate_all(
        "els => [...new Set(els.map(e => Math.round(e.getBoundingClientRect().left)))]"
    )
    assert len(lefts) == 1, lefts
    screenshot(phone_queue, "photos-queue-phone")

    # Approve both new photos, one by one, with the buttons in the queue.
    for _ in range(2):
        button = librarian.locator(f"#new-photos-{ids['approved']} button[value=approve]").first
        with librarian.expect_navigation():
            button.click()
    assert librarian.locator(f"#new-photos-{ids['approved']}").count() == 0

    public = new_page()
    public.goto(f"/traces/{ids['approved']}")
    links = public.locator("a.photo-link")
    assert links.count() == 2
    assert public.locator("img[alt='Tufta sett fra sør']").count() == 1
    assert public.get_by_text("Beboer Bo").count() >= 1
    for n in range(2):
        links.nth(n).scroll_into_view_if_needed()
        assert _thumb_loaded(public, f"a.photo-link >> nth={n} >> img")
    # The pending trace's photo is nowhere for the public.
    assert public.request.get(f"/traces/{ids['pending']}").status == 404

    # Keyboard: Tab reaches each photo link, Enter opens the viewer, arrows move, Escape closes.
    links.first.focus()
    assert public.evaluate("document.activeElement.classList.contains('photo-link')")
    outline = public.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    public.keyboard.press("Tab")
    assert public.evaluate(
        "document.activeElement === document.querySelectorAll('a.photo-link')[1]"
    )
    public.keyboard.press("Shift+Tab")
    public.keyboard.press("Enter")
    dialog = public.locator("dialog.photo-viewer")
    dialog.wait_for(state="visible")
    assert "1" in dialog.locator(".photo-viewer-count").inner_text()
    assert dialog.locator("img").get_attribute("alt") == "Tufta sett fra sør"
    public.wait_for_function(
        "() => { const i = document.querySelector('dialog.photo-viewer img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    assert _violations(public) == []
    # The whole viewer, buttons included, fits the window.
    assert public.evaluate(
        "document.querySelector('.photo-viewer-nav').getBoundingClientRect().bottom"
        " <= window.innerHeight"
    )
    screenshot(public, "photos-viewer-desktop")
    public.keyboard.press("ArrowRight")
    assert dialog.locator("img").get_attribute("alt") == "Steinene i nordveggen"
    public.keyboard.press("ArrowLeft")
    assert dialog.locator("img").get_attribute("alt") == "Tufta sett fra sør"
    public.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert public.evaluate("document.activeElement === document.querySelector('a.photo-link')")
    assert _violations(public) == []
    public.locator("#photos").scroll_into_view_if_needed()
    screenshot(public, "photos-gallery-desktop")

    phone = new_page(mobile=True)
    phone.goto(f"/traces/{ids['approved']}")
    phone.locator("#photos").scroll_into_view_if_needed()
    for n in range(2):
        phone.locator("a.photo-link").nth(n).scroll_into_view_if_needed()
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "photos-gallery-phone")
    # The viewer on a phone: the photo, its words and the three buttons fit the screen, and
    # the buttons are finger-sized.
    phone.locator("a.photo-link").first.click()
    phone_viewer = phone.locator("dialog.photo-viewer")
    phone_viewer.wait_for(state="visible")
    phone.wait_for_function(
        "() => { const i = document.querySelector('dialog.photo-viewer img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    assert phone.evaluate(
        "document.querySelector('.photo-viewer-nav').getBoundingClientRect().bottom"
        " <= window.innerHeight"
    )
    assert _small_targets(phone, ".photo-viewer-nav button") == []
    screenshot(phone, "photos-viewer-phone")
    phone.keyboard.press("Escape")
    phone_viewer.wait_for(state="hidden")

    # "My traces": the author's entry with its first photo beside it.
    resident.goto("/me/traces")
    resident.locator(".my-trace-thumb img").first.wait_for(state="visible")
    assert resident.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(resident, "photos-my-traces-phone")

    # The map: the popup and the list under it carry the first photo, with its alt text.
    public.goto(f"/#15/{HERE[0]}/{HERE[1]}")
    public.wait_for_selector("body[data-map-state=ready]")
    listed = public.locator("#trace-list img.trace-list-photo")
    listed.first.wait_for(state="attached")
    assert listed.first.get_attribute("alt") == "Tufta sett fra sør"
    assert listed.first.get_attribute("loading") == "lazy"
    marker = public.locator("path.leaflet-interactive").first
    marker.wait_for()
    marker.click()
    popup = public.locator(".trace-popup img.trace-popup-photo")
    popup.wait_for()
    assert popup.get_attribute("alt") == "Tufta sett fra sør"
    # Leaflet fades the popup in: the screenshot waits until it is fully there.
    public.wait_for_function(
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    public.wait_for_function(
        "() => { const i = document.querySelector('.trace-popup img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    screenshot(public, "photos-map-popup-desktop")
    assert watch.page_errors == []
    assert watch.non_tile_external() == []
