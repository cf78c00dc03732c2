"""Which requests read from the replica (app.replica), with a stand-in replica: a second engine
on the same test database, read-only and under its own application_name.

The real hot standby (pg_basebackup, lag, stopping it) is tests/deploy/test_replica.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import Engine

from app import create_app, replica
from app.auth.sessions import SESSION_KEY
from app.db import db, engine_of, read_engine_of
from app.models import ExportLog

MAP = "/api/map?bbox=4,57,32,72&zoom=6"


def _app(database_url: str, read_url: str, **config: Any) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "READ_DATABASE_URL": read_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://localhost",
            "RATELIMIT_ENABLED": False,
            **config,
        }
    )


def _dispose(app: Flask) -> None:
    db.session.remove()
    engine_of(app).dispose()
    read = read_engine_of(app)
    if read is not None:
        read.dispose()


class Statements:
    """The statements each engine ran (a listener on both)."""

    def __init__(self, app: Flask) -> None:
        self.primary: list[str] = []
        self.replica: list[str] = []
        self._listen(engine_of(app), self.primary)
        read = read_engine_of(app)
        assert read is not None
        self._listen(read, self.replica)

    @staticmethod
    def _listen(engine: Engine, into: list[str]) -> None:
        def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            into.append(statement)

        event.listen(engine, "before_cursor_execute", record)

    def clear(self) -> None:
        """Forget what ran so far."""
        self.primary.clear()
        self.replica.clear()

    def queries(self, statements: list[str]) -> list[str]:
        """The statements apart from the pool's pings and the lag check."""
        return [s for s in statements if s.strip() != "SELECT 1" and s != replica.LAG_SQL]


@pytest.fixture(scope="module")
def routed(database_url: str) -> Iterator[tuple[Flask, Statements]]:
    """An app whose replica is the test database again, read-only, as `heritage-read`."""
    app = _app(database_url, database_url)
    statements = Statements(app)
    yield app, statements
    _dispose(app)


@pytest.fixture
def anonymous(routed: tuple[Flask, Statements]) -> tuple[Any, Statements]:
    """A fresh client (no cookies) and the statement log, emptied."""
    app, statements = routed
    statements.clear()
    return app.test_client(), statements


@pytest.mark.parametrize(
    ("method", "path", "headers", "expected"),
    [
        ("GET", MAP, {}, True),
        ("HEAD", MAP, {}, True),
        ("GET", "/", {}, True),
        ("GET", "/ogc/collections", {}, True),
        ("GET", "/export", {}, True),
        ("GET", "/api/search?q=grop", {}, True),
        ("GET", "/api/map/tiles/6/35/15", {}, True),
        ("GET", "/ogc/collections", {"Authorization": "Bearer abc"}, False),
        ("GET", MAP, {"Cookie": "remember_token=1|abc"}, False),
        ("POST", "/api/traces", {}, False),
        ("GET", "/traces/1", {}, False),
        ("GET", "/health", {}, False),
        ("GET", "/moderation/", {}, False),
        ("GET", "/no-such-page", {}, False),
    ],
)
def test_which_requests_may_read_from_the_replica(
    routed: tuple[Flask, Statements], method: str, path: str, headers: dict, expected: bool
) -> None:
    app, _ = routed
    with app.test_request_context(path, method=method, headers=headers):
        assert replica.request_may_use_replica() is expected


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("api.map_data", True),
        ("api.map_tile", True),
        ("ogc.items", True),
        ("search.search", True),
        ("search_page.results", True),
        ("where.where", False),
        ("export.download", True),
        ("main.index", True),
        ("main.health", False),
        ("api.get_trace", False),
        ("api.create_trace", False),
        ("traces.show", False),
        ("moderation.queue", False),
        ("auth.login", False),
        (None, False),
    ],
)
def test_which_endpoints_the_replica_serves(endpoint: str | None, expected: bool) -> None:
    assert replica.endpoint_may_use_replica(endpoint) is expected


