"""Reads of comments: one trace's thread for a viewer, and the moderators' queue."""

from __future__ import annotations

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import selectinload

from app.access import moderation_scope
from app.db import db
from app.models import Comment, CommentStatus, Photo, Trace, TraceStatus, User
from app.photos.queries import visible_photo_condition


def get_comment(comment_id: int) -> Comment | None:
    """One comment by id, whatever its state; callers apply the access policy."""
    return db.session.get(Comment, comment_id)


def thread(trace: Trace, viewer: User | None, moderator: bool) -> list[Comment]:
    """What the viewer may read under a trace, oldest first.

    Everyone: approved comments and observations. The viewer: also their own pending ones.
    Moderators of the trace: every pending one, to decide on.
    """
    shown = [Comment.status == CommentStatus.APPROVED]
    if moderator:
        shown.append(Comment.status == CommentStatus.PENDING)
    elif viewer is not None:
        shown.append(and_(Comment.status == CommentStatus.PENDING, Comment.author_id == viewer.id))
    query = (
        select(Comment)
        .options(selectinload(Comment.author))
        .where(Comment.trace_id == trace.id, or_(*shown))
        .order_by(Comment.created_at, Comment.id)
    )
    return list(db.session.execute(query).scalars())


def _pending(user: User | None, project_id: int | None) -> Select[tuple[Comment, Trace]]:
    query = (
        select(Comment, Trace)
        .join(Trace, Trace.id == Comment.trace_id)
        .options(selectinload(Comment.author))
        .where(
            Comment.status == CommentStatus.PENDING,
            Trace.status != TraceStatus.DELETED,
            moderation_scope(user),
        )
        .order_by(Comment.created_at, Comment.id)
    )
    if project_id is not None:
        query = query.where(Trace.project_id == project_id)
    return query


def pending_comments_with_traces(
    user: User | None, project_id: int | None = None
) -> list[tuple[Comment, Trace]]:
    """Pending comments the user may decide on, each with its trace, oldest first."""
    return [(comment, trace) for comment, trace in db.session.execute(_pending(user, project_id))]


def pending_comments(user: User | None, project_id: int | None = None) -> list[Comment]:
    """Pending comments on traces the user may moderate (optionally one project), oldest first."""
    return [comment for comment, _trace in pending_comments_with_traces(user, project_id)]


def comment_photos(comment_ids: list[int], viewer: User | None) -> dict[int, list[Photo]]:
    """The photos of these comments this viewer may see (the photos' own rule), one query."""
    if not comment_ids:
        return {}
    rows = db.session.execute(
        select(Photo)
        .join(Trace, Trace.id == Photo.trace_id)
        .where(Photo.comment_id.in_(comment_ids), visible_photo_condition(viewer))
        .order_by(Photo.comment_id, Photo.id)
    ).scalars()
    found: dict[int, list[Photo]] = {}
    for photo in rows:
        found.setdefault(photo.comment_id, []).append(photo)  # type: ignore[arg-type]
    return found
