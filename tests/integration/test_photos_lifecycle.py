"""A photo's life: staged, attached, added later, moderated, edited, removed, and its files gone.

Real PostGIS (the triggers that queue files), real files in the app's MEDIA_DIR, the real
routes and `flask media sweep`; time is moved by the due dates and the staged uploads' age.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.db import db
from app.errors import ValidationFailed
from app.media.storage import storage_for
from app.models import (
    AuditEvent,
    MediaGarbage,
    Membership,
    MembershipRole,
    Notification,
    Photo,
    PhotoStatus,
    Project,
    Revision,
    Trace,
    TraceStatus,
    User,
)
from app.photos import operations
from app.photos.operations import PhotoSpec, parse_photo_specs
from app.photos.queries import photo_path
from tests.conftest import log_in
from tests.integration.photo_support import english, jpeg, make_photo, media_files


def _files_of(app: Flask, photo_key: str) -> set[str]:
    return {name for name in media_files(app) if name.startswith(photo_key + "/")}


def _sweep(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["media", "sweep"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def place(
    session: Session,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    make_trace: Callable[..., Trace],
) -> dict[str, object]:
    """A project with a librarian, an author and an approved trace of theirs."""
    project = make_project()
    librarian = make_user()
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    author = make_user()
    trace = make_trace(project=project, author=author)
    return {"project": project, "librarian": librarian, "author": author, "trace": trace}


# --- Attaching ------------------------------------------------------------------------------


def test_parse_photo_specs_reads_the_form_and_api_list(app: Flask) -> None:
    """The JSON list of the form and the API; every problem named under 'photos'."""
    with app.test_request_context():
        specs = parse_photo_specs(
            '[{"id": 5, "caption": "  Hustuft\\u200b ", "credit": "Kari", '
            '"licence": "CC0-1.0", "taken_on": "2026-05-01"}, {"id": 6}]'
        )
        assert specs == [
            PhotoSpec(5, "Hustuft", "Kari", "CC0-1.0", datetime(2026, 5, 1).date()),
            PhotoSpec(6, "", "", "", None),
        ]
        assert parse_photo_specs("") == [] and parse_photo_specs(None) == []
        future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
        for raw in (
            "not json",
            {"id": 1},
            [{"id": "1"}],
            [{"id": True}],
            [{"id": 1}, {"id": 1}],
            [{"id": 1, "licence": "all-rights-reserved"}],
            [{"id": 1, "taken_on": future}],
            [{"id": 1, "taken_on": "01.05.2026"}],
            [{"id": 1, "caption": "x" * 301}],
            [{"id": n} for n in range(1, 12)],
        ):
            with pytest.raises(ValidationFailed) as caught:
                parse_photo_specs(raw)
            assert list(caught.value.errors) == ["photos"], raw


def test_attach_makes_staged_uploads_the_traces_pending_photos(
    app: Flask, session: Session, place: dict
) -> None:
    """Positions follow the existing photos; the licence defaults to the trace's."""
    author, trace = place["author"], place["trace"]
    existing, _ = make_photo(app, session, trace, author, PhotoStatus.APPROVED, position=3)
    first, _ = make_photo(app, session, None, author, PhotoStatus.STAGED)
    second, _ = make_photo(app, session, None, author, PhotoStatus.STAGED)
    trace.licence = "CC0-1.0"
    session.commit()
    with app.test_request_context():
        attached = operations.attach_photos(
            db.session.get(Trace, trace.id),
            db.session.get(User, author.id),
            [PhotoSpec(second.id, caption="Second"), PhotoSpec(first.id, licence="CC-BY-4.0")],
        )
        db.session.commit()
    assert [p.id for p in attached] == [second.id, first.id]
    rows = {
        p.id: p for p in session.execute(select(Photo).where(Photo.trace_id == trace.id)).scalars()
    }
    session.expire_all()
    assert rows[second.id].status == PhotoStatus.PENDING and rows[second.id].position == 4
    assert rows[second.id].caption == "Second" and rows[second.id].licence == "CC0-1.0"
    assert rows[first.id].position == 5 and rows[first.id].licence == "CC-BY-4.0"
    assert existing.id in rows


