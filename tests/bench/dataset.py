"""The benchmark's synthetic national dataset, built in SQL once per (N, seed, generator version).

Traces over Norway with dense clusters around six towns, Norwegian-looking text from
wordfreq's Bokmål list, 70/20/10 points/lines/polygons, 80/15/5 approved/pending/rejected,
5% sensitive (the app's trigger computes public_geom). Written into its own database
(heritage_bench), reused while the fingerprint in bench_meta matches.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
GENERATOR_VERSION = "5"
SOCKET = "/var/run/postgresql"
BENCH_PASSWORD = "bench-passord-2026"  # every generated account has it (benchmark only)

# name, longitude, latitude: the six towns the traces cluster around.
TOWNS = (
    ("oslo", 10.75, 59.91),
    ("bergen", 5.32, 60.39),
    ("trondheim", 10.40, 63.43),
    ("tromso", 18.96, 69.65),
    ("alta", 23.27, 69.97),
    ("stavanger", 5.73, 58.97),
)
# Boxes roughly covering mainland Norway, for the spread-out 40% (west, south, east, north, weight).
REGIONS = (
    (5.0, 58.0, 12.0, 62.5, 0.45),
    (8.5, 62.5, 14.5, 66.0, 0.25),
    (13.0, 66.0, 19.0, 69.5, 0.18),
    (19.0, 69.0, 30.0, 71.0, 0.12),
)
TAGS = (
    "kulturminne fangst seter krig gårdsanlegg ferdsel kvernhus sagbruk steinmur gravhaug "
    "tuft fiske kull jern sti bro kai naust kirke skole tingsted vei grense minnestein"
).split()
USERS = 300


@dataclass(frozen=True)
class Dataset:
    """What was built: where, how big, and the accounts and projects the runs use."""

    url: str
    n: int
    seed: int
    reused: bool
    build_seconds: float
    max_trace_id: int


def database_url(name: str) -> str:
    """A libpq URL over the local socket."""
    return f"postgresql:///{name}?host={SOCKET}"


def _fingerprint(n: int, seed: int) -> str:
    migrations = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("*.py"))
    digest = hashlib.sha256("\n".join(migrations).encode()).hexdigest()[:12]
    return f"n={n};seed={seed};generator={GENERATOR_VERSION};migrations={digest}"


def _existing(dbname: str, fingerprint: str) -> Dataset | None:
    try:
        with psycopg.connect(database_url(dbname), autocommit=True) as conn:
            row = conn.execute(
                "SELECT n, seed, build_seconds, max_trace_id FROM bench_meta"
                " WHERE fingerprint = %s",
                (fingerprint,),
            ).fetchone()
    except psycopg.Error:
        return None
    if row is None:
        return None
    return Dataset(database_url(dbname), row[0], row[1], True, row[2], row[3])


def default_dbname(n: int) -> str:
    """heritage_bench for 1M; other sizes get their own database, so QUICK keeps the 1M one."""
    return "heritage_bench" if n == 1_000_000 else f"heritage_bench_{n}"


def ensure(n: int, seed: int, dbname: str | None = None) -> Dataset:
    """The dataset for (n, seed): reused when its fingerprint matches, rebuilt otherwise."""
    dbname = dbname or default_dbname(n)
    fingerprint = _fingerprint(n, seed)
    found = _existing(dbname, fingerprint)
    if found is not None:
        print(f"dataset: reusing {dbname} ({fingerprint})", flush=True)
        return found
    print(f"dataset: building {dbname} with {n:,} traces ({fingerprint})...", flush=True)
    started = time.monotonic()
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{dbname}" TEMPLATE heritage_template')
    env = {**os.environ, "DATABASE_URL": database_url(dbname), "FLASK_APP": "wsgi:app"}
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    with psycopg.connect(database_url(dbname), autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SELECT setseed(%s)", (((seed % 1000) / 1000.0) * 2 - 1,))
        _load_words(conn)
        _people_and_projects(conn)
        indexes = _drop_indexes(conn)
        # The map_cells statement triggers would aggregate 1M new rows inside the INSERT;
        # one rebuild afterwards is the same result, faster.
        conn.execute("ALTER TABLE traces DISABLE TRIGGER traces_map_cells_insert")
        _traces(conn, n)
        conn.execute("ALTER TABLE traces ENABLE TRIGGER traces_map_cells_insert")
        _timed(conn, "indexes", lambda: [conn.execute(sql) for sql in indexes])
        _timed(conn, "map cells", lambda: conn.execute("SELECT heritage_map_cells_rebuild()"))
        _timed(conn, "places", lambda: _places(conn))
        # VACUUM too: a live database's visibility map is set (autovacuum), which index-only
        # scans (the moderation queue's count) rely on; a fresh bulk load has none.
        _timed(conn, "vacuum analyze", lambda: conn.execute("VACUUM (ANALYZE)"))
        max_id = conn.execute("SELECT coalesce(max(id), 0) FROM traces").fetchone()[0]
        seconds = time.monotonic() - started
        conn.execute(
            "CREATE TABLE bench_meta (fingerprint text PRIMARY KEY, n int, seed int,"
            " build_seconds float8, max_trace_id int, built_at timestamptz DEFAULT now())"
        )
        conn.execute(
            "INSERT INTO bench_meta VALUES (%s, %s, %s, %s, %s)",
            (fingerprint, n, seed, seconds, max_id),
        )
    print(f"dataset: built in {seconds:.0f} s", flush=True)
    return Dataset(database_url(dbname), n, seed, False, seconds, max_id)


def _timed(conn: psycopg.Connection, label: str, work) -> None:  # noqa: ANN001
    started = time.monotonic()
    work()
    print(f"dataset: {label} {time.monotonic() - started:.1f} s", flush=True)
    del conn


def _load_words(conn: psycopg.Connection) -> None:
    """wordfreq's 5,000 most common Bokmål words, then 100k random phrases made of them."""
    from wordfreq import top_n_list

    words = [w for w in top_n_list("nb", 5000) if w.isalpha()]
    conn.execute("CREATE TEMP TABLE bench_words (i int PRIMARY KEY, w text)")
    with conn.cursor().copy("COPY bench_words (i, w) FROM STDIN") as copy:
        for i, word in enumerate(words, start=1):
            copy.write_row((i, word))
    conn.execute("CREATE TEMP TABLE bench_phrases (i int PRIMARY KEY, p text)")
    conn.execute(
        """
        INSERT INTO bench_phrases
        SELECT x.p, string_agg(w.w, ' ' ORDER BY x.k)
        FROM (SELECT p, k, 1 + floor(random() * %(nw)s)::int AS wi
              FROM generate_series(1, 100000) p,
                   LATERAL generate_series(1, 10 + (p %% 31)) k) x
        JOIN bench_words w ON w.i = x.wi
        GROUP BY x.p
        """,
        {"nw": len(words)},
    )


