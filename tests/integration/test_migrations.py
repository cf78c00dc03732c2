"""The migrations on a throw-away database: upgrade, no drift from the models, down and up again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.db import db, engine_of
from tests.dbutil import drop_database, recreate_database

SCRATCH_DATABASE = "heritage_migrations_test"
VOCABULARY_SIZES = {"trace_type": 16, "period": 9, "condition": 5, "dating_method": 7}


@pytest.fixture
def scratch_app(database_url: str) -> Iterator[Flask]:
    """An app on its own empty database, with an engine of its own (app.extensions)."""
    url = (
        make_url(database_url).set(database=SCRATCH_DATABASE).render_as_string(hide_password=False)
    )
    recreate_database(url)
    try:
        scratch = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
        try:
            yield scratch
        finally:
            db.session.remove()
            engine_of(scratch).dispose()
    finally:
        drop_database(url)


def _alembic_config():
    return current_app.extensions["migrate"].migrate.get_config()


def _vocabulary_counts() -> dict[str, int]:
    rows = db.session.execute(
        text("SELECT scheme::text, count(*) FROM terms GROUP BY scheme")
    ).all()
    db.session.rollback()
    return dict(rows)


def _tables() -> set[str]:
    rows = db.session.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ).scalars()
    names = set(rows)
    db.session.rollback()
    return names


def _revision() -> str | None:
    value = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    db.session.rollback()
    return value


def test_upgrade_check_downgrade_upgrade(scratch_app: Flask) -> None:
    with scratch_app.app_context():
        assert db.engine.url.database == SCRATCH_DATABASE

        upgrade()
        assert {"projects", "terms", "users", "traces", "revisions"} <= _tables()
        assert _vocabulary_counts() == VOCABULARY_SIZES
        code = db.session.execute(
            text("SELECT code FROM terms WHERE scheme = 'trace_type' AND code = 'fangstanlegg'")
        ).scalar_one()
        assert code == "fangstanlegg"
        db.session.rollback()

        # Autogenerate must find nothing to do: the models and the migrations agree.
        # (flask_migrate.check() would sys.exit(1); alembic's command raises with the diff.)
        command.check(_alembic_config())

        downgrade(revision="base")
        assert _tables() <= {"alembic_version", "spatial_ref_sys"}
        assert _revision() is None
        enums = db.session.execute(
            text("SELECT typname FROM pg_type WHERE typname IN ('trace_status', 'term_scheme')")
        ).all()
        db.session.rollback()
        assert enums == []

        upgrade()
        assert _vocabulary_counts() == VOCABULARY_SIZES
        command.check(_alembic_config())
        head = db.session.execute(select(text("version_num")).select_from(text("alembic_version")))
        assert (
            head.scalar_one() == ScriptDirectory.from_config(_alembic_config()).get_current_head()
        )
        db.session.rollback()


def test_main_app_keeps_its_own_engine(app: Flask, session) -> None:
    """Runs after the migration test in this module: the main app kept its own engine."""
    assert engine_of(app).url.database != SCRATCH_DATABASE
    with app.app_context():
        assert db.engine.url.database != SCRATCH_DATABASE
    assert session.execute(text("SELECT current_database()")).scalar_one() != SCRATCH_DATABASE