def test_attach_refuses_others_uploads_used_ones_and_too_many(
    app: Flask, session: Session, place: dict, make_user: Callable[..., User]
) -> None:
    """Only one's own staged uploads, and no more than PHOTOS_PER_TRACE pending+approved."""
    author, trace = place["author"], place["trace"]
    stranger = make_user()
    theirs, _ = make_photo(app, session, None, stranger, PhotoStatus.STAGED)
    used, _ = make_photo(app, session, trace, author, PhotoStatus.PENDING)
    with app.test_request_context():
        for photo_id in (theirs.id, used.id, 2_000_000_000):
            with pytest.raises(ValidationFailed) as caught:
                operations.attach_photos(
                    db.session.get(Trace, trace.id),
                    db.session.get(User, author.id),
                    [PhotoSpec(photo_id)],
                )
            assert "photos" in caught.value.errors
            db.session.rollback()
    limit = app.config["PHOTOS_PER_TRACE"]
    for position in range(1, limit):
        make_photo(app, session, trace, author, PhotoStatus.APPROVED, position=position)
    # Rejected photos do not count against the limit.
    make_photo(app, session, trace, author, PhotoStatus.REJECTED, position=99)
    one_more, _ = make_photo(app, session, None, author, PhotoStatus.STAGED)
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as caught:
            operations.attach_photos(
                db.session.get(Trace, trace.id),
                db.session.get(User, author.id),
                [PhotoSpec(one_more.id)],
            )
        assert str(limit) in caught.value.errors["photos"][0]
        db.session.rollback()


def test_a_moderator_attaching_approves_at_once(app: Flask, session: Session, place: dict) -> None:
    """Photos a librarian adds to a trace they moderate need no second look."""
    librarian, trace = place["librarian"], place["trace"]
    staged, _ = make_photo(app, session, None, librarian, PhotoStatus.STAGED)
    with app.test_request_context():
        operations.add_photos(
            db.session.get(Trace, trace.id),
            db.session.get(User, librarian.id),
            [PhotoSpec(staged.id)],
        )
        db.session.commit()
    session.expire_all()
    photo = session.get(Photo, staged.id)
    assert photo.status == PhotoStatus.APPROVED and photo.decided_by_id == librarian.id


# --- Added later through the trace page's form --------------------------------------------------


