"""Exports: `flask export` timed with its peak memory, against a raw COPY of the same rows."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.bench_report import Result
from tests.bench.dataset import ROOT

FLASK = str(ROOT / ".venv" / "bin" / "flask")
RSS_LIMIT_MB = 250


def _available(env: dict[str, str]) -> bool:
    done = subprocess.run(
        [FLASK, "export", "--help"], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    return done.returncode == 0


def run_export(env: dict[str, str], extra: list[str]) -> dict[str, Any]:
    """One `flask export` run: seconds, bytes written, MiB/s and the process's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        out = Path(folder) / "x.geojson"
        argv = [FLASK, "export", "--format", "geojson", "--output", str(out), *extra]
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        size = out.stat().st_size if out.exists() else 0
    return {
        "exit": proc.returncode,
        "seconds": round(seconds, 2),
        "bytes": size,
        "mib_s": round(size / 2**20 / seconds, 1) if seconds else None,
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
    }


def export_rows(url: str, copy_numbers: dict[str, float], bbox: tuple[float, ...]) -> list[Result]:
    """Full export of approved traces and a bbox + term filtered one, if `flask export` exists."""
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "wsgi:app"}
    target = f">= 0.6x raw COPY MiB/s; peak RSS <= {RSS_LIMIT_MB} MB at any N"
    if not _available(env):
        return [
            Result(
                "export all approved (GeoJSON)", {}, copy_numbers, {}, {}, target, None,
                "app: NOT AVAILABLE (`flask export` is not registered); raw COPY"
                f" {copy_numbers['mib_s']} MiB/s ({copy_numbers['bytes']:,} bytes)",
            ),
            Result("export bbox + term", {}, {}, {}, {}, "(no target)", None, "NOT AVAILABLE"),
        ]  # fmt: skip
    print("ours: flask export (full, then bbox + term)...", flush=True)
    full = run_export(env, [])
    ratio = round(full["mib_s"] / copy_numbers["mib_s"], 2) if full["mib_s"] else None
    met = full["exit"] == 0 and ratio is not None and ratio >= 0.6
    met = met and full["peak_rss_mb"] <= RSS_LIMIT_MB
    box = ",".join(str(v) for v in bbox)
    filtered = run_export(env, ["--bbox", box, "--term", "kullgrop"])
    return [
        Result(
            "export all approved (GeoJSON)", full, copy_numbers, {},
            {"MiB/s/copy": ratio}, target, met,
            f"{full['mib_s']} MiB/s in {full['seconds']} s vs COPY {copy_numbers['mib_s']} MiB/s;"
            f" peak RSS {full['peak_rss_mb']} MB; exit {full['exit']}; includes CLI start-up",
        ),
        Result(
            "export bbox + term (GeoJSON)", filtered, {}, {}, {}, "(no target)", None,
            f"{filtered['bytes']} bytes in {filtered['seconds']} s; --bbox {box} --term kullgrop;"
            f" exit {filtered['exit']}",
        ),
    ]  # fmt: skip
