"""Password reset by e-mail: single-use, short-lived links on BASE_URL (docs/security.md)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app, g
from flask_babel import force_locale, get_locale, gettext
from sqlalchemy import DateTime, case, func, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB

from app import audit
from app.auth.operations import normalize_email, set_password
from app.auth.sessions import revoke_sessions
from app.db import db
from app.mail import clean_body, one_line
from app.models import AuditEvent, OutboxMail, PasswordResetToken, User
from app.web import absolute_url

log = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    """Only this SHA-256 of a token is stored, so a database leak reveals no usable link."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def reset_link(token: str) -> str:
    """The absolute link for a token, from the configured base URL and never the Host header."""
    return absolute_url("auth.reset_form", token=token)


def request_reset(email: str) -> None:
    """Mail a reset link when an enabled account has this address; silent otherwise.

    The same work is done whether or not there is such an account, so the answer takes the
    same time and tells nobody who has one: a token is made and the mail is written either
    way, and every write is an INSERT ... SELECT from the account, which adds its row only
    when the account exists. The statements sent to the database are the same in both cases.
    """
    token = secrets.token_urlsafe(32)
    minutes = int(current_app.config["RESET_TOKEN_MINUTES"])
    link = reset_link(token)
    # Written in every language, so the mail can follow the account's chosen language without
    # a query before the INSERT ... SELECT (the account's language is read by that statement).
    mails = {}
    for language in current_app.config["LANGUAGES"]:
        with force_locale(language):
            mails[language] = (
                one_line(gettext("Reset your password")),
                clean_body(_body(minutes, link)),
            )
    asking = str(get_locale())  # an account with no language of its own: the page's
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    # A transaction that wrote nothing commits without waiting for the disk; one that added a
    # token does. Taking a transaction id makes the commit durable, and as slow, either way.
    db.session.execute(select(func.pg_current_xact_id()))
    account = (
        User.email_normalized == normalize_email(email),
        User.is_enabled.is_(True),
    )
    stored = db.session.execute(
        insert(PasswordResetToken)
        .from_select(
            ["token_hash", "user_id", "expires_at"],
            select(
                literal(token_hash(token)), User.id, literal(expires, DateTime(timezone=True))
            ).where(*account),
        )
        .returning(PasswordResetToken.user_id)
    ).scalars()
    user_id = next(iter(stored), None)
    db.session.execute(
        insert(AuditEvent).from_select(
            ["action", "target_type", "target_id", "details"],
            select(
                literal("account.password_reset_requested"),
                literal("user"),
                User.id,
                literal({}, JSONB),
            ).where(*account),
        )
    )
    db.session.execute(
        insert(OutboxMail).from_select(
            ["to_address", "user_id", "subject", "body"],
            select(
                User.email,
                User.id,  # the account's mail: deleting the account deletes it
                _in_language({lang: mail[0] for lang, mail in mails.items()}, asking),
                _in_language({lang: mail[1] for lang, mail in mails.items()}, asking),
            ).where(*account),
        )
    )
    # Sent after the request's commit, as send_mail() arranges; when nothing was queued the
    # round finds nothing to send, after the response like any other.
    g.mail_queued = True
    log.info("password reset requested: user=%s", user_id)


def _body(minutes: int, link: str) -> str:
    """The reset mail's text in the current language."""
    return gettext(
        "Someone, probably you, asked to reset the password of your account at "
        "%(name)s.\n\nOpen this link within %(minutes)d minutes to choose a new password:\n"
        "%(link)s\n\nThe link works once. If you did not ask for it, ignore this message; "
        "your password stays as it is.",
        name=current_app.config["INSTALLATION_NAME"],
        minutes=minutes,
        link=link,
    )


def _in_language(texts: dict[str, str], asking: str):  # noqa: ANN202 - a SQL expression
    """SQL: the text in the account's language, else in the language the request was made in."""
    chosen = func.coalesce(User.language, asking)
    return case(
        *((chosen == lang, literal(text)) for lang, text in texts.items()),
        else_=literal(texts[asking]),
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
