"""Controlled vocabularies (docs/domain.md): trace types, periods, condition, dating methods."""

from __future__ import annotations

import enum

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.base import pg_enum


class Scheme(enum.StrEnum):
    """The vocabularies a Term can belong to."""

    TRACE_TYPE = "trace_type"
    PERIOD = "period"
    CONDITION = "condition"
    DATING_METHOD = "dating_method"


class Term(Base):
    """One concept with labels in Bokmål, Nynorsk, English and Northern Sami and an optional URI."""

    __tablename__ = "terms"
    __table_args__ = (UniqueConstraint("scheme", "code", name="uq_terms_scheme_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme: Mapped[Scheme] = mapped_column(pg_enum(Scheme, "term_scheme"))
    code: Mapped[str] = mapped_column(String(64))
    label_nb: Mapped[str] = mapped_column(String(120))
    label_nn: Mapped[str | None] = mapped_column(String(120))
    label_en: Mapped[str] = mapped_column(String(120))
    label_se: Mapped[str | None] = mapped_column(String(120))
    uri: Mapped[str | None] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("terms.id"))
    sort_order: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Traces with this type or period are generalised for the public by default (docs/domain.md).
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Periods that may be older than 1537 are flagged for the county heritage office.
    before_1537: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")

    def label(self, locale: str) -> str:
        """The label in the given language, falling back to Bokmål."""
        value = getattr(self, f"label_{locale}", None)
        return value or self.label_nb
