"""State changes of photos (flush, never commit).

Contract (owned by the photos backend work; traces, moderation and comments call these):

- ``PhotoSpec(id, caption, credit, licence, taken_on)``: what a form or the API says about an
  uploaded photo it attaches; ``parse_photo_specs(raw) -> list[PhotoSpec]`` reads the JSON list
  (form field ``photos`` / API ``properties.photos``) and raises ``ValidationFailed`` with
  field ``photos`` on anything wrong.
- ``stage_photo(uploader, data: bytes) -> StagedPhoto``: processes and stores an upload as a
  staged Photo (no trace yet); ``StagedPhoto.photo`` and ``.gps`` (``GpsFix | None``, only in
  the answer, never stored). Raises ``PhotoRefused`` (code, message) on a refused file or quota
  (app.photos.limits: the limits, quotas and their messages; app.photos.details: the fields).
- ``attach_photos(trace, user, specs) -> list[Photo]``: staged photos of ``user`` become the
  trace's, pending (approved at once when ``user`` moderates the trace), positions after the
  existing ones; more than HERITAGE_PHOTOS_PER_TRACE raises ``ValidationFailed('photos')``.
  ``comment=`` makes them that comment's photos (not counted against the trace's limit).
  Does not record a revision itself: callers that change the trace already do.
- ``add_photos(trace, user, specs) -> list[Photo]``: photos added later to an existing trace;
  attaches them and records one revision (event photos_added).
- ``remove_photo(photo, user) -> None``: deletes the row (the trigger queues its files) and
  records a revision when it was on a trace.
- ``decide_photo(photo, moderator, approve: bool, reason: str = "",
  public_when_protected: bool | None = None) -> None``.
- ``approve_with_trace(trace, moderator)``: pending photos that came with the trace are
  approved when the trace is (moderation calls this).
- ``remove_due_files(now=None) -> int``: deletes files of due media_garbage rows and staged
  uploads older than HERITAGE_MEDIA_STAGED_HOURS; returns how many photos' files went (each
  step in app.photos.sweep).

When files go (docs/photos.md): a deleted photo's files (also by a trace's or an account's
deletion) right after the change commits, at the latest at the next ``flask media sweep``; a
rejected photo's after HERITAGE_MEDIA_REJECTED_DAYS; a staged upload never attached after
HERITAGE_MEDIA_STAGED_HOURS; files with no photo row at all (a commit that failed after they
were stored) an hour after they were written.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import current_app, g, has_request_context
from flask_babel import gettext, ngettext
from sqlalchemy import delete, func, select, text, update

from app import audit
from app.access import can_moderate
from app.db import db
from app.errors import Forbidden, ValidationFailed
from app.media.imaging import GpsFix, ImageRefused, process_image
from app.media.storage import MediaStorage, current_storage
from app.models import (
    Comment,
    CommentStatus,
    MediaGarbage,
    Photo,
    PhotoStatus,
    Trace,
    TraceStatus,
    User,
)
from app.notify import notify
from app.photos import sweep
from app.photos.details import clean_details
from app.photos.files import key_for
from app.photos.limits import (
    PhotoRefused,
    check_quota,
    image_limits,
    refusal_message,
    refusal_status,
    refuse_too_large,
)
from app.traces.operations import record_revision
from app.validation import FieldErrors

log = logging.getLogger(__name__)

REASON_MAX = 1000
# Files with no photo row are swept once they are this old: an upload in progress is younger.
ORPHAN_SECONDS = 3600
# Stored keys are token_urlsafe(32): 43 characters of [A-Za-z0-9_-].
KEY_BYTES = 32
# Set on flask.g by changes that queue files for removal now; web.py removes them after commit.
GARBAGE_FLAG = "media_garbage_queued"
# Session info: the files stored in this transaction, removed again if it rolls back.
STAGED_FILES = "photos_stored_files"


@dataclass(frozen=True)
class PhotoSpec:
    """What a form or the API says about one uploaded photo it attaches."""

    id: int
    caption: str = ""
    credit: str = ""
    licence: str = ""
    taken_on: date | None = None


@dataclass(frozen=True)
class StagedPhoto:
    """A stored upload waiting for its trace, and what its camera said (never stored)."""

    photo: Photo
    gps: GpsFix | None
    taken_on: date | None


# --- Reading what a form or the API says about photos ------------------------------------------


def _max_per_trace() -> int:
    return int(current_app.config.get("PHOTOS_PER_TRACE", 10))


def _field_label(field: str) -> str:
    """A photo field's name as the form shows it, in the reader's language."""
    labels = {
        "caption": gettext("caption"),
        "credit": gettext("photographer"),
        "licence": gettext("licence"),
        "taken_on": gettext("date taken"),
    }
    return labels.get(field, field)


def parse_photo_specs(raw: Any) -> list[PhotoSpec]:
    """The photos a form (JSON text) or the API (a list) attaches; ValidationFailed('photos')."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ValidationFailed(
                {"photos": [gettext("The list of photos could not be read.")]}
            ) from None
    if not isinstance(raw, list):
        raise ValidationFailed({"photos": [gettext("photos must be a list.")]})
    limit = _max_per_trace()
    if len(raw) > limit:
        raise ValidationFailed(
            {"photos": [gettext("At most %(limit)s photos per trace.", limit=limit)]}
        )
    specs: list[PhotoSpec] = []
    messages: list[str] = []
    seen: set[int] = set()
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            messages.append(gettext("Photo %(num)s: must be an object.", num=number))
            continue
        photo_id = item.get("id")
        if isinstance(photo_id, bool) or not isinstance(photo_id, int) or not 0 < photo_id:
            messages.append(
                gettext("Photo %(num)s: its id must be a positive whole number.", num=number)
            )
            continue
        if photo_id in seen:
            messages.append(gettext("Photo %(num)s is listed twice.", num=number))
            continue
        seen.add(photo_id)
        errors = FieldErrors()
        details = clean_details(item, errors)
        for field, field_messages in errors.errors.items():
            messages.extend(
                gettext(
                    "Photo %(num)s, %(field)s: %(message)s",
                    num=number,
                    field=_field_label(field),
                    message=message,
                )  # fmt: skip
                for message in field_messages
            )
        specs.append(PhotoSpec(id=photo_id, **details))
    if messages:
        raise ValidationFailed({"photos": messages})
    return specs


