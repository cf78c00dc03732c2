"""Reads for moderation's photos: the photos of queue entries, and photos added later to
approved traces that wait for a decision."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.db import db
from app.models import Photo, PhotoStatus, Project, Trace, TraceStatus, User
from app.moderation.queries import _own_excluded, _scope
from app.photos.queries import visible_photo_condition

# The "new photos" part of the queue shows at most this many traces (oldest photo first).
NEW_PHOTO_TRACES = 30


def photos_of(traces: list[Trace], user: User) -> dict[int, list[Photo]]:
    """All photos of the page's entries this moderator may see, in their order: one query.

    Who sees which is the photos' own rule (visible_photo_condition); photos of a comment
    are decided with their comment, not here.
    """
    result: dict[int, list[Photo]] = {t.id: [] for t in traces}
    if not traces:
        return result
    rows = db.session.execute(
        select(Photo)
        .join(Trace, Trace.id == Photo.trace_id)
        .where(
            Photo.trace_id.in_(list(result)),
            Photo.comment_id.is_(None),
            visible_photo_condition(user),
        )
        .order_by(Photo.trace_id, Photo.position, Photo.id)
    ).scalars()
    for photo in rows:
        result[photo.trace_id].append(photo)  # type: ignore[index]
    return result


def photo_counts(traces: list[Trace], user: User) -> dict[int, int]:
    """How many photos of each entry this moderator may see (photos_of, counted): one query."""
    if not traces:
        return {}
    rows = db.session.execute(
        select(Photo.trace_id, func.count())
        .join(Trace, Trace.id == Photo.trace_id)
        .where(
            Photo.trace_id.in_([t.id for t in traces]),
            Photo.comment_id.is_(None),
            visible_photo_condition(user),
        )
        .group_by(Photo.trace_id)
    ).all()
    return {trace_id: int(count) for trace_id, count in rows}


@dataclass
class NewPhotos:
    """Photos added later to approved traces, waiting for a decision, grouped by trace."""

    entries: list[tuple[Trace, list[Photo]]]
    # How many photos wait in all (the entries may show fewer traces than wait).
    total: int


def _new_photo_conditions(user: User, project: Project) -> list:
    """Pending photos on approved traces of the project in the user's scope (ix_photos_pending).

    The same scope as the trace queue (curators not on their own traces); the photos'
    visibility rule applies on top.
    """
    role, scope = _scope(user, project)
    return [
        Photo.status == PhotoStatus.PENDING,
        Photo.comment_id.is_(None),
        Trace.project_id == project.id,
        Trace.status == TraceStatus.APPROVED,
        scope,
        _own_excluded(user, role),
        visible_photo_condition(user),
    ]


def new_photo_count(user: User, project: Project, where: list | None = None) -> int:
    """How many photos added later to approved traces wait for this user in the project
    (`where`: their conditions, when the caller has built them already)."""
    return int(
        db.session.execute(
            select(func.count())
            .select_from(Photo)
            .join(Trace, Trace.id == Photo.trace_id)
            .where(*(where or _new_photo_conditions(user, project)))
        ).scalar_one()
    )


def new_photos(user: User, project: Project) -> NewPhotos:
    """Photos added later to approved traces, waiting, grouped by trace (oldest first)."""
    # Built once: the photos' visibility rule is a large expression (~1 ms to build).
    where = _new_photo_conditions(user, project)
    total = new_photo_count(user, project, where)
    if not total:
        return NewPhotos([], 0)
    first = (
        select(Photo.trace_id, func.min(Photo.created_at).label("since"))
        .join(Trace, Trace.id == Photo.trace_id)
        .where(*where)
        .group_by(Photo.trace_id)
        .order_by(func.min(Photo.created_at), Photo.trace_id)
        .limit(NEW_PHOTO_TRACES)
    ).subquery()
    rows = db.session.execute(
        select(Photo, Trace)
        .join(Trace, Trace.id == Photo.trace_id)
        .join(first, first.c.trace_id == Photo.trace_id)
        .where(*where)
        .order_by(first.c.since, Photo.trace_id, Photo.position, Photo.id)
    ).all()
    grouped: dict[int, tuple[Trace, list[Photo]]] = {}
    for photo, trace in rows:
        grouped.setdefault(trace.id, (trace, []))[1].append(photo)
    return NewPhotos(list(grouped.values()), int(total))
