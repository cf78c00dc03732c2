"""One home for a trace: new, edit and revert in app/traces, photos on create and edit, and
the history showing photos added and removed (revisions record them; reverts never bring
removed photos back).

Staged photos are made as rows (what POST /api/photos leaves behind: an upload of its
uploader, not on a trace yet); attaching them is the photos backend's attach_photos, called
inside the same transaction as the trace's change.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import db
from app.models import (
    Membership,
    MembershipRole,
    Photo,
    PhotoStatus,
    Project,
    Revision,
    Trace,
    TraceStatus,
    User,
)
from app.photos.operations import remove_photo
from tests.conftest import csrf_from, log_in

ROOT = Path(__file__).resolve().parents[2]
ALTA = {"type": "Point", "coordinates": [23.2715, 69.9689]}


def english(client: FlaskClient) -> None:
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"


@pytest.fixture
def staged(session: Session) -> Callable[..., Photo]:
    """Factory: a staged upload of ``user`` (a photo row with no trace yet)."""

    def make(user: User) -> Photo:
        photo = Photo(
            uploader_id=user.id,
            status=PhotoStatus.STAGED,
            storage_key=secrets.token_urlsafe(32),
            image_format="webp",
            source_format="jpeg",
            width=1600,
            height=1200,
            thumb_width=320,
            thumb_height=240,
            stored_bytes=12345,
        )
        session.add(photo)
        session.commit()
        return photo

    return make


@pytest.fixture
def project(make_project) -> Project:
    return make_project(slug="alta-home")


def spec(photo: Photo, caption: str, **extra: Any) -> dict[str, Any]:
    return {"id": photo.id, "caption": caption, "credit": "Kari", "licence": "", **extra}


def post_new(client: FlaskClient, **fields: str) -> Any:
    token = csrf_from(client.get("/traces/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "project": "alta-home",
        "title": "Fangstgrop ved Storvatnet",
        "licence": "CC-BY-4.0",
        "geometry": json.dumps(ALTA),
        "coord_system": "wgs84",
        "coord_shape": "point",
        "coordinates": "",
        **fields,
    }
    return client.post("/traces/new", data=data)


def edit_form(client: FlaskClient, trace_id: int) -> dict[str, str]:
    """The edit form's fields as loaded (hidden ones included)."""
    page = client.get(f"/traces/{trace_id}/edit").get_data(as_text=True)
    fields = {"csrf_token": csrf_from(page)}
    for name in ("version", "geometry"):
        match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', page)
        assert match, name
        fields[name] = match.group(1).replace("&#34;", '"').replace("&quot;", '"')
    match = re.search(r'<input[^>]*id="title"[^>]*value="([^"]*)"', page) or re.search(
        r'<input[^>]*value="([^"]*)"[^>]*id="title"', page
    )
    fields["title"] = match.group(1) if match else ""
    fields.update(licence="CC-BY-4.0", coord_system="wgs84", coord_shape="point")
    return fields


def trace_of(session: Session, response: Any) -> Trace:
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.fullmatch(r"/traces/(\d+)", urlsplit(response.headers["Location"]).path)
    assert match
    session.expire_all()
    trace = session.get(Trace, int(match.group(1)))
    assert trace is not None
    return trace


def revisions(session: Session, trace: Trace) -> list[Revision]:
    session.expire_all()
    return list(
        session.execute(
            select(Revision).where(Revision.trace_id == trace.id).order_by(Revision.version)
        ).scalars()
    )


# --- the home ------------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_traces_import_nothing_from_revisions() -> None:
    for path in sorted((ROOT / "app" / "traces").glob("*.py")):
        offending = {m for m in _imports(path) if m.startswith("app.revisions")}
        assert not offending, f"{path.name} imports {offending}"


def test_revisions_keep_the_history_alone(app: Flask) -> None:
    endpoints = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    revision_views = {e for e in endpoints if e.startswith("revisions.")}
    assert revision_views == {"revisions.history"}
    assert endpoints["traces.edit"] == "/traces/<int:trace_id>/edit"
    assert endpoints["traces.revert"] == "/traces/<int:trace_id>/revert/<int:version>"
    assert not (ROOT / "app" / "revisions" / "forms.py").exists()
    # One drawn-or-typed parser and one way of showing errors: defined once, in traces/forms.
    definitions = [
        (path.name, node.name)
        for path in (ROOT / "app").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef)
        and node.name in {"submitted_geometry", "_geometry_from", "show_errors"}
    ]
    assert definitions.count(("forms.py", "submitted_geometry")) == 1
    assert ("forms.py", "show_errors") in definitions
    assert all(name != "_geometry_from" for _, name in definitions)


def test_no_template_names_the_old_endpoints() -> None:
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "revisions.edit" not in text and "revisions.revert" not in text, path


# --- photos on create ------------------------------------------------------------------------


