"""Readiness: can this instance serve requests now (database, Redis, media storage)?

/health says the process and its database answer (what a load balancer restarts on); /ready
checks every dependency a request may need, for taking an instance out of rotation.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable

from flask import Flask
from sqlalchemy import text

from app.db import engine_of

log = logging.getLogger(__name__)
# A check that takes longer than this is a failed check (seconds / milliseconds).
TIMEOUT_SECONDS = 2
TIMEOUT_MS = TIMEOUT_SECONDS * 1000


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
    """Run every check; (all passed, each check's result). Failures name only the kind of
    error: /ready is public, the details go to the log."""
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
