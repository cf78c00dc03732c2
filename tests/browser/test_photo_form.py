"""Photos on the new-trace form in Chromium: a HEIC photo with the camera's position on a phone,
the offer of that position (never used silently), refusals with the server's own words, the
limit of photos per trace, and no axe violations with photos and the offer on the page.

Every image is made here (Pillow + pillow-heif); nothing is downloaded."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pillow_heif
from geoalchemy2.shape import to_shape
from PIL import Image, ImageDraw
from sqlalchemy import select

from app.db import db
from app.models import Photo, PhotoStatus, Trace
from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import _violations
from tests.serving import ARTIFACTS

HOENSVATNET = (59.74512, 9.91234)  # Øvre Eiker
ALTA = (69.96891, 23.27153)
GPS_IFD = 0x8825
EXIF_IFD = 0x8769


def _dms(value: float) -> tuple[Fraction, Fraction, Fraction]:
    """Degrees as EXIF writes them: degrees, minutes, seconds as rationals."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = (value - degrees - minutes / 60) * 3600
    return Fraction(degrees), Fraction(minutes), Fraction(seconds).limit_denominator(100000)


def _picture(size: tuple[int, int] = (800, 600)) -> Image.Image:
    """A picture with something in it (a flat colour compresses to nothing)."""
    image = Image.new("RGB", size, (86, 118, 64))
    draw = ImageDraw.Draw(image)
    draw.ellipse(
        (size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4), fill=(120, 92, 60)
    )
    draw.line((0, 0, size[0], size[1]), fill=(30, 30, 30), width=9)
    return image


def _heic_with_gps(lat: float, lon: float, accuracy_m: float | None = 8) -> bytes:
    """A HEIC photo as a phone takes it: EXIF with GPS (and its error) and the date taken."""
    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    gps = exif.get_ifd(GPS_IFD)
    gps[1], gps[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
    gps[3], gps[4] = ("E" if lon >= 0 else "W"), _dms(abs(lon))
    if accuracy_m is not None:
        gps[31] = Fraction(accuracy_m)  # GPSHPositioningError
    exif.get_ifd(EXIF_IFD)[0x9003] = "2026:05:01 10:20:30"  # DateTimeOriginal
    out = io.BytesIO()
    _picture().save(out, format="HEIF", exif=exif.tobytes(), quality=70)
    return out.getvalue()


def _png(colour: tuple[int, int, int] = (140, 100, 60)) -> bytes:
    """A small real PNG."""
    out = io.BytesIO()
    image = _picture((120, 90))
    ImageDraw.Draw(image).rectangle((0, 0, 30, 30), fill=colour)
    image.save(out, format="PNG")
    return out.getvalue()


def _svg_named_jpeg() -> bytes:
    """An SVG with script: what an attacker renames to .jpg."""
    return (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
    )


def _open_form(new_page: Callable[..., Any], *, mobile: bool = False, **extra: Any) -> Any:
    """Log in as the resident, choose English, and open the new-trace form."""
    page = new_page(mobile=mobile, **extra)
    login(page, "resident@example.org")
    # The choice lives in the session: chosen on a page with no requests of its own in flight
    # (the map's data requests save the session too, and the last one written wins).
    page.goto("/projects")
    page.wait_for_load_state("networkidle")
    token = page.locator("meta[name=csrf-token]").get_attribute("content")
    answer = page.request.post("/language", form={"csrf_token": token, "lang": "en", "next": "/"})
    assert answer.ok, answer.status
    page.goto("/traces/new")
    assert page.locator("html").get_attribute("lang") == "en"
    page.wait_for_selector("body[data-new-trace=ready]")
    page.wait_for_selector("#photos-form[data-photos-ready]")
    return page


def _attach(page: Any, *files: tuple[str, str, bytes]) -> None:
    page.locator("#photo-files").set_input_files(
        [{"name": name, "mimeType": mime, "buffer": data} for name, mime, data in files]
    )


def _wait_uploaded(page: Any, count: int) -> None:
    page.wait_for_function(
        "n => heritagePhotos.state().filter(p => p.status === 'uploaded').length === n "
        "&& !heritagePhotos.state().some(p => p.status === 'uploading')",
        arg=count,
        timeout=30_000,
    )


def _view_shot(page: Any, name: str) -> None:
    """A screenshot of the viewport (the sticky map column shows beside the photos)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def _small_targets(page: Any, selector: str) -> list[str]:
    """The visible matches of selector under 44 px high (a finger's width on a phone)."""
    return page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)"
        ".map(e => e.outerHTML.slice(0, 80) + ' ' + e.getBoundingClientRect().height)"
    )


