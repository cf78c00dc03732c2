"""A real hot standby behind two app servers (docs/replicas.md; app/replica.py).

The test makes a small primary cluster of its own (never the machine's main one, which may hold
benchmark databases), migrates the app's database in it, clones it with `pg_basebackup -R`
into a streaming standby on another port, and runs two gunicorn servers with DATABASE_URL on
the primary and HERITAGE_READ_DATABASE_URL on the standby, rate limits in the local Redis.

- An approval made over HTTP reaches the anonymous map through the standby: while the
  standby's replay is paused the map does not show it (the primary already does), and once
  replay resumes it does. Reading from the primary could not pass that.
- With the standby stopped, the map and /health keep answering from the primary at once.
- A login on one server holds on the other (sessions live in the database), and failed logins
  spread over both servers meet one limit (counted in Redis).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from app import create_app, replica
from app.db import db, engine_of
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, User, UserRole
from tests.conftest import PASSWORD, PASSWORD_HASH, csrf_from
from tests.serving import ARTIFACTS, free_port, gunicorn

PG_BIN = Path(os.environ.get("HERITAGE_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_URL = os.environ.get("TEST_REPLICA_REDIS_URL", "redis://127.0.0.1:6379/13")
LOGIN_LIMIT = 3  # failed logins per minute and address, on both servers together
LIBRARIAN = "librarian@replica.example"
MAP = "/api/map?bbox=4,57,32,72&zoom=6"  # all of Norway, clustered
TILE = "/api/map/tiles/6/36/14"  # the z6 tile holding the trace (Alta, 23.27 E 69.97 N)
# Settings of the small clusters: fast and throw-away (no fsync), Unix sockets only.
SERVER_SETTINGS = (
    "listen_addresses=''", "fsync=off", "full_page_writes=off",
    "shared_buffers=32MB", "max_connections=60", "log_min_messages=warning",
)  # fmt: skip


def _as_postgres(*command: str | Path, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run a server binary as the postgres OS user when we are root (PostgreSQL refuses root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *map(str, command)], check=True, capture_output=True, text=True, **kwargs
    )


@dataclass
class Cluster:
    """One PostgreSQL server of this test: data directory, socket directory and port."""

    name: str
    data: Path
    sockets: Path
    port: int

    def url(self, database: str = "heritage") -> str:
        """The SQLAlchemy URL of a database on this server, over its Unix socket."""
        return (
            f"postgresql+psycopg:///{database}?host={self.sockets}&port={self.port}&user=postgres"
        )

    def start(self) -> None:
        """pg_ctl start, waiting until it accepts connections (a standby: once consistent)."""
        settings = (
            *SERVER_SETTINGS,
            f"port={self.port}",
            f"unix_socket_directories={self.sockets}",
        )
        options = " ".join(f"-c {setting}" for setting in settings)
        _as_postgres(PG_BIN / "pg_ctl", "start", "-w", "-t", "30", "-D", self.data,
                     "-l", self.data.parent / f"{self.name}.log", "-o", options)  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop (nothing happens when it is not running)."""
        if (self.data / "postmaster.pid").exists():
            _as_postgres(PG_BIN / "pg_ctl", "stop", "-w", "-m", mode, "-D", self.data)

    def sql(self, statement: str, database: str = "heritage") -> Any:
        """Run one statement in autocommit; the first column of the first row, if any."""
        conninfo = f"dbname={database} host={self.sockets} port={self.port} user=postgres"
        with psycopg.connect(conninfo, autocommit=True) as connection:
            cursor = connection.execute(statement)
            row = cursor.fetchone() if cursor.description else None
            return row[0] if row else None


def _clusters(home: Path) -> tuple[Cluster, Cluster]:
    """The primary and standby of this test (nothing created yet), in `home`."""
    primary, standby = (
        Cluster(name, home / name, home / f"{name}-sockets", free_port())
        for name in ("primary", "standby")
    )
    for cluster in (primary, standby):
        cluster.sockets.mkdir()
    if os.geteuid() == 0:  # the servers run as postgres and write here
        for path in (home, primary.sockets, standby.sockets):
            shutil.chown(path, "postgres")
    return primary, standby


