"""Tombstones for harvesters: traces that left the public set, and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.base import created_at_column


class PublicationRemoval(Base):
    """A trace that was public and no longer is (withdrawn, rejected, merged, deleted, moved).

    Written by a database trigger on traces, so that every write path announces removals;
    trace_id is deliberately not a foreign key: the tombstone outlives an erased trace.
    """

    __tablename__ = "publication_removals"
    __table_args__ = (Index("ix_publication_removals_removed_at", "removed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trace_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(Integer)
    # The trace's status after it left (or 'erased' for a hard delete, 'moved' for a project change)
    reason: Mapped[str] = mapped_column(String(32))
    removed_at: Mapped[datetime] = created_at_column()
