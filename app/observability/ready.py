"""Readiness: can this instance serve requests now (database, Redis, media storage)?

/health says the process and its database answer (what a load balancer restarts on); /ready
checks every dependency a request may need, for taking an instance out of rotation.

/ready is public and its checks cost something (a file written to media storage, a Redis
connection): each process answers from its last result for CACHE_SECONDS, so a flood of
requests cannot become a flood of storage writes.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import text

from app.db import engine_of

log = logging.getLogger(__name__)
# A check that takes longer than this is a failed check (seconds / milliseconds).
TIMEOUT_SECONDS = 2
TIMEOUT_MS = TIMEOUT_SECONDS * 1000
# How long one process reuses its readiness result (a load balancer checks every few seconds).
CACHE_SECONDS = 2.0


def check_database(app: Flask) -> str:
    """SELECT 1 on the primary, with a short statement timeout."""
    with engine_of(app).begin() as connection:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {TIMEOUT_MS}")
        connection.execute(text("SELECT 1"))
    return "ok"


def check_redis(app: Flask) -> str:
    """PING the Redis that holds the rate limits, when one is configured."""
    url = app.config.get("REDIS_URL") or ""
    if not url:
        return "not configured"
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def check_media(app: Flask) -> str:
    """The media directory takes a file (written and removed), or the S3 bucket answers."""
    from app.media.storage import LocalStorage, S3Storage, storage_for

    storage = storage_for(app)
    if isinstance(storage, S3Storage):
        storage.client.head_bucket(Bucket=storage.bucket)
        return "ok"
    if isinstance(storage, LocalStorage):
        # A real write, not os.access: that answers yes to root even on a read-only mount.
        # The name starts like the storage's own temp files, which listings and sweeps skip.
        probe = storage.root / f".tmp-ready-{secrets.token_hex(6)}"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        probe.unlink()
        return "ok"
    return "unknown storage"


CHECKS: dict[str, Callable[[Flask], str]] = {
    "database": check_database,
    "redis": check_redis,
    "media": check_media,
}


def readiness(app: Flask) -> tuple[bool, dict[str, str]]:
    """Run every check now: (all passed, each check's result).

    Failures name only the kind of error: /ready is public, the details go to the log.
    """
    results: dict[str, str] = {}
    ready = True
    for name, check in CHECKS.items():
        try:
            results[name] = check(app)
        except Exception as error:  # noqa: BLE001 - any failure means not ready
            ready = False
            results[name] = f"failed: {error.__class__.__name__}"
            log.warning("readiness check %s failed: %r", name, error)
    return ready, results


class ReadinessCache:
    """One app's last readiness result in this process, reused for CACHE_SECONDS."""

    def __init__(
        self, seconds: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Keep results for seconds, timed by clock (a monotonic one: wall time jumps)."""
        self.seconds = seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._result: tuple[bool, dict[str, str]] | None = None
        self._checked_at = 0.0

    def get(self, app: Flask) -> tuple[bool, dict[str, str]]:
        """The cached result while fresh, else a new one from readiness(app).

        Requests arriving while the checks run wait for that result instead of running
        their own: concurrent hits are one check too.
        """
        with self._lock:
            if self._result is not None and self.clock() - self._checked_at < self.seconds:
                return self._result
            self._result = readiness(app)
            self._checked_at = self.clock()
            return self._result
