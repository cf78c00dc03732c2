"""/ready, /metrics, request ids and the JSON request log."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from app.db import engine_of
from app.models import ExportLog, OutboxMail, User
from tests.conftest import ClosingClient, post_login

TOKEN = "metrics-token-for-tests"


@pytest.fixture
def make_app(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Factory: another app on the test database with some settings changed."""
    made: list[Flask] = []

    def make(**config: Any) -> Flask:
        settings = {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://localhost",
            "MEDIA_DIR": str(tmp_path / "media"),
            "REDIS_URL": "",
        }
        app = create_app({**settings, **config})
        app.test_client_class = ClosingClient
        made.append(app)
        return app

    yield make
    for app in made:
        engine_of(app).dispose()


def _samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus text answer, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def _scrape(client: FlaskClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return _samples(response.get_data(as_text=True))


def _count(route: str, status: str) -> frozenset[tuple[str, str]]:
    return frozenset({"route": route, "method": "GET", "status": status}.items())


def test_ready_when_everything_answers(client: FlaskClient) -> None:
    """200 with each check named; never cached."""
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["status"] == "ready"
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["media"] == "ok"
    assert response.json["checks"]["redis"] in ("ok", "not configured")
    assert response.headers["Cache-Control"] == "no-store"


def test_ready_names_the_database_when_it_is_unreachable(
    make_app: Callable[..., Flask], database_url: str
) -> None:
    """A database that does not exist: 503 and the failing check named."""
    url = make_url(database_url)
    wrong = url.set(database=f"{url.database}_does_not_exist")
    app = make_app(SQLALCHEMY_DATABASE_URI=wrong.render_as_string(hide_password=False))
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["failing"] == ["database"]
    assert response.json["checks"]["database"].startswith("failed")
    assert response.json["checks"]["media"] == "ok"
    assert response.headers["Cache-Control"] == "no-store"
    # /health stays what it was: the database check alone.
    assert app.test_client().get("/health").status_code == 503


def test_ready_names_media_storage_that_cannot_be_written(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """A media directory that cannot be created or written: 503, media named."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the media directory's parent should be")
    app = make_app(MEDIA_DIR=str(blocker / "media"))
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["failing"] == ["media"]
    assert response.json["checks"]["database"] == "ok"


def test_ready_names_redis_when_configured_and_silent(make_app: Callable[..., Flask]) -> None:
    """REDIS_URL set but nothing listens: 503, redis named."""
    app = make_app(REDIS_URL="redis://127.0.0.1:9/0", RATELIMIT_ENABLED=False)
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert response.json is not None
    assert response.json["failing"] == ["redis"]


def test_ready_checks_the_s3_bucket_through_the_storage(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """Photos in object storage: the bucket answering is ready; a bucket that is not there
    (a wrong name, deleted, no rights) is not, and media is named."""
    from tests.media_server import seaweed_s3

    with seaweed_s3(tmp_path / "weed") as settings:
        app = make_app(**settings)
        response = app.test_client().get("/ready")
        assert response.status_code == 200, response.json
        assert response.json is not None and response.json["checks"]["media"] == "ok"

        missing = make_app(**{**settings, "MEDIA_S3_BUCKET": settings["MEDIA_S3_BUCKET"] + "x"})
        response = missing.test_client().get("/ready")
        assert response.status_code == 503
        assert response.json is not None and response.json["failing"] == ["media"]


def test_metrics_is_off_without_a_token_and_refuses_a_wrong_one(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No token configured: 404. Configured: 401 without the right bearer token."""
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "")
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    assert client.get("/metrics").status_code == 401
    for header in (f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer"):
        response = client.get("/metrics", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert b"heritage_" not in response.data


def test_metrics_count_requests_per_route_and_read_the_queues(
    app: Flask,
    client: FlaskClient,
    session: Session,
    world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The latency histogram counts a request under its URL rule; the pending gauge, the
    export counter and the outbox gauges are read from the database at scrape time."""
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    trace_rule = "/traces/<int:trace_id>"
    before = _scrape(client)
    assert client.get(f"/traces/{world['trace'].id}").status_code == 200
    assert client.get("/no/such/page?token=secret").status_code == 404
    after = _scrape(client)
    key = ("heritage_http_request_duration_seconds_count", _count(trace_rule, "2xx"))
    assert after[key] == before.get(key, 0) + 1
    unmatched = ("heritage_http_request_duration_seconds_count", _count("unmatched", "4xx"))
    assert after[unmatched] == before.get(unmatched, 0) + 1
    bucket = frozenset({**dict(_count(trace_rule, "2xx")), "le": "+Inf"}.items())
    assert after[("heritage_http_request_duration_seconds_bucket", bucket)] == after[key]

    probe = frozenset({"project": "probe"}.items())
    assert after[("heritage_traces_pending", probe)] == 1
    assert after[("heritage_traces_pending_oldest_age_seconds", probe)] > 0
    assert after[("heritage_database_up", frozenset())] == 1

    session.add_all([ExportLog(channel="web", format="csv") for _ in range(2)])
    session.add(ExportLog(channel="ogc", format="geojson"))
    session.add(OutboxMail(to_address="a@example.org", subject="Hei", body="Hei"))
    session.commit()
    scraped = _scrape(client)
    web_csv = frozenset({"channel": "web", "format": "csv"}.items())
    assert scraped[("heritage_exports_delivered_total", web_csv)] == 2
    ogc = frozenset({"channel": "ogc", "format": "geojson"}.items())
    assert scraped[("heritage_exports_delivered_total", ogc)] == 1
    assert scraped[("heritage_mail_outbox_unsent", frozenset())] == 1
    assert scraped[("heritage_mail_outbox_given_up", frozenset())] == 0
    assert ("heritage_backup_last_success_timestamp_seconds", frozenset()) in scraped


def test_request_ids_are_kept_when_sane_and_made_otherwise(client: FlaskClient) -> None:
    """A plain incoming X-Request-ID comes back; anything else is replaced by a new one."""
    kept = client.get("/health", headers={"X-Request-ID": "lb-7f3a.9_x-1"})
    assert kept.headers["X-Request-ID"] == "lb-7f3a.9_x-1"
    for hostile in ("a" * 65, "has space", 'quote"d', "semi;colon", "ø"):
        made = client.get("/health", headers={"X-Request-ID": hostile})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"]), hostile
    one = client.get("/health").headers["X-Request-ID"]
    assert one != client.get("/health").headers["X-Request-ID"]


def test_each_request_writes_one_json_line_with_its_id(
    make_app: Callable[..., Flask],
    session: Session,
    make_user: Callable[..., User],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The request line is JSON on stderr and in the day's file, carries the id the response
    returned, the route, status, duration and user, and never the query string."""
    logs = tmp_path / "logs"
    app = make_app(LOG_DIR=str(logs))
    client = app.test_client()
    user = make_user()
    capsys.readouterr()
    login = post_login(client, user.email)
    assert login.status_code == 302
    # The app's own log lines are JSON too, and carry the id of the request they belong to.
    app_lines = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    (said,) = [e for e in app_lines if e["message"] == f"login: user={user.id}"]
    assert said["request_id"] == login.headers["X-Request-ID"]
    assert said["logger"] == "app.auth.routes" and said["level"] == "INFO"

    response = client.get("/health?token=s3cret-value")
    page = client.get("/")
    rid = response.headers["X-Request-ID"]
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    (line,) = [entry for entry in lines if entry.get("request_id") == rid]
    assert line["message"] == "request"
    assert line["level"] == "INFO"
    assert line["method"] == "GET" and line["route"] == "/health" and line["path"] == "/health"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["remote_addr"] == "127.0.0.1"
    assert datetime.fromisoformat(line["time"]).tzinfo is not None
    assert "s3cret-value" not in err

    (page_line,) = [e for e in lines if e.get("request_id") == page.headers["X-Request-ID"]]
    assert page_line["user_id"] == user.id and page_line["route"] == "/"

    day = datetime.now(UTC).strftime("%Y-%m-%d")
    written = (logs / f"requests-{day}.log").read_text().splitlines()
    assert line in [json.loads(entry) for entry in written]
    assert "s3cret-value" not in "".join(written)
