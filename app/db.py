"""Engine per app, the request-scoped session and the declarative Base with stable names.

With READ_DATABASE_URL set, each app also gets a read engine on a streaming replica; the
session uses it for the requests app.replica allows, checked once per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app, g, has_request_context
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.sql import Executable

from app.config import database_url
from app.replica import (
    CONNECT_TIMEOUT_SECONDS,
    DEFAULT_MAX_LAG_SECONDS,
    Replica,
    request_may_use_replica,
)

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
    """What one app owns of the database (app.extensions["database"]): the primary's engine,
    and the read replica when one is configured."""

    engine: Engine
    replica: Replica | None = None


def _database_of(app: Flask) -> AppDatabase:
    try:
        return app.extensions["database"]
    except KeyError:
        raise RuntimeError("Database.init_app has not been called for this app") from None


def engine_of(app: Flask) -> Engine:
    """The primary's engine that belongs to this app (no app context needed)."""
    return _database_of(app).engine


def read_engine_of(app: Flask) -> Engine | None:
    """The app's engine on the read replica, or None when none is configured."""
    replica = _database_of(app).replica
    return replica.engine if replica is not None else None


def request_engine(app: Flask) -> Engine:
    """The engine this request reads from: the replica when app.replica allows it and the
    replica answers, else the primary. Decided once per request (all its queries share one
    transaction); outside requests always the primary."""
    database = _database_of(app)
    if database.replica is None or not has_request_context():
        return database.engine
    chosen = g.get("_database_engine")
    if chosen is None:
        chosen = database.engine
        if request_may_use_replica() and database.replica.ready():
            chosen = database.replica.engine
        g._database_engine = chosen
    return chosen


class AppSession(Session):
    """A session that, unless given a bind of its own, talks to the current app's engine.

    The engine is looked up per statement, so two apps in one process (tests, CLI) never share
    or steal each other's engine. In a request that app.replica sends to the read replica,
    that is the replica's engine (request_engine).
    """

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any:
        """The explicitly configured bind, else this request's engine of the current app."""
        if self.bind is None and not getattr(self, "_Session__binds", None):
            return request_engine(current_app)
        return super().get_bind(mapper=mapper, clause=clause, **kw)


class Database:
    """The request-scoped session and access to the current app's engine."""

    def __init__(self) -> None:
        self.metadata = Base.metadata
        self.session = scoped_session(sessionmaker(class_=AppSession, expire_on_commit=False))

    @property
    def engine(self) -> Engine:
        """The primary's engine of the current app (needs an app context; else engine_of)."""
        return engine_of(current_app)

    @property
    def read_engine(self) -> Engine:
        """The engine this request reads from (the replica or the primary; request_engine).

        For reads outside the session (a streamed export's own connection): nothing may be
        written on it.
        """
        return request_engine(current_app)

    def init_app(self, app: Flask) -> None:
        """Give the app an engine of its own and close the session after each app context."""
        timeout = int(app.config["DB_STATEMENT_TIMEOUT_MS"])
        options = (
            # Extensions such as postgis_tiger_geocoder change search_path; pin ours. JIT off:
            # the app's statements are short, and compiling one queue query took 1.46 s of its
            # 1.5 s at a million traces (docs/benchmark.md).
            f"-c search_path=public -c statement_timeout={timeout} -c jit=off "
            f"-c heritage.cell_metres={float(app.config['PRIVACY_CELL_METRES'])}"
        )
        engine = _create_engine(app, app.config["SQLALCHEMY_DATABASE_URI"],
                                {"options": options, "application_name": "heritage"})  # fmt: skip
        replica = None
        if app.config.get("READ_DATABASE_URL"):
            read_engine = _create_engine(
                app,
                database_url(app.config["READ_DATABASE_URL"]),
                {
                    # Read-only like the standby itself, so a write routed here by mistake
                    # fails the same way on any replica (or a test's stand-in for one).
                    "options": options + " -c default_transaction_read_only=on",
                    "application_name": "heritage-read",
                    # Fail fast: after this the request is served by the primary.
                    "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                },
            )
            replica = Replica(
                read_engine,
                retry_seconds=float(app.config.get("READ_REPLICA_RETRY_SECONDS", 30)),
                max_lag_seconds=float(
                    app.config.get("READ_REPLICA_MAX_LAG_SECONDS", DEFAULT_MAX_LAG_SECONDS)
                ),
            )
            event.listen(read_engine, "handle_error", replica.on_error)
        app.extensions["database"] = AppDatabase(engine=engine, replica=replica)

        app.teardown_request(_write_pending_asides)

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()


def _create_engine(app: Flask, url: str, connect_args: dict[str, Any]) -> Engine:
    return create_engine(
        url,
        # A restarted PostgreSQL leaves dead connections in the pool; test before use.
        pool_pre_ping=True,
        pool_size=int(app.config["DB_POOL_SIZE"]),
        connect_args=connect_args,
        # Errors and their log lines name the statement, never its values (addresses, hashes).
        hide_parameters=True,
    )


db = Database()


def write_aside(statement: Executable) -> None:
    """Run one INSERT/UPDATE on a connection and transaction of its own, committed at once.

    For the side records a read writes (delivery logs, session touches): they must neither
    ride on nor be undone by the request's transaction, and a GET never commits the session.
    Always on the primary, even when the request reads from the replica.
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