def _photos_field(page: Any) -> list[dict[str, Any]]:
    raw = page.locator("#photos-json").input_value()
    return json.loads(raw) if raw else []


def _geometry(page: Any) -> dict[str, Any] | None:
    raw = page.locator("#geometry").input_value()
    return json.loads(raw) if raw else None


def test_phone_heic_with_gps_offers_the_place_and_shows_the_thumbnail(
    app: Any, new_page: Callable[..., Any], seed_basics: Callable[..., Any], watch: Any
) -> None:
    """The Done-when path: HEIC with GPS on a phone, accept the offer, submit, see the thumb."""
    seed_basics()
    page = _open_form(new_page, mobile=True)
    assert page.locator("#photo-offer").is_hidden()
    _attach(page, ("IMG_0412.HEIC", "image/heic", _heic_with_gps(*HOENSVATNET, accuracy_m=8)))
    _wait_uploaded(page, 1)

    # The server's thumbnail replaces the "no preview" note: browsers cannot show HEIC.
    item = page.locator("#photo-list > li").first
    item.locator(".photo-preview img").wait_for(state="visible")
    page.wait_for_function(
        "() => { const i = document.querySelector('#photo-list .photo-preview img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert item.locator(".photo-no-preview").is_hidden()
    assert item.get_by_label("Date taken").input_value() == "2026-05-01"
    assert item.get_by_label("Photographer").input_value() == "Resident Rita"
    assert item.get_by_label("Licence").input_value() == "CC-BY-4.0"

    # The position is offered, with its accuracy, and nothing is on the map yet.
    offer = page.locator("#photo-offer")
    offer.wait_for(state="visible")
    text = offer.inner_text()
    assert "The photo was taken here – use the position?" in text
    assert "59.74512° N, 9.91234° E" in text and "about 8 m" in text
    assert _geometry(page) is None
    assert page.locator(".leaflet-marker-icon.leaflet-marker-draggable").count() == 0
    assert "place where it was taken" in page.locator("#photos-status").inner_text()
    assert _small_targets(page, "#photo-offer button, #photo-list button, #photo-files") == []
    # The caption's hint is lighter than its name (three bold lines once).
    hint = item.locator(".photo-hint")
    assert hint.evaluate("e => getComputedStyle(e).fontWeight") == "400"
    screenshot(page, "photo-form-offer-phone")

    page.get_by_role("button", name="Use this position").click()
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    assert _geometry(page) == {"type": "Point", "coordinates": [HOENSVATNET[1], HOENSVATNET[0]]}
    assert offer.is_hidden()
    marker = page.locator(".leaflet-marker-icon.leaflet-marker-draggable")
    assert marker.count() == 1
    assert page.evaluate("heritageMap.getZoom()") >= 15
    centre = page.evaluate(
        "(() => { const c = heritageMap.getCenter(); return [c.lat, c.lng]; })()"
    )
    assert abs(centre[0] - HOENSVATNET[0]) < 0.01 and abs(centre[1] - HOENSVATNET[1]) < 0.01
    # The accuracy circle (8 m) is drawn around the point.
    radius = page.evaluate(
        "(() => { let r = null; heritageMap.eachLayer(l => { if (l instanceof L.Circle)"
        " r = l.getRadius(); }); return r; })()"
    )
    assert radius == 8

    item.get_by_label(re.compile("^Caption")).fill("Kullgropa sett fra sør")
    page.get_by_label("Title").fill("Kullgrop ved Hoensvatnet")
    photos = _photos_field(page)
    assert [(p["caption"], p["credit"], p["licence"], p["taken_on"]) for p in photos] == [
        ("Kullgropa sett fra sør", "Resident Rita", "CC-BY-4.0", "2026-05-01")
    ]
    screenshot(page, "photo-form-with-photo-phone")
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))

    # The author sees the thumbnail of the pending photo on the trace page.
    image = page.locator("img[src*='/photos/']").first
    image.wait_for(state="visible")
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"img[src*='/photos/']\")]"
        ".some(i => i.complete && i.naturalWidth > 0)"
    )
    assert image.get_attribute("alt") == "Kullgropa sett fra sør"
    screenshot(page, "photo-form-submitted-phone")
    trace_url = page.url

    # The edit form lists the photo the trace has (counted against the limit).
    page.goto(trace_url + "/edit")
    page.wait_for_selector("#photos-form[data-photos-ready]")
    assert page.locator("#photos-form").get_attribute("data-existing") == "1"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.photo-existing img')]"
        ".some(i => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#photos-json").input_value() == ""
    with app.app_context():
        trace = db.session.execute(select(Trace)).scalar_one()
        point = to_shape(trace.geom)
        assert (round(point.y, 5), round(point.x, 5)) == HOENSVATNET
        photo = db.session.execute(select(Photo)).scalar_one()
        assert photo.trace_id == trace.id
        assert photo.status == PhotoStatus.PENDING
        assert photo.caption == "Kullgropa sett fra sør"
        assert photo.source_format == "heif"
        assert photo.taken_on is not None and photo.taken_on.isoformat() == "2026-05-01"
        db.session.remove()
    assert watch.page_errors == []
    assert watch.non_tile_external() == []


