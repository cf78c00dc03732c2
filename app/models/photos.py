"""Photos of traces (and of comments on them), and the stored files waiting to be removed."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.models.base import created_at_column, pg_enum
from app.models.users import User


class PhotoStatus(enum.StrEnum):
    """Staged (uploaded, not yet on a trace), then moderated like traces."""

    STAGED = "staged"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Photo(Base):
    """One re-encoded image: its stored sizes, who took it, under which licence, and its state.

    The files live in media storage under ``storage_key`` (a random token, never derived from
    the trace or the file name): ``{key}/thumb.{fmt}``, ``{key}/display.{fmt}`` and, only when
    HERITAGE_KEEP_ORIGINALS is on, ``{key}/original.{ext}``. No GPS position is ever stored.
    """

    __tablename__ = "photos"
    __table_args__ = (
        # Staged photos belong to no trace yet; every other state belongs to one.
        CheckConstraint("(status = 'staged') = (trace_id IS NULL)", name="staged_has_no_trace"),
        CheckConstraint(
            "status NOT IN ('approved', 'rejected') OR decided_at IS NOT NULL",
            name="decision_has_time",
        ),
        CheckConstraint("position >= 0", name="position_not_negative"),
        Index(
            "ix_photos_trace", "trace_id", "position", postgresql_where=text("trace_id IS NOT NULL")
        ),
        Index("ix_photos_comment", "comment_id", postgresql_where=text("comment_id IS NOT NULL")),
        # The moderation queue's photo entries, and the sweep of forgotten uploads.
        Index("ix_photos_pending", "trace_id", postgresql_where=text("status = 'pending'")),
        Index("ix_photos_staged", "created_at", postgresql_where=text("status = 'staged'")),
        # Per-user quota (docs/security.md item 27).
        Index("ix_photos_uploader", "uploader_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trace_id: Mapped[int | None] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[PhotoStatus] = mapped_column(
        pg_enum(PhotoStatus, "photo_status"), default=PhotoStatus.STAGED
    )
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    # 'webp' or 'jpeg': the format of the stored thumbnail and display size.
    image_format: Mapped[str] = mapped_column(String(8))
    # The uploaded file's format as its content said ('jpeg', 'png', 'webp', 'heif').
    source_format: Mapped[str] = mapped_column(String(8))
    has_original: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    thumb_width: Mapped[int] = mapped_column(Integer)
    thumb_height: Mapped[int] = mapped_column(Integer)
    # Bytes stored for this photo, all sizes together (the quota counts these).
    stored_bytes: Mapped[int] = mapped_column(BigInteger)
    # The caption doubles as the image's text alternative.
    caption: Mapped[str] = mapped_column(String(300), default="", server_default="")
    credit: Mapped[str] = mapped_column(String(200), default="", server_default="")
    licence: Mapped[str] = mapped_column(String(32), default="CC-BY-4.0")
    taken_on: Mapped[date | None] = mapped_column(Date)
    position: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    # For a protected (sensitive) trace, a moderator's word that the picture does not reveal
    # the place; until then only the author, moderators and partners see it.
    public_when_protected: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="false"
    )
    created_at: Mapped[datetime] = created_at_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, default="", server_default="")

    uploader: Mapped[User | None] = relationship(foreign_keys=[uploader_id])


class MediaGarbage(Base):
    """A stored photo's files to remove once ``due_at`` has passed.

    A row is added by a trigger whenever a photo row is deleted (by any path, cascades
    included) and by operations that reject a photo (with a grace period). Files are removed
    right after the transaction commits when already due, else by ``flask media sweep``.
    """

    __tablename__ = "media_garbage"
    __table_args__ = (Index("ix_media_garbage_due", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(64))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