# --- Taking an upload in --------------------------------------------------------------------


def new_storage_key() -> str:
    """A fresh random storage key (43 characters of [A-Za-z0-9_-]); never from user input."""
    return secrets.token_urlsafe(KEY_BYTES)


def stage_photo(uploader: User, data: bytes) -> StagedPhoto:
    """Process and store an upload as a staged photo of ``uploader`` (PhotoRefused if not).

    The files are stored first and the row inserted after; if the insert fails, the files are
    removed again. The GPS position is returned for the answer only: neither stored nor logged.
    """
    check_quota(uploader, 0)
    limits = image_limits()
    if len(data) > limits.max_bytes:
        raise refuse_too_large()
    try:
        image = process_image(data, limits)
    except ImageRefused as refused:
        log.info("photo refused: uploader=%s code=%s", uploader.id, refused.code)
        raise PhotoRefused(
            refused.code,
            refusal_message(refused.code, refused.params),
            status=refusal_status(refused.code),
        ) from None
    original = image.original
    renditions = [("thumb", image.thumb), ("display", image.display)]
    if original is not None:
        renditions.append(("original", original))
    stored_bytes = sum(len(r.data) for _size, r in renditions)
    # One upload of a person at a time past this point, so two at once cannot both squeeze
    # under the quota; the lock ends with the transaction.
    db.session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('photos.quota'), :uid)"),
        {"uid": uploader.id},
    )
    check_quota(uploader, stored_bytes)
    storage = current_storage()
    key = new_storage_key()
    try:
        for size, rendition in renditions:
            storage.put(key_for(key, size, rendition.fmt), rendition.data, rendition.content_type)
        photo = Photo(
            uploader_id=uploader.id,
            status=PhotoStatus.STAGED,
            storage_key=key,
            image_format=image.display.fmt,
            source_format=image.source_format,
            has_original=original is not None,
            width=image.display.width,
            height=image.display.height,
            thumb_width=image.thumb.width,
            thumb_height=image.thumb.height,
            stored_bytes=stored_bytes,
            taken_on=image.taken_on,
        )
        db.session.add(photo)
        db.session.flush()
    except BaseException:
        # Nothing half-stored: without its row, a photo's files must not stay.
        _forget_files(storage, key)
        raise
    # Should the transaction roll back after all, the files go with it (_files_dropped).
    db.session.info.setdefault(STAGED_FILES, []).append((storage, key))
    log.info(
        "photo staged: photo=%s uploader=%s source=%s bytes=%s",
        photo.id, uploader.id, image.source_format, stored_bytes,
    )  # fmt: skip
    return StagedPhoto(photo=photo, gps=image.gps, taken_on=image.taken_on)


