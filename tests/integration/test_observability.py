"""/ready, /metrics, request ids and the JSON request log."""

from __future__ import annotations

import json
import re
import secrets
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
        """An app on the test database with config over the usual test settings."""
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
    """Photos in object storage: the bucket answering is ready, a missing one is not.

    A bucket that is not there (a wrong name, deleted, no rights) fails, and media is named.
    """
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
    """The latency histogram counts a request under its URL rule; the rest is read at scrape.

    The pending gauge, the export counter and the outbox gauges come from the database.
    """
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
    """The request line is JSON on stderr and in the day's file, with the response's id.

    It carries the route, status, duration and user, and never the query string.
    """
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
    assert line["method"] == "GET" and line["route"] == "/health" and line["ids"] == {}
    assert "path" not in line  # a matched request is logged by its rule only
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


def test_no_log_line_holds_a_secret_from_the_path(
    make_app: Callable[..., Flask],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A reset link's token is in its path: neither stderr nor the log file may hold it.

    The token is sent to the matched route (GET and POST), with a trailing slash (a redirect,
    unmatched), with a method the route does not take (405) and below it (404). Matched lines
    name the rule and integer ids; unmatched ones keep short segments, for spotting probes.
    """
    logs = tmp_path / "logs"
    app = make_app(LOG_DIR=str(logs), WTF_CSRF_ENABLED=False)
    client = app.test_client()
    secret = "SECRETtoken" + secrets.token_urlsafe(32)
    capsys.readouterr()
    sent = [
        client.get(f"/reset-password/{secret}"),
        client.post(f"/reset-password/{secret}", data={"new_password": "x"}),
        client.get(f"/reset-password/{secret}/"),
        client.put(f"/reset-password/{secret}"),
        client.get(f"/reset-password/{secret}/more"),
        client.get("/traces/987654"),
        client.get("/wp-login.php"),
    ]
    err = capsys.readouterr().err
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    written = (logs / f"requests-{day}.log").read_text()
    for text in (err, written):
        assert "SECRETtoken" not in text
        assert secret[20:40] not in text  # not even a part of it
    by_id = {
        entry["request_id"]: entry
        for entry in map(json.loads, written.splitlines())
        if entry.get("message") == "request"
    }
    lines = [by_id[response.headers["X-Request-ID"]] for response in sent]
    assert [line["route"] for line in lines[:2]] == ["/reset-password/<token>"] * 2
    assert lines[0]["ids"] == {} and "path" not in lines[0]
    for line in lines[2:5]:
        assert line["route"] == "unmatched" and line["status"] in (308, 404, 405), line
        assert line["path"].startswith("/reset-password/<masked>"), line
    assert lines[5]["route"] == "/traces/<int:trace_id>"
    assert lines[5]["ids"] == {"trace_id": 987654}
    assert lines[6]["path"] == "/wp-login.php"


def test_mask_path_masks_long_segments_and_cuts_long_paths() -> None:
    """Segments of 20 characters or more go; short ones stay; the whole is cut at 200."""
    from app.observability.logs import mask_path

    assert mask_path("/a/" + "x" * 19 + "/b") == "/a/" + "x" * 19 + "/b"
    assert mask_path("/a/" + "x" * 20 + "/b") == "/a/<masked>/b"
    cut = mask_path("/ab" * 200)
    assert len(cut) == 201 and cut.endswith("…")


def test_ready_reuses_its_result_for_a_moment(
    make_app: Callable[..., Flask], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flood of /ready runs the checks (a file written to storage) once per CACHE_SECONDS.

    Each process keeps one result per app for that long, a failure too; then it checks anew.
    """
    from app.observability import ready

    media = tmp_path / "flood-media"
    app = make_app(MEDIA_DIR=str(media))
    cache = app.extensions["observability"].ready
    now = [1000.0]
    cache.clock = lambda: now[0]
    probes: list[str] = []
    real_media = ready.check_media

    def counted(app: Flask) -> str:
        probes.append("media")
        return real_media(app)

    monkeypatch.setitem(ready.CHECKS, "media", counted)
    client = app.test_client()
    for _ in range(20):
        assert client.get("/ready").status_code == 200
    assert probes == ["media"]

    media.rename(tmp_path / "moved")
    (tmp_path / "flood-media").write_text("now a file: the storage cannot write")
    now[0] += ready.CACHE_SECONDS - 0.1
    assert client.get("/ready").status_code == 200  # still the cached answer
    now[0] += 0.1
    failed = client.get("/ready")
    assert failed.status_code == 503 and failed.json is not None
    assert failed.json["failing"] == ["media"]
    assert client.get("/ready").status_code == 503  # the failure is cached too
    assert probes == ["media", "media"]


def test_database_errors_never_quote_the_values_they_were_given(app: Flask) -> None:
    """SQLAlchemy leaves a failed statement's values out of its message (and the log).

    PostgreSQL's own text can still quote a value it could not read, so the error pages and the
    commit log name the error's kind and constraint only (app/errors.py, app/web.py).
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    secret = "hemmelig-adresse@example.org"
    with app.app_context(), engine_of(app).connect() as connection:
        with pytest.raises(DBAPIError) as raised:
            connection.execute(text("SELECT 1 / 0 WHERE :value <> ''"), {"value": secret})
    assert secret not in str(raised.value)
    assert "hidden" in str(raised.value)  # SQLAlchemy says the parameters were left out
