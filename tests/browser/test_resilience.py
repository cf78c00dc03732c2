"""Database faults (docs/security.md item 34): dropped connections are replaced without a restart of
the app, and while the database is away every page answers 503 with Retry-After."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import psycopg
from sqlalchemy.engine import make_url

from tests.serving import gunicorn


def _get(url: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_the_app_survives_its_connections_being_killed(live_server, database_url, seed_basics):
    seed_basics()
    assert _get(live_server + "/api/map?bbox=23,69.8,23.6,70.1&zoom=14")[0] == 200
    # What a PostgreSQL restart does to the app: every connection it holds is cut.
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'heritage' AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert killed >= 1
    for path in ("/", "/api/map?bbox=23,69.8,23.6,70.1&zoom=14", "/health"):
        assert _get(live_server + path)[0] == 200, path


def test_while_the_database_is_away_pages_say_503_and_when_to_retry():
    env = {
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nowhere",  # nothing listens
        "SECRET_KEY": "resilience-test",
        "HERITAGE_ENV": "development",
    }
    with gunicorn(env, log_name="resilience-server.log", workers=1, ready_status=503) as base:
        status, headers, body = _get(base + "/")
        assert status == 503 and headers.get("Retry-After") == "30"
        assert "Traceback" not in body and "psycopg" not in body
        status, headers, body = _get(base + "/api/map?bbox=23,69.8,23.6,70.1&zoom=14")
        assert status == 503 and headers.get("Retry-After") == "30"
        assert json.loads(body)["status"] == 503
        status, _, body = _get(base + "/traces/1")
        assert status == 503 and "Traceback" not in body