def _forget_files(storage: MediaStorage, key: str) -> None:
    try:
        storage.delete_prefix(key)
    except Exception:  # noqa: BLE001 - the sweep removes what is left of a row-less key
        log.exception("removing the files of a photo that was not stored failed: %s", key)


# --- Photos on traces ------------------------------------------------------------------------


def _counted_photos(trace: Trace) -> int:
    """Photos that count against the per-trace limit: pending and approved ones."""
    return int(
        db.session.execute(
            select(func.count(Photo.id)).where(
                Photo.trace_id == trace.id,
                Photo.comment_id.is_(None),  # a comment's photo is the comment's, not the trace's
                Photo.status.in_((PhotoStatus.PENDING, PhotoStatus.APPROVED)),
            )
        ).scalar_one()
    )


def check_room(trace: Trace, adding: int) -> None:
    """Refuse more photos than PHOTOS_PER_TRACE (pending and approved ones count)."""
    limit = _max_per_trace()
    have = _counted_photos(trace)
    if have + adding > limit:
        raise ValidationFailed(
            {
                "photos": [
                    gettext(
                        "A trace may have at most %(limit)s photos; this one has %(have)s. "
                        "Remove one before adding another.",
                        limit=limit,
                        have=have,
                    )
                ]
            }
        )


def attach_photos(
    trace: Trace, user: User, specs: list[PhotoSpec], comment: Comment | None = None
) -> list[Photo]:
    """Staged uploads of ``user`` become this trace's photos (see the module docstring).

    With ``comment``, they become that comment's photos instead: on the trace, but not
    counted against its PHOTOS_PER_TRACE.
    """
    if not specs:
        return []
    if trace.id is None:
        db.session.flush()
    # One attach per trace at a time, so two at once cannot both pass the limit.
    db.session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('photos.trace'), :tid)"), {"tid": trace.id}
    )
    ids = [spec.id for spec in specs]
    found = {
        photo.id: photo
        for photo in db.session.execute(
            select(Photo).where(Photo.id.in_(ids)).with_for_update()
        ).scalars()
    }
    missing = [
        spec.id
        for spec in specs
        if (photo := found.get(spec.id)) is None
        or photo.status != PhotoStatus.STAGED
        or photo.uploader_id != user.id
    ]
    if missing:
        # The same answer for someone else's photo as for none: ids reveal nothing.
        raise ValidationFailed(
            {
                "photos": [
                    ngettext(
                        "Photo %(ids)s is not an upload of yours waiting to be attached: "
                        "send it again.",
                        "Photos %(ids)s are not uploads of yours waiting to be attached: "
                        "send them again.",
                        len(missing),
                        ids=", ".join(str(i) for i in missing),
                    )
                ]
            }
        )
    if comment is None:
        check_room(trace, len(specs))
    position = db.session.execute(
        select(func.coalesce(func.max(Photo.position) + 1, 0)).where(Photo.trace_id == trace.id)
    ).scalar_one()
    approve = can_moderate(user, trace)
    attached: list[Photo] = []
    for spec in specs:
        photo = found[spec.id]
        photo.trace_id = trace.id
        photo.comment_id = comment.id if comment is not None else None
        photo.caption = spec.caption
        photo.credit = spec.credit
        photo.licence = spec.licence or trace.licence
        photo.taken_on = spec.taken_on or photo.taken_on
        photo.position = position
        position += 1
        if approve:
            photo.status = PhotoStatus.APPROVED
            photo.decided_by_id = user.id
            photo.decided_at = func.now()
        else:
            photo.status = PhotoStatus.PENDING
        attached.append(photo)
    db.session.flush()
    log.info("photos attached: trace=%s photos=%s by=%s", trace.id, ids, user.id)
    return attached


def may_add_photos(user: User | None, trace: Trace) -> bool:
    """The trace's author and its moderators add photos later (not to a deleted trace)."""
    if user is None or trace.status == TraceStatus.DELETED:
        return False
    return trace.author_id == user.id or can_moderate(user, trace)


def _new_revision(trace: Trace, user: User, event: dict[str, Any]) -> None:
    """A revision of the trace for a change of its photos (the trace's version moves on)."""
    trace.updated_at = func.now()
    db.session.flush()  # the version counter moves with the row's update
    record_revision(trace, user, event=event)


def add_photos(trace: Trace, user: User, specs: list[PhotoSpec]) -> list[Photo]:
    """Photos added to an existing trace: attached (pending on their own) and one revision."""
    if not may_add_photos(user, trace):
        raise Forbidden(gettext("Only the trace's author and its librarians may add photos."))
    photos = attach_photos(trace, user, specs)
    if photos:
        _new_revision(trace, user, {"kind": "photos_added", "count": len(photos)})
    return photos


