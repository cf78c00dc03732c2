"""State changes of comments: post, moderate, delete, keep observations (flush, never commit)."""

from __future__ import annotations

import logging
from enum import StrEnum

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.access import can_moderate, can_view
from app.db import db
from app.errors import Conflict, Forbidden, NotFound
from app.models import Comment, CommentKind, CommentStatus, Photo, Trace, User
from app.models.base import utcnow
from app.notify import notify
from app.photos import operations as photo_operations
from app.photos.details import clean_details
from app.validation import FieldErrors, clean_text

log = logging.getLogger(__name__)

BODY_MAX = 5000


class Decision(StrEnum):
    """What a moderator may decide about a comment."""

    APPROVE = "approve"
    REJECT = "reject"


DECIDED_STATUS = {Decision.APPROVE: CommentStatus.APPROVED, Decision.REJECT: CommentStatus.REJECTED}


class CommentConflict(Conflict):
    """Someone else changed the comment since the page was loaded (optimistic locking)."""


def clean_body(raw: str | None) -> str:
    """The comment text, cleaned (app.validation); ValidationFailed when empty or too long."""
    errors = FieldErrors()
    body = clean_text(raw, field="body", errors=errors, max_len=BODY_MAX)
    if not body:
        errors.add("body", gettext("Write a comment first."))
    errors.raise_if_any()
    return body


def post_comment(trace: Trace, author: User, raw_body: str | None) -> Comment:
    """Add a comment; a moderator's is approved at once, anyone else's waits for one."""
    if not can_view(author, trace):
        raise NotFound(gettext("No such trace."))
    body = clean_body(raw_body)
    moderator = can_moderate(author, trace)
    comment = Comment(
        trace_id=trace.id,
        author_id=author.id,
        body=body,
        kind=CommentKind.COMMENT,
        status=CommentStatus.APPROVED if moderator else CommentStatus.PENDING,
        moderated_by_id=author.id if moderator else None,
        moderated_at=utcnow() if moderator else None,
    )
    db.session.add(comment)
    db.session.flush()
    if moderator:
        _tell_trace_author(comment, trace)
    log.info("comment posted: comment=%s trace=%s status=%s", comment.id, trace.id, comment.status)
    return comment


def attach_comment_photo(
    comment: Comment, trace: Trace, author: User, data: bytes, caption: str = "", credit: str = ""
) -> Photo:
    """One photo with a comment: stored by the photos' own operations, then tied to the comment.

    It is pending while the comment is (approved at once with a moderator's comment) and is
    decided with it. PhotoRefused for a refused file (the trace's limit of photos is not its),
    ValidationFailed for a caption or credit that is too long.
    """
    # Cleaned as every caption is (it is the picture's alt text, and goes into exports).
    errors = FieldErrors()
    details = clean_details({"caption": caption, "credit": credit}, errors)
    errors.raise_if_any()
    staged = photo_operations.stage_photo(author, data)
    spec = photo_operations.PhotoSpec(
        id=staged.photo.id,
        caption=details["caption"],
        credit=details["credit"],
        licence=trace.licence,
    )
    photo = photo_operations.attach_photos(trace, author, [spec], comment=comment)[0]
    log.info("comment photo: comment=%s photo=%s", comment.id, photo.id)
    return photo


def comment_photos(comment: Comment) -> list[Photo]:
    """The photos that came with a comment (at most one from the form)."""
    return list(
        db.session.execute(
            select(Photo).where(Photo.comment_id == comment.id).order_by(Photo.id)
        ).scalars()
    )


def moderate_comment(
    comment: Comment, trace: Trace, moderator: User, decision: Decision, version: int
) -> bool:
    """Approve or reject a comment; False when it already had that state (nothing changes)."""
    hidden = comment.status == CommentStatus.DELETED or comment.trace_id != trace.id
    if hidden or not can_view(moderator, trace):
        raise NotFound(gettext("No such comment."))
    if not can_moderate(moderator, trace):
        raise Forbidden(gettext("You may not moderate comments on this trace."))
    target = DECIDED_STATUS[decision]
    if comment.status == target:
        return False  # a repeated decision (double click, second moderator) is not a conflict
    if comment.version != version:
        raise _conflict()
    previous = comment.status
    try:
        # A savepoint: losing a race leaves the session usable for the 409 page.
        with db.session.begin_nested():
            comment.status = target
            comment.moderated_by_id = moderator.id
            comment.moderated_at = utcnow()
    except StaleDataError:
        raise _conflict() from None
    # The comment's photo is decided with it, through the photos' own operation.
    for photo in comment_photos(comment):
        photo_operations.decide_photo(photo, moderator, target == CommentStatus.APPROVED)
    audit.record(
        moderator,
        "comment.approved" if target == CommentStatus.APPROVED else "comment.rejected",
        "comment",
        comment.id,
        project_id=trace.project_id,
        from_state=previous.value,
        to_state=target.value,
        trace_id=trace.id,
    )
    if target == CommentStatus.APPROVED:
        _tell_trace_author(comment, trace)
    elif comment.author is not None and comment.author_id != moderator.id:
        notify(comment.author, "comment_rejected", trace, title=trace.title)
    return True


def delete_comment(comment: Comment, trace: Trace, user: User) -> bool:
    """The author withdraws their own comment (kept as deleted); False if it already was."""
    if comment.author_id != user.id:
        if not can_view(user, trace):
            raise NotFound(gettext("No such comment."))
        raise Forbidden(gettext("Only the author may delete this comment."))
    if comment.status == CommentStatus.DELETED:
        return False
    try:
        with db.session.begin_nested():
            comment.status = CommentStatus.DELETED
    except StaleDataError:
        raise _conflict() from None
    for photo in comment_photos(comment):
        photo_operations.remove_photo(photo, user)  # the files go after the commit
    log.info("comment deleted by its author: comment=%s trace=%s", comment.id, trace.id)
    return True


def add_observation(trace: Trace, author: User | None, text: str, created_by: User) -> Comment:
    """Keep a duplicate report's text on the surviving trace as an approved observation."""
    comment = Comment(
        trace_id=trace.id,
        author_id=author.id if author else None,
        # The report's own text, kept whole even when longer than a comment may be.
        body=clean_text(text, field="body", errors=FieldErrors(), max_len=BODY_MAX),
        kind=CommentKind.OBSERVATION,
        status=CommentStatus.APPROVED,
        moderated_by_id=created_by.id,
        moderated_at=utcnow(),
    )
    db.session.add(comment)
    db.session.flush()
    return comment


def _tell_trace_author(comment: Comment, trace: Trace) -> None:
    """A published comment on someone's trace is news to them (not their own comments)."""
    if trace.author is None or trace.author_id == comment.author_id:
        return
    notify(trace.author, "comment_approved", trace, title=trace.title)


def _conflict() -> CommentConflict:
    return CommentConflict(
        gettext(
            "Someone else has changed this comment in the meantime. "
            "Reload the page to see its current state, then decide again."
        )
    )