def _people_and_projects(conn: psycopg.Connection) -> None:
    """300 accounts (1 admin, 7 librarians, 20 curators, residents), 7 projects, memberships."""
    from argon2 import PasswordHasher

    password_hash = PasswordHasher().hash(BENCH_PASSWORD)
    conn.execute(
        """
        INSERT INTO users (id, email, email_normalized, display_name, password_hash, role)
        SELECT u, 'bench' || u || '@bench.example.org', 'bench' || u || '@bench.example.org',
               'Bruker ' || u, %(hash)s,
               (CASE WHEN u = 1 THEN 'admin' WHEN u <= 8 THEN 'librarian'
                     ELSE 'resident' END)::user_role
        FROM generate_series(1, %(users)s) u
        """,
        {"hash": password_hash, "users": USERS},
    )
    names = [town for town, _x, _y in TOWNS] + ["norge"]
    for k, name in enumerate(names, start=1):
        conn.execute(
            "INSERT INTO projects (id, slug, name, library_name, created_by_id)"
            " VALUES (%s, %s, %s, %s, %s)",
            (k, f"bench-{name}", f"Kulturspor {name.title()}", f"{name.title()} bibliotek", k + 1),
        )
        conn.execute(
            "INSERT INTO memberships (project_id, user_id, role, granted_by_id)"
            " VALUES (%s, %s, 'librarian', 1)",
            (k, k + 1),
        )
    conn.execute(
        """
        INSERT INTO memberships (project_id, user_id, role, granted_by_id)
        SELECT 1 + (u - 9) % 7, u, 'curator', 1 FROM generate_series(9, 28) u
        """
    )
    for table in ("users", "projects"):
        conn.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
        )


