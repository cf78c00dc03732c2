"""Password reset by e-mail: single-use, short-lived links built from BASE_URL (SECURITY.md 7)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from app import audit
from app.auth.operations import normalize_email, set_password
from app.auth.sessions import revoke_sessions
from app.db import db
from app.mail import send_mail
from app.models import PasswordResetToken, User

log = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    """Only this SHA-256 of a token is stored, so a database leak reveals no usable link."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def reset_link(token: str) -> str:
    """The absolute link for a token, from the configured base URL and never the Host header."""
    # url_for gives the path under this app's mount point; the origin comes from configuration.
    path = url_for("auth.reset_form", token=token)[len(request.script_root) :]
    return current_app.config["BASE_URL"].rstrip("/") + path


def request_reset(email: str) -> None:
    """Mail a reset link when an enabled account has this address; silent otherwise."""
    user = db.session.execute(
        select(User).where(User.email_normalized == normalize_email(email))
    ).scalar_one_or_none()
    if user is None or not user.is_enabled:
        return
    token = secrets.token_urlsafe(32)
    minutes = int(current_app.config["RESET_TOKEN_MINUTES"])
    db.session.add(
        PasswordResetToken(
            token_hash=token_hash(token),
            user_id=user.id,
            expires_at=datetime.now(UTC) + timedelta(minutes=minutes),
        )
    )
    db.session.flush()
    audit.record(None, "account.password_reset_requested", "user", user.id)
    send_mail(
        user.email,
        gettext("Reset your password"),
        gettext(
            "Someone, probably you, asked to reset the password of your account at "
            "%(name)s.\n\nOpen this link within %(minutes)d minutes to choose a new password:\n"
            "%(link)s\n\nThe link works once. If you did not ask for it, ignore this message; "
            "your password stays as it is.",
            name=current_app.config["INSTALLATION_NAME"],
            minutes=minutes,
            link=reset_link(token),
        ),
    )


def valid_token(token: str) -> PasswordResetToken | None:
    """The unused, unexpired token row of an enabled account, or None."""
    if not token or len(token) > 128:
        return None
    row = db.session.execute(
        select(PasswordResetToken)
        .join(User, User.id == PasswordResetToken.user_id)
        .where(
            PasswordResetToken.token_hash == token_hash(token),
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > datetime.now(UTC),
            User.is_enabled.is_(True),
        )
        # Two tabs sending the same link at once: the second waits and then finds it used.
        .with_for_update(of=PasswordResetToken)
    ).scalar_one_or_none()
    return row


def complete_reset(record: PasswordResetToken, new_password: str) -> User:
    """Set the new password, use up the link (and any other), and revoke every session."""
    user = db.session.get(User, record.user_id)
    assert user is not None  # the foreign key cascades, so a token always has its user
    set_password(user, new_password)  # also marks this and every other open link used
    revoked = revoke_sessions(user.id)
    audit.record(user, "account.password_reset", "user", user.id, sessions_revoked=revoked)
    log.info("password reset: user=%s", user.id)
    return user
