"""A 100,000-trace export runs in constant memory: measured as the peak RSS of `flask export`.

Run with -s to see the figures. The traces are made by one INSERT ... SELECT generate_series
(the trigger computes sensitivity and the generalised points); 20,000 of them sit in a
project of their own, so exporting that project and then everything compares two sizes.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text

from app.db import db, engine_of
from tests.integration.test_export import empty_tables, make_export_app

ROOT = Path(__file__).resolve().parents[2]
FLASK = ROOT / ".venv" / "bin" / "flask"
TOTAL, SMALL = 100_000, 20_000
# The whole export process, start-up included: docs/benchmark.md's ceiling. The app's start-up
# alone is about 140 MB (a fresh clone measured 140-151 MB peak); what the export adds and how
# it grows with the number of traces are held much tighter below.
PEAK_LIMIT_MB = 250
EXPORT_LIMIT_MB = 25
GROWTH_LIMIT_MB = 20
# Measures one command's own peak RSS. Spawned straight from pytest, a child's ru_maxrss starts
# at pytest's size (the fork copies it before exec); spawned from this small process it does not.
MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
# `flask export` as the flask script runs it, registering the command when app/cli.py does not
# (yet): the same FlaskGroup, the same imports, so the memory is the same.
FALLBACK = """
import sys
from flask.cli import FlaskGroup
from app import create_app
from app.export.cli import export_command

def make():
    app = create_app()
    if "export" not in app.cli.commands:
        app.cli.add_command(export_command)
    return app

FlaskGroup(create_app=make).main(args=sys.argv[1:], prog_name="flask")
"""
INSERT = """
INSERT INTO traces (project_id, author_id, title, description, geom, status, licence,
                    approved_by_id, approved_at, version, tags, trace_type_id, period_id,
                    sensitivity_override, created_at, updated_at)
SELECT CASE WHEN i <= :small THEN :small_project ELSE :big_project END, :user, 'Spor nummer ' || i,
       'Ei kullgrop ved stien til ' || i || ', omtrent tre meter i diameter. '
         || repeat('Gropa er tydelig i terrenget og dekket av lyng og mose. ', 1 + i % 3),
       CASE i % 10
         WHEN 0 THEN ST_MakeEnvelope(x, y, x + 0.001, y + 0.0005, 4326)
         WHEN 1 THEN ST_SetSRID(ST_MakeLine(ST_MakePoint(x, y),
                                            ST_MakePoint(x + 0.002, y + 0.001)), 4326)
         ELSE ST_SetSRID(ST_MakePoint(x, y), 4326) END,
       'approved', 'CC-BY-4.0', :user, now(), 1, ARRAY['kull', 'skog'],
       (SELECT id FROM terms WHERE scheme = 'trace_type' AND code = 'kullgrop'),
       (SELECT id FROM terms WHERE scheme = 'period' AND code = 'nyere-tid'),
       CASE WHEN i % 20 = 0 THEN true END, now(), now()
FROM generate_series(1, :total) AS i,
     LATERAL (SELECT 5.0 + (i::bigint * 7919 % 250000) / 10000.0 AS x,
                     58.0 + (i::bigint * 104729 % 130000) / 10000.0 AS y) AS place