def may_change_photo(user: User | None, photo: Photo) -> bool:
    """The uploader and the trace's moderators may edit or remove a photo."""
    if user is None:
        return False
    if photo.uploader_id == user.id:
        return True
    trace = db.session.get(Trace, photo.trace_id) if photo.trace_id is not None else None
    return trace is not None and can_moderate(user, trace)


def edit_photo(photo: Photo, user: User, raw: dict[str, Any]) -> None:
    """Change a photo's caption, credit, licence and date taken (ValidationFailed if wrong).

    An approved photo changed by someone who does not moderate its trace waits for a
    librarian again.
    """
    if not may_change_photo(user, photo):
        raise Forbidden(gettext("You may not change this photo."))
    errors = FieldErrors()
    details = clean_details(raw, errors)
    errors.raise_if_any()
    trace = db.session.get(Trace, photo.trace_id) if photo.trace_id is not None else None
    values = {
        "caption": details["caption"],
        "credit": details["credit"],
        "licence": details["licence"] or (trace.licence if trace else photo.licence),
        "taken_on": details["taken_on"],
    }
    if all(getattr(photo, name) == value for name, value in values.items()):
        return
    moderator = trace is not None and can_moderate(user, trace)
    if photo.comment_id is not None and photo.status == PhotoStatus.APPROVED and not moderator:
        # A published comment cannot be rewritten either; its author may delete it instead.
        raise Forbidden(gettext("A published comment's photo cannot be changed."))
    for name, value in values.items():
        setattr(photo, name, value)
    if photo.status == PhotoStatus.APPROVED and not moderator:
        # New words under an approved picture are new content: a librarian sees them first
        # (the author cannot change an approved trace either; the caption is its alt text).
        photo.status = PhotoStatus.PENDING
        photo.decided_by_id = None
        photo.decided_at = None
    db.session.flush()
    if trace is not None and photo.comment_id is None:  # a comment's photo is no part of it
        _new_revision(trace, user, {"kind": "photo_changed"})


def queue_removal_now() -> None:
    """Ask for due files to be removed right after this request commits (see web.py)."""
    if has_request_context():
        g.setdefault(GARBAGE_FLAG, True)


def remove_photo(photo: Photo, user: User) -> None:
    """Delete a photo (the trigger queues its files, removed after commit) and record it."""
    if not may_change_photo(user, photo):
        raise Forbidden(gettext("You may not remove this photo."))
    trace = db.session.get(Trace, photo.trace_id) if photo.trace_id is not None else None
    photo_id = photo.id
    on_comment = photo.comment_id is not None
    if trace is not None and user.id != photo.uploader_id:
        audit.record(
            user, "photo.removed", "photo", photo_id, project_id=trace.project_id,
            from_state=photo.status.value, to_state="deleted", trace_id=trace.id,
        )  # fmt: skip
    db.session.delete(photo)
    db.session.flush()
    queue_removal_now()
    if trace is not None and not on_comment:  # a comment's photo is no part of the trace
        _new_revision(trace, user, {"kind": "photo_removed"})
    log.info("photo removed: photo=%s by=%s", photo_id, user.id)


def remove_trace_photos(trace: Trace) -> int:
    """Delete every photo of a trace being deleted (files go after commit); how many.

    One statement, and no "photo removed" revision per photo: the trace's deletion is the
    change. A trace restored later comes back without them.
    """
    count = db.session.execute(delete(Photo).where(Photo.trace_id == trace.id)).rowcount
    db.session.flush()
    if count:
        queue_removal_now()
    return int(count or 0)


