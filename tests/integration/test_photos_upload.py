"""Uploading photos through POST /api/photos and the trace page's form.

Hostile files are made here (Pillow and byte surgery) and sent through the real endpoint: each
is refused with its specific message and leaves no row and no file. A JPEG with GPS gives the
position in the answer only; the stored and served files hold no metadata at all.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Photo, PhotoStatus, Trace, User
from tests.conftest import log_in
from tests.integration.photo_support import (
    GPS_LAT,
    GPS_LON,
    HOSTILE,
    assert_clean_image,
    english,
    jpeg,
    media_files,
    multipart,
    png,
    upload,
    webp,
)


@pytest.fixture
def resident(client: FlaskClient, make_user: Callable[..., User]) -> tuple[User, str]:
    """A logged-in resident (English messages) and their CSRF token."""
    user = make_user()
    english(client)
    return user, log_in(client, user.email)


def _photo_count(session: Session) -> int:
    return session.execute(select(func.count(Photo.id))).scalar_one()


@pytest.mark.parametrize(("name", "data", "status", "code", "words"), HOSTILE,
                         ids=[case[0] for case in HOSTILE])  # fmt: skip
def test_hostile_files_are_refused_specifically_and_leave_nothing(
    app: Flask, session: Session, client: FlaskClient, resident: tuple[User, str],
    name: str, data: bytes, status: int, code: str, words: tuple[str, ...],
) -> None:  # fmt: skip
    """Each refusal names its limit or problem and what to do; no row, no file."""
    _user, token = resident
    before = media_files(app)
    # The name and the type the client claims never matter: all say JPEG here.
    response = upload(client, token, data, filename="holiday.jpg", content_type="image/jpeg")
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert body["error"] == code and body["code"] == code
    for word in words:
        assert word in body["message"], (word, body["message"])
    assert body["detail"] == body["message"]
    assert media_files(app) == before
    assert _photo_count(session) == 0


def test_a_decompression_bomb_is_refused_quickly(
    client: FlaskClient, resident: tuple[User, str]
) -> None:
    """A 400-megapixel PNG of a few kilobytes is refused by its header, before decoding."""
    import time

    from tests.integration.photo_support import bomb_png

    data = bomb_png()
    assert len(data) < 100_000
    started = time.perf_counter()
    response = upload(client, resident[1], data, filename="bomb.png", content_type="image/png")
    elapsed = time.perf_counter() - started
    assert response.status_code == 422
    assert response.json["message"].startswith("The photo is 400 megapixels; the limit is 50.")
    assert elapsed < 2.0, elapsed


def test_a_file_over_the_size_limit_is_413_with_the_limit(
    app: Flask, session: Session, client: FlaskClient, resident: tuple[User, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Over PHOTO_MAX_MB: 413 saying the limit in MB and what to do, for the API and the form."""
    monkeypatch.setitem(app.config, "PHOTO_MAX_MB", 1)
    before = media_files(app)
    # Far over: refused while the body is read (Content-Length above the request limit).
    big = jpeg(64, 64) + b"\x00" * (3 * 1024 * 1024)
    response = upload(client, resident[1], big)
    assert response.status_code == 413
    assert response.json["error"] == "too_large"
    assert "1 MB" in response.json["message"] and "smaller size" in response.json["message"]
    # Just over: within the request's margin for the form, refused by the file's own size.
    just = jpeg(64, 64) + b"\x00" * (1024 * 1024)
    response = upload(client, resident[1], just)
    assert response.status_code == 413 and response.json["error"] == "too_large"
    assert media_files(app) == before and _photo_count(session) == 0


