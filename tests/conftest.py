"""Shared fixtures: one migrated PostGIS test database per session; each test in a transaction
that is rolled back (SQLAlchemy's join_transaction_mode="create_savepoint")."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.db import db, engine_of
from app.models import Project, Scheme, Term, Trace, TraceStatus, User, UserRole
from tests.dbutil import recreate_database, test_database_url

PASSWORD = "correct horse battery"
# The fixtures' users carry an argon2id hash with the cheapest parameters: verifying reads the
# parameters from the hash, so every test login through the real form stays argon2id but takes
# about a millisecond instead of ~150 ms. Passwords people choose in tests still get full cost.
PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@pytest.fixture(scope="session")
def database_url() -> str:
    """A freshly created, migrated test database (never the development one)."""
    url = test_database_url()
    recreate_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    engine_of(app).dispose()
    return url


@pytest.fixture(autouse=True)
def _reset_rate_limits() -> Iterator[None]:
    """Every test starts with empty rate-limit counters (they are shared by the whole run)."""
    from app.limits import limiter

    if limiter.initialized:
        limiter.reset()
    yield


class ClosingClient(FlaskClient):
    """A test client that closes each response, as a WSGI server does once it is sent.

    Work the app does when a response is closed (mail after the commit, releasing an export's
    connection) then happens before the test looks, as it would in production. Responses
    asked for unbuffered (buffered=False, to stream them) stay open for the test to read.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Make the request; close a response the test did not ask to stream."""
        response = super().open(*args, **kwargs)
        if "buffered" not in kwargs:
            response.make_sequence()  # the body stays readable after close
            response.close()
        return response


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    """The application under test, on the test database; its engine is closed at the end."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://localhost",
            # Photos go to a directory of this run's own, never the developer's instance/.
            "MEDIA_DIR": tempfile.mkdtemp(prefix="heritage-media-"),
        }
    )
    app.test_client_class = ClosingClient
    yield app
    engine_of(app).dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The app's scoped session, inside a transaction that is rolled back after the test."""
    connection = engine_of(app).connect()
    transaction = connection.begin()
    db.session.remove()
    # Requests use the app's scoped session on this connection; the test gets a session of
    # its own on the same connection, so a request's rollback or close never detaches the
    # test's objects. No app context is held open: each test-client request gets its own,
    # as in production, or Flask's `g` (CSRF token, logged-in user) would leak between them.
    db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    test_session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield test_session
    test_session.close()
    db.session.remove()
    if transaction.is_active:
        transaction.rollback()
    connection.close()
    # Unbound again: the session then uses the engine of whichever app is current.
    db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    """A test client whose requests share the test's transaction."""
    return app.test_client()


def csrf_from(html: str) -> str:
    """The CSRF token embedded in a rendered page."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', html
    )
    assert match, "no CSRF token on the page"
    return match.group(1)


@pytest.fixture
def make_user(session: Session) -> Callable[..., User]:
    """Factory: a user with the shared test PASSWORD."""
    counter = iter(range(1, 10_000))

    def make(role: UserRole = UserRole.RESIDENT, name: str | None = None) -> User:
        n = next(counter)
        user = User(
            email=f"user{n}@example.org",
            email_normalized=f"user{n}@example.org",
            display_name=name or f"User {n}",
            password_hash=PASSWORD_HASH,
            role=role,
        )
        session.add(user)
        session.commit()  # releases the savepoint; the outer transaction still rolls back
        return user

    return make


@pytest.fixture
def make_project(session: Session) -> Callable[..., Project]:
    """Factory: an open project."""
    counter = iter(range(1, 10_000))

    def make(slug: str | None = None, is_open: bool = True) -> Project:
        n = next(counter)
        project = Project(
            slug=slug or f"project-{n}",
            name=f"Project {n}",
            library_name="Test bibliotek",
            is_open=is_open,
        )
        session.add(project)
        session.commit()
        return project

    return make


@pytest.fixture
def term(session: Session) -> Callable[[Scheme, str], Term]:
    """Look up a seeded vocabulary term by scheme and code."""

    def get(scheme: Scheme, code: str) -> Term:
        return session.execute(
            select(Term).where(Term.scheme == scheme, Term.code == code)
        ).scalar_one()

    return get


@pytest.fixture
def make_trace(
    session: Session, make_user: Callable[..., User], make_project: Callable[..., Project]
) -> Callable[..., Trace]:
    """Factory: a trace in a given state, at a given place (default: Alta)."""

    def make(
        geometry: BaseGeometry | None = None,
        status: TraceStatus = TraceStatus.APPROVED,
        author: User | None = None,
        project: Project | None = None,
        title: str = "Fangstgrop",
        **fields: Any,
    ) -> Trace:
        author = author or make_user()
        project = project or make_project()
        approved = status == TraceStatus.APPROVED
        decided = status in (TraceStatus.REJECTED, TraceStatus.NEEDS_CHANGES)
        fields.setdefault("decided_by_id", author.id if decided else None)
        trace = Trace(
            project_id=project.id,
            author_id=author.id,
            title=title,
            geom=from_shape(geometry or Point(23.27, 69.97), srid=4326),
            status=status,
            licence="CC-BY-4.0",
            approved_by_id=author.id if approved else None,
            approved_at="2026-10-01T12:00:00Z" if approved else None,
            **fields,
        )
        session.add(trace)
        session.commit()
        return trace

    return make


def post_login(client: FlaskClient, email: str, password: str = PASSWORD, query: str = "") -> Any:
    """Post the real login form with its CSRF token; the response, whatever it is."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post(
        f"/login{query}", data={"email": email, "password": password, "csrf_token": token}
    )


def log_in(client: FlaskClient, email: str) -> str:
    """Log in on this client with the test password; returns a CSRF token for further requests."""
    response = post_login(client, email)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return csrf_from(client.get("/").get_data(as_text=True))


@pytest.fixture
def logged_mail(app: Flask) -> list[EmailMessage]:
    """Mail handed on in this test: without an SMTP server the app 'sends' into this list."""
    box: list[EmailMessage] = app.extensions.setdefault("mail_outbox", [])
    box.clear()
    return box


@pytest.fixture
def login(client: FlaskClient) -> Callable[[User], str]:
    """Log a user in through the real form; returns a CSRF token for further requests."""

    def do(user: User) -> str:
        return log_in(client, user.email)

    return do