def _drop_indexes(conn: psycopg.Connection) -> list[str]:
    """Drop the secondary indexes on traces for the bulk load; returns how to recreate them."""
    rows = conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid"
        " WHERE i.tablename = 'traces' AND NOT x.indisprimary"
    ).fetchall()
    for name, _definition in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in rows]


def _traces(conn: psycopg.Connection, n: int) -> None:
    """The one INSERT ... SELECT over generate_series that makes every trace."""
    towns = ", ".join(f"({k}, {x}, {y})" for k, (_name, x, y) in enumerate(TOWNS, start=1))
    regions, edge = [], 0.0
    for west, south, east, north, weight in REGIONS:
        high = edge + weight if len(regions) < len(REGIONS) - 1 else 2.0  # no float gap at 1.0
        regions.append(f"({edge}, {high}, {west}, {south}, {east}, {north})")
        edge += weight
    tags = "ARRAY[" + ", ".join(f"'{t}'" for t in TAGS) + "]::varchar[]"
    sql = (Path(__file__).with_name("dataset.sql")).read_text()
    for marker, value in (
        ("@TOWNS@", towns), ("@REGIONS@", ", ".join(regions)), ("@TAGS@", tags),
        ("@NTAGS@", str(len(TAGS))), ("@N@", str(n)),
    ):  # fmt: skip
        sql = sql.replace(marker, value)
    _timed(conn, f"traces ({n:,})", lambda: conn.execute(sql))


PLACE_SUFFIXES = (
    "dalen vika berget haugen seter gården vatnet elva holmen nes sund fjellet moen li tjern"
).split()
PLACE_KINDS = ("Gard", "Vann", "Fjell", "Bruk", "Tettsted", "Elv", "Ås", "Nes", "Vik", "Seter")


def _places(conn: psycopg.Connection) -> None:
    """A synthetic gazetteer: the six towns and 6,000 names made of dataset words + suffixes."""
    towns = ", ".join(f"('{name.title()}', {x}, {y}, 'town-{name}')" for name, x, y in TOWNS)
    conn.execute(
        f"""
        INSERT INTO places (name, kind, municipality, county, geom, source, source_id)
        SELECT t.name, 'By', t.name, '', ST_SetSRID(ST_MakePoint(t.x, t.y), 4326), 'bench',
               t.sid
        FROM (VALUES {towns}) t(name, x, y, sid)
        """
    )
    suffixes = "ARRAY[" + ", ".join(f"'{s}'" for s in PLACE_SUFFIXES) + "]"
    kinds = "ARRAY[" + ", ".join(f"'{k}'" for k in PLACE_KINDS) + "]"
    conn.execute(
        f"""
        INSERT INTO places (name, kind, municipality, county, geom, source, source_id)
        SELECT initcap(w.w) || ({suffixes})[1 + g % {len(PLACE_SUFFIXES)}],
               ({kinds})[1 + g % {len(PLACE_KINDS)}],
               initcap(m.w), '',
               ST_SetSRID(ST_MakePoint(5 + random() * 25, 58 + random() * 13), 4326),
               'bench', 'p' || g
        FROM generate_series(1, 6000) g
        JOIN bench_words w ON w.i = 1 + (g * 7919) % (SELECT count(*) FROM bench_words)
        JOIN bench_words m ON m.i = 1 + (g * 104729) % 400
        """
    )
