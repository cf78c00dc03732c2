"""Photo upload, serving and later additions (thin views over operations and queries).

- ``POST /api/photos``: an upload (multipart, field ``file``) staged for a trace to come; JSON.
- ``POST /traces/<id>/photos``: the trace page's plain form (file, caption, credit, licence,
  taken_on, csrf_token) adding a photo later, pending on its own; works without JavaScript.
- ``GET /photos/<id>/<size>``: one size of a photo, to those who may see it (serving.py).
- ``POST /photos/<id>/edit | delete | decide``: form posts that go back to ``next``; JSON
  answers when the client asks for JSON (Accept).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import event
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from app.access import can_moderate, can_view, viewer_of
from app.auth.sessions import user_rate_key
from app.db import AppSession, db
from app.errors import (
    DomainError,
    Forbidden,
    NotFound,
    ValidationFailed,
    domain_problem,
    problem,
    status_title,
)
from app.limits import limiter
from app.models import Photo, PhotoStatus, Trace, User
from app.photos import operations, serving
from app.photos.details import clean_details
from app.photos.limits import PhotoRefused, refuse_too_large
from app.photos.operations import PhotoSpec
from app.photos.queries import can_view_photo, photo_url
from app.validation import FieldErrors
from app.web import safe_target

bp = Blueprint("photos", __name__)

MEGABYTE = 1024 * 1024
# Room for the form's other fields and the multipart framing, on top of the file itself.
FORM_ROOM = 64 * 1024
UPLOAD_ENDPOINTS = ("photos.upload", "photos.add_to_trace")


@bp.record_once
def _hook_session(_state: BlueprintSetupState) -> None:
    """Session hooks: deletions queue file removal; a rolled-back upload's files go at once."""
    for name, hook in (
        ("before_flush", operations._deletes_photos),
        ("after_commit", operations._files_kept),
        ("after_soft_rollback", operations._files_dropped),
    ):
        if not event.contains(AppSession, name, hook):
            event.listen(AppSession, name, hook)


bp.add_app_template_global(photo_url, "photo_url")
# One size of a photo, to those who may see it (app/photos/serving.py).
bp.add_url_rule("/photos/<int:photo_id>/<size>", view_func=serving.serve, methods=["GET"])


def _limit_mb() -> int:
    return int(current_app.config["PHOTO_MAX_MB"])


def photo_rate_limit() -> str:
    """How many uploads one person may send (form and API together): PHOTO_RATE_LIMIT."""
    return str(current_app.config.get("PHOTO_RATE_LIMIT") or "60/minute")


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """An upload may weigh PHOTO_MAX_MB, more than other requests.

    Set here because URL value preprocessors run before every before_request function, and
    the CSRF check there reads the form: the limit must be in place before the body is read.
    """
    if endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        request.max_content_length = _limit_mb() * MEGABYTE + FORM_ROOM
        # A multipart part without a name reads as the key None, which the CSRF check (next)
        # cannot handle: such a body is malformed, 400 before anything looks further.
        if None in request.form or None in request.files:
            abort(400)


def _wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > 0


def _refusal(error: PhotoRefused, trace_id: int | None = None) -> tuple[Any, int]:
    """A refused upload: JSON with the code and message for the API, a page for forms."""
    if _wants_json():
        body = dict(error.extra)
        return problem(
            error.status, status_title(error.status), error.message,
            code=error.code, error=error.code, message=error.message, **body,
        )  # fmt: skip
    back = url_for("traces.show", trace_id=trace_id) + "#photos" if trace_id else None
    page = render_template(
        "photos/refused.html", title=gettext("The photo was not added"),
        message=error.message, back=back,
    )  # fmt: skip
    return page, error.status


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> tuple[Any, int]:
    """413 with the limit in megabytes and what to do (nothing of the body is stored)."""
    trace_id = (request.view_args or {}).get("trace_id")
    return _refusal(refuse_too_large(), trace_id if isinstance(trace_id, int) else None)


@bp.errorhandler(PhotoRefused)
def _refused(error: PhotoRefused) -> tuple[Any, int]:
    trace_id = (request.view_args or {}).get("trace_id")
    return _refusal(error, trace_id if isinstance(trace_id, int) else None)


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> tuple[Any, int]:
    """Problem details when the client asks for JSON (Accept), else a page naming each problem."""
    if _wants_json():
        return domain_problem(error)
    detail = ""
    if isinstance(error, ValidationFailed):
        detail = " ".join(message for messages in error.errors.values() for message in messages)
    page = render_template("error.html", status=error.status, title=error.message, detail=detail)
    return page, error.status


def _read_upload() -> bytes:
    """The uploaded file's bytes, at most PHOTO_MAX_MB (PhotoRefused otherwise)."""
    upload = request.files.get("file")
    if upload is None:
        raise PhotoRefused(
            "no_file", gettext("Choose a photo to send (the form field is called “file”).")
        )
    limit = _limit_mb() * MEGABYTE
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise refuse_too_large()
    return data


def _viewer() -> User | None:
    return viewer_of(current_user)


class NotAuthenticated(Forbidden):
    """The API needs a logged-in session."""

    status = 401
    code = "not_authenticated"


def _logged_in() -> User:
    """The logged-in user; API callers get 401, people the login page."""
    viewer = _viewer()
    if viewer is None:
        if _wants_json():
            raise NotAuthenticated(gettext("Log in to send or change photos."))
        abort(current_app.login_manager.unauthorized())  # type: ignore[attr-defined]
    return viewer


