"""Running the app as deployed (gunicorn) for tests that need a real HTTP server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    log_name: str,
    wsgi: str = "wsgi:app",
    workers: int = 2,
    ready_path: str = "/health",
    ready_status: int = 200,
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """Serve the app with gunicorn on a free port; yields the base URL, stops it afterwards.

    The server's output goes to test-artifacts/<log_name>; a server that does not answer
    `ready_path` with `ready_status` within 90 s fails the test with that file named.
    """
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    base = f"http://127.0.0.1:{port}"
    merged = {**os.environ, "HERITAGE_BASE_URL": base, **env}
    with open(ARTIFACTS / log_name, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
             "--workers", str(workers), "--no-control-socket", "--log-level", "warning",
             *extra_args, wsgi],
            cwd=ROOT, env=merged, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            _wait(base + ready_path, ready_status, proc, log_name)
            yield base
        finally:
            # Graceful stop; a server still busy after 10 s (a loaded machine) is killed so it
            # never outlives the test and holds the port or the database.
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def _wait(url: str, status: int, proc: subprocess.Popen, log_name: str) -> None:
    deadline = time.monotonic() + 90  # generous: a loaded 2-core machine starts slowly
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - 127.0.0.1
                if response.status == status:
                    return
        except urllib.error.HTTPError as error:
            if error.code == status:
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the server did not start; see test-artifacts/{log_name}")
        time.sleep(0.2)