def test_the_form_answers_a_too_large_file_with_a_page(
    app: Flask, session: Session, client: FlaskClient, make_user: Callable[..., User],
    make_trace: Callable[..., Trace], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The no-script form: a page with the limit and the way back to the trace."""
    monkeypatch.setitem(app.config, "PHOTO_MAX_MB", 1)
    author = make_user()
    trace = make_trace(author=author)
    english(client)
    token = log_in(client, author.email)
    body, content_type = multipart(
        {"csrf_token": token,
         "file": (io.BytesIO(b"\xff\xd8" + b"\x00" * (2 * 1024 * 1024)), "big.jpg")}
    )  # fmt: skip
    response = client.post(f"/traces/{trace.id}/photos", data=body, content_type=content_type)
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert 'id="photo-refused"' in page and "1 MB" in page
    assert f'href="/traces/{trace.id}#photos"' in page
    assert _photo_count(session) == 0


def test_the_form_answers_a_hostile_file_with_its_message(
    app: Flask, session: Session, client: FlaskClient, make_user: Callable[..., User],
    make_trace: Callable[..., Trace],
) -> None:  # fmt: skip
    """An SVG through the trace page's form: 422, the SVG message, nothing stored."""
    author = make_user()
    trace = make_trace(author=author)
    english(client)
    token = log_in(client, author.email)
    before = media_files(app)
    svg = next(case[1] for case in HOSTILE if case[0] == "svg")
    response = client.post(
        f"/traces/{trace.id}/photos",
        data={"csrf_token": token, "file": (io.BytesIO(svg), "map.jpg", "image/jpeg"),
              "caption": "Kart"},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 422
    assert "SVG drawings are not accepted" in response.get_data(as_text=True)
    assert media_files(app) == before and _photo_count(session) == 0


def test_a_jpeg_with_gps_offers_the_position_and_stores_none_of_it(
    app: Flask, session: Session, client: FlaskClient, resident: tuple[User, str],
) -> None:  # fmt: skip
    """The answer carries the camera's position and date; the served files carry nothing."""
    user, token = resident
    original = jpeg(1200, 900, gps=True)
    assert b"GPS" in original or b"TestCam" in original
    response = upload(client, token, original, filename="IMG_0001.jpg")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.json
    assert body["gps"]["lat"] == pytest.approx(GPS_LAT, abs=1e-5)
    assert body["gps"]["lon"] == pytest.approx(GPS_LON, abs=1e-5)
    assert body["taken_on"] == "2026-05-01"
    assert body["thumbnail"].endswith(f"/photos/{body['id']}/thumb")
    assert body["display"].endswith(f"/photos/{body['id']}/display")
    photo = session.get(Photo, body["id"])
    assert photo.status == PhotoStatus.STAGED and photo.trace_id is None
    assert photo.uploader_id == user.id and photo.source_format == "jpeg"
    assert len(photo.storage_key) >= 32 and set(photo.storage_key) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    )
    # Nothing of the position is in the row.
    row = session.execute(select(Photo.__table__).where(Photo.id == photo.id)).one()
    assert not any(f"{GPS_LAT:.3f}"[:5] in str(value) for value in row)
    assert max(body["width"], body["height"]) <= app.config["PHOTO_DISPLAY_PX"]
    # The staged photo is its uploader's alone, and every size served is clean.
    for size, limit in (("thumb", app.config["PHOTO_THUMB_PX"]),
                        ("display", app.config["PHOTO_DISPLAY_PX"])):  # fmt: skip
        served = client.get(f"/photos/{photo.id}/{size}")
        assert served.status_code == 200
        assert served.mimetype == "image/webp"
        img = assert_clean_image(served.get_data(), "WEBP")
        assert max(img.size) <= limit
        assert app.test_client().get(f"/photos/{photo.id}/{size}").status_code == 404
    # The stored files too, byte for byte what is served.
    names = {name for name in media_files(app) if name.startswith(photo.storage_key)}
    assert names == {f"{photo.storage_key}/thumb.webp", f"{photo.storage_key}/display.webp"}


def test_orientation_is_applied_before_stripping(
    client: FlaskClient, resident: tuple[User, str]
) -> None:
    """A landscape JPEG marked 'rotate 90°' is stored as the portrait it shows."""
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    response = upload(client, resident[1], jpeg(800, 400, exif=exif))
    assert response.status_code == 201
    assert response.json["height"] > response.json["width"]
    served = client.get(f"/photos/{response.json['id']}/display")
    img = assert_clean_image(served.get_data(), "WEBP")
    assert img.height > img.width


@pytest.mark.parametrize(("maker", "source"), [(png, "png"), (webp, "webp")])
def test_png_and_webp_are_taken_whatever_the_name(
    session: Session, client: FlaskClient, resident: tuple[User, str],
    maker: Callable[[], bytes], source: str,
) -> None:  # fmt: skip
    """The type comes from the content: a PNG called .txt with text/plain is a PNG."""
    response = upload(client, resident[1], maker(), filename="notes.txt",
                      content_type="text/plain")  # fmt: skip
    assert response.status_code == 201, response.get_data(as_text=True)
    assert session.get(Photo, response.json["id"]).source_format == source
    assert response.json["gps"] is None and response.json["taken_on"] is None


def test_uploads_need_a_login_and_the_csrf_token(app: Flask, client: FlaskClient) -> None:
    """Anonymous: 401 problem details; no CSRF token: 400; nothing stored."""
    before = media_files(app)
    response = client.post(
        "/api/photos",
        data={"file": (io.BytesIO(jpeg()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 401)
    assert response.mimetype == "application/problem+json"
    assert media_files(app) == before


def test_a_missing_file_field_is_named(client: FlaskClient, resident: tuple[User, str]) -> None:
    """A body without the `file` field: 422 saying what to send."""
    response = client.post(
        "/api/photos",
        data={"photo": (io.BytesIO(jpeg()), "a.jpg")},
        headers={"X-CSRFToken": resident[1]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.json["error"] == "no_file" and "file" in response.json["message"]


def test_the_daily_quota_is_counted_per_person(
    app: Flask, session: Session, client: FlaskClient, resident: tuple[User, str],
    make_user: Callable[..., User], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """PHOTO_DAILY_QUOTA photos in 24 hours, then a refusal with the figure; others go on."""
    monkeypatch.setitem(app.config, "PHOTO_DAILY_QUOTA", 2)
    small = jpeg(64, 48)
    for _ in range(2):
        assert upload(client, resident[1], small).status_code == 201
    before = media_files(app)
    refused = upload(client, resident[1], small)
    assert refused.status_code == 429
    assert refused.json["error"] == "daily_quota"
    assert "2 photos in the last 24 hours" in refused.json["message"]
    assert media_files(app) == before
    other = app.test_client()
    token = log_in(other, make_user().email)
    assert upload(other, token, small).status_code == 201


def test_the_storage_quota_counts_stored_megabytes(
    app: Flask, session: Session, client: FlaskClient, resident: tuple[User, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """PHOTO_USER_QUOTA_MB of stored files per person, then a refusal with the figures."""
    user, token = resident
    monkeypatch.setitem(app.config, "PHOTO_USER_QUOTA_MB", 1)
    first = upload(client, token, jpeg(1600, 1200))
    assert first.status_code == 201
    # Pretend the first photo took up (almost) the whole megabyte.
    photo = session.get(Photo, first.json["id"])
    photo.stored_bytes = 1024 * 1024 - 10
    session.commit()
    before = media_files(app)
    refused = upload(client, token, jpeg(1600, 1200))
    assert refused.status_code == 422 and refused.json["error"] == "storage_quota"
    assert "at most 1 MB" in refused.json["message"]
    assert media_files(app) == before


def test_the_rate_limit_holds_for_uploads(
    app: Flask, client: FlaskClient, resident: tuple[User, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """PHOTO_RATE_LIMIT per person, for the API and the form together."""
    monkeypatch.setitem(app.config, "PHOTO_RATE_LIMIT", "3/minute")
    statuses = [upload(client, resident[1], b"").status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]
    refused = upload(client, resident[1], jpeg())
    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    assert "Retry-After" in refused.headers


def test_a_failed_insert_leaves_no_files(app: Flask, session: Session) -> None:
    """When the row cannot be stored after the files were, the files are removed again."""
    from sqlalchemy.exc import IntegrityError

    from app.db import db
    from app.photos import operations

    before = media_files(app)
    # An uploader the database does not know: the insert breaks its foreign key, after the
    # files were written.
    ghost = User(id=2_000_000_000, email="ghost@example.org", display_name="Ghost")
    with app.test_request_context():
        with pytest.raises(IntegrityError):
            operations.stage_photo(ghost, jpeg(300, 200))
        db.session.rollback()
    assert media_files(app) == before
    assert _photo_count(session) == 0


def test_kept_originals_are_clean_and_only_for_the_uploader(
    app: Flask, session: Session, client: FlaskClient, resident: tuple[User, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """HERITAGE_KEEP_ORIGINALS: a third, full-size file, re-encoded without metadata."""
    monkeypatch.setitem(app.config, "KEEP_ORIGINALS", True)
    response = upload(client, resident[1], jpeg(2400, 1800, gps=True))
    assert response.status_code == 201
    photo = session.get(Photo, response.json["id"])
    assert photo.has_original
    stored = {name for name in media_files(app) if name.startswith(photo.storage_key)}
    assert len(stored) == 3
    served = client.get(f"/photos/{photo.id}/original")
    assert served.status_code == 200
    assert served.headers["Cache-Control"] == "private, no-store"
    img = assert_clean_image(served.get_data())
    assert img.size == (2400, 1800)
    assert app.test_client().get(f"/photos/{photo.id}/original").status_code == 404


def test_a_rolled_back_upload_takes_its_files_with_it(
    app: Flask, session: Session, make_user: Callable[..., User]
) -> None:
    """Stored and inserted, then the transaction rolls back: the files go with the row."""
    from app.db import db
    from app.photos import operations

    user = make_user()
    before = media_files(app)
    with app.test_request_context():
        staged = operations.stage_photo(db.session.get(User, user.id), jpeg(300, 200))
        key = staged.photo.storage_key
        assert {name.split("/")[0] for name in media_files(app) - before} == {key}
        db.session.rollback()
    assert media_files(app) == before
    assert _photo_count(session) == 0
