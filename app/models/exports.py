"""Deliveries of data to museums and archives: partner tokens and the log of every export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.base import created_at_column


class PartnerToken(Base):
    """An API token for a partner institution; it sees sensitive traces of its projects precisely.

    Only the token's SHA-256 is stored. An empty project list means every project.
    """

    __tablename__ = "partner_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    project_ids: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), default=list, server_default="{}"
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExportLog(Base):
    """Who received which data, when, and whether precisely: so an erasure can be passed on."""

    __tablename__ = "export_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    partner_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_tokens.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(16))  # web, cli, ogc
    format: Mapped[str] = mapped_column(String(16))
    query: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    feature_count: Mapped[int | None] = mapped_column(Integer)
    precise: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = created_at_column()