def test_adding_a_photo_later_is_a_revision_and_waits_alone(
    app: Flask, session: Session, client: FlaskClient, place: dict
) -> None:
    """The plain form adds a pending photo; the trace gets a new version and revision."""
    author, trace = place["author"], place["trace"]
    version = trace.version
    english(client)
    token = log_in(client, author.email)
    response = client.post(
        f"/traces/{trace.id}/photos",
        data={
            "csrf_token": token,
            "file": (__import__("io").BytesIO(jpeg(900, 600)), "hustuft.jpg", "image/jpeg"),
            "caption": "Hustufta sett fra nord",
            "credit": "Kari Nordmann",
            "licence": "CC0-1.0",
            "taken_on": "2026-05-01",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    photo = session.execute(select(Photo).where(Photo.trace_id == trace.id)).scalar_one()
    assert response.headers["Location"].endswith(f"/traces/{trace.id}#photo-{photo.id}")
    assert photo.status == PhotoStatus.PENDING
    assert (photo.caption, photo.credit, photo.licence) == (
        "Hustufta sett fra nord", "Kari Nordmann", "CC0-1.0"
    )  # fmt: skip
    assert photo.taken_on.isoformat() == "2026-05-01"
    session.expire_all()
    assert session.get(Trace, trace.id).version == version + 1
    revision = (
        session.execute(
            select(Revision).where(Revision.trace_id == trace.id).order_by(Revision.id.desc())
        )
        .scalars()
        .first()
    )
    assert revision.event == {"kind": "photos_added", "count": 1} and revision.comment == ""
    assert revision.version == version + 1
    # Pending: the author sees it, the public does not (yet).
    assert client.get(photo_path(photo.id, "thumb")).status_code == 200
    assert client.application.test_client().get(photo_path(photo.id, "thumb")).status_code == 404


def test_others_may_not_add_photos_to_a_trace(
    app: Flask, session: Session, client: FlaskClient, place: dict,
    make_user: Callable[..., User],
) -> None:  # fmt: skip
    """A resident who is neither author nor moderator is refused before anything is stored."""
    before = media_files(app)
    token = log_in(client, make_user().email)
    response = client.post(
        f"/traces/{place['trace'].id}/photos",
        data={"csrf_token": token, "file": (__import__("io").BytesIO(jpeg()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert media_files(app) == before
    assert session.execute(select(func.count(Photo.id))).scalar_one() == 0


# --- Moderation -----------------------------------------------------------------------------


def test_approving_makes_a_photo_public(
    app: Flask, session: Session, client: FlaskClient, place: dict
) -> None:
    """The librarian approves in the gallery's form; everyone is served it after."""
    photo, files = make_photo(app, session, place["trace"], place["author"], PhotoStatus.PENDING)
    anonymous = app.test_client()
    assert anonymous.get(photo_path(photo.id, "display")).status_code == 404
    token = log_in(client, place["librarian"].email)
    response = client.post(
        f"/photos/{photo.id}/decide",
        data={"csrf_token": token, "action": "approve", "next": f"/traces/{place['trace'].id}"},
    )
    assert response.status_code == 303 and response.headers["Location"].endswith(
        f"/traces/{place['trace'].id}"
    )
    served = anonymous.get(photo_path(photo.id, "display"))
    assert served.status_code == 200 and served.get_data() == files["display"]
    event = session.execute(
        select(AuditEvent).where(
            AuditEvent.target_type == "photo", AuditEvent.target_id == photo.id
        )
    ).scalar_one()
    assert (event.action, event.from_state, event.to_state) == (
        "photo.approved", "pending", "approved"
    )  # fmt: skip


def test_protected_site_photo_is_public_only_by_a_moderators_word(
    app: Flask, session: Session, client: FlaskClient, place: dict,
    make_trace: Callable[..., Trace],
) -> None:  # fmt: skip
    """Approved alone it stays with staff and partners; 'does not reveal the place' opens it."""
    trace = make_trace(project=place["project"], author=place["author"],
                       sensitivity_override=True)  # fmt: skip
    photo, _files = make_photo(app, session, trace, place["author"], PhotoStatus.PENDING)
    anonymous = app.test_client()
    token = log_in(client, place["librarian"].email)
    # The gallery's form on a protected trace: the checkbox left unticked.
    client.post(f"/photos/{photo.id}/decide", data={"csrf_token": token, "action": "approve"})
    assert anonymous.get(photo_path(photo.id, "thumb")).status_code == 404
    response = client.post(
        f"/photos/{photo.id}/decide",
        data={"csrf_token": token, "action": "approve", "public_when_protected": "1"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 200 and response.json["public_when_protected"] is True
    assert anonymous.get(photo_path(photo.id, "thumb")).status_code == 200


def test_rejected_photos_files_go_after_the_grace_period(
    app: Flask, session: Session, client: FlaskClient, place: dict
) -> None:
    """Rejecting queues the files MEDIA_REJECTED_DAYS ahead; the sweep removes them then."""
    photo, _files = make_photo(app, session, place["trace"], place["author"], PhotoStatus.PENDING)
    key = photo.storage_key
    token = log_in(client, place["librarian"].email)
    response = client.post(
        f"/photos/{photo.id}/decide",
        data={"csrf_token": token, "action": "reject", "reason": "Shows a neighbour's house"},
    )
    assert response.status_code == 303
    due = session.execute(
        select(MediaGarbage.due_at).where(MediaGarbage.storage_key == key)
    ).scalar_one()
    days = app.config["MEDIA_REJECTED_DAYS"]
    assert timedelta(days=days) - timedelta(minutes=5) < due - datetime.now(UTC)
    # The uploader is told, with the reason.
    note = session.execute(
        select(Notification).where(Notification.user_id == place["author"].id)
    ).scalar_one()
    assert note.kind == "photo.rejected" and "neighbour" in note.params["message"]
    # Within the grace period the sweep leaves the files alone (and the author still sees it).
    _sweep(app)
    assert _files_of(app, key) == {f"{key}/thumb.webp", f"{key}/display.webp"}
    # Time passes: the grace period is over.
    session.execute(
        update(MediaGarbage)
        .where(MediaGarbage.storage_key == key)
        .values(due_at=func.now() - timedelta(seconds=1))
    )
    session.commit()
    assert "Removed the files of 1 photos." in _sweep(app)
    assert _files_of(app, key) == set()
    assert session.execute(select(Photo).where(Photo.id == photo.id)).first() is None
    assert session.execute(select(func.count(MediaGarbage.id))).scalar_one() == 0


def test_a_photo_approved_again_keeps_its_files(
    app: Flask, session: Session, client: FlaskClient, place: dict
) -> None:
    """A rejection taken back in the grace period cancels the removal."""
    photo, _files = make_photo(app, session, place["trace"], place["author"], PhotoStatus.PENDING)
    token = log_in(client, place["librarian"].email)
    client.post(f"/photos/{photo.id}/decide",
                data={"csrf_token": token, "action": "reject"})  # fmt: skip
    client.post(f"/photos/{photo.id}/decide",
                data={"csrf_token": token, "action": "approve"})  # fmt: skip
    with app.app_context():
        operations.remove_due_files(now=datetime.now(UTC) + timedelta(days=30))
        db.session.commit()
    assert len(_files_of(app, photo.storage_key)) == 2
    session.expire_all()
    assert session.get(Photo, photo.id).status == PhotoStatus.APPROVED


def test_only_the_traces_moderators_decide(
    app: Flask, session: Session, client: FlaskClient, place: dict
) -> None:
    """The author may not approve their own photo."""
    photo, _files = make_photo(app, session, place["trace"], place["author"], PhotoStatus.PENDING)
    token = log_in(client, place["author"].email)
    response = client.post(
        f"/photos/{photo.id}/decide", data={"csrf_token": token, "action": "approve"}
    )
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Photo, photo.id).status == PhotoStatus.PENDING


# --- Editing and removing -------------------------------------------------------------------


def test_the_uploader_edits_caption_credit_licence_and_date(
    app: Flask, session: Session, client: FlaskClient, place: dict,
    make_user: Callable[..., User],
) -> None:  # fmt: skip
    """Cleaned text, a licence from the vocabulary, no date in the future; a revision."""
    photo, _files = make_photo(app, session, place["trace"], place["author"], PhotoStatus.APPROVED)
    token = log_in(client, place["author"].email)
    response = client.post(
        f"/photos/{photo.id}/edit",
        data={"csrf_token": token, "caption": " Tuft\u202e i lyngen ", "credit": "Ola",
              "licence": "CC0-1.0", "taken_on": "2025-08-14"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["caption"] == "Tuft i lyngen"  # the bidi override is gone
    assert response.json["licence"] == "CC0-1.0" and response.json["taken_on"] == "2025-08-14"
    revision = session.execute(
        select(Revision).where(Revision.trace_id == place["trace"].id)
    ).scalar_one()
    assert (revision.event, revision.comment) == ({"kind": "photo_changed"}, "")
    bad = client.post(
        f"/photos/{photo.id}/edit",
        data={"csrf_token": token, "licence": "all-rights-reserved", "taken_on": "2999-01-01"},
        headers={"Accept": "application/json"},
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"licence", "taken_on"}
    other = app.test_client()
    token = log_in(other, make_user().email)
    refused = other.post(f"/photos/{photo.id}/edit", data={"csrf_token": token, "caption": "x"})
    # The uploader's edit sent the photo back to moderation, so to anyone else it is now the
    # same 404 as a photo that does not exist; either way nothing changed.
    assert refused.status_code == 404
    session.expire_all()
    assert session.get(Photo, photo.id).caption != "x"


def test_removing_a_photo_removes_its_files_right_after_the_commit(
    app: Flask, session: Session, client: FlaskClient, place: dict
) -> None:
    """No sweep needed: the files are gone when the response has been sent."""
    photo, _files = make_photo(app, session, place["trace"], place["author"], PhotoStatus.APPROVED)
    key = photo.storage_key
    assert len(_files_of(app, key)) == 2
    token = log_in(client, place["author"].email)
    response = client.post(
        f"/photos/{photo.id}/delete",
        data={"csrf_token": token, "next": f"/traces/{place['trace'].id}#photos"},
    )
    assert response.status_code == 303
    assert _files_of(app, key) == set()
    assert session.execute(select(func.count(MediaGarbage.id))).scalar_one() == 0
    assert app.test_client().get(photo_path(photo.id, "thumb")).status_code == 404
    revision = session.execute(
        select(Revision).where(Revision.trace_id == place["trace"].id)
    ).scalar_one()
    assert (revision.event, revision.comment) == ({"kind": "photo_removed"}, "")


def test_a_failed_removal_keeps_the_files(
    app: Flask, session: Session, client: FlaskClient, place: dict,
    make_user: Callable[..., User],
) -> None:  # fmt: skip
    """Someone who may not remove the photo changes nothing, files included."""
    photo, _files = make_photo(app, session, place["trace"], place["author"], PhotoStatus.APPROVED)
    token = log_in(client, make_user().email)
    response = client.post(f"/photos/{photo.id}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    assert len(_files_of(app, photo.storage_key)) == 2
    assert session.get(Photo, photo.id) is not None


def test_deleting_a_trace_removes_its_photos_files(
    app: Flask, session: Session, place: dict
) -> None:
    """The database cascade queues every photo's files; they are gone at the next sweep."""
    trace = place["trace"]
    keys = [
        make_photo(app, session, trace, place["author"], status, position=n)[0].storage_key
        for n, status in enumerate((PhotoStatus.APPROVED, PhotoStatus.PENDING,
                                    PhotoStatus.REJECTED))
    ]  # fmt: skip
    session.execute(delete(Trace).where(Trace.id == trace.id))
    session.commit()
    queued = set(session.execute(select(MediaGarbage.storage_key)).scalars())
    assert queued == set(keys)
    _sweep(app)
    for key in keys:
        assert _files_of(app, key) == set()
    assert session.execute(select(func.count(MediaGarbage.id))).scalar_one() == 0


def test_a_trace_deleted_through_the_app_loses_its_files_after_the_commit(
    app: Flask, session: Session, place: dict, make_trace: Callable[..., Trace],
    make_user: Callable[..., User],
) -> None:  # fmt: skip
    """A flush deleting a trace (or a user, comment, photo) asks for removal after commit."""
    user = make_user()
    trace = make_trace(project=place["project"], author=user, status=TraceStatus.PENDING)
    photo, _files = make_photo(app, session, trace, user, PhotoStatus.PENDING)
    staged, _files = make_photo(app, session, None, user, PhotoStatus.STAGED)
    with app.test_request_context():
        # As an erasure would: the trace's photos cascade with it; the staged upload is not
        # the trace's and waits for the staged sweep.
        db.session.delete(db.session.get(Trace, trace.id))
        db.session.flush()
        from flask import g

        assert g.get(operations.GARBAGE_FLAG) is True
        db.session.commit()
        operations.remove_files_after_commit(app, queued=True)
    assert _files_of(app, photo.storage_key) == set()
    assert len(_files_of(app, staged.storage_key)) == 2


# --- Forgotten uploads and orphaned files ---------------------------------------------------


def test_staged_uploads_never_attached_go_after_media_staged_hours(
    app: Flask, session: Session, place: dict
) -> None:
    """The sweep removes old staged uploads, row and files, and leaves fresh ones."""
    old, _ = make_photo(app, session, None, place["author"], PhotoStatus.STAGED)
    fresh, _ = make_photo(app, session, None, place["author"], PhotoStatus.STAGED)
    hours = app.config["MEDIA_STAGED_HOURS"]
    session.execute(
        update(Photo)
        .where(Photo.id == old.id)
        .values(created_at=func.now() - timedelta(hours=hours, minutes=1))
    )
    session.commit()
    _sweep(app)
    assert _files_of(app, old.storage_key) == set()
    assert session.execute(select(Photo.id).where(Photo.id == old.id)).first() is None
    assert len(_files_of(app, fresh.storage_key)) == 2
    assert session.get(Photo, fresh.id) is not None


def test_files_without_a_photo_row_go_after_an_hour(app: Flask, session: Session) -> None:
    """Files a failed commit left behind (no row) are removed; a fresh upload's are not."""
    storage = storage_for(app)
    old_key, new_key = operations.new_storage_key(), operations.new_storage_key()
    for key in (old_key, new_key):
        storage.put(f"{key}/thumb.webp", b"RIFF-orphan", "image/webp")
    root = app.config["MEDIA_DIR"]
    hour_ago = time.time() - operations.ORPHAN_SECONDS - 60
    for path in (os.path.join(root, old_key, "thumb.webp"), os.path.join(root, old_key)):
        os.utime(path, (hour_ago, hour_ago))
    _sweep(app)
    assert _files_of(app, old_key) == set()
    assert _files_of(app, new_key) == {f"{new_key}/thumb.webp"}
    storage.delete_prefix(new_key)
