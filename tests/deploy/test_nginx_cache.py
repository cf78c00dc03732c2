"""The example nginx configuration (deploy/nginx.conf), run for real in front of two gunicorn
servers of the app: public map tiles are answered from nginx's cache, logged-in answers never
are, and an approval shows through the cache within the tile's max age (docs/deployment-cache.md).

nginx runs on a free high port with a prefix of its own (configuration, cache, logs, temporary
files); the only changes to the example are the ones a test must make: addresses, paths, no TLS.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import text

from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, User, UserRole
from app.moderation.operations import decide
from app.moderation.states import Action
from geo.cells import tile_xy
from tests.conftest import PASSWORD, PASSWORD_HASH, csrf_from
from tests.serving import ARTIFACTS, ROOT, gunicorn

EXAMPLE = ROOT / "deploy" / "nginx.conf"
MAX_AGE = 2  # HERITAGE_MAP_TILE_MAX_AGE of the servers under test (seconds)
ZOOM = 6
AGENT = "kulturspor-nginx-cache-test"
# One tile per test, so that no test depends on what another left in the cache; away from the
# places other tests put traces (counts are compared, not assumed, in case one stays behind).
PLACES = {
    "hit": (31.11, 70.37), "bypass": (11.39, 62.57), "approval": (7.05, 57.98),
    "visitor": (14.40, 67.28),
}  # fmt: skip
DATA_TABLES = (
    "audit_events, notifications, comments, password_reset_tokens, revisions, traces, "
    "memberships, user_sessions, projects, users, mail_outbox"
)
# gunicorn access log: method, path, status, user agent (the readiness probe's is not ours).
ACCESS_FORMAT = '%(m)s %(U)s %(s)s "%(a)s"'
ACCESS_LINE = re.compile(r'^(\S+) (\S+) (\d{3}) "(.*)"$')


def tile_of(lon: float, lat: float, z: int = ZOOM) -> str:
    """The /api/map/tiles/z/x/y path of the Web Mercator tile holding this point."""
    x, y = tile_xy(lon, lat, z)
    return f"/api/map/tiles/{z}/{x}/{y}"


def nginx_binary() -> str:
    """nginx on this machine, installed by scripts/ensure-nginx.sh if it is missing."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found:
        return found
    result = subprocess.run(
        [str(ROOT / "scripts" / "ensure-nginx.sh")], capture_output=True, text=True, timeout=600
    )
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if not found:
        pytest.skip(
            "nginx is not installed and scripts/ensure-nginx.sh could not install it "
            f"(exit {result.returncode}): {result.stderr.strip()[-500:]}"
        )
    return found


def render(example: str, *, port: int, apps: list[str], home: Path) -> str:
    """The example configuration with this test's addresses and paths, and without TLS.

    Each change must apply exactly as often as expected, so an edit of the example that this
    test no longer understands fails here, by name, instead of testing something else.
    """
    host = lambda url: urllib.parse.urlsplit(url).netloc  # noqa: E731
    changes = [
        (r"proxy_cache_path /var/cache/nginx/kulturspor ", f"proxy_cache_path {home}/cache ", 1),
        (r"server 10\.0\.0\.11:8000 ", f"server {host(apps[0])} ", 1),
        (r"server 10\.0\.0\.12:8000 ", f"server {host(apps[1])} ", 1),
        # The redirect to https on port 80.
        (r"(?s)server \{\n    listen 80;.*?\n\}\n", "", 1),
        (r"    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{port};\n", 1),
        (r"    listen \[::\]:443 ssl http2;\n", "", 1),
        (r"    ssl_certificate(_key)? .*\n", "", 2),
        (r"access_log /var/log/nginx/\S+ ", f"access_log {home}/access.log ", 1),
    ]
    for pattern, replacement, expected in changes:
        example, count = re.subn(pattern, replacement, example)
        assert count == expected, f"deploy/nginx.conf no longer has {pattern!r} {expected}x"
    return example


