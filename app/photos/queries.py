"""Reads of photos, and who may see which.

Contract (owned by the photos backend work; the trace page, map, queue and exports use these):

- ``can_view_photo(viewer, photo) -> bool``: staged: the uploader only. Otherwise the viewer
  must be able to see the trace (app.access.can_view); the uploader, the trace's author (not
  for a comment's photo) and its moderators see every state; others only approved photos of
  approved traces, and of a protected (sensitive) trace only when ``sees_precisely`` or
  ``photo.public_when_protected``.
- ``visible_photos(trace, viewer) -> list[Photo]``: in position order.
- ``first_thumbnails(trace_ids, viewer) -> dict[int, Photo]``: one photo per trace, for lists.
- ``public_photo_condition(precise)``: a SQL condition over ``Photo`` correlated with ``Trace``
  for photos anyone (with ``precise`` rights for protected sites) may see: exports, OGC, map.
  ``public_photos_sql()`` is the same for the public (precise false).
- ``photo_path(photo_id, size) -> str``: '/photos/<id>/<size>' (for URLs built in SQL).
- ``photo_url(photo, size, external=False) -> str``: size 'thumb' | 'display' | 'original'
  (the app's stable address; it redirects to a signed URL when storage signs).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, not_, or_, select, true
from sqlalchemy.dialects.postgresql import distinct_on

from app.access import (
    can_moderate,
    can_view,
    is_admin,
    moderation_scope,
    sees_precisely,
    visible_traces,
)
from app.db import db
from app.models import Photo, PhotoStatus, Trace, TraceStatus, User

SIZES = ("thumb", "display", "original")


def _sql_bool(value: bool | ColumnElement[bool]) -> ColumnElement[bool]:
    if isinstance(value, bool):
        return true() if value else false()
    return value


def public_photo_condition(precise: bool | ColumnElement[bool] = False) -> ColumnElement[bool]:
    """SQL condition over Photo (correlated with Trace): photos anyone may see.

    The photo and its trace are approved, and the trace is not protected, or a moderator said
    the picture does not reveal the place, or the receiver sees the place precisely anyway
    (``precise``: a bool or a SQL condition such as app.access.precise_allowed).
    """
    return and_(
        Photo.trace_id == Trace.id,
        Photo.status == PhotoStatus.APPROVED,
        Trace.status == TraceStatus.APPROVED,
        or_(not_(Trace.is_sensitive), Photo.public_when_protected, _sql_bool(precise)),
    )


def public_photos_sql() -> ColumnElement[bool]:
    """SQL condition for photos the public may see (no precise rights)."""
    return public_photo_condition(False)


def visible_photo_condition(viewer: User | None) -> ColumnElement[bool]:
    """SQL condition over Photo (correlated with Trace): the photos on traces this viewer sees.

    The same rule as can_view_photo for photos on traces (staged uploads are never included).
    """
    if viewer is None:
        return public_photo_condition(False)
    on_trace = and_(Photo.trace_id == Trace.id, Photo.status != PhotoStatus.STAGED)
    if is_admin(viewer):
        return on_trace
    # The uploader, the author and the trace's moderators see every state of its photos; their
    # precise rights are the same people (admins aside), so others get the public rule.
    involved = or_(
        Photo.uploader_id == viewer.id,
        # A comment's photo is the comment's: the trace's author sees it as the comment is seen.
        and_(Trace.author_id == viewer.id, Photo.comment_id.is_(None)),
        moderation_scope(viewer),
    )
    return and_(on_trace, visible_traces(viewer), or_(involved, public_photo_condition(False)))


def visible_photos(trace: Trace, viewer: User | None) -> list[Photo]:
    """The trace's own photos (not its comments') this viewer may see, in their order."""
    query = (
        select(Photo)
        .join(Trace, Trace.id == Photo.trace_id)
        .where(Trace.id == trace.id, Photo.comment_id.is_(None), visible_photo_condition(viewer))
        .order_by(Photo.position, Photo.id)
    )
    return list(db.session.execute(query).scalars())


def first_thumbnails(trace_ids: list[int], viewer: User | None) -> dict[int, Photo]:
    """One photo per trace (its first visible one) for lists and popups."""
    ids = sorted({int(i) for i in trace_ids})
    if not ids:
        return {}
    query = (
        select(Photo)
        .join(Trace, Trace.id == Photo.trace_id)
        .where(Trace.id.in_(ids), Photo.comment_id.is_(None), visible_photo_condition(viewer))
        .order_by(Photo.trace_id, Photo.position, Photo.id)
        .ext(distinct_on(Photo.trace_id))
    )
    return {photo.trace_id: photo for photo in db.session.execute(query).scalars()}  # type: ignore[misc]


def can_view_photo(
    viewer: User | None, photo: Photo, partner_projects: list[int] | None = None
) -> bool:
    """Whether this viewer may see this photo.

    ``partner_projects``: the projects of a partner token on the request (an empty list meaning
    every project); such a token sees approved photos of its projects' protected sites.
    """
    if photo.status == PhotoStatus.STAGED or photo.trace_id is None:
        return viewer is not None and photo.uploader_id == viewer.id
    trace = db.session.get(Trace, photo.trace_id)
    if trace is None or not can_view(viewer, trace):
        return False
    if viewer is not None and (
        photo.uploader_id == viewer.id
        or (trace.author_id == viewer.id and photo.comment_id is None)
        or can_moderate(viewer, trace)
    ):
        return True
    if photo.status != PhotoStatus.APPROVED or trace.status != TraceStatus.APPROVED:
        return False
    if not trace.is_sensitive or photo.public_when_protected:
        return True
    if partner_projects is not None and (
        not partner_projects or trace.project_id in partner_projects
    ):
        return True
    return sees_precisely(viewer, trace)


def is_public_photo(photo: Photo) -> bool:
    """Whether anyone at all may see this photo (so shared caches may keep it)."""
    if photo.status != PhotoStatus.APPROVED or photo.trace_id is None:
        return False
    trace = db.session.get(Trace, photo.trace_id)
    return (
        trace is not None
        and trace.status == TraceStatus.APPROVED
        and (not trace.is_sensitive or photo.public_when_protected)
    )


def photo_path(photo_id: int, size: str) -> str:
    """The app-relative address of one size of a photo: '/photos/<id>/<size>'."""
    if size not in SIZES:
        raise ValueError(f"unknown photo size {size!r}")
    return f"/photos/{int(photo_id)}/{size}"


def photo_url(photo: Photo, size: str, external: bool = False) -> str:
    """The app's stable address of one size of a photo (absolute when ``external``)."""
    from flask import url_for

    if size not in SIZES:
        raise ValueError(f"unknown photo size {size!r}")
    return url_for("photos.serve", photo_id=photo.id, size=size, _external=external)
