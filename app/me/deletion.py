"""Deleting an account (GDPR 17): the person is erased or pseudonymised everywhere, at once.

One operation in the request's transaction: either everything below happens or nothing does.
The users row stays as "Tidligere bidragsyter" (kept contributions and moderation records point
at it), with every personal field overwritten. Names are replaced only where the application
itself writes them (found with grep, listed in docs/own-data.md), never in other people's
free text. Rate-limit counters in Redis are keyed by a digest of the address; they are deleted
too (outside the transaction: they expire within the hour anyway).
"""

from __future__ import annotations

import enum
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import Text, cast, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB

from app import audit
from app.auth.operations import normalize_email
from app.auth.passwords import verify_password
from app.db import db
from app.errors import Forbidden
from app.limits import address_digest
from app.models import (
    AuditEvent,
    Comment,
    CommentStatus,
    Membership,
    Notification,
    OutboxMail,
    PasswordResetToken,
    Photo,
    PhotoStatus,
    Trace,
    TraceStatus,
    User,
    UserRole,
    UserSession,
)
from app.photos.operations import queue_removal_now

log = logging.getLogger(__name__)

# What the kept row is called everywhere (a stored value, like a name, not a UI string).
PSEUDONYM = "Tidligere bidragsyter"


class Contributions(enum.StrEnum):
    """What becomes of the person's contributions."""

    KEEP = "keep"
    REMOVE_UNPUBLISHED = "remove_unpublished"


class WrongPassword(Forbidden):
    """The password typed to confirm the deletion is not the account's."""

    code = "wrong_password"


@dataclass(frozen=True)
class Deleted:
    """What the deletion removed (counts for the audit entry and the log)."""

    traces_removed: int
    comments_removed: int
    photos_removed: int


def placeholder_email(user_id: int) -> str:
    """The unique, non-address value a deleted account's e-mail columns hold.

    In capitals: every look-up by address (login, reset, granting a role, registering) first
    casefolds what was typed, so it can never find this row, whatever anyone types.
    """
    return f"DELETED-{user_id}"


def delete_account(user: User, password: str, contributions: Contributions) -> Deleted:
    """Erase or pseudonymise everything about the user (flushes; the request commits)."""
    if not password or not verify_password(user.password_hash, password):
        log.info("account deletion refused, wrong password: user=%s", user.id)
        raise WrongPassword(gettext("The password is wrong. Nothing was deleted."))
    # Locked, so a second tab or a moderator's decision waits for this to finish.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    name, email, normalized = user.display_name, user.email, user.email_normalized
    removed = Deleted(0, 0, 0)
    if contributions == Contributions.REMOVE_UNPUBLISHED:
        removed = _remove_unpublished(user)
    staged = _delete_photos(Photo.uploader_id == user.id, Photo.status == PhotoStatus.STAGED)
    removed = Deleted(removed.traces_removed, removed.comments_removed,
                      removed.photos_removed + staged)  # fmt: skip
    _scrub_names(user, name, email, normalized)
    _end_access(user)
    _pseudonymise(user)
    audit.record(
        user, "account.deleted", "user", user.id, contributions=contributions.value,
        traces_removed=removed.traces_removed, comments_removed=removed.comments_removed,
        photos_removed=removed.photos_removed,
    )  # fmt: skip
    db.session.flush()
    forget_rate_limits(email)
    log.info("account deleted: user=%s contributions=%s", user.id, contributions.value)
    return removed


def _remove_unpublished(user: User) -> Deleted:
    """Traces not approved, comments not approved and photos not approved, with their files."""
    unpublished = select(Trace.id).where(
        Trace.author_id == user.id, Trace.status != TraceStatus.APPROVED
    )
    ids = list(db.session.execute(unpublished).scalars())
    photos = 0
    if ids:
        # A duplicate merged into one of these loses only its pointer, not itself.
        db.session.execute(
            update(Trace)
            .where(Trace.duplicate_of_id.in_(ids))
            .values(duplicate_of_id=None)
            .execution_options(synchronize_session=False)
        )
        # Photo rows go first so each is counted; the delete trigger queues their files.
        photos += _delete_photos(Photo.trace_id.in_(ids))
        # Others' comments on them go too (cascade), and with them their photos' files.
        db.session.execute(
            delete(Trace).where(Trace.id.in_(ids)).execution_options(synchronize_session=False)
        )
        queue_removal_now()
    comment_ids = select(Comment.id).where(
        Comment.author_id == user.id, Comment.status != CommentStatus.APPROVED
    )
    photos += _delete_photos(Photo.comment_id.in_(comment_ids))
    comments = db.session.execute(
        delete(Comment)
        .where(Comment.author_id == user.id, Comment.status != CommentStatus.APPROVED)
        .execution_options(synchronize_session=False)
    ).rowcount
    photos += _delete_photos(
        Photo.uploader_id == user.id,
        Photo.status.in_((PhotoStatus.PENDING, PhotoStatus.REJECTED)),
    )
    return Deleted(len(ids), int(comments or 0), photos)


