"""Account changes: registration, authentication, and the account page's settings."""

from __future__ import annotations

import logging
import unicodedata
from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth.passwords import dummy_verify, hash_password, password_problem, verify_password
from app.auth.sessions import revoke_sessions
from app.db import db
from app.errors import Forbidden, ValidationFailed
from app.i18n import mail_locale
from app.mail import send_mail
from app.me.pseudonym import is_pseudonym
from app.models import PasswordResetToken, User, UserRole
from app.validation import FieldErrors, clean_line, has_visible_text

log = logging.getLogger(__name__)


def normalize_email(raw: str) -> str:
    """strip + NFKC + casefold: the form the unique index and every look-up use."""
    # NUL cannot be stored or looked up in PostgreSQL text; no real address contains it.
    return unicodedata.normalize("NFKC", raw.replace("\x00", "").strip()).casefold()


def password_message(code: str) -> str:
    """A translated explanation for a password_problem code."""
    messages = {
        "too_short": gettext("The password must be at least 8 characters long."),
        "too_long": gettext("The password can be at most 128 characters long."),
        "too_common": gettext("This password is too common or too simple; choose another."),
    }
    return messages[code]


def register_user(
    email: str,
    display_name: str,
    password: str,
    *,
    role: UserRole = UserRole.RESIDENT,
    show_name_publicly: bool = False,
) -> User:
    """Create an account after checking the e-mail and password; flushes, never commits."""
    errors: dict[str, list[str]] = {}
    email_clean, normalized, email_error = _checked_email(email)
    if email_error:
        errors["email"] = [email_error]
    problem = password_problem(password)
    if problem:
        errors["password"] = [password_message(problem)]
    unnamed = not (display_name or "").strip()  # named later; "Resident N" until then
    name = "-" * 2  # replaced below, once the id is known
    if not unnamed:
        name, name_error = _checked_name(display_name)
        if name_error:
            errors["display_name"] = [name_error]
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=email_clean,
        email_normalized=normalized,
        display_name=name,
        password_hash=hash_password(password),
        role=role,
        show_name_publicly=show_name_publicly,
    )
    db.session.add(user)
    db.session.flush()
    if unnamed:
        user.display_name = gettext("Resident %(number)s", number=user.id)
        db.session.flush()
    log.info("account created: user=%s role=%s", user.id, role.value)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The enabled user with this e-mail and password, or None (same time either way)."""
    user = db.session.execute(
        select(User).where(User.email_normalized == normalize_email(email))
    ).scalar_one_or_none()
    if user is None:
        dummy_verify()
        return None
    if not verify_password(user.password_hash, password) or not user.is_enabled:
        log.info("login refused: user=%s", user.id)
        return None
    return user


def _checked_email(raw: str, *, exclude_user_id: int | None = None) -> tuple[str, str, str | None]:
    """The cleaned address, its normal form, and why it cannot be used (or None)."""
    try:
        if "\x00" in raw:
            raise EmailNotValidError("NUL in address")
        email_clean = validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        email_clean = raw.replace("\x00", "").strip()
        return (
            email_clean,
            normalize_email(email_clean),
            gettext("This is not a valid e-mail address."),
        )
    normalized = normalize_email(email_clean)
    query = select(User.id).where(User.email_normalized == normalized)
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    if db.session.execute(query).first():
        return (
            email_clean,
            normalized,
            gettext("An account with this e-mail address already exists."),
        )
    return email_clean, normalized, None


def check_current_password(user: User, password: str) -> None:
    """Refuse (403) unless `password` is the user's current one (docs/security.md item 5)."""
    if not password or not verify_password(user.password_hash, password):
        log.info("account change refused, wrong current password: user=%s", user.id)
        raise Forbidden(gettext("The current password is wrong."))


def invalidate_reset_tokens(user: User) -> None:
    """Make every outstanding reset link of the user unusable."""
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
    )


