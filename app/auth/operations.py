"""Account changes: registration and authentication."""

from __future__ import annotations

import logging
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from sqlalchemy import select

from app.auth.passwords import dummy_verify, hash_password, password_problem, verify_password
from app.db import db
from app.errors import ValidationFailed
from app.models import User, UserRole

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
    try:
        if "\x00" in email:
            raise EmailNotValidError("NUL in address")
        checked = validate_email(email.strip(), check_deliverability=False)
        email_clean = checked.normalized
    except EmailNotValidError:
        errors["email"] = [gettext("This is not a valid e-mail address.")]
        email_clean = email.strip()
    normalized = normalize_email(email_clean)
    if (
        "email" not in errors
        and db.session.execute(select(User.id).where(User.email_normalized == normalized)).first()
    ):
        errors["email"] = [gettext("An account with this e-mail address already exists.")]
    problem = password_problem(password)
    if problem:
        errors["password"] = [password_message(problem)]
    name = " ".join(display_name.replace("\x00", " ").split())
    if not 2 <= len(name) <= 80:
        errors["display_name"] = [gettext("The name must be between 2 and 80 characters.")]
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
