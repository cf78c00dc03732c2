"""People who use the service, and their server-side sessions.

Sessions are revocable (docs/security.md item 3).
"""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.base import created_at_column, pg_enum


class UserRole(enum.StrEnum):
    """Installation-wide role; project rights come from Memberships."""

    RESIDENT = "resident"
    LIBRARIAN = "librarian"
    ADMIN = "admin"


class User(UserMixin, Base):
    """An account. The e-mail never leaves the installation; the display name may, with consent."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # strip + NFKC + casefold; the unique index is on this form (docs/security.md item 2).
    email_normalized: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(
        pg_enum(UserRole, "user_role"), default=UserRole.RESIDENT, server_default="resident"
    )
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    show_name_publicly: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    notify_by_email: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Librarians and curators: a weekly e-mail of what waits for them (flask digest send).
    weekly_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    digest_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The language chosen on the account page (nb, nn, se, en); NULL: cookie, then browser.
    # Pages, mail and notifications use it (app/extensions.select_locale, app/notify.py).
    language: Mapped[str | None] = mapped_column(String(8))
    # Set when the person deleted their account: the row stays only as "Tidligere bidragsyter"
    # for kept contributions, with every personal field overwritten (app/me/deletion.py).
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        """Disabled accounts cannot log in."""
        return self.is_enabled


class UserSession(Base):
    """One login on one device; the cookie holds only its random id, so it can be revoked."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        Index("ix_user_sessions_live", "user_id", postgresql_where=text("revoked_at IS NULL")),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    user_agent: Mapped[str | None] = mapped_column(String(200))


class PasswordResetToken(Base):
    """A single-use, short-lived reset link; only the token's SHA-256 is stored."""

    __tablename__ = "password_reset_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