def _photo_json(photo: Photo) -> dict[str, Any]:
    return {
        "id": photo.id,
        "status": photo.status.value,
        "trace_id": photo.trace_id,
        "width": photo.width,
        "height": photo.height,
        "thumbnail": photo_url(photo, "thumb", external=True),
        "display": photo_url(photo, "display", external=True),
        "caption": photo.caption,
        "credit": photo.credit,
        "licence": photo.licence,
        "taken_on": photo.taken_on.isoformat() if photo.taken_on else None,
        "public_when_protected": photo.public_when_protected,
    }


@bp.post("/api/photos")
@limiter.shared_limit(photo_rate_limit, scope="photos.upload", key_func=user_rate_key)
def upload() -> tuple[Response, int]:
    """Stage one upload for a trace to come: 201 with its id, sizes, addresses and GPS."""
    uploader = _logged_in()
    staged = operations.stage_photo(uploader, _read_upload())
    photo = staged.photo
    gps = staged.gps
    body = {
        "id": photo.id,
        "width": photo.width,
        "height": photo.height,
        "thumbnail": photo_url(photo, "thumb", external=True),
        "display": photo_url(photo, "display", external=True),
        # Offered to the resident, never stored: only this answer carries it.
        "gps": (
            {"lat": gps.lat, "lon": gps.lon, "accuracy_m": gps.accuracy_m}
            if gps is not None
            else None
        ),
        "taken_on": staged.taken_on.isoformat() if staged.taken_on else None,
    }
    response = jsonify(body)
    response.headers["Location"] = body["display"]
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.post("/traces/<int:trace_id>/photos")
@limiter.shared_limit(photo_rate_limit, scope="photos.upload", key_func=user_rate_key)
def add_to_trace(trace_id: int) -> Any:
    """The trace page's form: one photo added later, pending until a moderator decides."""
    viewer = _logged_in()
    trace = db.session.get(Trace, trace_id)
    if trace is None or not can_view(viewer, trace):
        abort(404)
    if not operations.may_add_photos(viewer, trace):
        raise Forbidden(gettext("Only the trace's author and its librarians may add photos."))
    errors = FieldErrors()
    details = clean_details(request.form, errors)
    if errors:
        messages = [message for field in errors.errors.values() for message in field]
        raise PhotoRefused("validation_failed", " ".join(messages), fields=errors.errors)
    # The limit is checked before the file is processed, so a full trace costs no work.
    operations.check_room(trace, 1)
    staged = operations.stage_photo(viewer, _read_upload())
    try:
        photos = operations.add_photos(trace, viewer, [PhotoSpec(id=staged.photo.id, **details)])
    except ValidationFailed as error:
        messages = [message for field in error.errors.values() for message in field]
        raise PhotoRefused("validation_failed", " ".join(messages)) from None
    photo = photos[0]
    if _wants_json():
        return jsonify(_photo_json(photo)), 201
    if photo.status == PhotoStatus.APPROVED:
        flash(gettext("The photo is added."), "success")
    else:
        flash(
            gettext("Thank you! The photo is added and shown once a librarian has checked it."),
            "success",
        )
    return redirect(url_for("traces.show", trace_id=trace.id) + f"#photo-{photo.id}", 303)


def _photo_for_change(photo_id: int) -> tuple[Photo, User]:
    """The photo, if the logged-in viewer may see it (404 otherwise, as for none)."""
    viewer = _logged_in()
    photo = db.session.get(Photo, photo_id)
    if photo is None or not can_view_photo(viewer, photo):
        raise NotFound(gettext("No such photo."))
    return photo, viewer


def _back(photo_trace_id: int | None) -> Response:
    target = safe_target(request.form.get("next"))
    if target is None:
        target = (
            url_for("traces.show", trace_id=photo_trace_id) + "#photos"
            if photo_trace_id is not None
            else url_for("main.index")
        )
    return redirect(target, 303)


@bp.post("/photos/<int:photo_id>/edit")
def edit(photo_id: int) -> Any:
    """Change a photo's caption, credit, licence and date taken (uploader or moderator)."""
    photo, viewer = _photo_for_change(photo_id)
    operations.edit_photo(photo, viewer, request.form)
    if _wants_json():
        return jsonify(_photo_json(photo))
    flash(gettext("The photo's details are saved."), "success")
    return _back(photo.trace_id)


@bp.post("/photos/<int:photo_id>/delete")
def delete(photo_id: int) -> Any:
    """Remove a photo; its files go right after the change is saved."""
    photo, viewer = _photo_for_change(photo_id)
    trace_id = photo.trace_id
    operations.remove_photo(photo, viewer)
    if _wants_json():
        return jsonify({"id": photo_id, "deleted": True})
    flash(gettext("The photo is removed."), "success")
    return _back(trace_id)


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "on", "yes")


@bp.post("/photos/<int:photo_id>/decide")
def decide(photo_id: int) -> Any:
    """A moderator approves or rejects a photo, and says whether a protected site's may show."""
    photo, viewer = _photo_for_change(photo_id)
    trace = db.session.get(Trace, photo.trace_id) if photo.trace_id is not None else None
    if trace is None or not can_moderate(viewer, trace):
        raise Forbidden(gettext("Only the trace's curators and librarians decide on its photos."))
    action = request.form.get("action", "")
    if action not in ("approve", "reject"):
        raise ValidationFailed({"action": [gettext("Choose approve or reject.")]})
    if "public_when_protected" in request.form:
        public: bool | None = _flag(request.form.get("public_when_protected"))
    elif trace.is_sensitive and not _wants_json():
        public = False  # the form's checkbox, left unticked
    else:
        public = None
    operations.decide_photo(
        photo, viewer, action == "approve", request.form.get("reason", ""), public
    )
    if _wants_json():
        return jsonify(_photo_json(photo))
    flash(
        gettext("The photo is approved.")
        if action == "approve"
        else gettext("The photo is rejected; its files are removed after the grace period."),
        "success",
    )
    return _back(trace.id)