def test_a_refused_file_shows_the_servers_message_and_is_not_attached(
    app: Any, new_page: Callable[..., Any], seed_basics: Callable[..., Any], watch: Any
) -> None:
    seed_basics()
    page = _open_form(new_page)
    status = page.locator("#photos-status")
    assert status.get_attribute("role") == "status"
    svg = _svg_named_jpeg()
    _attach(page, ("grop.jpg", "image/jpeg", svg))
    page.wait_for_function(
        "() => document.getElementById('photos-status').textContent.includes('not added')"
    )
    message = status.inner_text()
    assert message.startswith("grop.jpg was not added: ")
    # The server's own, specific words (not a generic failure of ours).
    server_words = message.removeprefix("grop.jpg was not added: ")
    response = page.request.post(
        "/api/photos",
        multipart={"file": {"name": "grop.jpg", "mimeType": "image/jpeg", "buffer": svg}},
        headers={"X-CSRFToken": page.locator("meta[name=csrf-token]").get_attribute("content"),
                 "Accept": "application/json"},
    )  # fmt: skip
    assert response.status in (413, 422)
    assert response.json()["message"] == server_words
    assert page.locator("#photo-list > li").count() == 0
    assert page.evaluate("heritagePhotos.state()") == []
    assert _photos_field(page) == []
    with app.app_context():
        # Only the direct request above reached the database as a refusal: nothing staged.
        assert db.session.execute(select(Photo)).scalars().all() == []
        db.session.remove()
    assert watch.page_errors == []


