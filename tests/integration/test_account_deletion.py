"""Deleting an account: afterwards no table holds the e-mail or the name (old ones too), no Redis
key the address's digest; the person is logged out everywhere and cannot come back in;
contributions are kept under "Tidligere bidragsyter" or the unpublished ones removed, as chosen.
What is removed is found by the person's id: nobody else's rows change, whatever the name."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask import Flask, has_request_context
from flask.testing import FlaskClient
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.limits import address_digest
from app.me.deletion import PSEUDONYM
from app.models import (
    AuditEvent,
    Comment,
    CommentStatus,
    Membership,
    MembershipRole,
    Notification,
    OutboxMail,
    PasswordResetToken,
    Photo,
    PhotoStatus,
    Revision,
    Trace,
    TraceStatus,
    User,
    UserRole,
    UserSession,
)
from tests.conftest import PASSWORD, csrf_from, log_in, post_login
from tests.integration.photo_support import english, make_photo, media_files

NAME = "Kristofer Zablonski"
EMAIL = "Kristofer.Zablonski@Example.org"
REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def redis_limits(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """The limiter's storage URI and key prefix pointed at a real Redis (database 15, a prefix
    of this test's own); yields the prefix and a client. The process's limiter stays as it is,
    and REDIS_URL unset: the counters are where RATELIMIT_STORAGE_URI says."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    prefix = f"test-owndata-{uuid.uuid4().hex[:8]}"
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", REDIS_URL)
    monkeypatch.setitem(app.config, "REDIS_URL", "")
    monkeypatch.setitem(app.config, "RATELIMIT_KEY_PREFIX", prefix)
    yield prefix, client
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)
    client.close()


def _hit(prefix: str, key: str) -> None:
    """Count one failed attempt under `key` as Flask-Limiter does (the limits library)."""
    limiter = MovingWindowRateLimiter(storage_from_string(REDIS_URL))
    limiter.hit(parse("10/15 minutes"), prefix, key)


@pytest.fixture
def person(app: Flask, session: Session, make_user, make_project, make_trace) -> dict[str, Any]:
    """A librarian (so moderation records point at them) with contributions in every state,
    and everywhere the application writes a name or an address about them."""
    project = make_project(slug="deletion")
    me = make_user(UserRole.LIBRARIAN, name=NAME)
    me.email, me.email_normalized = EMAIL, EMAIL.casefold()
    me.show_name_publicly, me.weekly_digest, me.language = True, True, "en"
    other = make_user(UserRole.LIBRARIAN, name="Other Librarian")
    stranger = make_user(name="Stranger Resident")
    session.add_all([
        Membership(project_id=project.id, user_id=me.id, role=MembershipRole.LIBRARIAN),
        Membership(project_id=project.id, user_id=other.id, role=MembershipRole.LIBRARIAN),
    ])  # fmt: skip
    session.commit()
    published = make_trace(author=me, project=project, title="Tuft ved elva")
    unpublished = {
        status: make_trace(
            author=me, project=project, title=f"Utkast {status.value}", status=status
        )  # fmt: skip
        for status in (
            TraceStatus.DRAFT,
            TraceStatus.PENDING,
            TraceStatus.NEEDS_CHANGES,
            TraceStatus.REJECTED,
            TraceStatus.WITHDRAWN,
        )  # fmt: skip
    }
    # A stranger's trace they approved: the moderation columns point at the kept row.
    theirs = make_trace(author=stranger, project=project, title="Stranger's trace")
    theirs.approved_by_id = me.id
    session.add_all([
        Revision(trace_id=published.id, version=1, editor_id=me.id, comment="First version",
                 event={"kind": "submitted"}, geom=published.geom,
                 snapshot={"title": published.title, "status": "pending", "tags": []}),
        Comment(trace_id=theirs.id, author_id=me.id, body="Published comment",
                status=CommentStatus.APPROVED),
        Comment(trace_id=theirs.id, author_id=me.id, body="Pending comment",
                status=CommentStatus.PENDING),
        Notification(user_id=me.id, kind="trace.approved", params={"title": "Tuft ved elva"}),
        # Where the app writes their name for others: a vocabulary suggestion, and its mail.
        Notification(user_id=other.id, kind="vocab_suggestion",
                     params={"name": NAME, "actor_id": me.id, "code": "x",
                             "scheme": "trace_type", "text": "t"}),
        OutboxMail(to_address=other.email, user_id=other.id, about_user_id=me.id,
                   subject="News for you", body=f"{NAME} suggests a change to the term “x”"),
        OutboxMail(to_address=EMAIL, user_id=me.id, subject="Reset your password",
                   body="a link", sent_at=datetime.now(UTC)),
        # Mail queued before the outbox knew its recipient's id: found by the address.
        OutboxMail(to_address=EMAIL.lower(), subject="Hello", body=f"Hello {NAME},"),
        PasswordResetToken(token_hash="f" * 64, user_id=me.id,
                           expires_at=datetime.now(UTC) + timedelta(hours=1)),
    ])  # fmt: skip
    session.commit()
    published_photo, _ = make_photo(app, session, published, me, PhotoStatus.APPROVED)
    pending_photo, _ = make_photo(app, session, unpublished[TraceStatus.PENDING], me,
                                  PhotoStatus.PENDING)  # fmt: skip
    staged_photo, _ = make_photo(app, session, None, me, PhotoStatus.STAGED)
    for photo in (published_photo, pending_photo, staged_photo):
        photo.credit = NAME
    session.commit()
    return {"me": me, "other": other, "project": project, "published": published,
            "unpublished": unpublished, "theirs": theirs, "published_photo": published_photo,
            "pending_photo": pending_photo, "staged_photo": staged_photo}  # fmt: skip


