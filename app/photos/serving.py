"""Serving ``GET /photos/<id>/<size>``: one size of a photo, to those who may see it.

Registered on the photos blueprint by app/photos/routes.py. Everyone else gets the same 404
as for no photo at all. Files come from media storage with the type we stored, nosniff, an
inline name and a sandboxing CSP; with S3, a 302 to a signed, expiring address instead.
"""

from __future__ import annotations

import hashlib
import logging

from flask import current_app, redirect, request
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from app.access import can_moderate, viewer_of
from app.db import db
from app.media.storage import current_storage
from app.models import Photo, Trace
from app.photos.files import file_key, file_type, original_formats
from app.photos.queries import SIZES, can_view_photo, is_public_photo
from app.publication.tokens import token_from_request

log = logging.getLogger(__name__)


def _not_found() -> Response:
    """The one answer for a photo that is missing or not for this viewer: nothing to tell apart.

    A short text, not the site's error page: images are fetched by <img>, which shows no page.
    """
    response = Response(gettext("No such photo."), status=404, mimetype="text/plain")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _partner_projects() -> list[int] | None:
    """The projects of a valid partner token on the request (empty: all), else None."""
    token = token_from_request()
    return list(token.project_ids or []) if token is not None else None


def _may_view(photo: Photo) -> bool:
    viewer = viewer_of(current_user)
    if can_view_photo(viewer, photo):
        return True
    if not request.headers.get("Authorization"):
        return False
    # A partner token is looked up (and its use recorded) only when it would make a difference.
    partner = _partner_projects()
    return partner is not None and can_view_photo(viewer, photo, partner)


def _may_have_original(photo: Photo) -> bool:
    """Originals are for the uploader and the trace's moderators only."""
    viewer = viewer_of(current_user)
    if not photo.has_original or viewer is None:
        return False
    if photo.uploader_id == viewer.id:
        return True
    trace = db.session.get(Trace, photo.trace_id) if photo.trace_id is not None else None
    return trace is not None and can_moderate(viewer, trace)


def _original_format(photo: Photo) -> str | None:
    """The format the kept original was stored in (see files.original_formats)."""
    storage = current_storage()
    for fmt in original_formats(photo):
        if storage.exists(file_key(photo, "original", fmt)):
            return fmt
    return None


def serve(photo_id: int, size: str) -> Response:
    """One size of a photo, to those who may see it (404 for everyone else, as for none)."""
    if size not in SIZES:
        return _not_found()
    photo = db.session.get(Photo, photo_id)
    if photo is None or not _may_view(photo):
        return _not_found()
    if size == "original" and not _may_have_original(photo):
        return _not_found()
    fmt = _original_format(photo) if size == "original" else None
    key = file_key(photo, size, fmt)
    ext, content_type = file_type(photo, size, fmt)
    filename = f"photo-{photo.id}-{size}.{ext}"
    storage = current_storage()
    seconds = int(current_app.config.get("MEDIA_URL_SECONDS", 300))
    signed = storage.signed_url(key, seconds, filename, content_type)
    if signed is not None:
        # The address expires; neither it nor this redirect may be kept by a shared cache.
        response = redirect(signed, code=302)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    etag = hashlib.sha256(f"{photo.storage_key}/{size}".encode()).hexdigest()[:32]
    # Originals are never for everyone; other sizes may be kept by shared caches only when
    # anyone at all may see them.
    public = size != "original" and is_public_photo(photo)
    # no-cache: shared caches may keep a public photo but must ask again (the ETag makes that
    # a 304), so a photo rejected or withdrawn later is not served on from a cache for a day.
    cache_control = "public, no-cache" if public else "private, no-store"
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        try:
            data = storage.read(key)
        except FileNotFoundError:
            log.warning("photo %s has no %s file", photo.id, size)
            return _not_found()
        # The type comes from what we stored, never from anything the client sent.
        response = Response(data, mimetype=content_type)
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
