"""Engine per app, the request-scoped session and the declarative Base with stable names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_request_context
from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
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


@dataclass(frozen=True)
class AppDatabase:
    """What one app owns of the database: its engine (app.extensions["database"])."""

    engine: Engine


def engine_of(app: Flask) -> Engine:
    """The engine that belongs to this app (no app context needed)."""
    try:
        return app.extensions["database"].engine
    except KeyError:
        raise RuntimeError("Database.init_app has not been called for this app") from None


class AppSession(Session):
    """A session that, unless given a bind of its own, talks to the current app's engine.

    The engine is looked up per statement, so two apps in one process (tests, CLI) never share
    or steal each other's engine.
    """

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any:
        """The explicitly configured bind, else the engine of the current app."""
        if self.bind is None and not getattr(self, "_Session__binds", None):
            return engine_of(current_app)
        return super().get_bind(mapper=mapper, clause=clause, **kw)


class Database:
    """The request-scoped session and access to the current app's engine."""

    def __init__(self) -> None:
        self.metadata = Base.metadata
        self.session = scoped_session(sessionmaker(class_=AppSession, expire_on_commit=False))

    @property
    def engine(self) -> Engine:
        """The engine of the current app (needs an app context; see engine_of otherwise)."""
        return engine_of(current_app)

    def init_app(self, app: Flask) -> None:
        """Give the app an engine of its own and close the session after each app context."""
        timeout = int(app.config["DB_STATEMENT_TIMEOUT_MS"])
        engine = create_engine(
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
        app.extensions["database"] = AppDatabase(engine=engine)

        app.teardown_request(_write_pending_asides)

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()


db = Database()


def write_aside(statement: Executable) -> None:
    """Run one INSERT/UPDATE on a connection and transaction of its own, committed at once.

    For the side records a read writes (delivery logs, session touches): they must neither
    ride on nor be undone by the request's transaction, and a GET never commits the session.
    """
    bind = db.session().bind
    if isinstance(bind, Connection):
        _write_on_bound_connection(bind, statement)
        return
    with db.engine.begin() as connection:
        connection.execute(statement)


def _write_on_bound_connection(connection: Connection, statement: Executable) -> None:
    """The session was bound to one connection (a test's transaction): no other connection
    can see its rows, so the record goes on that connection, but only once the request's own
    transaction has ended, so that the request's rollback cannot take it back."""
    if has_request_context() and db.session().in_transaction():
        g.setdefault("aside_writes", []).append(statement)
        return
    with connection.begin_nested():
        connection.execute(statement)


def _write_pending_asides(_exc: BaseException | None) -> None:
    statements = g.pop("aside_writes", [])
    if not statements:
        return
    connection = db.session().bind
    db.session.rollback()  # the request is over; its transaction is closed either way
    for statement in statements:
        with connection.begin_nested():
            connection.execute(statement)