def decide_photo(
    photo: Photo,
    moderator: User,
    approve: bool,
    reason: str = "",
    public_when_protected: bool | None = None,
) -> None:
    """Approve or reject one photo; a rejected photo's files go after the grace period."""
    trace = db.session.get(Trace, photo.trace_id) if photo.trace_id is not None else None
    if trace is None or not can_moderate(moderator, trace):
        raise Forbidden(gettext("Only the trace's curators and librarians decide on its photos."))
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            {"reason": [gettext("At most %(limit)s characters.", limit=REASON_MAX)]}
        )
    if approve and photo.comment_id is not None:
        comment = db.session.get(Comment, photo.comment_id)
        if comment is None or comment.status != CommentStatus.APPROVED:
            # Shown alone, the photo would be out before the comment it belongs to.
            raise ValidationFailed(
                {"action": [gettext("Approve the comment this photo came with; it follows.")]}
            )
    source = photo.status
    target = PhotoStatus.APPROVED if approve else PhotoStatus.REJECTED
    if public_when_protected is not None:
        photo.public_when_protected = public_when_protected
    if source != target:
        photo.status = target
        photo.decided_by_id = moderator.id
        photo.decided_at = func.now()
        photo.decision_note = reason
        if approve:
            # A photo rejected by mistake and approved again keeps its files.
            db.session.execute(
                delete(MediaGarbage).where(MediaGarbage.storage_key == photo.storage_key)
            )
        else:
            days = int(current_app.config.get("MEDIA_REJECTED_DAYS", 7))
            db.session.add(
                MediaGarbage(
                    storage_key=photo.storage_key,
                    due_at=datetime.now(UTC) + timedelta(days=days),
                )
            )
    db.session.flush()
    audit.record(
        moderator, f"photo.{'approved' if approve else 'rejected'}", "photo", photo.id,
        project_id=trace.project_id, from_state=source.value, to_state=target.value,
        reason=reason, trace_id=trace.id, public_when_protected=photo.public_when_protected,
    )  # fmt: skip
    if not approve and source != target:
        _tell_uploader(photo, moderator, trace, reason)


def _tell_uploader(photo: Photo, moderator: User, trace: Trace, reason: str) -> None:
    uploader = photo.uploader
    if uploader is None or uploader.id == moderator.id:
        return
    notify(uploader, "photo.rejected", trace, title=trace.title, message=reason)


def approve_with_trace(trace: Trace, moderator: User) -> list[int]:
    """Approve the trace's pending photos with the trace; their ids."""
    ids = list(
        db.session.execute(
            update(Photo)
            # A comment's photo is decided with its comment, not with the trace.
            .where(Photo.trace_id == trace.id, Photo.comment_id.is_(None),
                   Photo.status == PhotoStatus.PENDING)
            .values(status=PhotoStatus.APPROVED, decided_by_id=moderator.id,
                    decided_at=func.now())
            .returning(Photo.id)
            .execution_options(synchronize_session="fetch")
        ).scalars()
    )  # fmt: skip
    for photo_id in ids:
        audit.record(
            moderator, "photo.approved", "photo", photo_id, project_id=trace.project_id,
            from_state="pending", to_state="approved", trace_id=trace.id, with_trace=True,
        )  # fmt: skip
    return ids


# --- Removing files --------------------------------------------------------------------------


def remove_due_files(now: datetime | None = None) -> int:
    """Delete the files that are due (see the module docstring); how many photos' files went.

    ``now`` moves the clock for the due times and the staged uploads' age (tests, catch-up).
    """
    storage = current_storage()
    forgotten = sweep.remove_forgotten_uploads(now)
    removed = sweep.remove_garbage(storage, now, None)
    orphans = sweep.remove_orphans(storage, ORPHAN_SECONDS)
    if forgotten or removed or orphans:
        log.info(
            "media sweep: %s forgotten uploads, %s photos' files, %s orphaned keys",
            forgotten, removed, orphans,
        )  # fmt: skip
    return removed + orphans


# How often a process looks for due files after writes that did not ask for it (a trace or an
# account deleted by a path that does not know about photos still has its files gone soon).
LOOK_EVERY_SECONDS = 60.0
_last_look = 0.0


def remove_files_after_commit(app: Any, *, queued: bool) -> None:
    """Run after a committed request (outside it): remove the files that are now due."""
    global _last_look
    now = time.monotonic()
    if not queued and now - _last_look < LOOK_EVERY_SECONDS:
        return
    _last_look = now
    with app.app_context():
        try:
            removed = sweep.remove_garbage(current_storage(), None, 1000)
            db.session.commit()
            if removed:
                log.info("removed the files of %s photos after a commit", removed)
        except Exception:  # noqa: BLE001 - the request is over; the sweep retries
            db.session.rollback()
            log.exception("removing photo files after a request failed")


def _deletes_photos(session: Any, _context: Any, _instances: Iterable[Any] | None) -> None:
    """Session hook: a flush deleting traces, users or photos queues their files' removal."""
    if any(isinstance(obj, (Photo, Trace, User, Comment)) for obj in session.deleted):
        queue_removal_now()


def _files_kept(session: Any) -> None:
    """Session hook: the transaction committed, so the files stored in it stay."""
    session.info.pop(STAGED_FILES, None)


def _files_dropped(session: Any, previous_transaction: Any) -> None:
    """Session hook: the transaction rolled back, so the files stored in it go too."""
    if previous_transaction.parent is not None or previous_transaction.nested:
        return
    for storage, key in session.info.pop(STAGED_FILES, []):
        _forget_files(storage, key)
