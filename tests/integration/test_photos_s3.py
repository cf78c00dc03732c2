"""The photo path with S3-compatible storage, against a real SeaweedFS server (no mock).

Upload, signed and expiring addresses that serve the clean bytes, access checks before any
address is handed out, and files gone from the bucket after a removal, a rejection's grace
period and a forgotten upload.
"""

from __future__ import annotations

import io
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import create_app
from app.db import engine_of
from app.models import MediaGarbage, Membership, MembershipRole, Photo, Trace, User
from tests.conftest import ClosingClient, log_in
from tests.integration.photo_support import assert_clean_image, english, jpeg, upload
from tests.media_server import seaweed_s3


@pytest.fixture(scope="module")
def s3_settings() -> Iterator[dict[str, str]]:
    """A SeaweedFS S3 server on 127.0.0.1 with a fresh bucket, for this module."""
    with tempfile.TemporaryDirectory(prefix="heritage-weed-") as tmp, seaweed_s3(tmp) as config:
        yield config


@pytest.fixture(scope="module")
def s3_app(database_url: str, s3_settings: dict[str, str]) -> Iterator[Flask]:
    """The application with its photos in the S3 bucket (MEDIA_S3_* settings)."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://localhost",
            "MEDIA_URL_SECONDS": 120,
            **s3_settings,
        }
    )
    # Responses are closed as a WSGI server closes them (the after-commit work runs then).
    app.test_client_class = ClosingClient
    yield app
    engine_of(app).dispose()


@pytest.fixture
def bucket(s3_settings: dict[str, str]) -> Callable[[str], list[str]]:
    """The object keys in the bucket under one storage key (read straight from the server)."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_settings["MEDIA_S3_ENDPOINT"],
        aws_access_key_id=s3_settings["MEDIA_S3_ACCESS_KEY"],
        aws_secret_access_key=s3_settings["MEDIA_S3_SECRET_KEY"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )

    def keys(storage_key: str) -> list[str]:
        listing = client.list_objects_v2(
            Bucket=s3_settings["MEDIA_S3_BUCKET"], Prefix=storage_key + "/"
        )
        return sorted(item["Key"] for item in listing.get("Contents", []))

    return keys


def _fetch(url: str) -> tuple[int, bytes, str]:
    """GET an address as a browser would after the redirect (outside the app)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - our test server
            return answer.status, answer.read(), answer.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), ""


@pytest.fixture
def people(
    session: Session, make_user: Callable[..., User], make_project: Callable[..., object],
    make_trace: Callable[..., Trace],
) -> dict[str, object]:  # fmt: skip
    """An author with an approved trace, and the project's librarian."""
    project = make_project()
    librarian = make_user()
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    author = make_user()
    return {"author": author, "librarian": librarian,
            "trace": make_trace(project=project, author=author)}  # fmt: skip


def _client(app: Flask, user: User) -> tuple[FlaskClient, str]:
    client = app.test_client()
    english(client)
    return client, log_in(client, user.email)