def set_password(user: User, new_password: str) -> None:
    """Store a new argon2id hash after checking the password rules; outstanding links die."""
    problem = password_problem(new_password)
    if problem:
        raise ValidationFailed({"new_password": [password_message(problem)]})
    user.password_hash = hash_password(new_password)
    invalidate_reset_tokens(user)
    db.session.flush()


def change_password(
    user: User, current_password: str, new_password: str, *, keep_session: str | None
) -> int:
    """Change the password; every other session of the user is revoked. Returns how many."""
    check_current_password(user, current_password)
    set_password(user, new_password)
    revoked = revoke_sessions(user.id, keep=keep_session)
    audit.record(user, "account.password_changed", "user", user.id, sessions_revoked=revoked)
    return revoked


def change_email(user: User, current_password: str, new_email: str) -> None:
    """Move the account to a new, unused address; the old address is told about it."""
    check_current_password(user, current_password)
    email_clean, normalized, problem = _checked_email(new_email, exclude_user_id=user.id)
    if problem:
        raise ValidationFailed({"new_email": [problem]})
    old_address = user.email
    user.email = email_clean
    user.email_normalized = normalized
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as error:  # someone took the address a moment ago
        raise ValidationFailed(
            {"new_email": [gettext("An account with this e-mail address already exists.")]}
        ) from error
    # Links sent to the old address must not keep working for it.
    invalidate_reset_tokens(user)
    audit.record(user, "account.email_changed", "user", user.id)
    if normalize_email(old_address) != normalized:
        with force_locale(mail_locale(user)):  # the account's language, not the browser's
            subject = gettext("Your e-mail address was changed")
            body = gettext(
                "The e-mail address of your account was just changed to another one. "
                "If you did not do this, contact the library at once."
            )
        # The account's: deleting it deletes this mail to the old address too.
        send_mail(old_address, subject, body, user_id=user.id)


def _checked_name(display_name: str | None) -> tuple[str, str | None]:
    """A display name cleaned (one line, no control characters), and what is wrong with it."""
    fields = FieldErrors()
    name = clean_line(display_name, field="display_name", errors=fields, max_len=80)
    if not name or not has_visible_text(name):
        default = gettext("The name needs at least one letter or digit.")
        return name or "", (fields.errors.get("display_name") or [default])[0]
    if not 2 <= len(name) <= 80:
        return name, gettext("The name must be between 2 and 80 characters.")
    if is_pseudonym(name):  # what deleted accounts are called: a live one would pass for one
        return name, gettext("This name is reserved for deleted accounts. Choose another name.")
    return name, None


def update_settings(
    user: User,
    *,
    show_name_publicly: bool,
    notify_by_email: bool,
    display_name: str | None = None,
    weekly_digest: bool | None = None,
    language: str | None = None,
) -> None:
    """Save the name shown to others, the publicity, the e-mail choices (the weekly digest
    only when given: None keeps it, for people who were not offered the box) and the language
    (None: follow the browser)."""
    if language is not None and language not in current_app.config["LANGUAGES"]:
        raise ValidationFailed({"language": [gettext("Not a valid choice.")]})
    if display_name is not None:
        name, problem = _checked_name(display_name)
        if problem:
            raise ValidationFailed({"display_name": [problem]})
        user.display_name = name
    user.show_name_publicly = show_name_publicly
    user.notify_by_email = notify_by_email
    if weekly_digest is not None:
        user.weekly_digest = weekly_digest
    user.language = language
    db.session.flush()
    audit.record(
        user,
        "account.settings_changed",
        "user",
        user.id,
        show_name_publicly=show_name_publicly,
        notify_by_email=notify_by_email,
        weekly_digest=user.weekly_digest,
        language=language,
    )


def choose_language(user: User, language: str) -> None:
    """Store the language chosen with the header's picker on the account."""
    if language not in current_app.config["LANGUAGES"] or user.language == language:
        return
    user.language = language
    db.session.flush()


def logout_everywhere(user: User) -> int:
    """Revoke every session of the user, this device's too; returns how many."""
    revoked = revoke_sessions(user.id)
    audit.record(user, "account.logout_everywhere", "user", user.id, sessions_revoked=revoked)
    return revoked
