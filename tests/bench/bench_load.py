"""A bounded HTTP load loop (127.0.0.1 only), latency statistics, and server processes."""

from __future__ import annotations

import http.client
import itertools
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"  # the only address the benchmark ever talks to


@dataclass
class Stats:
    """Latencies (seconds) of one measured operation and what came back."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: int = 0
    bytes: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def pct(self, q: float) -> float | None:
        """The q-quantile (0..1) in milliseconds, nearest rank."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    @property
    def throughput(self) -> float | None:
        """Completed requests per second of wall time."""
        return len(self.latencies) / self.wall if self.wall > 0 and self.latencies else None

    def summary(self) -> dict[str, float | int | None]:
        """The numbers the report keeps."""
        return {
            "n": len(self.latencies),
            "p50_ms": _r(self.pct(0.50)),
            "p95_ms": _r(self.pct(0.95)),
            "p99_ms": _r(self.pct(0.99)),
            "per_s": _r(self.throughput),
            "errors": self.errors,
            "mean_bytes": round(self.bytes / len(self.latencies)) if self.latencies else None,
        }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass
class Request:
    """One request of a load run."""

    path: str
    method: str = "GET"
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def load(
    port: int,
    requests: Sequence[Request] | Callable[[int], Request],
    *,
    connections: int = 4,
    total: int = 200,
    seconds: float = 30.0,
    ok: Callable[[int], bool] = lambda status: status < 400,
) -> Stats:
    """Send `total` requests over `connections` keep-alive connections, stopping after `seconds`."""
    stats = Stats()
    counter = itertools.count()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def pick(i: int) -> Request:
        return requests(i) if callable(requests) else requests[i % len(requests)]

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        while time.monotonic() < deadline:
            i = next(counter)
            if i >= total:
                break
            req = pick(i)
            started = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
                with lock:
                    stats.errors += 1
                continue
            elapsed = time.perf_counter() - started
            with lock:
                stats.statuses[status] = stats.statuses.get(status, 0) + 1
                if ok(status):
                    stats.latencies.append(elapsed)
                    stats.bytes += len(body)
                else:
                    stats.errors += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats.wall = time.perf_counter() - started
    return stats


def fetch(port: int, req: Request) -> tuple[int, dict[str, str], bytes]:
    """One request; status, headers (last value of each, lower-case names) and body."""
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request(req.method, req.path, body=req.body, headers=req.headers)
        response = conn.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        cookies = [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
        headers["set-cookie"] = "\n".join(cookies)
        return response.status, headers, response.read()
    finally:
        conn.close()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """A server process in its own process group, stopped by its id (never by name)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log: Path):
        self.name, self.port = name, port
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        """Poll `path` until it answers below 500; raise if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                status, _h, _b = fetch(self.port, Request(path))
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer on port {self.port}")

    def stop(self) -> None:
        """SIGTERM to this server's own process group, then wait (SIGKILL after 15 s)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


def under_load(
    port: int,
    heavy: Sequence[Request],
    light: Sequence[Request],
    *,
    clients: int = 10,
    seconds: float = 20.0,
    pause: float = 0.05,
) -> tuple[Stats, Stats, dict[str, Stats]]:
    """`clients` connections repeat the heavy requests while one client sends the light ones
    in turn (with a short pause, as a person would); returns heavy, light and light per path."""
    heavy_stats, light_stats = Stats(), Stats()
    per_path: dict[str, Stats] = {r.path: Stats() for r in light}
    lock = threading.Lock()
    stop = threading.Event()

    def one(conn: http.client.HTTPConnection, req: Request) -> tuple[int | None, float]:
        started = time.perf_counter()
        try:
            conn.request(req.method, req.path, body=req.body, headers=req.headers)
            response = conn.getresponse()
            response.read()
            return response.status, time.perf_counter() - started
        except (OSError, http.client.HTTPException):
            conn.close()
            return None, time.perf_counter() - started

    def hammer(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        i = k
        while not stop.is_set():
            status, elapsed = one(conn, heavy[i % len(heavy)])
            i += clients
            with lock:
                _note(heavy_stats, status, elapsed)
        conn.close()

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # let the heavy clients fill the server first
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        req = light[i % len(light)]
        status, elapsed = one(conn, req)
        _note(light_stats, status, elapsed)
        _note(per_path[req.path], status, elapsed)
        i += 1
        time.sleep(pause)
    light_stats.wall = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    heavy_stats.wall = time.perf_counter() - started + 1.0
    conn.close()
    return heavy_stats, light_stats, per_path


def _note(stats: Stats, status: int | None, elapsed: float) -> None:
    if status is None:
        stats.errors += 1
        return
    stats.statuses[status] = stats.statuses.get(status, 0) + 1
    if status < 400:
        stats.latencies.append(elapsed)
    else:
        stats.errors += 1
