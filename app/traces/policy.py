"""Who may see which traces: one rule used by every read channel (SECURITY.md item 12)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from app.models import Trace, TraceStatus, User


def viewer_of(user: Any) -> User | None:
    """The logged-in User behind Flask-Login's current_user, or None for anonymous visitors."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def visible_traces(viewer: User | None) -> ColumnElement[bool]:
    """SQL condition: approved traces for everyone, plus the viewer's own, plus all for staff."""
    public = Trace.status == TraceStatus.APPROVED
    if viewer is None:
        return public
    if viewer.is_librarian:
        return Trace.status != TraceStatus.DELETED
    own = and_(Trace.author_id == viewer.id, Trace.status != TraceStatus.DELETED)
    return or_(public, own) if viewer.id is not None else or_(public, false())


def can_view(viewer: User | None, trace: Trace) -> bool:
    """The same rule as visible_traces, for one loaded trace."""
    if trace.status == TraceStatus.APPROVED:
        return True
    if viewer is None or trace.status == TraceStatus.DELETED:
        return False
    return viewer.is_librarian or trace.author_id == viewer.id
