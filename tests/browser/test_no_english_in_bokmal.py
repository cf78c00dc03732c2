"""No English in the Bokmål interface: the resident's pages, a moderator's page, the drawing
toolbar with its tooltips, a form's validation errors and the login wall are read in Chromium
(text, title, aria-label, placeholder, alt and button values), and nothing may be an English
msgid of our catalog whose Bokmål differs, nor Leaflet's, Leaflet.draw's, Flask-Login's or
WTForms' own English (issue 11, item 6)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from app.db import db
from app.models import Project, Trace, TraceStatus, User
from tests.browser.conftest import login, screenshot

PO = Path(__file__).resolve().parents[2] / "translations" / "nb" / "LC_MESSAGES" / "messages.po"
# What the libraries say by themselves, in English (Leaflet 1.9, Leaflet.draw 1.0,
# Flask-Login, WTForms and Flask-WTF): any of these on a Bokmål page is a leak.
LIBRARY_ENGLISH = {
    "Zoom in", "Zoom out", "Layers", "Close popup", "Marker",
    "A JavaScript library for interactive maps",
    "Cancel drawing", "Finish drawing", "Finish", "Delete last point drawn", "Delete last point",
    "Draw a polyline", "Draw a polygon", "Draw a rectangle", "Draw a circle", "Draw a marker",
    "Draw a circlemarker", "Click and drag to draw circle.",  # "Radius" is Norwegian too
    "Click map to place circle marker.", "Click map to place marker.",
    "Click to start drawing shape.", "Click to continue drawing shape.",
    "Click first point to close this shape.", "Error: shape edges cannot cross!",
    "Click to start drawing line.", "Click to continue drawing line.",
    "Click last point to finish line.", "Click and drag to draw rectangle.",
    "Release mouse to finish drawing.", "Save changes", "Save",
    "Cancel editing, discards all changes", "Clear all layers", "Clear All", "Edit layers",
    "No layers to edit", "Delete layers", "No layers to delete",
    "Drag handles or markers to edit features.", "Click cancel to undo changes.",
    "Click on a feature to remove.", "Please log in to access this page.",
    "This field is required.", "Invalid email address.", "Not a valid choice.",
    "Invalid input.", "The CSRF token is missing.", "Not a valid integer value.",
}  # fmt: skip

COLLECT = """() => {
  const lang = document.documentElement.lang;
  const out = [];
  // Fragments marked as another language (the picker's "English") are not the UI's text.
  const foreign = (el) => { const l = el.closest('[lang]'); return l && l.lang !== lang; };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || ['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE'].includes(el.tagName)) continue;
    if (foreign(el)) continue;
    const text = node.textContent.replace(/\\s+/g, ' ').trim();
    if (text) out.push(text);
  }
  const named = '[title],[aria-label],[placeholder],[alt],input[type=submit],input[type=button]';
  for (const el of document.querySelectorAll(named)) {
    if (foreign(el)) continue;
    for (const name of ['title', 'aria-label', 'placeholder', 'alt', 'value']) {
      if (name === 'value' && !['submit', 'button'].includes(el.type)) continue;
      const v = (el.getAttribute(name) || '').replace(/\\s+/g, ' ').trim();
      if (v) out.push(v);
    }
  }
  const lines = document.querySelectorAll('.leaflet-draw-tooltip, .leaflet-draw-actions a');
  for (const el of lines) out.push(el.innerText.replace(/\\s+/g, ' ').trim());
  return out;
}"""


def english_of_the_catalog() -> tuple[set[str], list[str]]:
    """Our msgids whose Bokmål differs: whole texts, and longer ones as parts of a text."""
    with PO.open("rb") as po:
        catalog = read_po(po, locale="nb")
    whole: set[str] = set()
    for message in catalog:
        if not message.id or isinstance(message.id, tuple) or "%" in message.id:
            continue
        translated = message.string and message.string != message.id
        if translated and re.search(r"[A-Za-z]{2}", message.id):
            whole.add(message.id)
    # Three words or more cannot be a Norwegian text by accident.
    parts = sorted(m for m in whole if len(m.split()) >= 3)
    return whole | LIBRARY_ENGLISH, parts


def leaks(texts: list[str], whole: set[str], parts: list[str]) -> list[str]:
    """The texts that are English of our catalog or of a library."""
    found = []
    for text in texts:
        if text in whole or any(part in text for part in parts):
            found.append(text)
        elif any(english in text for english in LIBRARY_ENGLISH if len(english.split()) >= 3):
            found.append(text)
    return sorted(set(found))


@pytest.fixture
def world(seed: Callable[..., Any], seed_basics: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    basics = seed_basics()

    def fn() -> dict[str, Any]:
        project = db.session.get(Project, basics["project_id"])
        librarian = db.session.get(User, basics["librarian_id"])
        from app.models import Membership, MembershipRole

        db.session.add(Membership(project_id=project.id, user_id=librarian.id,
                                  role=MembershipRole.LIBRARIAN))  # fmt: skip
        trace = Trace(
            project_id=project.id, author_id=basics["resident_id"], title="Tuft ved elva",
            geom=from_shape(Point(23.27, 69.97), srid=4326), status=TraceStatus.APPROVED,
            licence="CC-BY-4.0", approved_by_id=librarian.id, approved_at="2026-10-01T12:00:00Z",
        )  # fmt: skip
        waiting = Trace(
            project_id=project.id, author_id=basics["resident_id"], title="Gamle naustet",
            geom=from_shape(Point(23.28, 69.97), srid=4326), status=TraceStatus.PENDING,
            licence="CC-BY-4.0",
        )  # fmt: skip
        db.session.add(waiting)
        db.session.add(trace)
        db.session.flush()
        return {"trace_id": trace.id}

    return {**basics, **seed(fn)}


def test_no_english_in_the_bokmal_interface(
    new_page: Callable[..., Any], world: dict[str, Any]
) -> None:
    whole, parts = english_of_the_catalog()
    found: dict[str, list[str]] = {}
    page = new_page()

    def read(name: str) -> None:
        assert page.locator("html").get_attribute("lang") == "nb", name
        leaked = leaks(page.evaluate(COLLECT), whole, parts)
        if leaked:
            found[name] = leaked

    # The login wall, then a form's own validation messages.
    page.goto("/me/traces")
    page.wait_for_url(re.compile(r"/login"))
    read("login wall")
    page.goto("/register")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state("load")
    assert page.locator(".error-summary").count() == 1
    read("register with errors")
    for path in ("/", "/search?q=tuft", f"/traces/{world['trace_id']}"):
        page.goto(path)
        page.wait_for_load_state("load")
        assert page.locator("h1").count() >= 1, path
        read(path)
    assert page.locator(".leaflet-control-zoom-in").count() == 1  # the trace's own map

    login(page, "resident@example.org")
    page.goto("/me/traces")
    read("/me/traces")
    page.goto("/traces/new")
    page.wait_for_selector("a.leaflet-draw-draw-polygon")
    read("/traces/new")
    # The toolbar's tooltips and actions appear once a drawing starts.
    page.locator("a.leaflet-draw-draw-polyline").click()
    page.wait_for_selector(".leaflet-draw-actions a", state="visible")
    box = page.locator(".draw-map .leaflet-container").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".leaflet-draw-tooltip", state="visible")
    read("/traces/new drawing")
    screenshot(page, "no-english-draw-toolbar-nb")
    # Leaflet.draw's own table, error and edit texts included, before any of them is shown.
    local = page.evaluate("() => JSON.stringify(L.drawLocal)")
    found_local = [e for e in LIBRARY_ENGLISH if f'"{e}"' in local or f":{e}" in local]
    if found_local:
        found["L.drawLocal"] = sorted(found_local)
    page.keyboard.press("Escape")

    # Log out, then the librarian's queue. From a page without map requests, all finished:
    # a late map answer could otherwise set a session cookie after the clearing, and the
    # login form's CSRF token would then belong to another session.
    page.goto("/projects")
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()
    login(page, "librarian@example.org")
    page.goto("/moderation")
    page.wait_for_load_state("load")
    read("/moderation")
    assert found == {}, found
