"""Traces in the landscape and their append-only revisions."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.models.base import created_at_column, pg_enum
from app.models.projects import Project
from app.models.users import User
from app.models.vocab import Term


class TraceStatus(enum.StrEnum):
    """Moderation states; the transitions between them live in one place (moderation)."""

    DRAFT = "draft"
    PENDING = "pending"
    NEEDS_CHANGES = "needs_changes"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    DELETED = "deleted"


# Full-text search over what the public reads of a trace: the title weighs most, then the tags,
# then the description and sources. heritage_words() is an immutable array_to_string (migration
# 'map cells, places, search'), which a generated column needs.
SEARCH_EXPRESSION = (
    "setweight(to_tsvector('norwegian'::regconfig, coalesce(title, '')), 'A')"
    " || setweight(to_tsvector('norwegian'::regconfig, heritage_words(tags)), 'B')"
    " || setweight(to_tsvector('norwegian'::regconfig,"
    " coalesce(description, '') || ' ' || coalesce(sources, '')), 'C')"
)


class Trace(Base):
    """A historical trace of human activity: where, what, when, how it was dated, and by whom."""

    __tablename__ = "traces"
    __table_args__ = (
        CheckConstraint(
            "GeometryType(geom) IN ('POINT', 'LINESTRING', 'POLYGON')", name="geom_kind"
        ),
        CheckConstraint("ST_IsValid(geom)", name="geom_valid"),
        CheckConstraint("length(btrim(title)) > 0", name="title_not_blank"),
        CheckConstraint(
            "status <> 'approved' OR (approved_by_id IS NOT NULL AND approved_at IS NOT NULL)",
            name="approved_has_moderator",
        ),
        CheckConstraint("version > 0", name="version_positive"),
        CheckConstraint(
            "informant_birth_year IS NULL OR informant_birth_year BETWEEN 1850 AND 2100",
            name="informant_birth_year_range",
        ),
        CheckConstraint(
            "status NOT IN ('rejected', 'needs_changes') OR decided_by_id IS NOT NULL",
            name="decision_has_moderator",
        ),
        Index("ix_traces_tags", "tags", postgresql_using="gin"),
        Index("ix_traces_search", "search", postgresql_using="gin"),
        # Partial and misspelt words in titles ("fangstg" finds "Fangstgroper").
        Index(
            "ix_traces_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ),
        # The moderation queue: pending entries per project, oldest first.
        Index(
            "ix_traces_pending_queue",
            "project_id",
            "submitted_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_traces_author", "author_id", "status"),
        # A project's traces by status (the story page's counts) without reading the table.
        Index("ix_traces_project_status", "project_id", "status"),
        # The foreign key's check when a trace is deleted, and "merged into" lookups: without
        # it each deletion scanned the table (0.3 s at a million traces).
        Index(
            "uq_traces_submission_key",
            "author_id",
            "submission_key",
            unique=True,
            postgresql_where=text("submission_key IS NOT NULL"),
        ),
        # Traces a user recorded for an informant: a recorder's change of name or consent
        # moves their updated_at (harvesters), and an account's removal finds them.
        Index(
            "ix_traces_recorder",
            "recorder_id",
            postgresql_where=text("recorder_id IS NOT NULL"),
        ),
        Index(
            "ix_traces_duplicate_of",
            "duplicate_of_id",
            postgresql_where=text("duplicate_of_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=4326, spatial_index=True), nullable=False
    )
    # Where the public sees a sensitive trace: a stable point inside a coarse cell.
    public_geom: Mapped[WKBElement | None] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=True),
        server_default=FetchedValue(),
        server_onupdate=FetchedValue(),
    )
    trace_type_id: Mapped[int | None] = mapped_column(ForeignKey("terms.id"))
    period_id: Mapped[int | None] = mapped_column(ForeignKey("terms.id"))
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("terms.id"))
    dating_method_id: Mapped[int | None] = mapped_column(ForeignKey("terms.id"))
    sources: Mapped[str] = mapped_column(Text, default="", server_default="")
    licence: Mapped[str] = mapped_column(String(32), default="CC-BY-4.0")
    status: Mapped[TraceStatus] = mapped_column(
        pg_enum(TraceStatus, "trace_status"), default=TraceStatus.PENDING
    )
    # Set by the database trigger from the type/period rules, unless a librarian decided:
    # sensitivity_override True/False wins over the rules (migration 'sensitive locations').
    is_sensitive: Mapped[bool] = mapped_column(
        Boolean, server_default="false", server_onupdate=FetchedValue()
    )
    sensitivity_override: Mapped[bool | None] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    # Moved by the database whenever anything a harvester receives changes (migration
    # 'harvest'): status, geometry, sensitivity, text, terms, and relabelled terms.
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
        server_onupdate=FetchedValue(),
    )
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The latest moderation decision: who, when, and the message or reason given.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("traces.id"))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    # Provenance of imported records, kept as the source gave it (exports prefer these).
    source_attribution: Mapped[str | None] = mapped_column(String(300))
    source_uri: Mapped[str | None] = mapped_column(String(500))
    source_id: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Assisted registration: a librarian or curator (the recorder) entered the trace for a
    # resident who told it (the informant, the knowledge holder). Names go to museums only
    # with informant_consent (docs/domain.md, provenance).
    recorder_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    informant_name: Mapped[str | None] = mapped_column(String(120))
    informant_birth_year: Mapped[int | None] = mapped_column(SmallInteger)
    informant_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # How the knowledge was passed on ("fortalt av far", "egen observasjon"), as told.
    knowledge_source: Mapped[str | None] = mapped_column(String(200))
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_EXPRESSION, persisted=True))
    # The client's idempotency key for a submission (an offline outbox may send it twice):
    # the same author and key give back the trace already made (unique per author).
    submission_key: Mapped[str | None] = mapped_column(String(64))
    # Photo links carried in by an import of another installation's export, kept as given:
    # [{"href", "thumbnail", "caption", "credit", "licence"}]. Shown as links, never fetched.
    photo_references: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB(none_as_null=True))

    project: Mapped[Project] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    recorder: Mapped[User | None] = relationship(foreign_keys=[recorder_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    trace_type: Mapped[Term | None] = relationship(foreign_keys=[trace_type_id])
    period: Mapped[Term | None] = relationship(foreign_keys=[period_id])
    condition: Mapped[Term | None] = relationship(foreign_keys=[condition_id])
    dating_method: Mapped[Term | None] = relationship(foreign_keys=[dating_method_id])

    # Optimistic locking (docs/security.md item 31): every UPDATE checks and bumps the counter.
    # eager_defaults: read back what the sensitivity trigger computed in the same statement.
    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}


class Revision(Base):
    """An append-only snapshot of a trace after a change: who, when, why, and all of it."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("trace_id", "version", name="uq_revisions_trace_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trace_id: Mapped[int] = mapped_column(ForeignKey("traces.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    # What the editor typed about their change, as typed (empty for the system's own events).
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    # What the system did, as a kind with parameters ({"kind": "decision", "action": ...});
    # app/events.py renders it in the reader's language. None for a plain edit.
    event: Mapped[dict[str, Any] | None] = mapped_column(JSONB(none_as_null=True))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSONB)
    geom: Mapped[WKBElement] = mapped_column(
        Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False
    )