def test_more_than_the_limit_of_photos_is_refused_with_a_message(
    app: Any, new_page: Callable[..., Any], seed_basics: Callable[..., Any]
) -> None:
    seed_basics()
    page = _open_form(new_page)
    limit = int(page.locator("#photos-form").get_attribute("data-max"))
    assert limit == app.config["PHOTOS_PER_TRACE"] == 10
    _attach(
        page, *[(f"foto-{n}.png", "image/png", _png((n * 20, 90, 60))) for n in range(limit - 1)]
    )
    _wait_uploaded(page, limit - 1)
    # Two more at once: one fits, the other is refused by name.
    _attach(page, ("nummer-10.png", "image/png", _png()), ("nummer-11.png", "image/png", _png()))
    status = page.locator("#photos-status")
    page.wait_for_function(
        "() => document.getElementById('photos-status').textContent.includes('at most')"
    )
    assert "nummer-11.png was not added" in status.inner_text()
    assert "at most 10 photos" in status.inner_text()
    _wait_uploaded(page, limit)
    assert page.locator("#photo-list > li").count() == limit
    assert len(_photos_field(page)) == limit
    names = [p["name"] for p in page.evaluate("heritagePhotos.state()")]
    assert "nummer-10.png" in names and "nummer-11.png" not in names
    # Removing one moves the focus to the photo that took its place, and makes room again.
    third = page.locator("#photo-list > li").nth(2)
    third.get_by_role("button", name="Remove foto-2.png").click()
    assert page.locator("#photo-list > li").count() == limit - 1
    focused = page.evaluate("document.activeElement.getAttribute('aria-label')")
    assert focused == "Remove foto-3.png"
    assert "foto-2.png is removed." in status.inner_text()
    assert len(_photos_field(page)) == limit - 1
    # The staged upload nobody will attach is deleted on the server at once.
    page.wait_for_function(
        "() => performance.getEntriesByType('resource')"
        ".some(e => /\\/photos\\/\\d+\\/delete$/.test(e.name))"
    )
    for _ in range(50):
        with app.app_context():
            left = db.session.execute(select(Photo.id)).scalars().all()
            db.session.remove()
        if len(left) == limit - 1:
            break
        page.wait_for_timeout(100)
    assert len(left) == limit - 1
    assert sorted(left) == sorted(p["id"] for p in _photos_field(page))


