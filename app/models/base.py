"""Column helpers shared by the models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import DateTime, Enum, func
from sqlalchemy.orm import mapped_column


def utcnow() -> datetime:
    """Now, timezone-aware, in UTC."""
    return datetime.now(UTC)


def created_at_column():  # noqa: ANN201 - returns a MappedColumn
    """A non-null timestamptz column defaulting to the database's now()."""
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def pg_enum(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum type that stores the members' values (lower-case words), not names."""
    return Enum(
        enum_cls,
        name=name,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