def _make_primary(primary: Cluster) -> None:
    """A new cluster with the app's database, migrated and seeded."""
    _as_postgres(PG_BIN / "initdb", "-D", primary.data, "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
    primary.start()
    primary.sql("CREATE DATABASE heritage", database="postgres")
    app = create_app({"SQLALCHEMY_DATABASE_URI": primary.url(), "TESTING": True})
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()  # the initial migration creates PostGIS, a later one pg_trgm
        _seed(app)
    finally:
        db.session.remove()
        engine_of(app).dispose()


def _make_standby(primary: Cluster, standby: Cluster) -> None:
    """A hot standby streaming from the primary: pg_basebackup -R, then start it."""
    # -R: standby.signal and primary_conninfo; -c fast: do not wait for a spread checkpoint.
    _as_postgres(PG_BIN / "pg_basebackup", "-D", standby.data, "-h", primary.sockets,
                 "-p", primary.port, "-U", "postgres", "-R", "-X", "stream", "-c", "fast",
                 "--no-sync")  # fmt: skip
    standby.start()


def _seed(app: Any) -> None:
    """A project, its librarian and one pending trace (in Alta)."""
    with app.app_context():
        project = Project(slug="replica", name="Replica", library_name="Test bibliotek")
        librarian = User(email=LIBRARIAN, email_normalized=LIBRARIAN, display_name="Librarian",
                         password_hash=PASSWORD_HASH, role=UserRole.LIBRARIAN)  # fmt: skip
        db.session.add_all([project, librarian])
        db.session.flush()
        db.session.add(Membership(project_id=project.id, user_id=librarian.id,
                                  role=MembershipRole.LIBRARIAN))  # fmt: skip
        db.session.add(
            Trace(project_id=project.id, author_id=librarian.id, title="Fangstgrop",
                  geom=from_shape(Point(23.27, 69.97), srid=4326), status=TraceStatus.PENDING,
                  licence="CC-BY-4.0")
        )  # fmt: skip
        db.session.commit()


@dataclass
class Answer:
    """One HTTP answer, read to the end, and how long it took."""

    status: int
    headers: Any
    body: bytes
    seconds: float

    def count(self) -> int:
        """Traces on the map: the sum of its clusters' counts."""
        return sum(f["properties"].get("count", 1) for f in json.loads(self.body)["features"])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a redirect is an answer of its own here (a login's 302)


class Browser:
    """One client with its cookies; the servers share a host name, so they get the same ones."""

    def __init__(self) -> None:
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def request(self, url: str, form: dict[str, str] | None = None) -> Answer:
        """GET, or POST the form; HTTP errors are answers too."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        started = time.monotonic()
        try:
            request = urllib.request.Request(url, data=data)  # noqa: S310 - 127.0.0.1 only
            with self.opener.open(request, timeout=10) as response:
                body = response.read()
                return Answer(response.status, response.headers, body, time.monotonic() - started)
        except urllib.error.HTTPError as error:
            with error:
                body = error.read()
                return Answer(error.code, error.headers, body, time.monotonic() - started)

    def token(self, url: str) -> str:
        """A CSRF token from a page (it belongs to this browser's session cookie)."""
        return csrf_from(self.request(url).body.decode())


def anonymous(url: str) -> Answer:
    """A request without any cookie."""
    return Browser().request(url)


@dataclass
class Deployment:
    """The two clusters and the two app servers on them."""

    primary: Cluster
    standby: Cluster
    servers: list[str]


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    """Primary + standby clusters and two gunicorn servers; everything removed afterwards."""
    if not (PG_BIN / "pg_basebackup").exists() or not (PG_BIN / "initdb").exists():
        pytest.skip(f"the PostgreSQL server binaries are not installed in {PG_BIN}")
    home = Path(tempfile.mkdtemp(prefix="heritage-replica-"))
    prefix = f"replica-test-{uuid.uuid4().hex[:8]}"
    try:
        primary, standby = _clusters(home)
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    env = {
        "DATABASE_URL": primary.url(), "HERITAGE_READ_DATABASE_URL": standby.url(),
        "SECRET_KEY": "replica-test-secret", "REDIS_URL": REDIS_URL,
        "HERITAGE_RATELIMIT_ENABLED": "1", "HERITAGE_RATELIMIT_PREFIX": prefix,
        "HERITAGE_LOGIN_RATE_LIMIT": f"{LOGIN_LIMIT}/minute",
    }  # fmt: skip
    try:
        _make_primary(primary)
        with ExitStack() as stop:
            # The servers start while the standby is made: until a map request they need only
            # the primary (/health tells when they are ready, and never asks the replica).
            servers = _serve(stop, env, 2, also=lambda: _make_standby(primary, standby))
            yield Deployment(primary, standby, servers)
    finally:
        for cluster in (standby, primary):
            try:
                cluster.stop("immediate")
            except subprocess.CalledProcessError:
                pass
        ARTIFACTS.mkdir(exist_ok=True)
        for log in home.glob("*.log"):
            shutil.copy(log, ARTIFACTS / f"replica-{log.name}")
        shutil.rmtree(home, ignore_errors=True)
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        keys = list(client.scan_iter(f"{prefix}*"))
        if keys:
            client.delete(*keys)


def _serve(stop: ExitStack, env: dict[str, str], count: int, also: Callable[[], None]) -> list[str]:
    """Start the app servers side by side, and run `also` meanwhile; their base URLs.

    Each server waits until it answers (tests/serving.py); `stop` stops them side by side too.
    """
    # One worker each; a worker still tearing its interpreter down 2 s after SIGTERM (a busy
    # machine) is killed, so stopping never runs into tests/serving.py's 10 s wait.
    managers = [gunicorn(env, log_name=f"replica-app{n}.log", workers=1,
                         extra_args=("--graceful-timeout", "2"))
                for n in range(1, count + 1)]  # fmt: skip
    with ThreadPoolExecutor(count + 1) as pool:
        futures = [pool.submit(manager.__enter__) for manager in managers]
        meanwhile = pool.submit(also)
    started = [m for m, f in zip(managers, futures, strict=True) if f.exception() is None]

    def stop_all() -> None:
        with ThreadPoolExecutor(len(started) or 1) as stopper:
            for done in [stopper.submit(m.__exit__, None, None, None) for m in started]:
                done.result()

    stop.callback(stop_all)
    meanwhile.result()
    return [future.result() for future in futures]  # the first failure, if any, is raised


def _commit(primary: Cluster) -> None:
    """A small transaction on the primary, committed durably, so it streams to the standby.

    It must write a row: a transaction that only takes an id (SELECT pg_current_xact_id())
    commits asynchronously, and its commit record may sit unwritten for a while, so that
    pg_current_wal_lsn() does not include it and the standby replays nothing.
    """
    primary.sql("CREATE TABLE IF NOT EXISTS replica_test_ticks (at timestamptz)")
    primary.sql("INSERT INTO replica_test_ticks VALUES (now())")


def _caught_up(primary: Cluster, standby: Cluster) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    lsn = primary.sql("SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + 10
    while not standby.sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"):
        assert time.monotonic() < deadline, "the standby did not catch up within 10 s"
        time.sleep(0.05)


def test_approval_reaches_the_map_through_the_standby_and_the_primary_takes_over(
    deployment: Deployment,
) -> None:
    primary, standby = deployment.primary, deployment.standby
    a, b = deployment.servers
    assert standby.sql("SELECT pg_is_in_recovery()") is True
    # A standby that has replayed no transaction since it started cannot tell its lag, and
    # counts as too far behind until it has (app.replica.LAG_SQL): give it one to replay.
    _commit(primary)
    _caught_up(primary, standby)
    assert standby.sql(replica.LAG_SQL) == 0
    assert standby.sql("SELECT pg_last_xact_replay_timestamp() IS NOT NULL")
    for url in (server + path for server in (a, b) for path in (MAP, TILE)):
        answer = anonymous(url)
        assert (answer.status, answer.count()) == (200, 0), answer.body[:300]
    # The app's read connections are on the standby, and none of them on the primary.
    reading = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'heritage-read'"
    assert standby.sql(reading) >= 2  # at least one per server
    assert primary.sql(reading) == 0

    # Hold the standby at this point; then the librarian logs in on A and approves on B. The
    # fresh commit first makes the replica's lag (the age of its last replayed commit) small.
    _commit(primary)
    _caught_up(primary, standby)
    standby.sql("SELECT pg_wal_replay_pause()")
    # pg_wal_replay_pause() only asks: an idle standby pauses when the next WAL arrives, and
    # until then it may still replay what comes (the approval below, which the test then saw
    # on the standby). Wait until it reports 'paused', giving it WAL to stop at.
    deadline = time.monotonic() + 10
    while standby.sql("SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the standby did not pause within 10 s"
        _commit(primary)
        time.sleep(0.05)
    librarian = Browser()
    login = librarian.request(
        a + "/login",
        {"email": LIBRARIAN, "password": PASSWORD, "csrf_token": librarian.token(a + "/login")},
    )
    assert login.status == 302, login.body[:300]
    trace_id = primary.sql("SELECT id FROM traces WHERE title = 'Fangstgrop'")
    decided = librarian.request(
        f"{b}/moderation/decision/{trace_id}",
        {"action": "approve", "csrf_token": librarian.token(b + "/")},
    )
    assert decided.status == 302, decided.body[:300]
    assert primary.sql(f"SELECT status::text FROM traces WHERE id = {trace_id}") == "approved"

    # The standby has received the approval but not replayed it: app.replica measures a lag.
    received = primary.sql("SELECT pg_current_wal_lsn()::text")
    deadline = time.monotonic() + 5
    while not standby.sql(f"SELECT pg_last_wal_receive_lsn() >= '{received}'::pg_lsn"):
        assert time.monotonic() < deadline, "the standby did not receive the approval in 5 s"
        time.sleep(0.05)
    # The librarian (logged in: the primary) sees it; anonymous visitors (the standby) do not.
    assert librarian.request(b + MAP).count() == librarian.request(b + TILE).count() == 1
    # Each server measures the lag at most once a LAG_CHECK_SECONDS and keeps the last
    # measurement until then; after this wait, the next anonymous request measures the paused
    # standby itself: behind, but by seconds, well within READ_REPLICA_MAX_LAG_SECONDS.
    time.sleep(replica.LAG_CHECK_SECONDS + 0.2)
    assert 0 < standby.sql(replica.LAG_SQL) < 30
    for _ in range(5):
        seen = [anonymous(server + path).count() for server in (a, b) for path in (MAP, TILE)]
        assert seen == [0, 0, 0, 0]
        time.sleep(0.1)

    standby.sql("SELECT pg_wal_replay_resume()")
    deadline = time.monotonic() + 5
    while sum(anonymous(server + path).count() for server in (a, b) for path in (MAP, TILE)) < 4:
        assert time.monotonic() < deadline, "the approval did not reach the standby in 5 s"
        time.sleep(0.05)

    _caught_up(primary, standby)
    assert standby.sql(replica.LAG_SQL) == 0

    # Without the standby, both servers answer from the primary at once.
    standby.stop("fast")
    for _ in range(4):
        for server in (a, b):
            for path in (MAP, TILE):
                answer = anonymous(server + path)
                assert (answer.status, answer.count()) == (200, 1), answer.body[:300]
                assert answer.seconds < 2.5, f"{answer.seconds:.2f} s without the standby"
            assert anonymous(server + "/health").status == 200


def test_a_login_on_one_server_holds_on_the_other(deployment: Deployment) -> None:
    a, b = deployment.servers
    browser = Browser()
    assert browser.request(b + "/account").status == 302  # not logged in: sent to the login
    login = browser.request(
        a + "/login",
        {"email": LIBRARIAN, "password": PASSWORD, "csrf_token": browser.token(a + "/login")},
    )
    assert login.status == 302
    account = browser.request(b + "/account")
    assert account.status == 200
    assert LIBRARIAN.encode() in account.body
    # Logging out on B ends the session for A too.
    assert browser.request(b + "/logout", {"csrf_token": browser.token(b + "/")}).status == 302
    assert browser.request(a + "/account").status == 302


def test_failed_logins_on_both_servers_share_one_limit(deployment: Deployment) -> None:
    servers = deployment.servers
    browser = Browser()
    token = browser.token(servers[0] + "/login")
    wrong = {"email": "nobody@replica.example", "password": "wrong password", "csrf_token": token}
    statuses = []
    for attempt in range(LOGIN_LIMIT + 1):
        answer = browser.request(servers[attempt % 2] + "/login", wrong)
        statuses.append(answer.status)
    assert statuses == [422] * LOGIN_LIMIT + [429]
    assert int(answer.headers["Retry-After"]) > 0
