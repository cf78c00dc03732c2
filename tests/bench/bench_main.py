"""`make bench`: the app, the SQL it runs, and tipg, side by side on one synthetic dataset.

Environment: QUICK=1 (100k traces), BENCH_N, BENCH_SEED, BENCH_JSON (.bench/latest.json).
Run from the repository root: `.venv/bin/python -m tests.bench.bench_main`.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

from tests.bench import bench_sql as sq
from tests.bench import bench_tiles as bt
from tests.bench import dataset
from tests.bench.bench_export import export_rows
from tests.bench.bench_http import Browser, submission
from tests.bench.bench_load import HOST, Request, Server, Stats, fetch, free_port, load, under_load
from tests.bench.bench_report import Result, print_table, write_json

ROOT = dataset.ROOT
VENV = ROOT / ".venv" / "bin"
LOGS = ROOT / ".bench"
ZOOMS = (14, 11)  # /api/map with features (z14) and clusters (z11, diagnostic)
# The front page's country view: Norway on a 1280x800 screen at zoom 5 (tiles below).
COUNTRY = (17.0, 65.0, 5)


def _quick() -> bool:
    return os.environ.get("QUICK", "") not in ("", "0")


def main() -> int:
    """Build or reuse the dataset, measure everything, print the table, write the JSON."""
    quick = _quick()
    n = int(os.environ.get("BENCH_N") or (100_000 if quick else 1_000_000))
    seed = int(os.environ.get("BENCH_SEED") or 20261125)
    per_run, seconds = (160, 20.0) if quick else (400, 45.0)
    ds = dataset.ensure(n, seed)
    conn = psycopg.connect(ds.url, autocommit=True)
    _remove_submissions(conn, ds.max_trace_id)
    info: dict[str, Any] = {
        "n": n, "seed": seed, "quick": quick, "dataset_reused": ds.reused,
        "dataset_build_seconds": round(ds.build_seconds, 1), "machine": sq.machine(conn),
        "counts": dict(conn.execute("SELECT status::text, count(*) FROM traces GROUP BY 1")),
    }  # fmt: skip
    views = {z: sq.viewports(conn, seed, z, 20) for z in ZOOMS}
    tiles = {z: bt.tiles_for(bt.viewports(seed, z), z) for z in bt.TILE_ZOOMS}
    print("dataset: counting approved traces per tile in SQL (the check)...", flush=True)
    expected = bt.expected_counts(conn)
    queue_project, queue_pending = conn.execute(
        "SELECT project_id, count(*) FROM traces WHERE status = 'pending'"
        " GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    librarian = queue_project + 1  # dataset.sql: project k's librarian is user k + 1
    slug = conn.execute("SELECT slug FROM projects WHERE id = %s", (queue_project,)).fetchone()[0]
    with sq.app_context(ds.url) as app:
        below, limit = app.config["MAP_CLUSTER_BELOW_ZOOM"], app.config["MAP_MAX_FEATURES"]
        map_sql = {z: sq.map_sql(views[z], z, below, limit) for z in ZOOMS}
        queue_sql = sq.queue_sql(librarian, queue_project)

    print("baseline: replaying the app's SQL on one connection...", flush=True)
    baseline: dict[str, Stats] = {}
    for z in ZOOMS:
        batches = [[s] for s in map_sql[z]]
        sq.replay(conn, batches, len(batches), seconds)  # warm-up
        baseline[f"z{z}"] = sq.replay(conn, batches, per_run, seconds)
    for z in bt.TILE_ZOOMS:
        batches = bt.cell_batches(tiles[z])
        baseline[f"tile{z}"] = sq.replay(conn, batches, per_run, seconds)
    baseline["queue"] = sq.replay(conn, [queue_sql], 40, seconds)
    search = sq.search_batches(conn, views[11])
    baseline["search"] = sq.replay(conn, search, 100, seconds)
    copy_numbers = sq.copy_throughput(conn)
    searches = sq.search_queries(conn, seed, views[11])
    light = _light_requests(conn, views[14])

    ours, checks = _measure_app(
        ds, views, per_run, seconds, slug, info,
        {"tiles": tiles, "expected": expected, "searches": searches, "light": light},
    )  # fmt: skip
    _remove_submissions(conn, ds.max_trace_id)
    peer = _measure_tipg(ds, views[14], per_run, seconds)
    exports = export_rows(ds.url, copy_numbers, views[11][0])

    results = _results(ours, baseline, peer, checks, queue_pending, slug) + exports
    info["queue"] = {
        "project": slug,
        "pending": queue_pending,
        "pending_total": info["counts"].get("pending"),
    }
    print_table(results, info)
    out = Path(os.environ.get("BENCH_JSON") or ".bench/latest.json")
    write_json(out, results, info)
    print(f"JSON written to {out}")
    conn.close()
    return 0


def _remove_submissions(conn: psycopg.Connection, max_id: int) -> None:
    """Traces the submission test added are deleted, so the dataset stays as fingerprinted."""
    # The deletions' foreign-key checks use ix_traces_duplicate_of (migration 20261201c3d4).
    conn.execute("DELETE FROM traces WHERE id > %s", (max_id,))


def _light_requests(conn: psycopg.Connection, z14: list[sq.Bbox]) -> list[Request]:
    """What a visitor does while others load the country view: /health, a trace page, a z14
    view of the map."""
    trace_id = conn.execute(
        "SELECT id FROM traces WHERE status = 'approved' AND NOT is_sensitive"
        " ORDER BY id LIMIT 1 OFFSET 5000"
    ).fetchone()[0]
    w, s, e, n = z14[0]
    return [
        Request("/health"),
        Request(f"/traces/{trace_id}"),
        Request(f"/api/map?bbox={w},{s},{e},{n}&zoom=14"),
    ]


def _country_view() -> list[Request]:
    """The requests the front page's default (country) view sends: its tiles at zoom 5,
    then the same view through /api/map (bbox + zoom), which other clients still use."""
    lon, lat, zoom = COUNTRY
    box = sq.bbox_for(lon, lat, zoom)
    paths = [bt.request(t) for t in bt.tiles_for([box], zoom)]
    w, s, e, n = box
    return [*paths, Request(f"/api/map?bbox={w},{s},{e},{n}&zoom={zoom}")]


def _gunicorn_argv(port: int) -> list[str]:
    """gunicorn as deployed: its settings come from gunicorn.conf.py in the repository root
    (worker model, workers, threads); BENCH_GUNICORN_ARGS adds or overrides options to
    compare models, e.g. "--worker-class sync --workers 2"."""
    extra = os.environ.get("BENCH_GUNICORN_ARGS", "").split()
    return [
        str(VENV / "gunicorn"), "--bind", f"{HOST}:{port}", "--no-control-socket",
        *extra, "wsgi:app",
    ]  # fmt: skip


def _measure_app(
    ds: dataset.Dataset, views: dict[int, list[sq.Bbox]], per_run: int, seconds: float,
    slug: str, info: dict[str, Any], plan: dict[str, Any],
) -> tuple[dict[str, Stats], dict[str, Any]]:  # fmt: skip
    """The app under gunicorn as deployed (gunicorn.conf.py); rate limits off for the
    submissions."""
    port = free_port()
    env = {
        **os.environ, "DATABASE_URL": ds.url, "HERITAGE_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32), "HERITAGE_RATELIMIT_ENABLED": "false",
        "HERITAGE_BASE_URL": f"http://{HOST}:{port}",
    }  # fmt: skip
    env.pop("REDIS_URL", None)
    argv = _gunicorn_argv(port)
    info["gunicorn"] = " ".join(argv[1:])
    server = Server("gunicorn", argv, env, port, LOGS / "gunicorn.log")
    ours: dict[str, Stats] = {}
    checks: dict[str, Any] = {}
    try:
        server.wait_ready("/health")
        for z in bt.TILE_ZOOMS:
            print(f"ours: tiles z{z} ({len(plan['tiles'][z])} tiles)...", flush=True)
            checks[f"tile{z}"] = bt.check(port, plan["tiles"][z], plan["expected"])
            tile_paths = [bt.request(t) for t in plan["tiles"][z]]
            ours[f"tile{z}"] = load(port, tile_paths, total=per_run, seconds=seconds)
        for z in ZOOMS:
            paths = [Request(f"/api/map?bbox={w},{s},{e},{n}&zoom={z}") for w, s, e, n in views[z]]
            checks[f"z{z}"] = _check_counts(port, ds.url, paths[:8], views[z][:8])
            print(f"ours: /api/map z{z}...", flush=True)
            ours[f"z{z}"] = load(port, paths, total=per_run, seconds=seconds)
            if z == 14:  # one connection: the app's own overhead without queueing
                ours["z14_1conn"] = load(
                    port, paths, connections=1, total=per_run // 2, seconds=seconds
                )
        status, _h, page = fetch(port, Request("/"))
        checks["page_bytes"] = len(page) if status == 200 else None
        print("ours: map page, submissions, moderation queue...", flush=True)
        ours["page"] = load(port, [Request("/")], total=per_run, seconds=seconds)
        resident = Browser(port)
        resident.login("bench100@bench.example.org", dataset.BENCH_PASSWORD)
        count = 200 if _quick() else 600
        ours["submit"] = load(
            port, lambda i: submission(resident, i, "bench-oslo"), total=count, seconds=seconds,
            ok=lambda status: status == 201,
        )  # fmt: skip
        moderator = Browser(port)
        moderator.login(
            f"bench{_librarian_of(ds.url, slug)}@bench.example.org", dataset.BENCH_PASSWORD
        )
        queue = [Request(f"/moderation/{slug}", headers=moderator.headers())]
        load(port, queue, connections=1, total=3, seconds=seconds)  # warm-up
        ours["queue"] = load(port, queue, connections=1, total=40, seconds=seconds)
        print("ours: search...", flush=True)
        searches = [Request(p) for p in plan["searches"]]
        status, _h, _b = fetch(port, searches[0])
        checks["search_status"] = status
        if status != 404:
            load(port, searches[:10], connections=1, total=10, seconds=seconds)  # warm-up
            ours["search"] = load(port, searches, total=per_run, seconds=seconds)
        print("ours: light requests while 10 clients load the country view...", flush=True)
        heavy, light, per_path = under_load(
            port, _country_view(), plan["light"], clients=10, seconds=min(seconds, 30.0)
        )
        ours["light_under_load"], ours["country_under_load"] = light, heavy
        checks["light_per_path"] = {
            path: {"p95_ms": s.summary()["p95_ms"], "n": len(s.latencies), "errors": s.errors}
            for path, s in per_path.items()
        }
        checks["country_statuses"] = heavy.statuses
    finally:
        server.stop()
    return ours, checks


def _librarian_of(url: str, slug: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT m.user_id FROM memberships m JOIN projects p ON p.id = m.project_id"
            " WHERE p.slug = %s AND m.role = 'librarian' AND m.revoked_at IS NULL LIMIT 1",
            (slug,),
        ).fetchone()[0]


def _check_counts(
    port: int, url: str, paths: list[Request], boxes: list[sq.Bbox]
) -> dict[str, Any]:
    """Each viewport's answer once: its count against an independent SQL count."""
    wrong, times = 0, []
    with psycopg.connect(url, autocommit=True) as conn:
        for req, box in zip(paths, boxes, strict=True):
            started = time.perf_counter()
            status, _h, body = fetch(port, req)
            times.append(time.perf_counter() - started)
            answer = json.loads(body) if status == 200 else {}
            expected = sq.count_visible(conn, box)
            if answer.get("count") != expected and not answer.get("truncated"):
                wrong += 1
    return {
        "viewports": len(paths),
        "wrong_counts": wrong,
        "cold_first_ms": round(times[0] * 1000, 1),
    }


