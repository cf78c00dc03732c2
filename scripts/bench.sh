#!/usr/bin/env bash
# `make bench` (QUICK=1 for 100k traces): provision what the benchmark needs, then run it.
# Needs the venv (make install), a local PostGIS (ensure-postgis.sh) and, for the bench only,
# tipg + uvicorn (the peer) and wordfreq (Norwegian words) inside .venv. Writes BENCH_JSON
# (default .bench/latest.json) and logs under .bench/.
set -euo pipefail
cd "$(dirname "$0")/.."
# The benchmark builds its own database (heritage_bench) on the local server.
env -u DATABASE_URL scripts/ensure-postgis.sh
if ! .venv/bin/python -c "import tipg, uvicorn, wordfreq" 2>/dev/null; then
  echo "bench: installing tipg, uvicorn and wordfreq into .venv (benchmark only)..."
  .venv/bin/pip install --quiet tipg "uvicorn[standard]" wordfreq
fi
mkdir -p .bench
# Photos (issue 9): the intake pipeline per 12 MP JPEG and HEIC and POST /api/photos throughput;
# cheap, so QUICK runs it too. Report in .bench/photos.json.
env -u DATABASE_URL .venv/bin/python -m tests.bench.bench_photos
exec env -u DATABASE_URL .venv/bin/python -m tests.bench.bench_main
