"""Comments on traces: questions, added knowledge, and observations kept from duplicates."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.models.base import created_at_column, pg_enum
from app.models.users import User


class CommentKind(enum.StrEnum):
    """A conversation entry, or a contributor's text kept from a merged duplicate."""

    COMMENT = "comment"
    OBSERVATION = "observation"


class CommentStatus(enum.StrEnum):
    """Comments are moderated like traces."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    DELETED = "deleted"


class Comment(Base):
    """A resident's question or knowledge about a trace, or a curator's answer."""

    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_trace", "trace_id", "created_at"),
        Index("ix_comments_pending", "created_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trace_id: Mapped[int] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[CommentKind] = mapped_column(
        pg_enum(CommentKind, "comment_kind"), default=CommentKind.COMMENT
    )
    status: Mapped[CommentStatus] = mapped_column(
        pg_enum(CommentStatus, "comment_status"), default=CommentStatus.PENDING
    )
    created_at: Mapped[datetime] = created_at_column()
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moderated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])

    __mapper_args__ = {"version_id_col": version}
