"""GET /me/data.zip: everything about the logged-in person, streamed, every part checked."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.db import engine_of
from app.media.storage import S3Storage, storage_for
from app.models import (
    AuditEvent,
    Comment,
    CommentStatus,
    Membership,
    MembershipRole,
    Notification,
    PhotoStatus,
    Revision,
    TraceStatus,
    User,
    UserRole,
)
from tests.conftest import ClosingClient, log_in
from tests.integration.photo_support import make_photo
from tests.media_server import seaweed_s3

NAME = "Kristofer Zablonski"
EMAIL = "Kristofer.Zablonski@example.org"
OTHER_NAME = "Oddveig Quistgaard"
OTHER_EMAIL = "oddveig.quistgaard@example.net"


def _person(session: Session, make_user: Any, name: str, email: str, **fields: Any) -> User:
    user = make_user(name=name, **({"role": fields.pop("role")} if "role" in fields else {}))
    user.email, user.email_normalized = email, email.casefold()
    for key, value in fields.items():
        setattr(user, key, value)
    session.commit()
    return user


def _snapshot(title: str, status: str, author_id: int) -> dict[str, Any]:
    return {"title": title, "description": "", "sources": "", "licence": "CC-BY-4.0",
            "status": status, "project_id": 0, "author_id": author_id, "tags": [],
            "geometry": {"type": "Point", "coordinates": [23.27, 69.97]}, "photos": []}  # fmt: skip


@pytest.fixture
def mine(app: Flask, session: Session, make_user, make_project, make_trace) -> dict[str, Any]:
    """A resident with traces in four states (one with a history), a comment, a notification,
    a photo, a membership and audit entries; and a librarian whose data must stay out."""
    project = make_project(slug="alta-data")
    me = _person(session, make_user, NAME, EMAIL, language="en", show_name_publicly=True)
    other = _person(session, make_user, OTHER_NAME, OTHER_EMAIL, role=UserRole.LIBRARIAN)
    session.add_all([
        Membership(project_id=project.id, user_id=me.id, role=MembershipRole.CONTRIBUTOR),
        Membership(project_id=project.id, user_id=other.id, role=MembershipRole.LIBRARIAN),
    ])  # fmt: skip
    approved = make_trace(author=me, project=project, title="Tuft ved elva",
                          geometry=Point(23.2712345, 69.9712345))  # fmt: skip
    pending = make_trace(author=me, project=project, title="Kolgrop", status=TraceStatus.PENDING)
    rejected = make_trace(author=me, project=project, title="Steingard",
                          status=TraceStatus.REJECTED, decision_note="Finnes fra før")  # fmt: skip
    draft = make_trace(author=me, project=project, title="Utkast", status=TraceStatus.DRAFT)
    told = make_trace(author=me, project=project, title="Fortalt tuft", recorder_id=me.id,
                      informant_name="Ingrid Informantsen", informant_birth_year=1941,
                      informant_consent=True, knowledge_source="fortalt av far")  # fmt: skip
    theirs = make_trace(author=other, project=project, title=f"{OTHER_NAME}s hustuft")
    session.add_all([
        Revision(trace_id=approved.id, version=1, editor_id=me.id, comment="Første versjon",
                 event={"kind": "submitted"}, geom=approved.geom,
                 snapshot=_snapshot("Tuft", "pending", me.id)),
        Revision(trace_id=approved.id, version=2, editor_id=other.id, comment="",
                 event={"kind": "decision", "action": "approve"}, geom=approved.geom,
                 snapshot=_snapshot("Tuft ved elva", "approved", me.id)),
        Comment(trace_id=theirs.id, author_id=me.id, body="Bestefar fortalte om denne.",
                status=CommentStatus.APPROVED),
        Comment(trace_id=approved.id, author_id=other.id, body=f"Hilsen {OTHER_NAME}",
                status=CommentStatus.APPROVED),
        Notification(user_id=me.id, trace_id=approved.id, kind="trace.approved",
                     params={"title": "Tuft ved elva"}),
        Notification(user_id=other.id, kind="rights", params={"change": "granted",
                     "role": "librarian", "project": project.name}),
        AuditEvent(actor_id=other.id, action="trace.approve", target_type="trace",
                   target_id=approved.id, project_id=project.id, from_state="pending",
                   to_state="approved", reason="Fint"),
        AuditEvent(actor_id=me.id, action="account.settings_changed", target_type="user",
                   target_id=me.id, details={"show_name_publicly": True}),
        AuditEvent(actor_id=other.id, action="trace.approve", target_type="trace",
                   target_id=theirs.id, reason=f"{OTHER_EMAIL} approved their own"),
    ])  # fmt: skip
    session.commit()
    photo, files = make_photo(app, session, approved, me, PhotoStatus.APPROVED)
    return {"me": me, "other": other, "project": project, "photo": photo, "files": files,
            "traces": {"approved": approved, "pending": pending, "rejected": rejected,
                       "draft": draft, "told": told}, "theirs": theirs}  # fmt: skip


def _download(client: FlaskClient) -> tuple[Any, zipfile.ZipFile]:
    response = client.get("/me/data.zip", buffered=False)
    try:
        assert response.status_code == 200
        assert response.is_streamed
        # Written part by part as it is sent: a piece per part at least, not one block.
        pieces = [piece for piece in response.iter_encoded() if piece]
        assert len(pieces) >= 9, len(pieces)
        body = b"".join(pieces)
    finally:
        response.close()
    return response, zipfile.ZipFile(io.BytesIO(body))


def test_the_zip_holds_every_part_of_the_persons_data(
    client: FlaskClient, mine: dict[str, Any]
) -> None:
    log_in(client, EMAIL)
    response, zf = _download(client)
    assert response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "private, no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="kulturspor-mine-data-20')
    assert disposition.endswith('.zip"')
    assert zf.testzip() is None
    me, photo = mine["me"], mine["photo"]
    names = set(zf.namelist())
    assert {"account.json", "traces.geojson", "comments.json", "notifications.json",
            "consents.json", "audit.json", "memberships.json", "photos/photos.json",
            "README.txt", f"photos/{photo.id}-display.webp"} == names  # fmt: skip
    part = {n: json.loads(zf.read(n)) for n in names if n.endswith(("json", "geojson"))}

    account = part["account.json"]
    assert (account["email"], account["display_name"], account["role"]) == (EMAIL, NAME, "resident")
    assert account["language"] == "en" and account["created_at"]
    assert account["settings"]["show_name_publicly"]["value"] is True
    assert "museums" in account["settings"]["show_name_publicly"]["meaning"]
    assert len(account["sessions"]) == 1 and account["sessions"][0]["revoked_at"] is None

    features = {f["properties"]["title"]: f for f in part["traces.geojson"]["features"]}
    assert {t: f["properties"]["status"] for t, f in features.items()} == {
        "Tuft ved elva": "approved", "Kolgrop": "pending", "Steingard": "rejected",
        "Utkast": "draft", "Fortalt tuft": "approved"}  # fmt: skip
    assert features["Fortalt tuft"]["properties"]["recorded_for_informant"] is True
    assert features["Utkast"]["properties"]["recorded_for_informant"] is False
    first = features["Tuft ved elva"]
    assert first["geometry"]["coordinates"] == pytest.approx([23.2712345, 69.9712345], abs=1e-9)
    assert features["Steingard"]["properties"]["decision_note"] == "Finnes fra før"
    history = first["properties"]["revisions"]
    assert [r["version"] for r in history] == [1, 2]
    assert history[0]["editor"] == "you" and history[0]["comment"] == "Første versjon"
    assert history[0]["event"] == "Submitted for approval" and history[0]["changes"] == []
    assert history[1]["editor"] == "a librarian" and history[1]["event"] == "Approved"
    assert {c["field"]: (c["before"], c["after"]) for c in history[1]["changes"]} == {
        "title": ("Tuft", "Tuft ved elva"), "status": ("pending", "approved")}  # fmt: skip

    [comment] = part["comments.json"]
    assert (comment["body"], comment["status"], comment["kind"]) == (
        "Bestefar fortalte om denne.", "approved", "comment")  # fmt: skip
    assert comment["trace_url"] == f"http://localhost/traces/{mine['theirs'].id}"
    [note] = part["notifications.json"]
    assert note["kind"] == "trace.approved" and note["params"] == {"title": "Tuft ved elva"}
    assert note["text"] == "Your trace “Tuft ved elva” is approved and now on the map."

    consents = part["consents.json"]
    assert consents["show_name_publicly"]["value"] is True
    assert consents["notify_by_email"]["value"] is True
    assert consents["weekly_digest"]["value"] is False
    assert consents["informant_consents_recorded"] == [
        {"trace_id": mine["traces"]["told"].id, "title": "Fortalt tuft", "informant_consent": True}
    ]

    audit = {(a["action"], a["target_id"]): a for a in part["audit.json"]}
    assert set(audit) == {("trace.approve", first["id"]), ("account.settings_changed", me.id)}
    assert audit[("trace.approve", first["id"])]["actor"] == "a librarian"
    assert audit[("trace.approve", first["id"])]["reason"] == "Fint"
    assert audit[("account.settings_changed", me.id)]["actor"] == "you"

    [membership] = part["memberships.json"]
    assert (membership["project"], membership["role"]) == ("alta-data", "contributor")
    assert membership["revoked_at"] is None

    [described] = part["photos/photos.json"]
    assert (described["id"], described["status"], described["caption"]) == (
        photo.id, "approved", "A test photo")  # fmt: skip
    assert (described["credit"], described["licence"]) == ("Test Photographer", "CC-BY-4.0")
    assert described["files"] == [f"photos/{photo.id}-display.webp"]
    assert zf.read(f"photos/{photo.id}-display.webp") == mine["files"]["display"]

    readme = zf.read("README.txt").decode("utf-8")
    for name in ("account.json", "traces.geojson", "comments.json", "notifications.json",
                 "consents.json", "audit.json", "memberships.json", "photos/"):  # fmt: skip
        assert f"\n{name}\n  " in readme, name
    assert "/account" in readme

    # Nobody else's data: the librarian's name, address, trace and comment stay out.
    everything = b"".join(zf.read(n) for n in names if not n.endswith(".webp")).decode()
    # Nor the informant's name, year of birth or how they knew (the informant's data).
    for absent in (OTHER_NAME, OTHER_EMAIL, OTHER_EMAIL.split("@")[0], "Hilsen",
                   "Informantsen", "birth_year", "fortalt av far"):  # fmt: skip
        assert absent.casefold() not in everything.casefold(), absent


def test_the_readme_and_texts_are_in_the_persons_language(
    client: FlaskClient, session: Session, mine: dict[str, Any]
) -> None:
    mine["me"].language = "nb"
    session.commit()
    log_in(client, EMAIL)
    _response, zf = _download(client)
    readme = zf.read("README.txt").decode("utf-8")
    [note] = json.loads(zf.read("notifications.json"))
    features = json.loads(zf.read("traces.geojson"))["features"]
    [history] = [
        f["properties"]["revisions"] for f in features if f["id"] == mine["traces"]["approved"].id
    ]
    assert "Tuft ved elva" in note["text"] and "is approved" not in note["text"]
    assert history[0]["event"] == "Sendt til godkjenning", history[0]["event"]
    assert "account.json" in readme


def test_anonymous_visitors_are_sent_to_log_in(anonymous: FlaskClient) -> None:
    response = anonymous.get("/me/data.zip")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.fixture(scope="module")
def s3_app(database_url: str) -> Iterator[Flask]:
    """The application with its photos in an S3 bucket (a SeaweedFS server of this module)."""
    with tempfile.TemporaryDirectory(prefix="heritage-weed-") as tmp, seaweed_s3(tmp) as config:
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                          "SECRET_KEY": "test-secret-key-not-for-production",
                          "BASE_URL": "http://localhost", **config})  # fmt: skip
        app.test_client_class = ClosingClient
        yield app
        engine_of(app).dispose()


def test_photos_are_read_from_s3_storage_too(
    s3_app: Flask, session: Session, make_user, make_trace
) -> None:
    assert isinstance(storage_for(s3_app), S3Storage)
    me = _person(session, make_user, NAME, EMAIL)
    trace = make_trace(author=me)
    photo, files = make_photo(s3_app, session, trace, me, PhotoStatus.PENDING)
    client = s3_app.test_client()
    log_in(client, EMAIL)
    _response, zf = _download(client)
    assert zf.read(f"photos/{photo.id}-display.webp") == files["display"]
    [described] = json.loads(zf.read("photos/photos.json"))
    assert (described["id"], described["status"]) == (photo.id, "pending")


def test_a_librarians_notifications_name_others_only_as_they_allow(
    app: Flask, client: FlaskClient, session: Session, make_user: Any, make_project: Any
) -> None:
    """A vocabulary suggestion names its curator: in the librarian's ZIP by their public name
    only if they show it, else by their role; the stored name and id are not in the params."""
    from app.db import db
    from app.models import Scheme, Term
    from app.vocab.operations import suggest_change

    _person(session, make_user, NAME, EMAIL, role=UserRole.LIBRARIAN, language="en")
    hidden = _person(session, make_user, OTHER_NAME, OTHER_EMAIL)
    public = _person(session, make_user, "Per Offentlig", "per@example.net",
                     show_name_publicly=True)  # fmt: skip
    project = make_project(slug="suggestions")
    for curator in (hidden, public):
        session.add(Membership(project_id=project.id, user_id=curator.id,
                               role=MembershipRole.CURATOR))  # fmt: skip
    session.commit()
    with app.test_request_context("/"):
        term = db.session.scalars(select(Term).where(Term.scheme == Scheme.TRACE_TYPE)).first()
        for curator in (hidden, public):
            suggest_change(term, db.session.get(User, curator.id), "Split this term")
        db.session.commit()
    log_in(client, EMAIL)
    _response, zf = _download(client)
    notes = json.loads(zf.read("notifications.json"))
    assert [n["kind"] for n in notes] == ["vocab_suggestion", "vocab_suggestion"]
    assert notes[0]["text"].startswith("a curator suggests a change to the term")
    assert notes[1]["text"].startswith("Per Offentlig suggests a change to the term")
    for note in notes:
        assert set(note["params"]) == {"code", "scheme", "text"}
    everything = b"".join(zf.read(n) for n in zf.namelist() if not n.endswith(".webp"))
    assert b"Quistgaard" not in everything and OTHER_EMAIL.encode() not in everything


def test_downloads_are_limited_and_the_transaction_ends_before_the_files(
    app: Flask, client: FlaskClient, mine: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five an hour; and the photo files are read with no database transaction open."""
    from app.db import db
    from app.me import data_export
    from tests.integration.photo_support import english

    reads: list[bool] = []
    real_collect = data_export.collect

    def collect(user: User) -> data_export.Collected:
        collected = real_collect(user)

        class Watching:
            def read(self, key: str) -> bytes:
                reads.append(db.session().in_transaction())
                return collected.storage.read(key)

        return data_export.Collected(collected.json_parts, collected.trace_features,
                                     collected.files, collected.readme, Watching())  # fmt: skip

    monkeypatch.setattr(data_export, "collect", collect)
    log_in(client, EMAIL)
    english(client)
    for _ in range(5):
        _download(client)
    assert reads == [False] * 5  # one photo file per download, no transaction open
    response = client.get("/me/data.zip")
    assert response.status_code == 429
    assert "at most 5 times an hour" in response.get_data(as_text=True)