def test_new_trace_with_photos_attaches_them_and_records_them(
    client: FlaskClient, session: Session, project: Project, make_user, login, staged
) -> None:
    user = make_user()
    login(user)
    first, second = staged(user), staged(user)
    photos = json.dumps([spec(first, "Gropa sett fra nord"), spec(second, "Kanten")])
    trace = trace_of(session, post_new(client, photos=photos))
    stored = (
        session.execute(select(Photo).where(Photo.trace_id == trace.id).order_by(Photo.position))
        .scalars()
        .all()
    )
    assert [p.id for p in stored] == [first.id, second.id]
    assert all(p.status == PhotoStatus.PENDING for p in stored)
    assert [p.caption for p in stored] == ["Gropa sett fra nord", "Kanten"]
    assert stored[0].licence == trace.licence  # empty licence: the trace's
    (revision,) = revisions(session, trace)
    assert revision.snapshot["photos"] == [
        {"id": first.id, "caption": "Gropa sett fra nord"},
        {"id": second.id, "caption": "Kanten"},
    ]


def test_someone_elses_photo_refuses_the_whole_submission(
    client: FlaskClient, session: Session, project: Project, make_user, login, staged
) -> None:
    user, other = make_user(), make_user()
    login(user)
    english(client)
    mine, theirs = staged(user), staged(other)
    before = session.execute(select(func.count()).select_from(Trace)).scalar_one()
    response = post_new(client, photos=json.dumps([spec(mine, "Min"), spec(theirs, "Ikke min")]))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="photos-error"' in page
    assert str(theirs.id) in re.search(r'id="photos-error">(.*?)</p>', page, re.S).group(1)
    assert 'href="#photos-section"' in page  # the summary leads to the photos
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Trace)).scalar_one() == before
    assert session.get(Photo, mine.id).status == PhotoStatus.STAGED  # nothing half-stored
    assert session.get(Photo, mine.id).trace_id is None


def test_unreadable_photos_field_is_a_field_error_with_the_others(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    login(make_user())
    english(client)
    response = post_new(client, photos="[{not json", geometry="")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="photos-error"' in page
    assert "Mark the place on the map" in page  # every problem at once


def test_api_takes_properties_photos(
    client: FlaskClient, session: Session, project: Project, make_user, login, staged
) -> None:
    user = make_user()
    token = login(user)
    photo = staged(user)
    body = {
        "type": "Feature",
        "geometry": ALTA,
        "properties": {
            "title": "Tuft",
            "project": "alta-home",
            "photos": [spec(photo, "Tufta", taken_on="2026-05-01")],
        },
    }
    response = client.post("/api/traces", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["photos"] == [photo.id]
    session.expire_all()
    stored = session.get(Photo, photo.id)
    assert stored.trace_id == response.get_json()["id"]
    assert stored.taken_on.isoformat() == "2026-05-01"


def test_api_refused_photo_stores_no_trace(
    client: FlaskClient, session: Session, project: Project, make_user, login, staged
) -> None:
    user = make_user()
    token = login(user)
    english(client)
    photo = staged(make_user())  # another resident's upload
    before = session.execute(select(func.count()).select_from(Trace)).scalar_one()
    body = {
        "type": "Feature",
        "geometry": ALTA,
        "properties": {"title": "Tuft", "project": "alta-home", "photos": [spec(photo, "x")]},
    }
    response = client.post("/api/traces", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"photos"}
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Trace)).scalar_one() == before
    assert session.get(Photo, photo.id).status == PhotoStatus.STAGED


def test_resend_with_photos_gives_the_first_trace_not_a_photo_error(
    client: FlaskClient, session: Session, project: Project, make_user, login, staged
) -> None:
    """The photos are no longer staged after the first send; the resend must still succeed."""
    user = make_user()
    login(user)
    photo = staged(user)
    photos = json.dumps([spec(photo, "Gropa")])
    first = trace_of(session, post_new(client, photos=photos, submission_key="k-1"))
    again = post_new(client, photos=photos, submission_key="k-1")
    assert trace_of(session, again).id == first.id


# --- photos on edit, and the history --------------------------------------------------------


@pytest.fixture
def librarian_trace(
    session: Session, client: FlaskClient, make_user, project: Project, login
) -> tuple[User, User, Trace]:
    """A pending trace the author (logged in) submitted by the form, and the librarian."""
    author, librarian = make_user(name="Anne Author"), make_user(name="Libby")
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    login(author)
    trace = trace_of(session, post_new(client))
    return author, librarian, trace


def approve(session: Session, trace: Trace, librarian: User) -> None:
    """Approve the trace directly (the moderation queue is not what these tests are about)."""
    librarian_id = librarian.id  # read before the change: a read would flush it half-done
    session.expire_all()
    stored = session.get(Trace, trace.id)
    assert stored is not None
    stored.status = TraceStatus.APPROVED
    stored.approved_by_id = librarian_id
    stored.approved_at = func.now()
    session.commit()


def test_edit_page_has_the_photos_include_and_the_trace_photos(
    client: FlaskClient, session: Session, librarian_trace, staged
) -> None:
    author, _librarian, trace = librarian_trace
    page = client.get(f"/traces/{trace.id}/edit").get_data(as_text=True)
    assert 'id="photos-section"' in page
    assert 'name="photos"' in page  # the include's hidden field joins the edit form
    assert 'name="submission_key"' not in page  # an edit is not a submission