@contextmanager
def nginx(binary: str, site: str, home: Path, port: int) -> Iterator[str]:
    """Run nginx in the foreground on its own prefix; yields its base URL, stops it afterwards."""
    for name in ("cache", "temp"):
        (home / name).mkdir(parents=True, exist_ok=True)
    (home / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {home}/temp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Root's workers would run as "nobody", who may not enter pytest's private temp directory.
    user = "user root;" if os.geteuid() == 0 else ""
    (home / "nginx.conf").write_text(
        f"{user}\nworker_processes 1;\npid {home}/nginx.pid;\nerror_log {home}/error.log info;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{ {temp} include {home}/site.conf; }}\n"
    )
    error_log = home / "error.log"
    proc = subprocess.Popen(
        [binary, "-p", str(home), "-c", str(home / "nginx.conf"), "-e", str(error_log),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while get(base + "/health").status != 200:
            failed = proc.poll() is not None or time.monotonic() > deadline
            log = error_log.read_text()[-2000:] if error_log.exists() else ""
            assert not failed, "nginx did not start:\n" + log
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        ARTIFACTS.mkdir(exist_ok=True)
        for name in ("error.log", "access.log"):
            if (home / name).exists():
                shutil.copy(home / name, ARTIFACTS / f"nginx-cache-{name}")


@contextmanager
def side_by_side(managers: list[AbstractContextManager[str]]) -> Iterator[list[str]]:
    """Enter several servers' context managers at once, and leave them at once: each waits
    seconds for its server to start or stop, and they need not wait for one another."""
    with ThreadPoolExecutor(len(managers)) as pool:
        started = [pool.submit(manager.__enter__) for manager in managers]
        entered, values, failure = [], [], None
        for manager, future in zip(managers, started, strict=True):
            try:
                values.append(future.result())
                entered.append(manager)
            except Exception as error:  # noqa: BLE001 - raised below, once all are stopped
                failure = failure or error
        try:
            if failure is not None:
                raise failure
            yield values
        finally:
            list(pool.map(lambda manager: manager.__exit__(None, None, None), entered))


@dataclass
class Answer:
    """One HTTP answer, read to the end."""

    status: int
    headers: Any
    body: bytes

    @property
    def cache(self) -> str | None:
        """nginx's X-Cache-Status: MISS, HIT, BYPASS, EXPIRED, REVALIDATED..."""
        return self.headers.get("X-Cache-Status")

    def count(self) -> int:
        """Traces in a tile answer: the sum of its clusters' counts."""
        return sum(f["properties"]["count"] for f in json.loads(self.body)["features"])


def get(url: str, opener: urllib.request.OpenerDirector | None = None, **headers: str) -> Answer:
    """GET with this test's user agent; HTTP errors are answers too, a refused connection 0."""
    request = urllib.request.Request(url, headers={"User-Agent": AGENT, **headers})  # noqa: S310
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=5) as response:
            return Answer(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, error.headers, error.read())
    except OSError:
        return Answer(0, {}, b"")


@dataclass
class Stack:
    """nginx and the two app servers behind it."""

    base: str
    access_logs: list[Path]
    ids: dict[str, int]

    def logged(self, path: str | None = None) -> list[list[tuple[str, int]]]:
        """Per app server: (path, status) of our requests in its access log so far."""
        per_server = []
        for log in self.access_logs:
            matches = (ACCESS_LINE.match(line) for line in log.read_text().splitlines())
            per_server.append(
                [(m.group(2), int(m.group(3))) for m in matches
                 if m and m.group(4) == AGENT and path in (None, m.group(2))]
            )  # fmt: skip
        return per_server

    def reached(self, path: str | None, at_least: int) -> list[list[tuple[str, int]]]:
        """logged(path), once at least `at_least` requests are in the logs (gunicorn writes a
        line just after answering), and a moment later, for a line that would follow them."""
        deadline = time.monotonic() + 3
        while sum(map(len, self.logged(path))) < at_least and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.1)
        return self.logged(path)

    def statuses(self, path: str, at_least: int) -> list[int]:
        """The statuses the app servers answered our requests for path with, sorted."""
        return sorted(status for rows in self.reached(path, at_least) for _path, status in rows)


def _seed(app: Flask) -> dict[str, int]:
    """A project with a librarian, a resident, and in each test's tile one approved trace and
    one pending trace of the resident's; committed, for the servers to see."""
    with app.app_context():
        project = Project(slug="nginx-cache", name="Nginx cache", library_name="Test bibliotek")
        people = {}
        for key, role in (("resident", UserRole.RESIDENT), ("librarian", UserRole.LIBRARIAN)):
            people[key] = User(
                email=f"{key}@nginx.example", email_normalized=f"{key}@nginx.example",
                display_name=key.title(), password_hash=PASSWORD_HASH, role=role,
            )  # fmt: skip
        db.session.add_all([project, *people.values()])
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=people["librarian"].id,
                       role=MembershipRole.LIBRARIAN)
        )  # fmt: skip
        resident = people["resident"]
        ids: dict[str, int] = {}
        for name, (lon, lat) in PLACES.items():
            for status in (TraceStatus.APPROVED, TraceStatus.PENDING):
                trace = Trace(
                    project_id=project.id, author_id=resident.id, title=f"{name} {status}",
                    geom=from_shape(Point(lon, lat), srid=4326), status=status,
                    licence="CC-BY-4.0",
                    approved_by_id=resident.id if status == TraceStatus.APPROVED else None,
                    approved_at="2026-10-01T12:00:00Z" if status == TraceStatus.APPROVED else None,
                )  # fmt: skip
                db.session.add(trace)
                db.session.flush()
                ids[f"{name}-{status.value}"] = trace.id
        ids["librarian"] = people["librarian"].id
        db.session.commit()
        db.session.remove()
    return ids


