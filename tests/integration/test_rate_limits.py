"""Rate limits shared by every worker (docs/security.md item 6): the app as deployed, gunicorn
with two worker processes counting failed logins in one Redis. With per-process memory the 11th
failed login would pass, because neither worker would have seen ten."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ACCESS_LINE = re.compile(r"^<(\d+)> (\S+) (\S+) (\d{3})$")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
LOGIN_LIMIT = 10


@dataclass
class Server:
    """A running gunicorn: its base URL, its access log and its rate-limit key prefix."""

    base: str
    access_log: Path
    prefix: str

    def requests(self) -> list[tuple[int, str, str, int]]:
        """(worker pid, method, path, status) of every request answered so far."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            match = ACCESS_LINE.match(line.strip())
            if match:
                pid, method, path, status = match.groups()
                rows.append((int(pid), method, path, int(status)))
        return rows


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.Redis]:
    """A Redis that answers (started by scripts/ensure-redis.sh when none does)."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        env = dict(os.environ, REDIS_URL=REDIS_URL)
        subprocess.run([str(ROOT / "scripts" / "ensure-redis.sh")], env=env, check=True)
        client.ping()
    yield client
    client.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def _in_pairs(url: str) -> None:
    """Two requests at the same moment, so a second worker has to take one."""
    threads = [threading.Thread(target=_get, args=(url,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def two_workers(database_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[Server]:
    """gunicorn with two workers on the test database, rate limits in Redis under a new prefix."""
    port = _free_port()
    prefix = f"heritage-test-{uuid.uuid4().hex}"
    access_log = tmp_path / "access.log"
    access_log.touch()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="rate-limit-test-secret",
        HERITAGE_BASE_URL=f"http://127.0.0.1:{port}",
        HERITAGE_ENV="development",
        REDIS_URL=REDIS_URL,
        HERITAGE_RATELIMIT_PREFIX=prefix,
        HERITAGE_RATELIMIT_ENABLED="true",
        HERITAGE_LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT}/minute",
        HERITAGE_LOGIN_ACCOUNT_RATE_LIMIT=f"{LOGIN_LIMIT}/15 minutes",
        # One proxy in front: X-Forwarded-For names the client, so a test can be many clients.
        HERITAGE_PROXY_HOPS="1",
    )
    server_log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "--no-control-socket", "--log-level", "warning", "--access-logfile", str(access_log),
         "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "wsgi:app"],
        cwd=ROOT, env=env, stdout=server_log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", access_log, prefix)
    try:
        # Ready when both workers have answered something.
        deadline = time.monotonic() + 30
        while len({pid for pid, *_ in server.requests()}) < 2:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    "gunicorn did not serve with two workers:\n"
                    + (tmp_path / "server.log").read_text()[-3000:]
                )
            _in_pairs(server.base + "/health")
            time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        server_log.close()
        for key in redis_client.scan_iter(match=f"*{prefix}*"):
            redis_client.delete(key)


class Device:
    """One browser: its own cookie jar; every request is a new TCP connection (urllib closes)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = ""
        self.last_page = ""

    def open_login_page(self) -> None:
        with self.opener.open(self.base + "/login", timeout=10) as response:
            match = CSRF.search(response.read().decode())
        assert match, "no CSRF token on /login"
        self.token = match.group(1)

    def log_in(
        self, email: str, password: str, client_address: str | None = None
    ) -> tuple[int, dict[str, str]]:
        body = urllib.parse.urlencode(
            {"email": email, "password": password, "csrf_token": self.token}
        ).encode()
        request = urllib.request.Request(self.base + "/login", data=body)  # noqa: S310 - 127.0.0.1
        if client_address:
            request.add_header("X-Forwarded-For", client_address)
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as error:
            self.last_page = error.read().decode()
            return error.code, dict(error.headers)


def _devices(server: Server) -> list[Device]:
    """One browser-like client per attempt, each with the login page (and its CSRF) open."""
    devices = [Device(server.base) for _ in range(LOGIN_LIMIT + 1)]
    for device in devices:
        device.open_login_page()
    return devices


def _fail_in_pairs(attempt: Callable[[int], int]) -> list[int]:
    """Failed logins 1-10, two at a time so both workers take some of them; their statuses."""
    statuses: list[int] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        status = attempt(n)
        with lock:
            statuses.append(status)

    for first in range(0, LOGIN_LIMIT, 2):
        pair = [threading.Thread(target=run, args=(n,)) for n in (first, first + 1)]
        for thread in pair:
            thread.start()
        for thread in pair:
            thread.join()
    return statuses


def _logged_logins(server: Server) -> list[tuple[int, int]]:
    """(worker pid, status) of every POST /login, once gunicorn has logged all of them.

    gunicorn writes the access line after sending the response: wait for the last one.
    """
    deadline = time.monotonic() + 10
    while True:
        posts = [(pid, status) for pid, method, path, status in server.requests()
                 if method == "POST" and path == "/login"]  # fmt: skip
        if len(posts) >= LOGIN_LIMIT + 1 or time.monotonic() > deadline:
            return posts
        time.sleep(0.05)


def test_eleventh_failed_login_is_refused_across_two_workers(
    two_workers: Server, redis_client: redis.Redis
) -> None:
    devices = _devices(two_workers)
    statuses = _fail_in_pairs(
        lambda n: devices[n].log_in("nobody@example.org", "not the password")[0]
    )
    assert statuses == [422] * LOGIN_LIMIT

    status, headers = devices[-1].log_in("nobody@example.org", "not the password")
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert headers["Content-Type"].startswith("text/html")

    posts = _logged_logins(two_workers)
    refused_by = {pid for pid, status in posts if status == 422}
    assert len(refused_by) == 2, f"one worker took every failed login: {posts}"
    assert [status for _, status in posts] == [422] * LOGIN_LIMIT + [429]
    # The counts really are in Redis, under this run's prefix.
    assert list(redis_client.scan_iter(match=f"*{two_workers.prefix}*"))


def test_failed_logins_on_one_account_from_many_addresses_are_refused_across_two_workers(
    two_workers: Server, redis_client: redis.Redis
) -> None:
    """Each attempt from its own client address, so only the per-account limit can stop them."""
    devices = _devices(two_workers)
    statuses = _fail_in_pairs(
        lambda n: devices[n].log_in("victim@example.org", "a guess", f"198.51.100.{n + 1}")[0]
    )
    assert statuses == [422] * LOGIN_LIMIT

    status, headers = devices[-1].log_in("Victim@Example.org", "a guess", "203.0.113.7")
    assert status == 429
    assert int(headers["Retry-After"]) > 0
    assert "For mange mislykkede innlogginger på denne kontoen" in devices[-1].last_page
    # Both workers answered some of the failures, and the count is in Redis, keyed on a hash.
    posts = _logged_logins(two_workers)
    assert len({pid for pid, status in posts if status == 422}) == 2, posts
    keys = [key.decode() for key in redis_client.scan_iter(match=f"*{two_workers.prefix}*")]
    assert any("login-account" in key for key in keys), keys
    assert not [key for key in keys if "victim" in key.lower()]