def test_photos_come_back_after_a_refused_submit_and_are_attached_on_the_next(
    app: Any, new_page: Callable[..., Any], seed_basics: Callable[..., Any], watch: Any
) -> None:
    seed_basics()
    page = _open_form(new_page)
    page.evaluate(f"heritageNewTrace.setPoint({ALTA[0]}, {ALTA[1]}, 12)")
    _attach(page, ("grop.png", "image/png", _png()))
    _wait_uploaded(page, 1)
    item = page.locator("#photo-list > li").first
    item.get_by_label(re.compile("^Caption")).fill("Gropa i snø")
    item.get_by_label("Licence").select_option("CC0-1.0")
    page.get_by_role("button", name="Send for approval").click()  # no title: refused
    page.wait_for_selector(".error-summary")
    page.wait_for_selector("#photos-form[data-photos-ready]")
    item = page.locator("#photo-list > li").first
    assert page.locator("#photo-list > li").count() == 1
    assert item.get_by_label(re.compile("^Caption")).input_value() == "Gropa i snø"
    assert item.get_by_label("Licence").input_value() == "CC0-1.0"
    page.wait_for_function(
        "() => { const i = document.querySelector('#photo-list .photo-preview img');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    page.get_by_label("Title").fill("Fangstgrop")
    page.get_by_role("button", name="Send for approval").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    with app.app_context():
        photo = db.session.execute(select(Photo)).scalar_one()
        assert photo.trace_id is not None
        assert (photo.caption, photo.licence) == ("Gropa i snø", "CC0-1.0")
        db.session.remove()
    assert watch.page_errors == []


def test_the_offer_is_not_shown_when_a_place_is_already_marked(
    new_page: Callable[..., Any], seed_basics: Callable[..., Any]
) -> None:
    seed_basics()
    page = _open_form(new_page)
    page.evaluate(f"heritageNewTrace.setPoint({ALTA[0]}, {ALTA[1]})")
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    before = _geometry(page)
    _attach(page, ("IMG_0001.HEIC", "image/heic", _heic_with_gps(*HOENSVATNET)))
    _wait_uploaded(page, 1)
    page.wait_for_timeout(300)  # the offer would be shown right after the answer
    assert page.locator("#photo-offer").is_hidden()
    assert page.locator("#photos-form").get_attribute("data-offer") is None
    assert _geometry(page) == before == {"type": "Point", "coordinates": [ALTA[1], ALTA[0]]}


def test_the_offer_can_be_declined_and_is_dropped_when_a_place_is_marked(
    new_page: Callable[..., Any], seed_basics: Callable[..., Any]
) -> None:
    """ "No thanks" leaves the map alone; a tap on the map meanwhile withdraws the offer."""
    seed_basics()
    page = _open_form(new_page)
    _attach(page, ("IMG_0002.HEIC", "image/heic", _heic_with_gps(*HOENSVATNET, accuracy_m=None)))
    page.locator("#photo-offer").wait_for(state="visible")
    assert "accuracy" not in page.locator("#photo-offer").inner_text()  # none in the file
    page.get_by_role("button", name="No thanks").click()
    assert page.locator("#photo-offer").is_hidden()
    assert _geometry(page) is None
    assert page.evaluate("document.activeElement.id") == "photo-files"

    page.get_by_role("button", name="Remove IMG_0002.HEIC").click()
    _attach(page, ("IMG_0003.HEIC", "image/heic", _heic_with_gps(*HOENSVATNET)))
    page.locator("#photo-offer").wait_for(state="visible")
    page.evaluate(f"heritageNewTrace.setPoint({ALTA[0]}, {ALTA[1]}, 30)")
    page.locator("#photo-offer").wait_for(state="hidden")
    assert _geometry(page) == {"type": "Point", "coordinates": [ALTA[1], ALTA[0]]}


def test_the_form_with_photos_and_the_offer_has_no_axe_violations(
    new_page: Callable[..., Any], seed_basics: Callable[..., Any], watch: Any
) -> None:
    seed_basics()
    page = _open_form(new_page)
    _attach(
        page,
        ("IMG_0412.HEIC", "image/heic", _heic_with_gps(*HOENSVATNET)),
        ("grop.png", "image/png", _png()),
    )
    _wait_uploaded(page, 2)
    page.locator("#photo-offer").wait_for(state="visible")
    page.wait_for_selector("body[data-map-state=ready]")
    assert _violations(page) == []
    page.evaluate("document.getElementById('photos-form').scrollIntoView()")
    _view_shot(page, "photo-form-offer-desktop")
    page.get_by_role("button", name="Use this position").click()
    page.wait_for_function("() => document.getElementById('geometry').value.includes('Point')")
    _view_shot(page, "photo-form-with-photos-desktop")
    assert _violations(page) == []
    assert watch.page_errors == []


def test_the_api_restores_a_shape_and_the_photo_list(
    new_page: Callable[..., Any], seed_basics: Callable[..., Any]
) -> None:
    """heritageNewTrace.restore and heritagePhotos.restore, as the offline draft uses them."""
    seed_basics()
    page = _open_form(new_page)
    line = {"type": "LineString", "coordinates": [[23.27, 69.96], [23.28, 69.97]]}
    page.evaluate("g => heritageNewTrace.restore(g)", line)
    assert _geometry(page) == line
    page.evaluate("heritageNewTrace.restore(null)")
    assert page.evaluate("heritageNewTrace.geometry()") is None
    assert _geometry(page) is None
    changes = page.evaluate(
        """() => { window.seen = []; heritagePhotos.onChange(s => seen.push(s.length));
                   heritagePhotos.restore([{id: null, file: null, name: 'gone.jpg', caption: '',
                     credit: '', licence: 'CC0-1.0', taken_on: null, status: 'failed'}]);
                   return seen; }"""
    )
    assert changes == [0]  # a failed item without its file has nothing left to send