def _measure_tipg(
    ds: dataset.Dataset, views: list[sq.Bbox], per_run: int, seconds: float
) -> Stats | None:
    """tipg (2 uvicorn workers) on the same table, z14 viewports, up to 1,000 items each."""
    port = free_port()
    dbname = ds.url.split("///", 1)[1].split("?", 1)[0]
    env = {
        **os.environ,
        # The same Unix socket as the app (asyncpg reads a percent-encoded path as the host).
        "DATABASE_URL": f"postgresql://{getpass.getuser()}@%2Fvar%2Frun%2Fpostgresql/{dbname}",
        "TIPG_DB_SCHEMAS": '["public"]', "TIPG_DB_TABLES": '["public.traces"]',
        "TIPG_DB_EXCLUDE_FUNCTION_SCHEMAS": '["public"]',  # PostGIS functions are no collections
    }  # fmt: skip
    argv = [
        str(VENV / "uvicorn"), "tipg.main:app", "--host", HOST, "--port", str(port),
        "--workers", "2", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = Server("tipg", argv, env, port, LOGS / "tipg.log")
    try:
        server.wait_ready("/collections", timeout=120)
        paths = [
            Request(
                f"/collections/public.traces/items?bbox={w},{s},{e},{n}&limit=1000"
                "&properties=title,status,trace_type_id"
            )
            for w, s, e, n in views
        ]
        print("peer: tipg z14...", flush=True)
        load(port, paths, total=len(paths), seconds=seconds)  # warm-up
        return load(port, paths, total=per_run, seconds=seconds)
    except RuntimeError as error:
        print(f"peer: tipg failed: {error}", file=sys.stderr)
        return None
    finally:
        server.stop()


def _results(
    ours: dict[str, Stats], base: dict[str, Stats], peer: Stats | None, checks: dict[str, Any],
    pending: int, slug: str,
) -> list[Result]:  # fmt: skip
    from tests.bench.bench_report import app_results

    return app_results(ours, base, peer, checks, pending, slug)


if __name__ == "__main__":
    sys.exit(main())
