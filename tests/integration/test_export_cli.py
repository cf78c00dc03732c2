"""`flask export` as an operator runs it: a bad option is one line on stderr and exit status 2,
never a traceback ("Working outside of request context" from a translated message)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--bbox", "10,95,20,99"), ("--updated-since", "2026-13-45")],
)
def test_bad_option_is_one_line_and_exit_2(
    database_url: str, tmp_path: Path, option: str, value: str
) -> None:
    output = tmp_path / "out.geojson"
    env = {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "wsgi:app"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "flask", "export", "--format", "geojson",
         "--output", str(output), option, value],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: Invalid value for '{option}': ")
    assert "Traceback" not in done.stderr and not list(tmp_path.iterdir())
