"""The moderation queue's server time with 150,000 entries pending in one project.

Builds (once) its own database `heritage_bench_queue`: the bench's 300 accounts and 7 projects
(dataset.py), then 150,000 pending entries and 50,000 approved traces around Alta in project 5
(`bench-alta`, librarian user 6), in one INSERT ... SELECT. Then times the queue page in-process
(Flask test client, the librarian logged in): server time, no network, no browser.

Run: `.venv/bin/python -m tests.bench.bench_queue` (QUEUE_PENDING, QUEUE_REQUESTS to change;
QUEUE_PROFILE=1 adds a CPU profile of 20 more requests: the app's 25 costliest functions).
"""

from __future__ import annotations

import os
import statistics
import time

import psycopg
from sqlalchemy import event

from tests.bench import dataset

DBNAME = "heritage_bench_queue"
PROJECT, LIBRARIAN = 5, 6  # dataset.py: project k's librarian is user k + 1
VERSION = "1"


def ensure(pending: int) -> str:
    """The database with `pending` entries waiting in project 5; reused when it matches."""
    url = dataset.database_url(DBNAME)
    fingerprint = f"queue;pending={pending};v={VERSION};{dataset._fingerprint(pending, 0)}"
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute(
                "SELECT 1 FROM bench_meta WHERE fingerprint = %s", (fingerprint,)
            ).fetchone():
                return url
    except psycopg.Error:
        pass
    started = time.monotonic()
    with psycopg.connect(dataset.database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DBNAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DBNAME}" TEMPLATE heritage_template')
    import subprocess

    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi:app"}
    subprocess.run(
        [str(dataset.ROOT / ".venv/bin/flask"), "db", "upgrade"], cwd=dataset.ROOT, env=env,
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SELECT setseed(0.25)")
        dataset._people_and_projects(conn)
        conn.execute("ALTER TABLE traces DISABLE TRIGGER traces_map_cells_insert")
        # Entries spread over ~40 x 40 km around Alta (so some have neighbours within 100 m),
        # 70/20/10 points/lines/polygons, types and periods drawn from the vocabulary.
        conn.execute(
            """
            WITH v AS (
              SELECT array_agg(id) FILTER (WHERE scheme = 'trace_type') AS types,
                     array_agg(id) FILTER (WHERE scheme = 'period') AS periods
              FROM terms WHERE is_active
            ), d AS (
              SELECT g, 23.0 + random() * 0.9 AS x, 69.8 + random() * 0.35 AS y, random() AS k,
                     g <= %(pending)s AS pending, random() AS t1, random() AS t2,
                     now() - random() * interval '900 days' AS created
              FROM generate_series(1, %(total)s) g
            )
            INSERT INTO traces (project_id, author_id, title, description, geom, trace_type_id,
              period_id, licence, status, version, created_at, updated_at, submitted_at,
              approved_by_id, approved_at)
            SELECT %(project)s, 29 + (g %% 272), 'Spor nummer ' || g,
                   repeat('Beskrivelse av sporet, slik beboeren fortalte det. ', 1 + g %% 8),
                   CASE WHEN k < 0.7 THEN ST_SetSRID(ST_MakePoint(x, y), 4326)
                        WHEN k < 0.9 THEN ST_SetSRID(ST_MakeLine(ARRAY[ST_MakePoint(x, y),
                          ST_MakePoint(x + 0.001, y + 0.0004), ST_MakePoint(x + 0.002, y)]), 4326)
                        ELSE ST_SetSRID(ST_Buffer(ST_MakePoint(x, y), 0.0005, 'quad_segs=2'),
                                        4326) END,
                   v.types[1 + floor(t1 * cardinality(v.types))::int],
                   v.periods[1 + floor(t2 * cardinality(v.periods))::int],
                   'CC-BY-4.0',
                   (CASE WHEN pending THEN 'pending' ELSE 'approved' END)::trace_status,
                   1, created, created, created,
                   CASE WHEN pending THEN NULL ELSE %(librarian)s END,
                   CASE WHEN pending THEN NULL ELSE created END
            FROM d, v
            """,
            {"pending": pending, "total": pending + pending // 3, "project": PROJECT,
             "librarian": LIBRARIAN},
        )  # fmt: skip
        conn.execute("ALTER TABLE traces ENABLE TRIGGER traces_map_cells_insert")
        conn.execute("SELECT heritage_map_cells_rebuild()")
        conn.execute("VACUUM (ANALYZE)")  # index-only scans need the visibility map
        conn.execute("CREATE TABLE bench_meta (fingerprint text PRIMARY KEY)")
        conn.execute("INSERT INTO bench_meta VALUES (%s)", (fingerprint,))
    print(f"queue dataset: built in {time.monotonic() - started:.0f} s", flush=True)
    return url


def measure(url: str, requests: int, page: int = 1) -> dict[str, float]:
    """p50/p95 server time of GET /moderation/bench-alta (in-process), statements per page."""
    os.environ["DATABASE_URL"] = url.replace("postgresql://", "postgresql+psycopg://")
    from app import create_app
    from app.db import db

    app = create_app({"RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    response = client.post(
        "/login",
        data={"email": f"bench{LIBRARIAN}@bench.example.org", "password": dataset.BENCH_PASSWORD},
    )
    assert response.status_code in (302, 303), response.status_code
    statements: list[int] = []
    with app.app_context():
        engine = db.engine
    counter = {"n": 0}

    def count(*_args: object) -> None:
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    path = f"/moderation/bench-alta?page={page}"
    for _ in range(5):  # warm-up: templates compiled, connections open
        client.get(path)
    times, sizes, cpu = [], [], []
    for _ in range(requests):
        counter["n"] = 0
        t0, c0 = time.perf_counter(), time.process_time()
        response = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)  # Python's own share (no SQL wait)
        assert response.status_code == 200, response.status_code
        sizes.append(len(response.data))
        statements.append(counter["n"])
    if os.environ.get("QUEUE_PROFILE"):
        _profile(client, path)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1),
        "python_cpu_p50_ms": round(statistics.median(cpu), 1),
        "statements": max(statements),
        "html_kb": round(max(sizes) / 1024, 1),
    }


def _profile(client: object, path: str) -> None:
    """Print where 20 requests spend their CPU (process time: waiting for SQL is not counted)."""
    import cProfile
    import pstats

    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for _ in range(20):
        client.get(path)  # type: ignore[attr-defined]
    profile.disable()
    pstats.Stats(profile).sort_stats("cumulative").print_stats(r"/(app|templates)/", 25)


def main() -> None:
    """Build or reuse the dataset, then print the queue's timings."""
    pending = int(os.environ.get("QUEUE_PENDING") or 150_000)
    requests = int(os.environ.get("QUEUE_REQUESTS") or 60)
    url = ensure(pending)
    with psycopg.connect(url) as conn:
        waiting = conn.execute(
            "SELECT count(*) FROM traces WHERE status = 'pending' AND project_id = %s", (PROJECT,)
        ).fetchone()[0]
    print(f"queue: {waiting:,} pending in bench-alta", flush=True)
    print("load average:", os.getloadavg(), flush=True)
    print("page 1:", measure(url, requests), flush=True)


if __name__ == "__main__":
    main()