def _delete_photos(*where: object) -> int:
    """Delete photo rows (the trigger queues their files, removed after the commit)."""
    count = db.session.execute(
        delete(Photo).where(*where).execution_options(synchronize_session=False)  # type: ignore[arg-type]
    ).rowcount
    if count:
        queue_removal_now()
    return int(count or 0)


def _pattern(text: str) -> str:
    """`text` as whole words (a short name must not match inside a longer word), for SQL:
    PostgreSQL's \\m and \\M match, without taking a character, where a word starts and ends."""
    start = r"\m" if text[:1].isalnum() else ""
    end = r"\M" if text[-1:].isalnum() else ""
    return f"{start}{re.escape(text)}{end}"


def _mentions(column: Any, text: str) -> Any:
    """Whether the column holds `text` as a whole word, in any letter case."""
    return column.op("~*")(_pattern(text))


def _replace(column: Any, text: str, replacement: str) -> Any:
    """Every whole-word occurrence of `text`, in any letter case, replaced."""
    return func.regexp_replace(column, _pattern(text), replacement, "gi")


def _json_fragment(text: str) -> str:
    """The text as it appears inside a JSON string in jsonb's text form."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _scrub_names(user: User, name: str, email: str, normalized: str) -> None:
    """Remove the name and address where the application wrote them as data about the user."""
    # Their own notifications, and every mail to their address, sent or not.
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    addresses = {email.strip().lower(), normalized, normalize_email(email)}
    db.session.execute(
        delete(OutboxMail)
        .where(func.lower(func.btrim(OutboxMail.to_address)).in_(addresses))
        .execution_options(synchronize_session=False)
    )
    # Others' notifications naming them as the one who acted (vocab_suggestion's "name").
    db.session.execute(
        update(Notification)
        .where(Notification.params["name"].astext == name)
        .values(params=Notification.params.op("||")(literal({"name": PSEUDONYM}, JSONB)))
        .execution_options(synchronize_session=False)
    )
    # Mail to others built from those notifications holds the name in its text.
    for column in (OutboxMail.body, OutboxMail.subject):
        db.session.execute(
            update(OutboxMail)
            .where(_mentions(column, name))
            .values({column: _replace(column, name, PSEUDONYM)})
            .execution_options(synchronize_session=False)
        )
    # Audit rows: the address or name in a reason or a detail (none is written today; an entry
    # from an older version or a future one must not keep them).
    details_text = cast(AuditEvent.details, Text)
    for secret, replacement in ((email, placeholder_email(user.id)), (name, PSEUDONYM)):
        fragment = _json_fragment(secret)
        db.session.execute(
            update(AuditEvent)
            .where(
                or_(
                    _mentions(AuditEvent.reason, secret),
                    _mentions(details_text, fragment),
                )
            )
            .values(
                reason=_replace(AuditEvent.reason, secret, replacement),
                details=cast(_replace(details_text, fragment, _json_fragment(replacement)), JSONB),
            )
            .execution_options(synchronize_session=False)
        )
    # A credit naming them on their own photos (the upload form suggests the name).
    db.session.execute(
        update(Photo)
        .where(
            Photo.uploader_id == user.id,
            func.lower(func.btrim(Photo.credit)) == name.strip().lower(),
        )
        .values(credit=PSEUDONYM)
        .execution_options(synchronize_session=False)
    )


def _end_access(user: User) -> None:
    """Every session and reset link gone, every live role ended."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.session.execute(delete(PasswordResetToken).where(PasswordResetToken.user_id == user.id))
    db.session.execute(
        update(Membership)
        .where(Membership.user_id == user.id, Membership.revoked_at.is_(None))
        .values(revoked_at=func.now(), revoked_by_id=user.id)
        .execution_options(synchronize_session=False)
    )


def _pseudonymise(user: User) -> None:
    """The kept row: no name, no address, no usable password, no choices, no language."""
    user.display_name = PSEUDONYM
    user.email = placeholder_email(user.id)
    user.email_normalized = placeholder_email(user.id)
    # Not an argon2 hash: verify_password() refuses it without trying.
    user.password_hash = "!deleted:" + secrets.token_hex(16)
    user.role = UserRole.RESIDENT
    user.is_enabled = False
    user.show_name_publicly = False
    user.notify_by_email = False
    user.weekly_digest = False
    user.digest_sent_at = None
    user.language = None
    user.deleted_at = datetime.now(UTC)
    db.session.flush()


def forget_rate_limits(email: str) -> int:
    """Delete the rate-limit counters keyed by the address's digest; how many (Redis only).

    Without REDIS_URL the counters live in each process's memory and expire within the hour.
    """
    url = current_app.config.get("REDIS_URL") or ""
    if not url:
        return 0
    import redis

    digest = address_digest(email)
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*{digest}*", count=500))
        return int(client.delete(*keys)) if keys else 0
    except redis.RedisError:
        log.warning("could not delete rate-limit keys of a deleted account", exc_info=True)
        return 0
    finally:
        client.close()