def test_upload_serve_by_signed_address_and_delete(
    s3_app: Flask, session: Session, people: dict, bucket: Callable[[str], list[str]]
) -> None:
    """The whole path on S3: stored objects, a 302 to an expiring address, gone on removal."""
    author, trace = people["author"], people["trace"]
    client, token = _client(s3_app, author)
    response = upload(client, token, jpeg(1400, 1000, gps=True))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.json["gps"] is not None  # offered in the answer only
    photo = session.get(Photo, response.json["id"])
    key = photo.storage_key
    assert bucket(key) == [f"{key}/display.webp", f"{key}/thumb.webp"]

    # The uploader gets a redirect to a signed, expiring address, never kept by caches.
    served = client.get(f"/photos/{photo.id}/display")
    assert served.status_code == 302
    assert served.headers["Cache-Control"] == "private, no-store"
    location = served.headers["Location"]
    query = parse_qs(urlsplit(location).query)
    assert urlsplit(location).netloc == urlsplit(s3_app.config["MEDIA_S3_ENDPOINT"]).netloc
    assert query.get("X-Amz-Expires") == ["120"] and "X-Amz-Signature" in query
    status, data, content_type = _fetch(location)
    assert status == 200 and content_type == "image/webp"
    assert_clean_image(data, "WEBP")
    # Tampering with the address breaks the signature.
    assert _fetch(location.replace("display.webp", "thumb.webp"))[0] == 403
    # Nobody else gets an address for a staged upload: the same 404 as for no photo.
    anonymous = s3_app.test_client()
    assert anonymous.get(f"/photos/{photo.id}/display").status_code == 404

    # Added to the trace by the form, approved by the librarian: now everyone gets addresses.
    add = client.post(
        f"/traces/{trace.id}/photos",
        data={"csrf_token": token, "file": (io.BytesIO(jpeg(800, 600)), "b.jpg")},
        content_type="multipart/form-data",
    )
    assert add.status_code == 303
    added = session.execute(select(Photo).where(Photo.trace_id == trace.id)).scalar_one()
    assert anonymous.get(f"/photos/{added.id}/thumb").status_code == 404
    moderator, moderator_token = _client(s3_app, people["librarian"])
    decided = moderator.post(
        f"/photos/{added.id}/decide", data={"csrf_token": moderator_token, "action": "approve"}
    )
    assert decided.status_code == 303
    public = anonymous.get(f"/photos/{added.id}/thumb")
    assert public.status_code == 302
    assert _fetch(public.headers["Location"])[0] == 200

    # Removal: the objects are gone once the response is sent, and the address serves nothing.
    removed = client.post(f"/photos/{added.id}/delete", data={"csrf_token": token})
    assert removed.status_code == 303
    assert bucket(added.storage_key) == []
    assert anonymous.get(f"/photos/{added.id}/thumb").status_code == 404
    assert _fetch(public.headers["Location"])[0] == 404
    assert bucket(key)  # the staged upload is untouched


def test_rejected_and_forgotten_photos_leave_the_bucket_at_the_sweep(
    s3_app: Flask, session: Session, people: dict, bucket: Callable[[str], list[str]]
) -> None:
    """`flask media sweep` on S3: after the grace period, and after MEDIA_STAGED_HOURS."""
    author, trace = people["author"], people["trace"]
    client, token = _client(s3_app, author)
    client.post(
        f"/traces/{trace.id}/photos",
        data={"csrf_token": token, "file": (io.BytesIO(jpeg(640, 480)), "c.jpg")},
        content_type="multipart/form-data",
    )
    rejected = session.execute(select(Photo).where(Photo.trace_id == trace.id)).scalar_one()
    forgotten_id = upload(client, token, jpeg(320, 240)).json["id"]
    forgotten = session.get(Photo, forgotten_id)
    moderator, moderator_token = _client(s3_app, people["librarian"])
    moderator.post(
        f"/photos/{rejected.id}/decide",
        data={"csrf_token": moderator_token, "action": "reject", "reason": "Blurred"},
    )
    runner = s3_app.test_cli_runner()
    assert runner.invoke(args=["media", "sweep"]).exit_code == 0
    assert len(bucket(rejected.storage_key)) == 2 and len(bucket(forgotten.storage_key)) == 2
    # Time passes: the grace period ends, the upload is older than MEDIA_STAGED_HOURS.
    session.execute(update(MediaGarbage).values(due_at=func.now() - timedelta(seconds=1)))
    session.execute(
        update(Photo)
        .where(Photo.id == forgotten.id)
        .values(created_at=func.now() - timedelta(hours=s3_app.config["MEDIA_STAGED_HOURS"] + 1))
    )
    session.commit()
    result = runner.invoke(args=["media", "sweep"])
    assert result.exit_code == 0, result.output
    assert bucket(rejected.storage_key) == [] and bucket(forgotten.storage_key) == []
    assert (
        session.execute(
            select(func.count(Photo.id)).where(Photo.id.in_([rejected.id, forgotten.id]))
        ).scalar_one()
        == 0
    )
