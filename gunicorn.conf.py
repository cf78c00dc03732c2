"""gunicorn settings for Kulturspor, read from the working directory (`make run`, the tests'
servers and `make bench` start gunicorn in the repository root). Options on the command line
win over this file; HERITAGE_GUNICORN_WORKERS and HERITAGE_GUNICORN_THREADS override the
defaults here.

Why 2 processes x 2 threads (measured with `make bench`, 1M traces, 2 cores; docs/benchmark.md):
- Threads: a request that waits for PostgreSQL (an export stream, a slow search, the OGC API)
  releases the GIL and holds one thread, not a whole process. With two sync workers, a few
  slow requests held both processes and /health waited 4.8 s.
- Only two per process: while ten clients load the country view the CPU is saturated, and
  more threads per process share it by GIL turns, so a request that needs more CPU than a
  tile (a trace page, ~15 ms) is stretched the most. Light requests' p95 in alternating
  runs: 2x2 97 and 71 ms, 2x4 171 and 197 ms, with the same tile throughput (~420/s).
"""

import os

# One process per core (2 on the reference machine); a second thread covers database waits.
workers = int(os.environ.get("HERITAGE_GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("HERITAGE_GUNICORN_THREADS", "2"))