def _delete(client: FlaskClient, choice: str, password: str = PASSWORD) -> Any:
    page = client.get("/me/delete")
    assert page.status_code == 200
    return client.post("/me/delete", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "contributions": choice, "password": password})  # fmt: skip


def _rows_naming(session: Session, needle: str) -> list[tuple[str, str, int]]:
    """Every (table, column, rows) of the public schema where a text-like value holds `needle`."""
    columns = session.execute(
        text(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'"
            " AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb',"
            " 'ARRAY', 'tsvector') OR c.udt_name IN ('text', 'varchar', 'bpchar'))"
        )
    ).all()
    assert len(columns) > 40  # the scan reads the whole schema, not a few tables
    found = []
    for table, column in columns:
        count = session.execute(
            text(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE :needle'),
            {"needle": f"%{needle}%"},
        ).scalar_one()
        if count:
            found.append((table, column, count))
    return found


@pytest.mark.parametrize("choice", ["keep", "remove_unpublished"])
def test_nothing_names_the_person_after_the_deletion(
    app: Flask, client: FlaskClient, anonymous: FlaskClient, session: Session,
    person: dict[str, Any], redis_limits: tuple[str, Any], choice: str,
) -> None:  # fmt: skip
    prefix, redis_client = redis_limits
    me = person["me"]
    with app.test_request_context():
        digest, someone_else = address_digest(EMAIL), address_digest("someone@example.org")
    for key in (f"login-account:{digest}", f"reset-email:{digest}",
                f"login-account:{someone_else}"):  # fmt: skip
        _hit(prefix, key)
    assert len(list(redis_client.scan_iter(match=f"*{digest}*"))) == 2
    # Logged in on two devices; the other's cookie is kept to try after the deletion.
    log_in(client, EMAIL)
    log_in(anonymous, EMAIL)
    assert _rows_naming(session, "zablonski")  # the scan finds them before

    english(client)
    response = _delete(client, choice)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    front = client.get("/").get_data(as_text=True)
    assert "Your account is deleted." in front
    assert client.get("/account").status_code == 302  # logged out here
    assert anonymous.get("/account").status_code == 302  # and on the other device

    session.expire_all()
    assert _rows_naming(session, "zablonski") == []
    assert _rows_naming(session, "kristofer") == []
    assert _rows_naming(session, EMAIL) == []
    assert list(redis_client.scan_iter(match=f"*{digest}*")) == []
    assert len(list(redis_client.scan_iter(match=f"*{someone_else}*"))) == 1

    row = session.get(User, me.id)
    assert row is not None and row.display_name == PSEUDONYM
    assert (row.email, row.email_normalized) == (f"DELETED-{me.id}", f"DELETED-{me.id}")
    assert not row.is_enabled and row.deleted_at is not None and row.language is None
    assert not (row.show_name_publicly or row.notify_by_email or row.weekly_digest)
    assert row.role == UserRole.RESIDENT
    for model in (UserSession, PasswordResetToken, Notification):
        assert not session.scalars(select(model).where(model.user_id == me.id)).all()
    memberships = session.scalars(select(Membership).where(Membership.user_id == me.id)).all()
    assert memberships and all(m.revoked_at is not None for m in memberships)
    [deleted] = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "account.deleted")
    ).all()
    assert (deleted.actor_id, deleted.target_id) == (me.id, me.id)
    assert deleted.details["contributions"] == choice
    # Moderation records keep pointing at the kept row.
    assert session.get(Trace, person["theirs"].id).approved_by_id == me.id