def test_an_anonymous_map_request_reads_only_from_the_replica(anonymous: tuple) -> None:
    client, statements = anonymous
    response = client.get(MAP)
    assert response.status_code == 200
    assert statements.queries(statements.replica), "the map ran nothing on the replica"
    assert statements.queries(statements.primary) == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/map/tiles/6/35/15",
        "/api/map?bbox=10.7,59.9,10.8,60.0&zoom=15",
        "/",
        "/ogc/collections",
        "/ogc/collections/traces/items?limit=5",
        "/export",
        "/api/search?q=grop",
        "/search?q=grop",
    ],
)
def test_public_reads_run_whole_on_the_read_only_replica(anonymous: tuple, path: str) -> None:
    """Nothing these answers need writes in the request (the replica would refuse it)."""
    client, statements = anonymous
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert statements.queries(statements.replica)
    assert statements.queries(statements.primary) == []


def test_the_replica_connection_says_who_it_is(routed: tuple[Flask, Statements]) -> None:
    app, _ = routed
    read = read_engine_of(app)
    assert read is not None
    with read.connect() as connection:
        name = connection.execute(text("SELECT current_setting('application_name')")).scalar()
        read_only = connection.execute(text("SHOW transaction_read_only")).scalar()
    assert (name, read_only) == ("heritage-read", "on")


def test_a_logged_in_cookie_keeps_the_map_on_the_primary(anonymous: tuple) -> None:
    client, statements = anonymous
    with client.session_transaction() as cookie_session:
        cookie_session[SESSION_KEY] = "no-such-session"
        cookie_session["_user_id"] = "999999"
    response = client.get(MAP)
    assert response.status_code == 200
    assert statements.queries(statements.primary)
    assert statements.replica == []


def test_a_language_cookie_alone_still_reads_from_the_replica(anonymous: tuple) -> None:
    client, statements = anonymous
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    assert client.get(MAP).status_code == 200
    assert statements.queries(statements.replica)
    assert statements.queries(statements.primary) == []


def test_trace_pages_read_from_the_primary_even_for_anonymous_visitors(anonymous: tuple) -> None:
    client, statements = anonymous
    assert client.get("/traces/2147483000").status_code == 404
    assert statements.queries(statements.primary)
    assert statements.replica == []


def test_a_side_record_of_a_replica_read_is_written_on_the_primary(
    database_url: str, anonymous: tuple
) -> None:
    """An anonymous download reads on the read-only replica; its export log entry still lands."""
    client, statements = anonymous
    primary = engine_of(client.application)

    def last_logged() -> int:
        with primary.connect() as connection:
            return connection.execute(select(func.max(ExportLog.id))).scalar() or 0

    before = last_logged()
    response = client.get("/export/download?format=csv")
    try:
        assert response.status_code == 200
        assert last_logged() > before
        assert statements.queries(statements.replica)
    finally:
        with primary.begin() as connection:
            connection.execute(ExportLog.__table__.delete().where(ExportLog.id > before))


@pytest.fixture
def down_replica(database_url: str) -> Iterator[Callable[[], int]]:
    """An app whose replica cannot be reached (no such socket directory); yields the count of
    connection attempts made to it so far."""
    app = _app(database_url, "postgresql:///heritage?host=/nonexistent-replica-socket-dir")
    attempts: list[int] = []
    read = read_engine_of(app)
    assert read is not None
    event.listen(read, "do_connect", lambda *_args: attempts.append(1))
    app.attempts = lambda: len(attempts)  # type: ignore[attr-defined]
    yield app  # type: ignore[misc]
    _dispose(app)


def test_a_replica_that_is_down_sends_reads_to_the_primary_for_a_while(down_replica: Any) -> None:
    app = down_replica
    client = app.test_client()
    state = app.extensions["database"].replica
    assert client.get(MAP).status_code == 200  # the request that finds it down still succeeds
    assert not state.available
    tried = app.attempts()
    assert tried >= 1
    assert client.get(MAP).status_code == 200
    assert app.attempts() == tried, "the replica was tried again within the retry period"
    state.down_until = 0.0  # the retry period is over
    assert client.get(MAP).status_code == 200
    assert app.attempts() > tried


def test_a_replica_too_far_behind_is_not_used(database_url: str) -> None:
    app = _app(database_url, database_url, READ_REPLICA_MAX_LAG_SECONDS=-1)
    try:
        statements = Statements(app)
        assert app.test_client().get(MAP).status_code == 200
        assert statements.queries(statements.primary)
        assert statements.queries(statements.replica) == []
    finally:
        _dispose(app)


def test_without_a_replica_everything_uses_the_primary(app: Flask) -> None:
    assert read_engine_of(app) is None
    with app.test_request_context(MAP):
        assert db.read_engine is engine_of(app)