def _cleanup(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))


@pytest.fixture(scope="module")
def stack(
    app: Flask, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """deploy/nginx.conf on a free port in front of two gunicorn servers on the test database."""
    binary = nginx_binary()
    assert len({tile_of(*place) for place in PLACES.values()}) == len(PLACES)
    home = tmp_path_factory.mktemp("nginx")
    # nginx's port stays taken until nginx starts, so that no app server can be given it.
    reserved = socket.socket()
    reserved.bind(("127.0.0.1", 0))
    port = reserved.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    env = {
        "DATABASE_URL": database_url, "SECRET_KEY": "nginx-cache-test-secret",
        "HERITAGE_ENV": "production", "HERITAGE_SECURE_COOKIES": "0",
        "HERITAGE_BASE_URL": base, "HERITAGE_PROXY_HOPS": "1",
        "HERITAGE_MAP_TILE_MAX_AGE": str(MAX_AGE),
    }  # fmt: skip
    logs = [home / f"app{n}.access.log" for n in (1, 2)]
    try:
        ids = _seed(app)
        servers = [
            gunicorn(env, log_name=f"nginx-cache-app{n}.log", workers=1,
                     extra_args=("--access-logfile", str(log), "--access-logformat", ACCESS_FORMAT))
            for n, log in enumerate(logs, start=1)
        ]  # fmt: skip
        with side_by_side(servers) as apps:
            site = render(EXAMPLE.read_text(), port=port, apps=apps, home=home)
            reserved.close()
            with nginx(binary, site, home, port):
                yield Stack(base, logs, ids)
    finally:
        reserved.close()
        _cleanup(app)


def test_second_anonymous_request_is_a_cache_hit_served_without_the_app(stack: Stack) -> None:
    """MISS, then HIT without reaching either app server; stale: revalidated with a 304."""
    path = tile_of(*PLACES["hit"])
    first = get(stack.base + path)
    assert first.status == 200, first.body[:300]
    assert first.cache == "MISS"
    assert first.count() >= 1  # the approved trace (its pending neighbour is not public)
    # Nothing in the app's answer keeps a shared cache from keeping it.
    assert "Set-Cookie" not in first.headers
    assert "cookie" not in (first.headers.get("Vary") or "").lower()
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    assert stack.statuses(path, 1) == [200]

    second = get(stack.base + path)
    assert (second.status, second.cache, second.body) == (200, "HIT", first.body)
    # Browsers are told to ask again each time, so they never add a max-age of their own ...
    assert second.headers["Cache-Control"] == "no-cache"
    # ... which this cache answers with a 304 of its own.
    again = get(stack.base + path, **{"If-None-Match": second.headers["ETag"]})
    assert (again.status, again.cache) == (304, "HIT")
    assert stack.statuses(path, 1) == [200], "a cache hit reached an app server"

    # Once stale, nginx asks the app with the validators; the tile has not changed: a 304.
    deadline = time.monotonic() + MAX_AGE + 1
    while (answer := get(stack.base + path)).cache == "HIT" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert (answer.status, answer.cache, answer.body) == (200, "REVALIDATED", first.body)
    # The answers from the cache never reached the app: one 200, then the 304.
    assert stack.statuses(path, 2) == [200, 304]


def test_a_visitor_with_a_session_cookie_is_served_from_the_cache(stack: Stack) -> None:
    """Browsing gives anonymous visitors a session cookie (the front page's CSRF token): their
    tiles must still come from the cache, or the cache serves almost nobody."""
    path = tile_of(*PLACES["visitor"])
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    assert get(stack.base + "/", opener).status == 200
    assert "heritage_session" in {cookie.name for cookie in jar}, "the premise: a session cookie"
    answers = [get(stack.base + path, opener) for _ in range(2)]
    assert [(a.status, a.cache) for a in answers] == [(200, "MISS"), (200, "HIT")]
    assert "Set-Cookie" not in answers[0].headers
    assert "cookie" not in (answers[0].headers.get("Vary") or "").lower()
    assert stack.statuses(path, 1) == [200], "a cache hit reached an app server"


def test_logged_in_answers_are_private_and_never_cached(stack: Stack) -> None:
    """With a session cookie nginx bypasses the cache; what the user sees is never stored."""
    path = tile_of(*PLACES["bypass"])
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = csrf_from(get(stack.base + "/login", opener).body.decode())
    login = urllib.request.Request(  # noqa: S310 - 127.0.0.1
        stack.base + "/login", headers={"User-Agent": AGENT},
        data=urllib.parse.urlencode(
            {"email": "resident@nginx.example", "password": PASSWORD, "csrf_token": token}
        ).encode(),
    )  # fmt: skip
    with opener.open(login, timeout=5) as response:
        assert urllib.parse.urlsplit(response.url).path != "/login", "the login failed"

    mine = [get(stack.base + path, opener) for _ in range(2)]
    assert [(a.status, a.cache) for a in mine] == [(200, "BYPASS")] * 2
    assert all(a.headers["Cache-Control"] == "private, no-store" for a in mine)
    # Anonymous visitors got nothing of it: the first one is a miss and sees the public tile,
    # without the resident's pending trace.
    public = [get(stack.base + path) for _ in range(2)]
    assert [a.cache for a in public] == ["MISS", "HIT"]
    assert mine[0].count() == mine[1].count() == public[0].count() + 1 == public[1].count() + 1
    # And the logged-in user is still not answered from what anonymous visitors left there.
    last = get(stack.base + path, opener)
    assert (last.cache, last.count()) == ("BYPASS", mine[0].count())
    # Two bypasses, the miss, the last bypass: the hit never reached the app.
    assert stack.statuses(path, 4) == [200] * 4


def test_an_approval_shows_through_the_cache_within_the_max_age(app: Flask, stack: Stack) -> None:
    """The cached tile shows a trace approved by a librarian within MAX_AGE (+1 s) seconds."""
    path = tile_of(*PLACES["approval"])
    before = [get(stack.base + path) for _ in range(2)]
    assert [a.cache for a in before] == ["MISS", "HIT"]
    expected = before[0].count() + 1

    # The real moderation operation, as the moderation page runs it (a request: its messages and
    # notifications are built in the librarian's language).
    with app.test_request_context("/moderation"):
        trace = db.session.get(Trace, stack.ids["approval-pending"])
        librarian = db.session.get(User, stack.ids["librarian"])
        assert trace is not None and librarian is not None
        outcome = decide(librarian, trace, Action.APPROVE, trace.version)
        assert outcome.changed
        db.session.commit()
        db.session.remove()
    committed = time.monotonic()

    seen = []
    while True:
        answer = get(stack.base + path)
        elapsed = time.monotonic() - committed
        seen.append((round(elapsed, 2), answer.cache, answer.count()))
        if answer.count() == expected:
            break
        assert elapsed <= MAX_AGE + 1, f"the approval did not show within {MAX_AGE + 1} s: {seen}"
        time.sleep(0.1)
    assert elapsed <= MAX_AGE + 1, seen
    # It came from the app, through the cache, which then holds the new tile.
    assert answer.cache in ("EXPIRED", "MISS"), seen
    assert get(stack.base + path).cache == "HIT"


def test_requests_are_spread_over_both_app_servers(stack: Stack) -> None:
    """The upstream balances: each of the two app servers answers requests through nginx."""
    before = [len(rows) for rows in stack.logged("/health")]
    for _ in range(4):
        assert get(stack.base + "/health").status == 200
    after = [len(rows) for rows in stack.reached("/health", sum(before) + 4)]
    new = [n - b for n, b in zip(after, before, strict=True)]
    assert sum(new) == 4 and min(new) >= 1, new
