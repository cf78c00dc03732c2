"""Reads for a contributor's own page: their traces and what they have been told."""

from __future__ import annotations

from sqlalchemy import func, select

from app.db import db
from app.models import Notification, Photo, PhotoStatus, Trace, TraceStatus, User

NOTIFICATIONS_SHOWN = 50


def my_traces(user: User) -> list[Trace]:
    """The user's own traces in every state but deleted, newest first."""
    return list(
        db.session.execute(
            select(Trace)
            .where(Trace.author_id == user.id, Trace.status != TraceStatus.DELETED)
            .order_by(Trace.created_at.desc(), Trace.id.desc())
        ).scalars()
    )


def my_notifications(user: User, limit: int = NOTIFICATIONS_SHOWN) -> list[Notification]:
    """The user's latest notifications, newest first (read and unread)."""
    return list(
        db.session.execute(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        ).scalars()
    )


def waiting_photos(traces: list[Trace]) -> dict[int, int]:
    """How many photos wait for a librarian on each of the user's own traces (one query)."""
    ids = [t.id for t in traces]
    if not ids:
        return {}
    rows = db.session.execute(
        select(Photo.trace_id, func.count())
        .where(
            Photo.trace_id.in_(ids),
            Photo.status == PhotoStatus.PENDING,
            Photo.comment_id.is_(None),
        )
        .group_by(Photo.trace_id)
    ).all()
    return {trace_id: int(n) for trace_id, n in rows}
