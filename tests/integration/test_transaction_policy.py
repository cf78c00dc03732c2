"""One transaction policy: a write request commits once, before its success message is shown.

A commit that fails (a rule the database checks only at COMMIT, a concurrent change) must give
a clear error page, keep nothing, show no "saved!" and send no mail. Reads never commit the
request's session; their side records (session touches) go through db.write_aside.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import event, select, text, update
from sqlalchemy.orm import Session

from app.db import db
from app.models import (
    Membership,
    MembershipRole,
    Project,
    Trace,
    TraceStatus,
    User,
    UserRole,
    UserSession,
)
from tests.conftest import PASSWORD_HASH, csrf_from, log_in

MARKER = "Commit blocked by the test"
DATA_TABLES = (
    "audit_events, notifications, comments, revisions, traces, memberships, user_sessions, "
    "projects, users, mail_outbox"
)
TITLE = "Tuft ved vannet (transaksjonstest)"
AUTHOR = "rita.transaksjon@example.org"


@pytest.fixture
def committed(app: Flask) -> Iterator[dict[str, Any]]:
    """People and an entry committed for real (a failing COMMIT needs a real transaction);
    removed afterwards together with the trigger a test armed."""
    with app.app_context():
        project = Project(slug="transaksjon", name="Transaksjon", library_name="Bibliotek")
        people = [
            User(email=email, email_normalized=email, display_name=name,
                 password_hash=PASSWORD_HASH, role=UserRole.RESIDENT)
            for email, name in (("lina.transaksjon@example.org", "Lina"), (AUTHOR, "Rita"))
        ]  # fmt: skip
        db.session.add_all([project, *people])
        db.session.flush()
        db.session.add(Membership(project_id=project.id, user_id=people[0].id,
                                  role=MembershipRole.LIBRARIAN))  # fmt: skip
        trace = Trace(project_id=project.id, author_id=people[1].id, title=TITLE,
                      geom=from_shape(Point(23.27, 69.97), srid=4326),
                      status=TraceStatus.PENDING, licence="CC-BY-4.0")  # fmt: skip
        db.session.add(trace)
        db.session.commit()
        ids = {"librarian": people[0].email, "author": AUTHOR, "trace": trace.id,
               "version": trace.version}  # fmt: skip
        db.session.remove()
    try:
        yield ids
    finally:
        with app.app_context(), db.engine.begin() as connection:
            connection.execute(text("DROP TRIGGER IF EXISTS h6_refuse_commit ON traces"))
            connection.execute(text("DROP TRIGGER IF EXISTS h6_refuse_commit ON users"))
            connection.execute(text("DROP FUNCTION IF EXISTS h6_refuse_commit()"))
            connection.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))


def fail_at_commit(app: Flask, table: str, condition: str, sqlstate: str) -> None:
    """Arm a deferred constraint trigger: a change to those rows fails at COMMIT, not before."""
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text(f"""
            CREATE FUNCTION h6_refuse_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{MARKER}' USING ERRCODE = '{sqlstate}'; END $$;
            CREATE CONSTRAINT TRIGGER h6_refuse_commit AFTER INSERT OR UPDATE ON {table}
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({condition})
            EXECUTE FUNCTION h6_refuse_commit();
        """))  # fmt: skip


def stored(app: Flask, sql: str, **params: Any) -> Any:
    """What any other connection sees now."""
    with app.app_context(), db.engine.connect() as connection:
        return connection.execute(text(sql), params).scalar_one()


def flashes(client: FlaskClient) -> list[Any]:
    with client.session_transaction() as cookie_session:
        return list(cookie_session.get("_flashes", []))


@pytest.mark.parametrize(
    ("sqlstate", "status"),
    [("23514", 409), ("40001", 409), ("P0001", 500)],
    ids=["check-violation", "serialization-failure", "other-error"],
)
def test_failed_commit_of_a_decision_shows_no_success_stores_nothing_mails_nothing(
    app: Flask, committed, logged_mail, sqlstate: str, status: int
) -> None:
    client = app.test_client()
    token = log_in(client, committed["librarian"])
    fail_at_commit(app, "traces", f"NEW.title = '{TITLE}'", sqlstate)
    response = client.post(
        f"/moderation/decision/{committed['trace']}",
        data={"csrf_token": token, "action": "request_changes",
              "version": committed["version"], "reason": "Legg til et bilde.", "next": "/"},
    )  # fmt: skip
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert flashes(client) == []  # the success message was taken back
    assert logged_mail == []  # and no mail went out about it
    trace = committed["trace"]
    assert stored(app, "SELECT status::text FROM traces WHERE id = :t", t=trace) == "pending"
    assert stored(app, "SELECT count(*) FROM notifications") == 0
    assert stored(app, "SELECT count(*) FROM mail_outbox") == 0
    assert stored(app, "SELECT count(*) FROM revisions WHERE trace_id = :t", t=trace) == 0


def test_failed_commit_of_account_settings_shows_no_saved_message(
    app: Flask, committed, logged_mail
) -> None:
    client = app.test_client()
    token = log_in(client, committed["author"])
    fail_at_commit(app, "users", f"NEW.email = '{AUTHOR}'", "23505")
    response = client.post("/account/settings", data={"csrf_token": token})
    assert response.status_code == 409
    assert flashes(client) == []
    email = committed["author"]
    assert stored(app, "SELECT notify_by_email FROM users WHERE email = :e", e=email) is True


@pytest.fixture
def world(session: Session, make_user, make_project, make_trace) -> dict[str, Any]:
    """A librarian and a resident's entry, in the test's rolled-back transaction."""
    project = make_project()
    librarian = make_user(UserRole.RESIDENT, name="Lina Librarian")
    author = make_user(name="Rita Resident")
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    trace = make_trace(status=TraceStatus.PENDING, author=author, project=project)
    return {"librarian": librarian, "author": author, "trace": trace}


def test_a_successful_write_commits_before_its_message(client, login, session, world) -> None:
    token = login(world["librarian"])
    trace = world["trace"]
    response = client.post(
        f"/moderation/decision/{trace.id}",
        data={"csrf_token": token, "action": "approve", "version": trace.version, "next": "/"},
    )
    assert response.status_code == 302
    assert [c for c, _ in flashes(client)] == ["success"]
    session.expire_all()
    assert session.get(Trace, trace.id).status == TraceStatus.APPROVED


@pytest.fixture
def commits() -> Iterator[list[str]]:
    """The request-session commits made while the test runs."""
    seen: list[str] = []

    def record(_session: Session) -> None:
        seen.append("commit")

    event.listen(Session, "after_commit", record)
    yield seen
    event.remove(Session, "after_commit", record)


def test_reads_never_commit_and_still_record_the_session_touch(
    client, login, session: Session, world, commits: list[str]
) -> None:
    user = world["librarian"]
    login(user)
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    session.execute(
        update(UserSession).where(UserSession.user_id == user.id).values(last_seen_at=long_ago)
    )
    session.commit()
    commits.clear()
    for path in ("/", "/account", "/me/traces", f"/traces/{world['trace'].id}", "/moderation/"):
        response = client.get(path)
        assert response.status_code in (200, 302), path
    assert commits == []  # a GET never commits the request's transaction
    session.expire_all()
    seen = session.execute(
        select(UserSession.last_seen_at).where(UserSession.user_id == user.id)
    ).scalar_one()
    assert seen > long_ago  # the touch was written aside


def test_a_post_commits_exactly_once(client, session: Session, world, commits) -> None:
    page = client.get("/login").get_data(as_text=True)
    commits.clear()
    response = client.post(
        "/login",
        data={"email": world["author"].email, "password": "correct horse battery",
              "csrf_token": csrf_from(page)},
    )  # fmt: skip
    assert response.status_code == 302
    assert commits == ["commit"]