def test_keeping_contributions_keeps_them_all_under_the_pseudonym(
    client: FlaskClient, session: Session, person: dict[str, Any], make_user
) -> None:
    log_in(client, EMAIL)
    _delete(client, "keep")
    session.expire_all()
    mine = session.scalars(select(Trace).where(Trace.author_id == person["me"].id)).all()
    assert len(mine) == 1 + len(person["unpublished"])
    comments = session.scalars(select(Comment).where(Comment.author_id == person["me"].id))
    assert {c.body for c in comments} == {"Published comment", "Pending comment"}
    photos = session.scalars(select(Photo).where(Photo.uploader_id == person["me"].id)).all()
    assert {p.id for p in photos} == {person["published_photo"].id, person["pending_photo"].id}
    assert {p.credit for p in photos} == {PSEUDONYM}
    # The project's librarian reads the kept name in the published trace's history.
    log_in(client, person["other"].email)
    history = client.get(f"/traces/{person['published'].id}/history").get_data(as_text=True)
    assert "First version" in history and PSEUDONYM in history


def test_removing_unpublished_contributions_removes_them_and_their_files(
    app: Flask, client: FlaskClient, session: Session, person: dict[str, Any]
) -> None:
    keys = {name: person[name].storage_key for name in
            ("published_photo", "pending_photo", "staged_photo")}  # fmt: skip
    unpublished_ids = [t.id for t in person["unpublished"].values()]
    log_in(client, EMAIL)
    _delete(client, "remove_unpublished")
    session.expire_all()
    mine = session.scalars(select(Trace).where(Trace.author_id == person["me"].id)).all()
    assert [t.id for t in mine] == [person["published"].id]
    assert all(session.get(Trace, trace_id) is None for trace_id in unpublished_ids)
    comments = session.scalars(select(Comment).where(Comment.author_id == person["me"].id))
    assert [c.body for c in comments] == ["Published comment"]
    assert session.scalars(select(Photo.id).where(Photo.uploader_id == person["me"].id)).all() == [
        person["published_photo"].id
    ]
    stored = {name.split("/")[0] for name in media_files(app)}
    assert keys["published_photo"] in stored
    assert keys["pending_photo"] not in stored and keys["staged_photo"] not in stored
    published = session.get(Trace, person["published"].id)
    assert published.status == TraceStatus.APPROVED
    assert session.get(User, published.author_id).display_name == PSEUDONYM


def test_a_wrong_password_changes_nothing(
    client: FlaskClient, session: Session, person: dict[str, Any]
) -> None:
    log_in(client, EMAIL)
    english(client)
    response = _delete(client, "remove_unpublished", password="not my password")
    assert response.status_code == 403
    assert "The password is wrong. Nothing was deleted." in response.get_data(as_text=True)
    session.expire_all()
    me = session.get(User, person["me"].id)
    assert (me.display_name, me.email, me.is_enabled, me.deleted_at) == (NAME, EMAIL, True, None)
    assert all(session.get(Trace, t.id) for t in person["unpublished"].values())
    assert client.get("/account").status_code == 200  # still logged in


