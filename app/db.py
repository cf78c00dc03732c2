"""Engine, scoped session and the declarative Base with stable constraint names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.sql import Executable

if TYPE_CHECKING:
    from flask import Flask

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base for every model; its metadata names constraints predictably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database:
    """Holds the engine and the request-scoped session; bound to an app by init_app."""

    def __init__(self) -> None:
        self.metadata = Base.metadata
        self._engine: Engine | None = None
        self.session = scoped_session(sessionmaker(expire_on_commit=False))

    @property
    def engine(self) -> Engine:
        """The engine of the app this database was last bound to."""
        if self._engine is None:
            raise RuntimeError("Database.init_app has not been called")
        return self._engine

    def init_app(self, app: Flask) -> None:
        """Create the engine from the app's config and close the session after each request."""
        timeout = int(app.config["DB_STATEMENT_TIMEOUT_MS"])
        if self._engine is not None:
            self._engine.dispose()  # a second app in one process (tests, CLI): close the old pool
        self._engine = create_engine(
            app.config["SQLALCHEMY_DATABASE_URI"],
            # A restarted PostgreSQL leaves dead connections in the pool; test before use.
            pool_pre_ping=True,
            pool_size=int(app.config["DB_POOL_SIZE"]),
            connect_args={
                # Extensions such as postgis_tiger_geocoder change search_path; pin ours.
                "options": (
                    f"-c search_path=public -c statement_timeout={timeout} "
                    f"-c heritage.cell_metres={float(app.config['PRIVACY_CELL_METRES'])}"
                ),
                "application_name": "heritage",
            },
        )
        self.session.configure(bind=self._engine)
        app.extensions["database"] = self

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()


db = Database()


def write_aside(statement: Executable) -> None:
    """Run one INSERT/UPDATE on a connection and transaction of its own, committed at once.

    For the side records a read writes (delivery logs, session touches): they must neither
    ride on nor be undone by the request's transaction, and a GET never commits the session.
    """
    with db.engine.begin() as connection:
        connection.execute(statement)
