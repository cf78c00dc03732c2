"""Per-route statement timeouts: map and search give up early with a 503, the rest keeps the
default (app/web.py). Uses an app of its own, outside the tests' shared transaction, so the
timeouts act on real transactions and a lock held by another connection."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from flask import Flask
from sqlalchemy import text

from app import create_app
from app.db import db, engine_of

SHORT_MS = 300
DEFAULT_MS = 7000


@pytest.fixture
def timed_app(database_url: str) -> Iterator[Flask]:
    """The app with a short map timeout and two test-only routes that report the timeout."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "MAP_STATEMENT_TIMEOUT_MS": SHORT_MS,
            "DB_STATEMENT_TIMEOUT_MS": DEFAULT_MS,
        }
    )

    def current_timeout() -> dict[str, str]:
        value = db.session.execute(text("SELECT current_setting('statement_timeout')"))
        return {"timeout": value.scalar_one()}

    def sleep() -> dict[str, str]:
        db.session.execute(text("SELECT pg_sleep(5)"))
        return {"slept": "yes"}

    app.add_url_rule("/api/map/_test/timeout", "test_map_timeout", current_timeout)
    app.add_url_rule("/api/map/_test/sleep", "test_map_sleep", sleep)
    app.add_url_rule("/_test/timeout", "test_timeout", current_timeout)
    yield app
    db.session.remove()
    engine_of(app).dispose()


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def test_map_routes_get_the_short_timeout_and_others_keep_the_default(timed_app):
    client = timed_app.test_client()
    assert client.get("/api/map/_test/timeout").get_json() == {"timeout": f"{SHORT_MS}ms"}
    # SET LOCAL ended with that request: the pooled connection is back to the default.
    assert client.get("/_test/timeout").get_json() == {"timeout": f"{DEFAULT_MS // 1000}s"}
    assert client.get("/api/map/_test/timeout").get_json() == {"timeout": f"{SHORT_MS}ms"}


def test_a_map_query_past_its_timeout_answers_503_quickly(timed_app):
    client = timed_app.test_client()
    started = time.monotonic()
    response = client.get("/api/map/_test/sleep")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    body = response.get_json()
    assert body["status"] == 503 and body["code"] == "timeout" and body["detail"]
    assert response.mimetype == "application/problem+json"
    assert elapsed < 3, elapsed  # stopped at ~0.3 s, not after the 5 s sleep
    # The worker's connection is usable again afterwards.
    assert client.get("/_test/timeout").status_code == 200


def test_the_real_map_endpoint_gives_up_behind_a_lock_with_503(timed_app, database_url):
    """/api/map waits for a table another transaction locks: 503 after the short timeout."""
    client = timed_app.test_client()
    view = "/api/map?bbox=23.0,69.8,23.5,70.1&zoom=14"
    assert client.get(view).status_code == 200
    with psycopg.connect(_libpq(database_url)) as locker:
        locker.execute("LOCK TABLE traces IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        response = client.get(view)
        elapsed = time.monotonic() - started
        locker.rollback()
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"]
    assert elapsed < 3, elapsed
    assert client.get(view).status_code == 200