def test_the_deleted_account_cannot_come_back_but_the_address_can_register(
    client: FlaskClient, anonymous: FlaskClient, session: Session, person: dict[str, Any],
    logged_mail: list[Any],
) -> None:  # fmt: skip
    log_in(client, EMAIL)
    _delete(client, "keep")
    assert post_login(anonymous, EMAIL).status_code == 422
    for typed in (f"DELETED-{person['me'].id}", f"deleted-{person['me'].id}"):
        assert post_login(anonymous, typed).status_code == 422
    token = csrf_from(anonymous.get("/reset-password").get_data(as_text=True))
    anonymous.post("/reset-password", data={"email": EMAIL, "csrf_token": token})
    # No reset link: no account has the address (mail queued for others may go out meanwhile).
    assert [m["Subject"] for m in logged_mail if m["To"].lower() == EMAIL.lower()] == []
    token = csrf_from(anonymous.get("/register").get_data(as_text=True))
    response = anonymous.post("/register", data={
        "email": EMAIL, "password": "a new long passphrase", "display_name": "Kristofer",
        "csrf_token": token})  # fmt: skip
    assert response.status_code == 302
    session.expire_all()
    fresh = session.scalars(select(User).where(User.email_normalized == EMAIL.casefold())).one()
    assert fresh.id != person["me"].id and fresh.deleted_at is None


def test_the_pages_need_a_login(anonymous: FlaskClient) -> None:
    for path in ("/me/delete", "/me/data.zip"):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_guessing_the_password_on_the_deletion_page_is_throttled(
    client: FlaskClient, session: Session, person: dict[str, Any]
) -> None:
    log_in(client, EMAIL)
    token = csrf_from(client.get("/me/delete").get_data(as_text=True))
    wrong = {"csrf_token": token, "contributions": "keep", "password": "guess"}
    statuses = [client.post("/me/delete", data=wrong).status_code for _ in range(11)]
    assert statuses == [403] * 10 + [429]
    session.expire_all()
    assert session.get(User, person["me"].id).deleted_at is None


def test_a_deleted_account_gets_no_more_notifications(
    app: Flask, session: Session, make_trace: Any
) -> None:
    """A moderator deciding a kept trace later notifies nobody: the row is only a pseudonym."""
    from app.db import db
    from app.notify import notify

    trace = make_trace(title="Kept after deletion")
    author = trace.author
    author.notify_by_email = False
    with app.test_request_context("/"):
        notify(author, "trace.approved", trace, title=trace.title)
        db.session.flush()
        before = db.session.scalar(select(func.count()).select_from(Notification))
        author.deleted_at = datetime.now(UTC)
        notify(author, "trace.rejected", trace, title=trace.title, message="")
        db.session.flush()
        after = db.session.scalar(select(func.count()).select_from(Notification))
    assert after == before
    assert before >= 1  # the first, before deletion, was stored: the count can tell


