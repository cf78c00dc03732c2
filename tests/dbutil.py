"""Creating and dropping throw-away PostGIS databases for the test suite."""

from __future__ import annotations

import os

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

TEMPLATE = "heritage_template"


def test_database_url() -> str:
    """TEST_DATABASE_URL, else DATABASE_URL's server with a `_test` database, else local socket."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return _driver(explicit)
    base = os.environ.get("DATABASE_URL")
    if base:
        url = make_url(_driver(base))
        return url.set(database=f"{url.database}_test").render_as_string(hide_password=False)
    return "postgresql+psycopg:///heritage_test?host=/var/run/postgresql"


def _driver(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _admin_conninfo(url: str) -> str:
    parsed = make_url(url).set(drivername="postgresql", database="postgres")
    return parsed.render_as_string(hide_password=False)


def recreate_database(url: str) -> None:
    """Drop and create the database named in url, cloning the PostGIS template when it exists."""
    name = make_url(url).database
    assert name and name.endswith("_test") or "test" in (name or ""), (
        f"refusing to recreate {name!r}: test databases must have 'test' in their name"
    )
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        has_template = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (TEMPLATE,)
        ).fetchone()
        if has_template:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(TEMPLATE)
                )
            )
        else:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    """Drop the database named in url."""
    name = make_url(url).database
    with psycopg.connect(_admin_conninfo(url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
