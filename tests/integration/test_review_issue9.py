"""Review of issue 9 (photos): defects a resident, a librarian or an attacker would hit.

Each test failed before its fix: real PostGIS, real files in the app's MEDIA_DIR, real routes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import (
    Comment,
    Membership,
    MembershipRole,
    Photo,
    PhotoStatus,
    Project,
    Trace,
    User,
)
from app.photos.queries import photo_path
from tests.conftest import log_in
from tests.integration.photo_support import jpeg, make_photo


@pytest.fixture
def place(
    session: Session, make_user: Callable[..., User], make_project: Callable[..., Project],
    make_trace: Callable[..., Trace],
) -> dict[str, Any]:  # fmt: skip
    """A project with its librarian, a resident with an approved trace, and a neighbour."""
    librarian = make_user(name="Lise Bibliotekar")
    resident = make_user(name="Rolf Resident")
    neighbour = make_user(name="Nina Nabo")
    project = make_project()
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    trace = make_trace(author=resident, project=project, title="Hustuft ved elva")
    return {
        "librarian": librarian, "resident": resident, "neighbour": neighbour,
        "project": project, "trace": trace,
    }  # fmt: skip


def _client(app: Flask, user: User) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, log_in(client, user.email)


def _status(session: Session, photo_id: int) -> PhotoStatus | None:
    session.expire_all()
    photo = session.get(Photo, photo_id)
    return photo.status if photo is not None else None


def _post_comment_with_photo(client: FlaskClient, token: str, trace: Trace) -> Any:
    return client.post(
        f"/traces/{trace.id}/comments",
        data={"csrf_token": token, "body": "Her lå det en bu.", "photo_caption": "Buet i 1950",
              "photo": (io.BytesIO(jpeg(120, 90)), "bu.jpg")},
        content_type="multipart/form-data",
    )  # fmt: skip


def _comment_photo(session: Session, trace: Trace, author: User) -> Photo:
    comment = session.execute(
        select(Comment).where(Comment.trace_id == trace.id, Comment.author_id == author.id)
    ).scalar_one()
    return session.execute(select(Photo).where(Photo.comment_id == comment.id)).scalar_one()


def test_an_uploader_rewriting_an_approved_photo_sends_it_back_to_a_librarian(
    app: Flask, session: Session, place: dict[str, Any]
) -> None:
    """Approved text may not be swapped unseen: the public sees it again once re-approved.

    The trace itself cannot be edited by its author once approved (AUTHOR_EDITABLE); a photo's
    caption (its alt text, in exports and the OGC API) must not be the way around that.
    """
    trace = place["trace"]
    photo, _files = make_photo(app, session, trace, place["resident"], PhotoStatus.APPROVED)
    anonymous = app.test_client()
    assert anonymous.get(photo_path(photo.id, "thumb")).status_code == 200
    author, token = _client(app, place["resident"])
    edited = author.post(
        f"/photos/{photo.id}/edit",
        data={"csrf_token": token, "caption": "Kjøp billige klokker her", "credit": "Rolf"},
        headers={"Accept": "application/json"},
    )
    assert edited.status_code == 200, edited.get_data(as_text=True)
    assert edited.json["status"] == "pending"
    assert _status(session, photo.id) == PhotoStatus.PENDING
    assert anonymous.get(photo_path(photo.id, "thumb")).status_code == 404
    page = anonymous.get(f"/traces/{trace.id}").get_data(as_text=True)
    assert "Kjøp billige klokker" not in page
    # The author still sees it, and the librarian decides on it again.
    assert author.get(photo_path(photo.id, "thumb")).status_code == 200
    librarian, ltoken = _client(app, place["librarian"])
    decided = librarian.post(
        f"/photos/{photo.id}/decide", data={"csrf_token": ltoken, "action": "approve"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert decided.status_code == 200
    assert anonymous.get(photo_path(photo.id, "thumb")).status_code == 200


def test_a_librarian_editing_an_approved_photo_keeps_it_approved(
    app: Flask, session: Session, place: dict[str, Any]
) -> None:
    """A moderator's own change needs no second look."""
    photo, _files = make_photo(app, session, place["trace"], place["resident"])
    librarian, token = _client(app, place["librarian"])
    edited = librarian.post(
        f"/photos/{photo.id}/edit", data={"csrf_token": token, "caption": "Tufta fra sør"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert edited.status_code == 200, edited.get_data(as_text=True)
    assert _status(session, photo.id) == PhotoStatus.APPROVED


def test_a_comment_photo_is_not_refused_because_the_trace_has_its_ten(
    app: Flask, session: Session, place: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A comment's photo is not one of the trace's photos, so the trace's limit is not its."""
    monkeypatch.setitem(app.config, "PHOTOS_PER_TRACE", 1)
    trace = place["trace"]
    make_photo(app, session, trace, place["resident"], PhotoStatus.APPROVED)
    neighbour, token = _client(app, place["neighbour"])
    response = _post_comment_with_photo(neighbour, token, trace)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    photo = _comment_photo(session, trace, place["neighbour"])
    assert photo.status == PhotoStatus.PENDING


def test_a_pending_comment_photo_is_not_shown_to_the_traces_author(
    app: Flask, session: Session, place: dict[str, Any]
) -> None:
    """The trace's author does not read others' waiting comments, nor see their photos."""
    trace = place["trace"]
    neighbour, token = _client(app, place["neighbour"])
    assert _post_comment_with_photo(neighbour, token, trace).status_code == 302
    photo = _comment_photo(session, trace, place["neighbour"])
    author, _token = _client(app, place["resident"])
    librarian, _ltoken = _client(app, place["librarian"])
    for size in ("thumb", "display"):
        assert author.get(photo_path(photo.id, size)).status_code == 404
        assert neighbour.get(photo_path(photo.id, size)).status_code == 200
        assert librarian.get(photo_path(photo.id, size)).status_code == 200
    assert 'alt="Buet i 1950"' not in author.get(f"/traces/{trace.id}").get_data(as_text=True)


def test_a_comment_photo_caption_is_cleaned_like_every_other_caption(
    app: Flask, session: Session, place: dict[str, Any]
) -> None:
    """No bidi overrides or control characters in alt texts, whichever form sent them."""
    trace = place["trace"]
    neighbour, token = _client(app, place["neighbour"])
    response = neighbour.post(
        f"/traces/{trace.id}/comments",
        data={"csrf_token": token, "body": "Her lå det en bu.",
              "photo_caption": " Buet\u202e i  1950 ",
              "photo": (io.BytesIO(jpeg(120, 90)), "bu.jpg")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert _comment_photo(session, trace, place["neighbour"]).caption == "Buet i 1950"


def test_a_comment_photo_is_not_published_before_its_comment(
    app: Flask, session: Session, place: dict[str, Any]
) -> None:
    """Approving the photo alone (its own decide form) would show it while the comment waits."""
    trace = place["trace"]
    neighbour, token = _client(app, place["neighbour"])
    assert _post_comment_with_photo(neighbour, token, trace).status_code == 302
    photo = _comment_photo(session, trace, place["neighbour"])
    librarian, ltoken = _client(app, place["librarian"])
    decided = librarian.post(
        f"/photos/{photo.id}/decide", data={"csrf_token": ltoken, "action": "approve"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert decided.status_code == 422, decided.get_data(as_text=True)
    assert _status(session, photo.id) == PhotoStatus.PENDING
    assert app.test_client().get(photo_path(photo.id, "thumb")).status_code == 404
    # Rejecting it alone is fine: less is shown, never more.
    rejected = librarian.post(
        f"/photos/{photo.id}/decide", data={"csrf_token": ltoken, "action": "reject"},
        headers={"Accept": "application/json"},
    )  # fmt: skip
    assert rejected.status_code == 200
