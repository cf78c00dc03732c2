"""Photo upload, serving and later additions (thin views over operations and queries)."""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, current_app, redirect, request
from flask_login import current_user
from werkzeug.wrappers import Response

from app.access import can_moderate, viewer_of
from app.db import db
from app.media.storage import current_storage
from app.models import Photo, Trace
from app.photos.files import file_key, file_type
from app.photos.queries import SIZES, can_view_photo, is_public_photo
from app.publication.tokens import token_from_request

bp = Blueprint("photos", __name__)


def _partner_projects() -> list[int] | None:
    """The projects of a valid partner token on the request (empty: all), else None."""
    token = token_from_request()
    return list(token.project_ids or []) if token is not None else None


def _may_view(photo: Photo) -> bool:
    viewer = viewer_of(current_user)
    if can_view_photo(viewer, photo):
        return True
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


@bp.get("/photos/<int:photo_id>/<size>")
def serve(photo_id: int, size: str) -> Response:
    """One size of a photo, to those who may see it (404 for everyone else, as for none)."""
    if size not in SIZES:
        abort(404)
    photo = db.session.get(Photo, photo_id)
    if photo is None or not _may_view(photo):
        abort(404)
    if size == "original" and not _may_have_original(photo):
        abort(404)
    key = file_key(photo, size)
    ext, content_type = file_type(photo, size)
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
    public = is_public_photo(photo)
    cache_control = "public, max-age=86400" if public else "private, no-store"
    if etag in request.if_none_match:
        response = Response(status=304)
    else:
        try:
            data = storage.read(key)
        except FileNotFoundError:
            abort(404)
        # The type comes from what we stored, never from anything the client sent.
        response = Response(data, mimetype=content_type)
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
