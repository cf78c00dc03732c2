"""Talking to PostgreSQL's own tools (pg_dump, pg_restore) from a SQLAlchemy database URL."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from app.config import database_url


@dataclass(frozen=True)
class Target:
    """A database as libpq sees it: a conninfo string without the password, and the password.

    The password is passed in PGPASSWORD, never on a command line that `ps` shows to everyone.
    """

    conninfo: str
    password: str | None
    name: str

    def env(self) -> dict[str, str]:
        """The environment for pg_dump / pg_restore: the caller's, plus the password."""
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, dbname: str | None = None) -> psycopg.Connection:
        """An autocommit psycopg connection (to another database on the server if named)."""
        info = make_conninfo(self.conninfo, password=self.password, connect_timeout=5)
        if dbname is not None:
            info = make_conninfo(info, dbname=dbname)
        return psycopg.connect(info, autocommit=True)


def target(url: str) -> Target:
    """The libpq form of a SQLAlchemy URL (postgresql+psycopg://…?host=/var/run/postgresql).

    psycopg hands the URL's query parameters to libpq as they are (host for a socket
    directory, sslmode, …), so they become conninfo keywords here too.
    """
    parsed = make_url(database_url(url))
    params: dict[str, str] = {}
    for key, value in parsed.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    if parsed.host:
        params["host"] = parsed.host
    if parsed.port:
        params["port"] = str(parsed.port)
    if parsed.username:
        params["user"] = parsed.username
    if not parsed.database:
        raise ValueError("the database URL names no database")
    params["dbname"] = parsed.database
    return Target(make_conninfo("", **params), parsed.password, parsed.database)


class ToolFailed(RuntimeError):
    """pg_dump or pg_restore exited with an error (the message holds its stderr)."""


def run_tool(args: list[str], where: Target) -> None:
    """Run a PostgreSQL client tool against a database; ToolFailed with its stderr if it fails."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed tool names, arguments are not shell-parsed
            args, env=where.env(), capture_output=True, text=True, check=False
        )
    except FileNotFoundError as error:
        raise ToolFailed(
            f"{args[0]} is not installed (Debian: apt install postgresql-client)"
        ) from error
    if result.returncode != 0:
        raise ToolFailed(f"{args[0]} failed (exit {result.returncode}): {result.stderr.strip()}")


def dump(where: Target, output: Path) -> None:
    """pg_dump in custom format (compressed, restorable table by table) to a file."""
    run_tool(
        ["pg_dump", "--format=custom", f"--file={output}", f"--dbname={where.conninfo}"], where
    )


def restore(where: Target, dump_file: Path, *, clean: bool = False) -> None:
    """pg_restore into an existing database in one transaction that stops at the first error.

    --no-owner and --no-privileges: the restoring role owns everything, so a dump taken on one
    server restores on another whose roles have other names. clean (restore --force) drops
    each object the dump holds first, in the same transaction.
    """
    replace = ["--clean", "--if-exists"] if clean else []
    run_tool(
        [
            "pg_restore",
            *replace,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={where.conninfo}",
            str(dump_file),
        ],
        where,
    )


def database_exists(where: Target) -> bool:
    """Whether the database exists on its server (asked through the maintenance database)."""
    with where.connect(dbname="postgres") as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (where.name,))
        return row.fetchone() is not None


def user_tables(where: Target) -> list[str]:
    """Tables in the database that are not PostgreSQL's or an extension's own.

    Extension tables do not count: PostGIS's spatial_ref_sys is in every fresh database made
    from a PostGIS template.
    """
    query = (
        "SELECT n.nspname || '.' || c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p')"
        " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg_toast%'"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass"
        "  AND d.objid = c.oid AND d.deptype = 'e')"
        " ORDER BY 1"
    )
    with where.connect() as conn:
        return [row[0] for row in conn.execute(query)]


def alembic_revision(where: Target) -> str | None:
    """The schema's migration revision, or None when the database has no alembic_version."""
    with where.connect() as conn:
        exists = conn.execute("SELECT to_regclass('public.alembic_version')").fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return row[0] if row else None
