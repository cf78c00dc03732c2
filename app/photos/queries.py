"""Reads of photos, and who may see which.

Contract (owned by the photos backend work; the trace page, map, queue and exports use these):

- ``can_view_photo(viewer, photo) -> bool``: staged: the uploader only. Otherwise the viewer
  must be able to see the trace (app.access.can_view); the uploader, the trace's author and its
  moderators see every state; others only approved photos of approved traces, and of a
  protected (sensitive) trace only when ``sees_precisely`` or ``photo.public_when_protected``.
- ``visible_photos(trace, viewer) -> list[Photo]``: in position order.
- ``first_thumbnails(trace_ids, viewer) -> dict[int, Photo]``: one photo per trace, for lists.
- ``public_photos_sql()``: a SQL condition for photos anyone may see (exports, OGC, map).
- ``photo_url(photo, size, external=False) -> str``: size 'thumb' | 'display' | 'original'
  (the app's stable address; it redirects to a signed URL when storage signs).
"""

from __future__ import annotations

from app.models import Photo, Trace, User


def visible_photos(trace: Trace, viewer: User | None) -> list[Photo]:
    """The trace's photos this viewer may see, in their order (stub until the backend lands)."""
    return []


def first_thumbnails(trace_ids: list[int], viewer: User | None) -> dict[int, Photo]:
    """One photo per trace for lists and popups (stub until the backend lands)."""
    return {}


def can_view_photo(viewer: User | None, photo: Photo) -> bool:
    """Whether this viewer may see this photo (stub until the backend lands)."""
    return False


def photo_url(photo: Photo, size: str, external: bool = False) -> str:
    """The app's stable address of one size of a photo (stub until the backend lands)."""
    raise NotImplementedError