def test_edit_adds_a_photo_in_the_same_revision_and_history_shows_it(
    client: FlaskClient, session: Session, librarian_trace, staged
) -> None:
    author, _librarian, trace = librarian_trace
    english(client)
    photo = staged(author)
    form = edit_form(client, trace.id)
    response = client.post(
        f"/traces/{trace.id}/edit",
        data={**form, "photos": json.dumps([spec(photo, "Sett fra vest")]), "comment": "bilde"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    history = revisions(session, trace)
    assert len(history) == 2  # a photo alone is a change: a new revision
    assert history[-1].snapshot["photos"] == [{"id": photo.id, "caption": "Sett fra vest"}]
    session.expire_all()
    assert session.get(Photo, photo.id).trace_id == trace.id
    page = client.get(f"/traces/{trace.id}/history").get_data(as_text=True)
    assert "Photo added: Sett fra vest" in page
    detail = client.get(f"/traces/{trace.id}/history?version=2").get_data(as_text=True)
    assert "Sett fra vest" in detail
    # The author sees the pending photo itself; its thumbnail comes from the app's address.
    assert f"/photos/{photo.id}/thumb" in detail


def test_public_sees_no_caption_or_thumbnail_of_a_pending_photo(
    app: Flask, client: FlaskClient, session: Session, librarian_trace, staged
) -> None:
    author, librarian, trace = librarian_trace
    photo = staged(author)
    form = edit_form(client, trace.id)
    client.post(
        f"/traces/{trace.id}/edit",
        data={**form, "photos": json.dumps([spec(photo, "Hemmelig bildetekst")])},
    )
    approve(session, trace, librarian)
    public = app.test_client()
    english(public)
    page = public.get(f"/traces/{trace.id}/history?version=2").get_data(as_text=True)
    assert "Photos" in page
    assert "Hemmelig bildetekst" not in page
    assert f"/photos/{photo.id}/" not in page
    # Once approved, the public sees it, with its thumbnail.
    session.expire_all()
    stored = session.get(Photo, photo.id)
    stored.status = PhotoStatus.APPROVED
    stored.decided_at = func.now()
    session.commit()
    page = public.get(f"/traces/{trace.id}/history?version=2").get_data(as_text=True)
    assert "Hemmelig bildetekst" in page
    assert f"/photos/{photo.id}/thumb" in page


def test_edit_with_a_refused_photo_saves_nothing(
    client: FlaskClient, session: Session, librarian_trace, staged, make_user
) -> None:
    author, _librarian, trace = librarian_trace
    english(client)
    theirs = staged(make_user())
    form = edit_form(client, trace.id)
    response = client.post(
        f"/traces/{trace.id}/edit",
        data={**form, "title": "Ny tittel", "photos": json.dumps([spec(theirs, "x")])},
    )
    assert response.status_code == 422
    assert 'id="photos-error"' in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Trace, trace.id).title == "Fangstgrop ved Storvatnet"
    assert len(revisions(session, trace)) == 1


def test_removed_photo_shows_in_history_and_revert_does_not_bring_it_back(
    app: Flask, client: FlaskClient, session: Session, librarian_trace, staged
) -> None:
    author, librarian, trace = librarian_trace
    english(client)
    photo = staged(author)
    photo_id = photo.id
    form = edit_form(client, trace.id)
    client.post(
        f"/traces/{trace.id}/edit",
        data={**form, "photos": json.dumps([spec(photo, "Borte snart")])},
    )
    # The author removes the photo (the photos backend records a revision), then changes
    # the title; the librarian reverts to version 2, which had the photo.
    with app.test_request_context():
        remove_photo(db.session.get(Photo, photo_id), db.session.get(User, author.id))
        db.session.commit()
    history = revisions(session, trace)
    assert history[-1].snapshot["photos"] == []
    form = edit_form(client, trace.id)
    client.post(f"/traces/{trace.id}/edit", data={**form, "title": "Endret tittel"})
    approve(session, trace, librarian)
    current = session.get(Trace, trace.id)
    librarian_client = app.test_client()
    token = log_in(librarian_client, librarian.email)
    english(librarian_client)
    response = librarian_client.post(
        f"/traces/{trace.id}/revert/2",
        data={"csrf_token": token, "expected_version": str(current.version)},
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Trace, trace.id).title == "Fangstgrop ved Storvatnet"
    assert session.get(Photo, photo_id) is None  # never re-created
    last = revisions(session, trace)[-1]
    assert last.snapshot["photos"] == []
    assert last.snapshot["photos_not_restored"] == [{"id": photo_id, "caption": "Borte snart"}]
    page = librarian_client.get(f"/traces/{trace.id}/history").get_data(as_text=True)
    assert "Photo removed: Borte snart" in page
    assert "1 photo of the earlier version was removed and is not brought back." in page
    detail = librarian_client.get(f"/traces/{trace.id}/history?version={last.version}").get_data(
        as_text=True
    )
    assert "Reverting does not bring back removed photos" in detail
    assert "Borte snart" in detail and "(removed since)" in detail
