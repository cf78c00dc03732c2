"""Deleting an account (GDPR 17): the person is erased or pseudonymised everywhere, at once.

One operation in the request's transaction: either everything below happens or nothing does.
The users row stays as "Tidligere bidragsyter" (kept contributions and moderation records point
at it), with every personal field overwritten. Names are replaced only where the application
itself writes them, found by the person's id (listed in docs/own-data.md), never by searching
text for the name. Rate-limit counters are keyed by a digest of the address; the route deletes
them after the commit (forget_rate_limits_after_commit).
"""

from __future__ import annotations

import enum
import functools
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Response, after_this_request, current_app, g
from flask_babel import gettext
from sqlalchemy import delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB

from app import audit
from app.auth.operations import normalize_email
from app.auth.passwords import verify_password
from app.db import db
from app.errors import Forbidden
from app.limits import address_digest
from app.me.pseudonym import PSEUDONYM
from app.models import (
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


def _scrub_names(user: User, name: str, email: str, normalized: str) -> None:
    """Remove what the application wrote about the person, found by their id, never by text.

    A search for the name or address in text would also rewrite other people's rows (a
    colleague with the same name, a word that happens to be the name) and could not find an
    old name or address. So: mail and notifications carry the ids of the account they are for
    and of the person they name (mail_outbox.user_id/about_user_id, params.actor_id).
    Audit rows are left alone: audit.record is never given a name or an address (every call
    was read for this; the every-column scan in tests/integration/test_account_deletion.py
    catches a new one).
    """
    # Their own notifications; every mail for them or naming them, sent or not (an unsent
    # mail naming them to a librarian is lost: the in-app notification stays, pseudonymised);
    # and mail to their current address queued before the ids existed.
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    addresses = {email.strip().lower(), normalized, normalize_email(email)}
    db.session.execute(
        delete(OutboxMail)
        .where(
            or_(
                OutboxMail.user_id == user.id,
                OutboxMail.about_user_id == user.id,
                func.lower(func.btrim(OutboxMail.to_address)).in_(addresses),
            )
        )
        .execution_options(synchronize_session=False)
    )
    # Others' notifications naming them as the one who acted (vocab_suggestion), by actor_id.
    db.session.execute(
        update(Notification)
        .where(Notification.params.contains({"actor_id": user.id}))
        .values(params=Notification.params.op("||")(literal({"name": PSEUDONYM}, JSONB)))
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


def forget_rate_limits_after_commit(email: str) -> None:
    """Delete the address's rate-limit counters once this request's transaction is committed.

    Redis is not asked inside the transaction (a slow Redis would hold the row locks, and a
    rolled-back deletion must not have forgotten anything); the digest is taken now, while the
    app context is there.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    digest = address_digest(email)

    def after(response: Response) -> Response:
        """Only a committed deletion forgets: a failed commit leaves the counters."""
        if g.get("request_committed"):
            response.call_on_close(functools.partial(_forget_in, app, digest))
        return response

    after_this_request(after)


def _forget_in(app: Any, digest: str) -> None:
    with app.app_context():
        forget_rate_limits(digest)


def forget_rate_limits(digest: str) -> int:
    """Delete the limiter's counters keyed by an address digest; returns how many.

    Looked for where the limiter keeps them (RATELIMIT_STORAGE_URI, app/limits.py): Redis, or
    this process's memory. Other storages are left to expire (within the hour).
    """
    uri = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "")
    try:
        if uri.startswith(("redis://", "rediss://", "unix://")):
            return _forget_in_redis(uri, digest)
        if uri.startswith("memory://"):
            return _forget_in_memory(digest)
    except Exception:  # noqa: BLE001 - the deletion is committed; the counters expire anyway
        log.warning("could not delete rate-limit keys of a deleted account", exc_info=True)
        return 0
    log.info("rate-limit keys of a deleted account left to expire: storage %s", uri[:12])
    return 0


def _forget_in_redis(uri: str, digest: str) -> int:
    import redis

    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    client = redis.Redis.from_url(uri, socket_connect_timeout=2, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*{digest}*", count=500))
        return int(client.delete(*keys)) if keys else 0
    finally:
        client.close()


def _forget_in_memory(digest: str) -> int:
    from app.limits import limiter

    storage: Any = limiter.storage
    keys = [k for k in {*storage.storage, *storage.events} if digest in k]
    for key in keys:
        storage.clear(key)
    return len(keys)
