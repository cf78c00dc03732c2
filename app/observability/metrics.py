"""Prometheus metrics: request latency per route, and the state of queues, exports and backups.

Latency is measured in the process. The queues (moderation, mail), the export deliveries and
the last backup are read from the database and the backup directory at scrape time, so they
are the same whichever worker answers.

Several gunicorn workers: each has its own latency histogram, and a scrape reaches one of
them. Set PROMETHEUS_MULTIPROC_DIR (an empty directory, before the workers start) and every
worker writes its histogram there and any worker answers for all (docs/operations.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from app.db import db

# Latency buckets in seconds: tiles and pages in the tens of milliseconds, exports in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
# The scrape's database queries give up quickly: a slow scrape must not pile up connections.
SCRAPE_TIMEOUT_MS = 2000


def status_class(status: int) -> str:
    """2xx, 3xx, 4xx or 5xx: one label value per class keeps the series few."""
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


def method_label(method: str) -> str:
    """The method, or OTHER for anything unusual (a client must not invent label values)."""
    return method if method in _METHODS else "OTHER"


class Metrics:
    """One app's metrics: the latency histogram, and what is read at scrape time."""

    def __init__(self, app: Flask) -> None:
        """Create the histogram in a registry of this app's own (tests build many apps)."""
        self.app = app
        self.registry = CollectorRegistry()
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.latency = Histogram(
            "heritage_http_request_duration_seconds",
            "Time from the start of a request until its response was sent, per route "
            "(the URL rule, 'unmatched' for none), method and status class.",
            ["route", "method", "status"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        self.latency.labels(route, method_label(method), status_class(status)).observe(seconds)

    def render(self) -> bytes:
        """The text exposition of every metric, read now."""
        scrape = CollectorRegistry()
        if self.multiprocess:
            from prometheus_client import multiprocess

            multiprocess.MultiProcessCollector(scrape)  # every worker's histogram
        else:
            scrape.register(_Forward(self.registry))
        scrape.register(StateCollector(self.app))
        return generate_latest(scrape)


class _Forward(Collector):
    """Hands on the metrics of another registry (this process's histogram)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        """Forward the metrics of registry."""
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        """Every metric of the other registry, as it is now."""
        yield from self.registry.collect()


class StateCollector(Collector):
    """Gauges and counters computed at scrape time from the primary and the backup directory."""

    def __init__(self, app: Flask) -> None:
        """Read the database and backup directory of app."""
        self.app = app

    def collect(self) -> Iterator[Metric]:
        """Read the database in one short transaction; say so when it does not answer."""
        up = GaugeMetricFamily(
            "heritage_database_up", "1 when the primary database answered this scrape."
        )
        try:
            families = self._from_database()
        except Exception:  # noqa: BLE001 - a failing database is what this gauge reports
            db.session.rollback()
            up.add_metric([], 0)
            families = []
        else:
            up.add_metric([], 1)
        yield up
        yield from families
        yield self._last_backup()

    def _from_database(self) -> list[Metric]:
        """The queue, export and outbox families, from one short transaction."""
        now = datetime.now(UTC)
        # The request's session (the primary: a request with Authorization never reads from
        # the replica); the web layer rolls its transaction back after the GET.
        session = db.session
        session.execute(text(f"SET LOCAL statement_timeout = {SCRAPE_TIMEOUT_MS}"))
        pending = session.execute(
            text(
                "SELECT p.slug, count(t.id), min(coalesce(t.submitted_at, t.created_at))"
                " FROM projects p LEFT JOIN traces t"
                " ON t.project_id = p.id AND t.status = 'pending'"
                " GROUP BY p.slug ORDER BY p.slug"
            )
        ).all()
        exports = session.execute(
            text(
                "SELECT channel, format, count(*) FROM export_logs"
                " GROUP BY channel, format ORDER BY channel, format"
            )
        ).all()
        from app.mail import MAX_ATTEMPTS

        outbox = session.execute(
            text(
                "SELECT count(*) FILTER (WHERE attempts < :max),"
                " count(*) FILTER (WHERE attempts >= :max),"
                " min(created_at) FILTER (WHERE attempts < :max)"
                " FROM mail_outbox WHERE sent_at IS NULL"
            ),
            {"max": MAX_ATTEMPTS},
        ).one()
        waiting = GaugeMetricFamily(
            "heritage_traces_pending",
            "Traces waiting for moderation, per project.",
            labels=["project"],
        )
        oldest = GaugeMetricFamily(
            "heritage_traces_pending_oldest_age_seconds",
            "Age of the oldest trace waiting for moderation, per project (0 when none waits).",
            labels=["project"],
        )
        for slug, count, first in pending:
            waiting.add_metric([slug], count)
            oldest.add_metric([slug], _age(now, first))
        delivered = CounterMetricFamily(
            "heritage_exports_delivered",
            "Exports delivered since the start (the export log), per channel and format.",
            labels=["channel", "format"],
        )
        for channel, fmt, count in exports:
            delivered.add_metric([channel, fmt], count)
        unsent = GaugeMetricFamily(
            "heritage_mail_outbox_unsent", "Mail in the outbox still to be sent (or retried)."
        )
        unsent.add_metric([], outbox[0])
        given_up = GaugeMetricFamily(
            "heritage_mail_outbox_given_up",
            "Unsent mail whose attempts ran out (it stays with its error until purged).",
        )
        given_up.add_metric([], outbox[1])
        unsent_age = GaugeMetricFamily(
            "heritage_mail_outbox_oldest_unsent_age_seconds",
            "Age of the oldest mail still to be sent (0 when none).",
        )
        unsent_age.add_metric([], _age(now, outbox[2]))
        return [waiting, oldest, delivered, unsent, given_up, unsent_age]

    def _last_backup(self) -> Metric:
        """The time of the newest complete backup, read from the directory names."""
        from app.ops.backup import backup_root, named_time

        newest = 0.0
        root = backup_root(self.app)
        if root.is_dir():
            for entry in root.iterdir():
                created = named_time(Path(entry))
                if created is not None:
                    newest = max(newest, created.timestamp())
        gauge = GaugeMetricFamily(
            "heritage_backup_last_success_timestamp_seconds",
            "When the newest complete backup in BACKUP_DIR was written (0: none there).",
        )
        gauge.add_metric([], newest)
        return gauge


def _age(now: datetime, then: Any) -> float:
    """Seconds from then to now (0 for None or the future)."""
    return max((now - then).total_seconds(), 0.0) if then is not None else 0.0


def seconds_since(started: float) -> float:
    """Seconds since a time.perf_counter() reading."""
    return time.perf_counter() - started