"""


@pytest.fixture(scope="module")
def many_traces(database_url: str) -> Iterator[Flask]:
    """100,000 approved traces in two projects, committed; removed afterwards."""
    app = make_export_app(database_url)
    with app.app_context():
        empty_tables()
        with db.engine.begin() as connection:
            connection.execute(text("SET LOCAL statement_timeout = 0"))
            user = connection.execute(text(
                "INSERT INTO users (email, email_normalized, display_name, password_hash) "
                "VALUES ('bulk@example.org', 'bulk@example.org', 'Bulk', 'x') RETURNING id"
            )).scalar_one()  # fmt: skip
            small, big = connection.execute(text(
                "INSERT INTO projects (slug, name, library_name) VALUES "
                "('small', 'Small', 'Bibliotek'), ('big', 'Big', 'Bibliotek') RETURNING id"
            )).scalars().all()  # fmt: skip
            sizes = {"small": SMALL, "total": TOTAL, "user": user}
            connection.execute(text(INSERT), sizes | {"small_project": small, "big_project": big})
        with db.engine.begin() as connection:  # statistics roll back with the transaction
            connection.execute(text("ANALYZE traces"))
    yield app
    with app.app_context():
        empty_tables()
    engine_of(app).dispose()


@functools.cache
def _command() -> tuple[str, ...]:
    """The real `flask export` once it is registered in app/cli.py, else the fallback."""
    env = os.environ | {"HERITAGE_ENV": "development"}
    probe = subprocess.run([str(FLASK), "export", "--help"], cwd=ROOT, capture_output=True,
                           env=env, timeout=60)  # fmt: skip
    return (str(FLASK),) if probe.returncode == 0 else (sys.executable, "-c", FALLBACK)


def _run(database_url: str, tmp_path: Path, name: str, *args: str) -> tuple[float, float]:
    """Run `flask export ...args` in a child process; its wall time (s) and peak RSS (MB)."""
    env = os.environ | {"DATABASE_URL": database_url, "HERITAGE_ENV": "development",
                        "SECRET_KEY": "memory-test"}  # fmt: skip
    log, peak = tmp_path / f"{name}.log", tmp_path / f"{name}.rss"
    command = [sys.executable, "-c", MEASURE, str(peak), *_command(), "export", *args]
    started = time.perf_counter()
    with log.open("wb") as sink:
        done = subprocess.run(command, cwd=ROOT, env=env, stdout=sink, stderr=sink, timeout=120)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, log.read_text()
    return elapsed, int(peak.read_text()) / 1024  # KiB on Linux


def _count_features(path: Path) -> int:
    """Check the file line by line (never loaded whole): header, features, footer."""
    count = 0
    with path.open("rb") as lines:
        header = next(lines)
        assert header.startswith(b'{"type": "FeatureCollection"')
        for line in lines:
            if line.startswith(b'{"type" : "Feature"'):
                feature = json.loads(line.rstrip(b",\n"))
                assert feature["properties"]["licence"] and feature["geometry"]
                count += 1
            else:
                footer = line
    assert footer.startswith(b'], "numberReturned": ')
    return count


def test_export_memory_stays_flat(many_traces: Flask, database_url: str, tmp_path: Path) -> None:
    small_file, all_file = tmp_path / "small.geojson", tmp_path / "all.geojson"
    # The same command without exporting: start-up time and the memory of the imports.
    start_time, start_peak = _run(database_url, tmp_path, "start", "--help")
    geojson = ("--format", "geojson", "--output")
    small_time, small_peak = _run(database_url, tmp_path, "small", *geojson, str(small_file),
                                  "--project", "small")  # fmt: skip
    all_time, all_peak = _run(database_url, tmp_path, "all", *geojson, str(all_file))
    size_mb = all_file.stat().st_size / 2**20
    work = all_time - start_time
    print(
        f"\nstart-up of the command: {start_time:.1f} s, peak RSS {start_peak:.0f} MB"
        f"\nexport {SMALL:,} traces: {small_time:.1f} s, peak RSS {small_peak:.0f} MB"
        f"\nexport {TOTAL:,} traces: {all_time:.1f} s, {size_mb:.0f} MB file, "
        f"peak RSS {all_peak:.0f} MB; without start-up {TOTAL / work:,.0f} features/s, "
        f"{size_mb / work:.0f} MB/s"
        f"\nmemory: +{all_peak - start_peak:.1f} MB over start-up, "
        f"{all_peak - small_peak:+.1f} MB from {SMALL:,} to {TOTAL:,} traces"
    )
    assert _count_features(small_file) == SMALL
    assert _count_features(all_file) == TOTAL
    assert all_peak < PEAK_LIMIT_MB
    assert all_peak - start_peak < EXPORT_LIMIT_MB
    assert all_peak - small_peak < GROWTH_LIMIT_MB


def test_abandoned_download_gives_its_connection_back(many_traces: Flask) -> None:
    """A client that goes away mid-file: COPY is cancelled and the connection returns."""
    client = many_traces.test_client()
    pool = engine_of(many_traces).pool
    before = pool.checkedout()
    response = client.get("/export/download?format=geojson", buffered=False)
    assert response.status_code == 200
    received = 0
    for block in response.response:
        received += len(block)
        if received > 1_000_000:
            break
    response.close()
    assert pool.checkedout() == before
    with engine_of(many_traces).connect() as connection:
        copying = connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'COPY%' AND state = 'active'"
        )).scalar_one()  # fmt: skip
    assert copying == 0
    again = client.get("/export/download?format=csv&project=small")
    assert again.status_code == 200
    assert again.get_data().count(b"\n") == SMALL + 1
