"""The SQL side: viewports, the app's own SQL captured and replayed, raw COPY, the machine."""

from __future__ import annotations

import math
import os
import platform
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import psycopg

from tests.bench.bench_load import Stats
from tests.bench.dataset import TOWNS

Bbox = tuple[float, float, float, float]
SCREEN = (1280, 800)  # the viewport in pixels: a laptop browser window

# Anonymous visitors see approved traces; sensitive ones at their public point (app/access.py).
# `&&` (bounding boxes overlap, as the app documents), not ST_Intersects: a line whose box
# touches the view counts, and so does a point a float4 index box away from the edge.
VISIBLE_IN_BBOX = """
SELECT count(*) FROM traces
WHERE status = 'approved'
  AND ((NOT is_sensitive AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326))
       OR (is_sensitive AND public_geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)))
"""


def bbox_for(lon: float, lat: float, zoom: int, size: tuple[int, int] = SCREEN) -> Bbox:
    """The west,south,east,north a web-mercator map of `size` pixels shows around a centre."""
    world = 256 * 2**zoom
    x = (lon + 180) / 360 * world
    y = 1 - math.log(math.tan(math.radians(lat)) + 1 / math.cos(math.radians(lat))) / math.pi
    y = y / 2 * world

    def lon_of(px: float) -> float:
        return px / world * 360 - 180

    def lat_of(py: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * py / world))))

    w, h = size
    return (
        round(lon_of(x - w / 2), 6),
        round(lat_of(y + h / 2), 6),
        round(lon_of(x + w / 2), 6),
        round(lat_of(y - h / 2), 6),
    )


def count_visible(conn: psycopg.Connection, bbox: Bbox) -> int:
    """How many traces an anonymous visitor should get in this box (the count to check)."""
    return conn.execute(VISIBLE_IN_BBOX, (*bbox, *bbox)).fetchone()[0]


def viewports(conn: psycopg.Connection, seed: int, zoom: int, count: int) -> list[Bbox]:
    """A fixed, seeded set of viewports around the six towns (z14: 1-1,000 features each)."""
    rng = random.Random(f"{seed}-{zoom}")
    spread = {14: 0.12, 11: 0.3, 8: 1.0, 6: 2.0}.get(zoom, 1.0)
    chosen: list[Bbox] = []
    for _attempt in range(count * 40):
        _name, lon, lat = rng.choice(TOWNS)
        lat = min(70.8, lat + rng.gauss(0, spread))
        lon = lon + rng.gauss(0, spread) / math.cos(math.radians(lat))
        box = bbox_for(lon, lat, zoom)
        if zoom >= 12:
            n = count_visible(conn, box)
            if not 1 <= n <= 1000:  # docs/benchmark.md: a z14 viewport holds at most 1,000 features
                continue
        chosen.append(box)
        if len(chosen) == count:
            break
    return chosen


@contextmanager
def app_context(url: str) -> Iterator[Any]:
    """The real app (create_app) bound to the benchmark database, inside an app context."""
    os.environ["DATABASE_URL"] = url
    from app import create_app

    app = create_app()
    with app.app_context():
        yield app


@contextmanager
def captured(run_queries: bool) -> Iterator[list[tuple[str, Any]]]:
    """Record every statement the app sends; with run_queries False, send a no-op instead."""
    from sqlalchemy import event

    from app.db import db

    statements: list[tuple[str, Any]] = []

    def hook(_conn, _cursor, statement, parameters, _context, _many):  # noqa: ANN001, ANN202
        statements.append((statement, parameters))
        return (statement, parameters) if run_queries else ("SELECT ''::text", None)

    event.listen(db.engine, "before_cursor_execute", hook, retval=True)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", hook)


def map_sql(views: list[Bbox], zoom: int, cluster_below: int, limit: int) -> list[tuple[str, Any]]:
    """The exact statement /api/map sends for each viewport (anonymous visitor)."""
    from app.db import db
    from app.traces import queries

    out: list[tuple[str, Any]] = []
    for box in views:
        view = queries.Viewport(*box, zoom)
        # Run for real: the answers' shapes change with the code; each view costs milliseconds.
        with captured(run_queries=True) as statements:
            if zoom < cluster_below:
                queries.map_clusters(view, None)
            else:
                queries.map_features(view, None, limit)
        out.append(statements[-1])
        db.session.rollback()
    return out


def queue_sql(user_id: int, project_id: int) -> list[tuple[str, Any]]:
    """The statements the moderation queue's first page sends (count + page) for this user."""
    from app.db import db
    from app.models import Project, User
    from app.moderation import queries

    user, project = db.session.get(User, user_id), db.session.get(Project, project_id)
    with captured(run_queries=True) as statements:
        queries.queue(user, project, queries.QueueFilters(), 1)
    db.session.rollback()
    return statements


