"""Who is served which photo: every viewer against every state, on normal and protected traces.

Real PostGIS, real files in the app's MEDIA_DIR, the real serving route; each allowed request
must give the stored bytes, each other one the same 404 as a photo that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy.orm import Session

from app.db import db
from app.models import (
    Membership,
    MembershipRole,
    Photo,
    PhotoStatus,
    Project,
    Trace,
    TraceStatus,
    User,
    UserRole,
)
from app.photos.queries import first_thumbnails, photo_path, visible_photos
from app.publication.tokens import create_token
from tests.conftest import log_in
from tests.integration.photo_support import make_photo

VIEWERS = (
    "anonymous",
    "other",
    "uploader",
    "author",
    "curator_in",
    "curator_out",
    "librarian",
    "partner",
    "partner_elsewhere",
)
STATES = (PhotoStatus.STAGED, PhotoStatus.PENDING, PhotoStatus.APPROVED, PhotoStatus.REJECTED)
INVOLVED = ("uploader", "author", "curator_in", "librarian")


def expected(viewer: str, state: PhotoStatus, protected: bool, public_when_protected: bool,
             trace_approved: bool = True) -> bool:  # fmt: skip
    """The rule of docs/photos.md, written out independently of app/photos/queries.py."""
    if state == PhotoStatus.STAGED:
        return viewer == "uploader"
    if viewer in INVOLVED:
        # Seeing the photo needs seeing the trace: a pending one is its author's and staff's.
        return trace_approved or viewer != "uploader"
    if state != PhotoStatus.APPROVED or not trace_approved:
        return False
    if not protected or public_when_protected:
        return True
    return viewer == "partner"


class World:
    """The people, traces, photos and logged-in clients of the matrix."""

    people: dict[str, User]
    project: Project
    traces: dict[str, Trace]
    photos: dict[tuple[str, PhotoStatus, bool], tuple[Photo, dict[str, bytes]]]
    clients: dict[str, tuple[FlaskClient, dict[str, str]]]


@pytest.fixture
def world(
    app: Flask,
    session: Session,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    make_trace: Callable[..., Trace],
) -> World:
    """A project with its curators (in and outside the traces' area), librarian, partners."""
    w = World()
    w.project = make_project()
    elsewhere = make_project()
    w.people = {
        name: make_user() for name in ("other", "uploader", "author", "curator_in", "curator_out")
    }
    w.people["librarian"] = make_user()
    admin = make_user(UserRole.ADMIN)
    session.add_all([
        Membership(project_id=w.project.id, user_id=w.people["curator_in"].id,
                   role=MembershipRole.CURATOR,
                   area=from_shape(MultiPolygon([box(23.0, 69.8, 23.5, 70.1)]), srid=4326)),
        Membership(project_id=w.project.id, user_id=w.people["curator_out"].id,
                   role=MembershipRole.CURATOR,
                   area=from_shape(MultiPolygon([box(25.0, 70.5, 25.5, 70.8)]), srid=4326)),
        Membership(project_id=w.project.id, user_id=w.people["librarian"].id,
                   role=MembershipRole.LIBRARIAN),
    ])  # fmt: skip
    session.commit()
    author = w.people["author"]
    w.traces = {
        "normal": make_trace(project=w.project, author=author),
        "protected": make_trace(project=w.project, author=author, sensitivity_override=True),
        "pending": make_trace(project=w.project, author=author, status=TraceStatus.PENDING),
    }
    session.refresh(w.traces["protected"])
    assert w.traces["protected"].is_sensitive
    assert not w.traces["normal"].is_sensitive
    w.photos = {}
    for kind in ("normal", "protected"):
        for state in STATES:
            for public in (False, True):
                w.photos[(kind, state, public)] = make_photo(
                    app, session, w.traces[kind], w.people["uploader"], state, public
                )
    w.photos[("pending", PhotoStatus.APPROVED, False)] = make_photo(
        app, session, w.traces["pending"], w.people["uploader"], PhotoStatus.APPROVED
    )
    with app.test_request_context():
        _, museum = create_token(admin, "Museum", [w.project.id])
        _, other_museum = create_token(admin, "Other museum", [elsewhere.id])
        db.session.commit()
    w.clients = {"anonymous": (app.test_client(), {})}
    w.clients["partner"] = (app.test_client(), {"Authorization": f"Bearer {museum}"})
    w.clients["partner_elsewhere"] = (
        app.test_client(), {"Authorization": f"Bearer {other_museum}"}
    )  # fmt: skip
    for name, user in w.people.items():
        client = app.test_client()
        log_in(client, user.email)
        w.clients[name] = (client, {})
    return w


def _get(world: World, viewer: str, path: str, **headers: str) -> Any:
    client, auth = world.clients[viewer]
    return client.get(path, headers={**auth, **headers})


def test_every_viewer_gets_exactly_the_photos_they_may_see(world: World) -> None:
    """9 viewers x 4 states x normal/protected x public_when_protected, both sizes."""
    wrong: list[str] = []
    for viewer in VIEWERS:
        missing = _get(world, viewer, photo_path(2_000_000_000, "display"))
        assert missing.status_code == 404
        for (kind, state, public), (photo, files) in world.photos.items():
            allowed = expected(viewer, state, kind == "protected", public, kind != "pending")
            for size in ("thumb", "display"):
                response = _get(world, viewer, photo_path(photo.id, size))
                if allowed:
                    ok = response.status_code == 200 and response.get_data() == files[size]
                else:
                    # The same answer as for a photo that does not exist: nothing to learn.
                    ok = response.status_code == 404 and response.get_data() == missing.get_data()
                if not ok:
                    wrong.append(
                        f"{viewer} {kind} {state.value} public={public} {size}: "
                        f"{response.status_code} (expected {'200' if allowed else '404'})"
                    )
    assert not wrong, "\n".join(wrong)


def test_listings_follow_the_same_rule(app: Flask, world: World) -> None:
    """visible_photos and first_thumbnails (the trace page, lists) agree with the matrix."""
    for viewer in ("anonymous", "other", "uploader", "author", "curator_in", "curator_out",
                   "librarian"):  # fmt: skip
        user = world.people.get(viewer)
        for kind in ("normal", "protected"):
            trace = world.traces[kind]
            with app.test_request_context():
                shown = {p.id for p in visible_photos(trace, user)}
                first = first_thumbnails([trace.id], user)
            want = {
                photo.id
                for (k, state, public), (photo, _files) in world.photos.items()
                if k == kind
                and state != PhotoStatus.STAGED  # staged uploads belong to no trace yet
                and expected(viewer, state, kind == "protected", public)
            }
            assert shown == want, (viewer, kind)
            if want:
                assert first[trace.id].id in want
            else:
                assert trace.id not in first


def test_headers_of_a_public_photo(world: World) -> None:
    """nosniff, a sandboxing CSP, an inline name, the stored type; shared caches may keep it."""
    photo, files = world.photos[("normal", PhotoStatus.APPROVED, False)]
    response = _get(world, "anonymous", photo_path(photo.id, "display"), Accept="text/html")
    assert response.status_code == 200
    assert response.mimetype == "image/webp"  # from what was stored, whatever was asked
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="photo-{photo.id}-display.webp"'
    )
    assert response.headers["Cache-Control"] == "public, no-cache"
    etag = response.headers["ETag"]
    assert etag and photo.storage_key not in etag  # the key is never shown
    again = _get(world, "anonymous", photo_path(photo.id, "display"), **{"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    thumb = _get(world, "anonymous", photo_path(photo.id, "thumb"))
    assert thumb.headers["ETag"] != etag and thumb.get_data() == files["thumb"]


@pytest.mark.parametrize(
    ("kind", "state", "viewer"),
    [
        ("protected", PhotoStatus.APPROVED, "author"),
        ("protected", PhotoStatus.APPROVED, "partner"),
        ("normal", PhotoStatus.PENDING, "uploader"),
        ("normal", PhotoStatus.REJECTED, "librarian"),
    ],
)
def test_photos_not_for_everyone_are_never_kept_by_shared_caches(
    world: World, kind: str, state: PhotoStatus, viewer: str
) -> None:
    """Protected, pending and rejected photos are served private and no-store."""
    photo, _files = world.photos[(kind, state, False)]
    response = _get(world, viewer, photo_path(photo.id, "thumb"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_unknown_sizes_and_missing_originals_are_404(world: World) -> None:
    """Only thumb, display and (when kept) original exist; no path is ever read from input."""
    photo, _files = world.photos[("normal", PhotoStatus.APPROVED, False)]
    for size in ("original", "large", "..", "display.webp", "thumb%2F..%2F..%2Fetc"):
        response = _get(world, "librarian", f"/photos/{photo.id}/{size}")
        assert response.status_code == 404, size


def test_originals_only_for_the_uploader_and_moderators(
    app: Flask, session: Session, world: World
) -> None:
    """A kept original is served to the uploader and the trace's moderators, nobody else."""
    from app.media.storage import storage_for

    photo, _files = world.photos[("normal", PhotoStatus.APPROVED, False)]
    original = b"\xff\xd8" + b"original-bytes" + b"\xff\xd9"
    storage_for(app).put(f"{photo.storage_key}/original.jpg", original, "image/jpeg")
    photo.has_original = True
    session.commit()
    for viewer in VIEWERS:
        response = _get(world, viewer, photo_path(photo.id, "original"))
        if viewer in ("uploader", "curator_in", "librarian"):
            assert response.status_code == 200, viewer
            assert response.get_data() == original
            assert response.mimetype == "image/jpeg"
            assert response.headers["Content-Disposition"] == (
                f'inline; filename="photo-{photo.id}-original.jpg"'
            )
            assert response.headers["Cache-Control"] == "private, no-store"
        else:
            assert response.status_code == 404, viewer


def test_a_revoked_right_takes_effect_on_the_next_request(session: Session, world: World) -> None:
    """A curator whose membership is revoked no longer gets the pending photos."""
    from sqlalchemy import func, update

    photo, _files = world.photos[("normal", PhotoStatus.PENDING, False)]
    assert _get(world, "curator_in", photo_path(photo.id, "thumb")).status_code == 200
    session.execute(
        update(Membership)
        .where(Membership.user_id == world.people["curator_in"].id)
        .values(revoked_at=func.now())
    )
    session.commit()
    assert _get(world, "curator_in", photo_path(photo.id, "thumb")).status_code == 404
