"""Reads on a streaming replica: which requests may use it, and whether it is fit to use.

When READ_DATABASE_URL names a hot standby (PostgreSQL streaming replication), app.db gives
each app a second engine for it, and the request session runs its queries there when, and
only when, this module says so (docs/replicas.md):

- **Which requests.** GET and HEAD requests of anonymous visitors to the public, read-only
  endpoints: the map (`api.map*`, clusters and tiles), the OGC API (`ogc.*`), search
  (`search.*`, and the page without script `search_page.*`), the export page and downloads
  (`export.*`) and the front page (`main.index`).
  These are the bulk of the traffic and the heaviest reads, and what they show may be a moment
  old: the same answers are cached publicly for MAP_TILE_MAX_AGE anyway.
- **Which stay on the primary.** Every write (POST, PUT, PATCH, DELETE), every request of a
  logged-in user (a session id or Flask-Login's user id in the cookie, or a remember cookie)
  and every request carrying credentials (an Authorization header: partner tokens). These are
  the requests whose users must read back what they just did (the trace page after
  submitting, the moderation queue after a decision, the account after a change) or whose
  rights must follow a revocation at once. Endpoints not listed (trace pages, /health, the
  moderation queue, forms) stay on the primary whoever asks. Side records written during a
  read (app.db.write_aside) always go to the primary.
- **Lag.** A standby replays the primary's WAL a little later, normally well under a second;
  an approval then shows on the public map on the next request or the one after. Harvesters
  overlap incremental harvests by minutes (app.publication.harvest.HARVEST_OVERLAP), far more
  than that. A replica further behind than READ_REPLICA_MAX_LAG_SECONDS (measured at most
  once a second) is not used until it catches up.
- **Fallback.** Whether the replica answers is checked when a request first needs the
  database, before any of its queries run: a connection is taken from the pool (which pings
  it) with a short connect timeout. If that fails, the replica is marked unavailable for
  READ_REPLICA_RETRY_SECONDS and this request, like the next ones, is served by the primary,
  so the request that finds the replica down still succeeds. A connection lost later in a
  request marks it unavailable too (the request itself gets the usual 503).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import request
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import ExceptionContext
from sqlalchemy.exc import DBAPIError, OperationalError

# Endpoint names (blueprint.view) answered from the replica; a name matches when it starts
# with one of these, so new map views (tiles, legends) and OGC/search routes are covered.
REPLICA_ENDPOINT_PREFIXES = ("api.map", "ogc.", "search.", "search_page.", "export.")
REPLICA_ENDPOINTS = frozenset({"main.index"})
READ_METHODS = frozenset({"GET", "HEAD"})
# Seconds to wait for a replica connection; libpq counts anything under 2 as 2.
CONNECT_TIMEOUT_SECONDS = 2
# How often the replay lag is measured (per process).
LAG_CHECK_SECONDS = 1.0
DEFAULT_MAX_LAG_SECONDS = 60.0
# Seconds the standby is behind the primary: 0 when it has replayed all it received (or is no
# standby at all), else the age of the last transaction it replayed. A standby with WAL waiting
# that has replayed no transaction since it started cannot say how far behind it is: that
# counts as too far (it would otherwise read as 0 and serve the old data).
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 "
    "WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0 "
    "ELSE coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 1e9) END"
)

log = logging.getLogger(__name__)


def endpoint_may_use_replica(endpoint: str | None) -> bool:
    """Whether an endpoint (blueprint.view) is one of the public reads the replica serves."""
    endpoint = endpoint or ""
    return endpoint in REPLICA_ENDPOINTS or endpoint.startswith(REPLICA_ENDPOINT_PREFIXES)


def request_may_use_replica() -> bool:
    """Whether this request's reads may come from the replica (see the module docstring)."""
    if request.method not in READ_METHODS or not endpoint_may_use_replica(request.endpoint):
        return False
    if "Authorization" in request.headers:
        return False
    # Imported here: app.auth.sessions needs app.db, which needs this module. The same rule as
    # the proxies' signed-in marker, and like it, it reads no user and writes no cookie.
    from app.auth.sessions import might_be_signed_in

    return not might_be_signed_in()


class Replica:
    """One app's read engine and what this process knows of its health."""

    def __init__(self, engine: Engine, retry_seconds: float, max_lag_seconds: float) -> None:
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.max_lag_seconds = max_lag_seconds
        self.down_until = 0.0  # time.monotonic() before which the replica is not tried
        self.lag_checked_at = float("-inf")
        self.lag_seconds = 0.0
        self._lock = threading.Lock()  # one lag measurement at a time (gthread workers)

    @property
    def available(self) -> bool:
        """False while a recent failure keeps the replica out of use."""
        return time.monotonic() >= self.down_until

    def mark_down(self, reason: str) -> None:
        """Send reads to the primary for retry_seconds."""
        was_available = self.available
        self.down_until = time.monotonic() + self.retry_seconds
        if was_available:
            log.warning("read replica unavailable (%s); using the primary for %ss", reason,
                        self.retry_seconds)  # fmt: skip

    def ready(self) -> bool:
        """Whether to use the replica now: it is not marked down, answers, and is not behind.

        Taking a connection from the pool pings it (pool_pre_ping), so a replica that went
        away is found here, before the request has run anything on it.
        """
        if not self.available:
            return False
        try:
            with self.engine.connect() as connection:
                now = time.monotonic()
                if now - self.lag_checked_at >= LAG_CHECK_SECONDS and self._lock.acquire(False):
                    try:
                        self.lag_seconds = float(connection.exec_driver_sql(LAG_SQL).scalar_one())
                        self.lag_checked_at = now
                    finally:
                        self._lock.release()
        except (OperationalError, DBAPIError) as error:
            self.mark_down(type(getattr(error, "orig", error)).__name__)
            return False
        if self.lag_seconds > self.max_lag_seconds:
            log.info("read replica %.1f s behind; using the primary", self.lag_seconds)
            return False
        return True

    def on_error(self, context: ExceptionContext) -> None:
        """Engine hook: a connection lost on the replica takes it out of use at once."""
        # Only lost connections: a statement timeout or a recovery conflict is the query's.
        if context.is_disconnect:
            self.mark_down("connection lost")
