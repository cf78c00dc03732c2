"""gunicorn settings for Kulturspor, read from the working directory (`make run`, the tests'
servers and `make bench` start gunicorn in the repository root). Options on the command line
win over this file; HERITAGE_GUNICORN_WORKERS and HERITAGE_GUNICORN_THREADS override the
defaults here.

Why threads: a request spends most of its time waiting for PostgreSQL, and a waiting thread
releases the GIL. With sync workers, a handful of slow requests (a country view before its
cells were precomputed, a big export) held every worker and light requests queued behind
them (/health waited 4.8 s while four people opened the country view). With two processes of
several threads, the other threads keep answering. Measured in `make bench`
(docs/benchmark.md, "light requests under ten country views").
"""

import os

# One process per core (2 on the reference machine); threads cover the waiting on the database.
workers = int(os.environ.get("HERITAGE_GUNICORN_WORKERS", "2"))
worker_class = "gthread"
threads = int(os.environ.get("HERITAGE_GUNICORN_THREADS", "4"))
