"""State changes on a contributor's own page (flush, never commit)."""

from __future__ import annotations

from sqlalchemy import func, update

from app.db import db
from app.models import Notification, User


def mark_read(user: User, up_to_id: int | None = None) -> int:
    """Mark the user's unread notifications read (only those up to an id, if given); how many."""
    statement = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=func.now())
        .execution_options(synchronize_session=False)
    )
    if up_to_id is not None:
        # Only what the page showed: a notification that arrived since stays unread.
        statement = statement.where(Notification.id <= up_to_id)
    result = db.session.execute(statement)
    db.session.flush()
    return int(getattr(result, "rowcount", 0) or 0)