def _others_rows(session: Session, me_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every mail, notification and audit row that is not about the person, as stored."""
    session.expire_all()
    mails = session.execute(
        select(OutboxMail.id, OutboxMail.to_address, OutboxMail.subject, OutboxMail.body,
               OutboxMail.user_id, OutboxMail.about_user_id)
        .where(func.coalesce(OutboxMail.user_id, 0) != me_id,
               func.coalesce(OutboxMail.about_user_id, 0) != me_id)
        .order_by(OutboxMail.id)
    ).all()  # fmt: skip
    notes = session.execute(
        select(Notification.id, Notification.user_id, Notification.kind, Notification.params)
        .where(Notification.user_id != me_id,
               ~Notification.params.contains({"actor_id": me_id}))
        .order_by(Notification.id)
    ).all()  # fmt: skip
    audits = session.execute(
        select(AuditEvent.id, AuditEvent.actor_id, AuditEvent.action, AuditEvent.reason,
               AuditEvent.details)
        .where(AuditEvent.action != "account.deleted")
        .order_by(AuditEvent.id)
    ).all()  # fmt: skip
    users = session.execute(
        select(User.id, User.display_name, User.email).where(User.id != me_id).order_by(User.id)
    ).all()
    return {"mail": [tuple(r) for r in mails], "notifications": [tuple(r) for r in notes],
            "audit": [tuple(r) for r in audits], "users": [tuple(r) for r in users]}  # fmt: skip


@pytest.mark.parametrize("name", ["10", "true", "Hei", "ok", "Kari Nordmann"])
def test_a_name_that_is_also_a_word_or_someone_elses_name_changes_nobody_elses_rows(
    client: FlaskClient, session: Session, make_user: Any, name: str
) -> None:
    """Rows are found by id: a name like "10" or "true" (once a DataError that blocked the
    deletion), a word in others' mail ("Hei"), a JSON key ("ok") or a namesake ("Kari
    Nordmann", with notifications and mail of her own) leaves every other row as it was."""
    me = make_user(UserRole.LIBRARIAN, name=name)
    namesake = make_user(UserRole.LIBRARIAN, name=name)
    bob = make_user(UserRole.LIBRARIAN, name="Bob")
    suggestion = {"code": "x", "scheme": "trace_type", "text": f"{name} true 10 Hei ok"}
    session.add_all([
        # Each librarian told of the other's suggestion, with the mail about it.
        Notification(user_id=bob.id, kind="vocab_suggestion",
                     params={"name": name, "actor_id": me.id, **suggestion}),
        Notification(user_id=bob.id, kind="vocab_suggestion",
                     params={"name": name, "actor_id": namesake.id, **suggestion}),
        Notification(user_id=namesake.id, kind="vocab_suggestion",
                     params={"name": "Bob", "actor_id": bob.id, **suggestion}),
        Notification(user_id=namesake.id, kind="trace.approved", params={"title": name}),
        OutboxMail(to_address=bob.email, user_id=bob.id, about_user_id=me.id,
                   subject=f"{name} suggests", body=f"Hei Bob, {name} suggests"),
        OutboxMail(to_address=bob.email, user_id=bob.id, about_user_id=namesake.id,
                   subject=f"{name} suggests", body=f"Hei Bob, {name} suggests"),
        OutboxMail(to_address=namesake.email, user_id=namesake.id,
                   subject=f"Hei {name}", body=f"Hei {name}, true 10 ok"),
        OutboxMail(to_address=me.email, user_id=me.id, subject=f"Hei {name}", body="mine"),
        AuditEvent(actor_id=bob.id, action="account.password_changed", target_type="user",
                   target_id=bob.id, reason=f"Hei {name}",
                   details={"ok": True, "sessions_revoked": 10, name: "true", "10": name}),
        AuditEvent(actor_id=namesake.id, action="vocab.change_suggested", target_type="term",
                   target_id=1, reason=name, details={"code": name}),
    ])  # fmt: skip
    session.commit()
    before = _others_rows(session, me.id)
    assert len(before["mail"]) == 2 and len(before["notifications"]) == 3

    log_in(client, me.email)
    response = _delete(client, "keep")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    assert _others_rows(session, me.id) == before
    row = session.get(User, me.id)
    assert row is not None and row.display_name == PSEUDONYM and row.deleted_at is not None
    # The mail naming them is gone; Bob's notification of their suggestion stays, pseudonymised.
    assert not session.scalars(
        select(OutboxMail).where(
            (OutboxMail.user_id == me.id) | (OutboxMail.about_user_id == me.id)
        )
    ).all()
    [theirs] = session.scalars(
        select(Notification).where(Notification.params.contains({"actor_id": me.id}))
    ).all()
    assert theirs.user_id == bob.id and theirs.params["name"] == PSEUDONYM


def test_old_addresses_and_old_names_go_too(
    app: Flask, client: FlaskClient, anonymous: FlaskClient, session: Session,
    make_user: Any, make_project: Any, logged_mail: list[Any],
) -> None:  # fmt: skip
    """Registered, told things by notification and mail (a reset link too), then a new address
    and a new name: after the deletion no column holds any of the four."""
    from app.db import db
    from app.models import MembershipRole, Scheme, Term
    from app.projects.operations import grant_role
    from app.vocab.operations import suggest_change

    old_email, new_email = "gunnhild.old@example.org", "gunnhild.fresh@example.net"
    old_name, new_name = "Gunnhild Vestbakken", "Gunnhild Nordheim"
    librarian = make_user(UserRole.LIBRARIAN, name="Kari Bibliotekar")
    project = make_project(slug="old-names")
    token = csrf_from(client.get("/register").get_data(as_text=True))
    response = client.post("/register", data={
        "email": old_email, "display_name": old_name, "password": PASSWORD,
        "show_name_publicly": "y", "csrf_token": token})  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    me = session.scalars(select(User).where(User.email_normalized == old_email)).one()

    def suggest() -> None:
        with app.test_request_context("/"):
            user = db.session.get(User, me.id)
            term = db.session.scalars(select(Term).where(Term.scheme == Scheme.TRACE_TYPE)).first()
            assert suggest_change(term, user, "Split this term") == 1
            db.session.commit()

    with app.test_request_context("/"):  # a role: a notification and a mail to them
        grant_role(db.session.get(User, librarian.id), db.session.get(type(project), project.id),
                   old_email, MembershipRole.CURATOR, None)  # fmt: skip
        db.session.commit()
    suggest()  # the librarian is told, by name, with a mail
    token = csrf_from(anonymous.get("/reset-password").get_data(as_text=True))
    anonymous.post("/reset-password", data={"email": old_email, "csrf_token": token})
    assert {m["To"] for m in logged_mail} >= {old_email, librarian.email}

    token = log_in(client, old_email)
    response = client.post("/account/email", data={
        "new_email": new_email, "email_password": PASSWORD, "csrf_token": token})  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    response = client.post("/account/settings", data={
        "display_name": new_name, "show_name_publicly": "y", "notify_by_email": "y",
        "csrf_token": token})  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    suggest()  # told again, under the new name
    session.expire_all()
    for needle in (old_email, new_email, "Vestbakken", "Nordheim"):
        assert _rows_naming(session, needle), needle  # the scan finds each before

    assert _delete(client, "keep").status_code == 302
    session.expire_all()
    for needle in (old_email, new_email, "gunnhild", "Vestbakken", "Nordheim"):
        assert _rows_naming(session, needle) == [], needle
    # The librarian still has both notifications, under the pseudonym.
    notes = session.scalars(select(Notification).where(Notification.user_id == librarian.id))
    assert [n.params["name"] for n in notes] == [PSEUDONYM, PSEUDONYM]


def test_rate_limits_are_forgotten_only_after_the_commit(
    app: Flask, client: FlaskClient, session: Session, person: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The counters go once the deletion is committed, outside its transaction."""
    from app.db import db
    from app.me import deletion

    seen: list[tuple[str, bool, Any]] = []

    def spy(digest: str) -> int:
        # Runs after the response: no request, and the deletion visible to a new transaction.
        stored = db.session.get(User, person["me"].id)
        seen.append((digest, has_request_context(), stored.deleted_at if stored else None))
        return 0

    monkeypatch.setattr(deletion, "forget_rate_limits", spy)
    log_in(client, EMAIL)
    _delete(client, "keep", password="not my password")
    assert seen == []  # refused: nothing to forget
    _delete(client, "keep")
    with app.test_request_context():
        digest = address_digest(EMAIL)
    [(forgotten, in_request, deleted_at)] = seen
    assert forgotten == digest and not in_request and deleted_at is not None


def test_rate_limits_in_memory_are_forgotten_too(
    app: Flask, client: FlaskClient, anonymous: FlaskClient, person: dict[str, Any]
) -> None:
    """Without Redis the counters are in this process's limiter: the address's go there too."""
    from app.limits import limiter

    assert str(app.config["RATELIMIT_STORAGE_URI"]).startswith("memory://")
    post_login(anonymous, EMAIL, password="a wrong guess")
    with app.test_request_context():
        digest = address_digest(EMAIL)
    storage: Any = limiter.storage

    def counted() -> list[str]:
        return [k for k in {*storage.storage, *storage.events} if digest in k]

    assert counted()
    log_in(client, EMAIL)
    _delete(client, "keep")
    assert counted() == []


@pytest.mark.parametrize("typed", ["Tidligere bidragsyter", "  tidligere   BIDRAGSYTER "])
def test_nobody_can_take_the_pseudonym_as_a_name(
    app: Flask, anonymous: FlaskClient, client: FlaskClient, session: Session, make_user: Any,
    typed: str,
) -> None:  # fmt: skip
    """A live account named like the deleted ones would pass for one: the name is refused."""
    english(anonymous)
    token = csrf_from(anonymous.get("/register").get_data(as_text=True))
    response = anonymous.post("/register", data={
        "email": "taker@example.org", "display_name": typed, "password": PASSWORD,
        "csrf_token": token})  # fmt: skip
    assert response.status_code == 422
    assert "This name is reserved for deleted accounts." in response.get_data(as_text=True)
    user = make_user(name="Ola")
    token = log_in(client, user.email)
    english(client)
    response = client.post("/account/settings", data={
        "display_name": typed, "notify_by_email": "y", "csrf_token": token})  # fmt: skip
    assert "This name is reserved for deleted accounts." in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, user.id).display_name == "Ola"