def replay(
    conn: psycopg.Connection, batches: list[list[tuple[str, Any]]], total: int, seconds: float
) -> Stats:
    """Run each batch of statements in turn on one connection; one latency per batch."""
    stats = Stats()
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    for i in range(total):
        if time.monotonic() > deadline:
            break
        t0 = time.perf_counter()
        size = 0
        for statement, params in batches[i % len(batches)]:
            for row in conn.execute(statement, params).fetchall():
                size += sum(len(str(v)) for v in row if v is not None)
        stats.latencies.append(time.perf_counter() - t0)
        stats.bytes += size
    stats.wall = time.perf_counter() - started
    return stats


def copy_throughput(conn: psycopg.Connection) -> dict[str, float]:
    """Raw COPY of every approved trace as GeoJSON (CSV format keeps backslashes intact)."""
    sql = (
        "COPY (SELECT ST_AsGeoJSON(t.*) FROM (SELECT id, title, description, status,"
        " trace_type_id, period_id, licence, updated_at,"
        " CASE WHEN is_sensitive THEN public_geom ELSE geom END AS geom"
        " FROM traces WHERE status = 'approved') t)"
        " TO STDOUT WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
    )
    size = 0
    started = time.perf_counter()
    with conn.cursor().copy(sql) as copy:
        for chunk in copy:
            size += len(chunk)
    seconds = time.perf_counter() - started
    return {"bytes": size, "seconds": round(seconds, 3), "mib_s": round(size / 2**20 / seconds, 1)}


def search_batches(conn: psycopg.Connection, views: list[Bbox]) -> list[list[tuple[str, Any]]]:
    """A full-text + bbox search per viewport, with a common word from the dataset's text."""
    words = [
        r[0]
        for r in conn.execute(
            "SELECT word FROM ts_stat($$SELECT search FROM traces TABLESAMPLE SYSTEM (1)$$)"
            " WHERE length(word) > 4 ORDER BY ndoc DESC LIMIT 40"
        )
    ]
    sql = (
        "SELECT id, title, ts_rank(search, q) AS rank"
        " FROM traces, websearch_to_tsquery('norwegian', %(q)s) q"
        " WHERE search @@ q AND status = 'approved'"
        " AND geom && ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)"
        " ORDER BY rank DESC, id LIMIT 20"
    )
    return [
        [(sql, {"q": words[i % len(words)], "w": b[0], "s": b[1], "e": b[2], "n": b[3]})]
        for i, b in enumerate(views)
    ]


def machine(conn: psycopg.Connection) -> dict[str, Any]:
    """What the numbers were measured on."""
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(total_kb / 2**20, 1),
        "loadavg_at_start": os.getloadavg(),
        "postgresql": conn.execute("SHOW server_version").fetchone()[0],
        "postgis": conn.execute("SELECT postgis_lib_version()").fetchone()[0],
        "shared_buffers": conn.execute("SHOW shared_buffers").fetchone()[0],
        "python": platform.python_version(),
    }


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    """Run `work` and return its result and the seconds it took."""
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def search_queries(conn: psycopg.Connection, seed: int, views: list[Bbox]) -> list[str]:
    """Seeded app searches: whole words from the titles, partial words (a prefix), and place
    names (whole, partial, misspelt), half of them narrowed to a viewport."""
    rng = random.Random(f"{seed}-search")
    words = [
        r[0]
        for r in conn.execute(
            "SELECT w FROM (SELECT DISTINCT lower(split_part(title, ' ', 1)) AS w"
            " FROM traces TABLESAMPLE SYSTEM (2) REPEATABLE (7)) s"
            " WHERE length(w) > 4 ORDER BY w"
        )
    ]
    places = [r[0] for r in conn.execute("SELECT name FROM places ORDER BY id")]
    out: list[str] = []
    for i in range(60):
        kind = i % 4
        if kind == 0:
            q = rng.choice(words)
        elif kind == 1:
            q = rng.choice(words)[:5]  # "fangstg" finds "Fangstgroper"
        elif kind == 2:
            q = rng.choice(places)
        else:
            name = rng.choice(places)
            q = name[:-1] if i % 8 == 3 else name[: max(4, len(name) - 3)]
        path = f"/api/search?q={quote(q)}"
        if i % 2:
            w, s, e, n = views[i % len(views)]
            path += f"&bbox={w},{s},{e},{n}"
        out.append(path)
    return out
