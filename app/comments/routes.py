"""Comments on traces: writing one, deciding on one, withdrawing one's own."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.access import can_view, viewer_of
from app.comments import operations, queries
from app.comments.forms import CommentForm, DeleteCommentForm, ModerateCommentForm
from app.comments.operations import CommentConflict, Decision
from app.comments.thread import comments_for
from app.errors import DomainError, ValidationFailed
from app.limits import limiter
from app.models import Comment, CommentStatus, Trace
from app.photos.limits import PhotoRefused, refuse_too_large
from app.traces import queries as trace_queries
from app.web import safe_target

bp = Blueprint("comments", __name__)
bp.app_template_global("comments_for")(comments_for)

MEGABYTE = 1024 * 1024


@bp.url_value_preprocessor
def _photo_limit(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """A comment may carry a photo of PHOTO_MAX_MB: the limit is raised before the body is read
    (the CSRF check in before_request reads the form)."""
    if endpoint == "comments.create" and request.method == "POST":
        request.max_content_length = int(current_app.config["PHOTO_MAX_MB"]) * MEGABYTE + BODY_ROOM


# Room for the comment's text and the multipart framing on top of the photo.
BODY_ROOM = 64 * 1024


def _uploaded_photo() -> bytes | None:
    """The photo sent with a comment, if any (PhotoRefused when larger than allowed)."""
    upload = request.files.get("photo")
    if upload is None or not upload.filename:
        return None
    limit = int(current_app.config["PHOTO_MAX_MB"]) * MEGABYTE
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise refuse_too_large()
    return data or None


def _per_user() -> str:
    """Rate-limit key: the account when logged in, else the address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


@bp.post("/traces/<int:trace_id>/comments")
@login_required
@limiter.limit("10 per minute;200 per day", key_func=_per_user)
def create(trace_id: int) -> Response | tuple[str, int]:
    """Post a comment on a trace the user can see; the form page again (422) on errors."""
    trace = trace_queries.get_trace(trace_id)
    if trace is None or not can_view(viewer_of(current_user), trace):
        abort(404)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            comment = operations.post_comment(trace, current_user, form.body.data)
            data = _uploaded_photo()
            if data is not None:
                operations.attach_comment_photo(
                    comment, trace, current_user, data, form.photo_caption.data or ""
                )
        except ValidationFailed as error:
            if "photos" in error.errors:
                form.photo.errors = list(error.errors["photos"])
            elif "caption" in error.errors:
                form.photo_caption.errors = list(error.errors["caption"])
            else:
                form.body.errors = list(error.errors.get("body", [error.message]))
        except PhotoRefused as error:
            # The whole comment waits for a photo that can be kept (the request rolls back).
            form.photo.errors = [error.message]
        else:
            if comment.status == CommentStatus.APPROVED:
                flash(gettext("Your comment is published."), "success")
            else:
                flash(
                    gettext(
                        "Thank you! Your comment is shown to others once a librarian has "
                        "checked it."
                    ),
                    "success",
                )
            return redirect(_trace_url(trace, comment))
    return render_template("comments/new.html", form=form, trace=trace), 422


@bp.post("/comments/<int:comment_id>/moderate")
@login_required
def moderate(comment_id: int) -> Response | tuple[str, int]:
    """Approve or reject a pending comment, with the version the moderator saw."""
    comment, trace = _comment_and_trace(comment_id)
    form = ModerateCommentForm()
    if not form.validate_on_submit():
        raise DomainError(gettext("Choose whether to approve or reject the comment."))
    decision = Decision(form.action.data)
    try:
        changed = operations.moderate_comment(
            comment, trace, current_user, decision, form.version.data or 0
        )
    except CommentConflict as error:
        return _conflict_page(error, trace)
    flash(_decision_message(decision, changed), "success" if changed else "info")
    return redirect(_next_or(form.next.data, _trace_url(trace, comment)))


@bp.post("/comments/<int:comment_id>/delete")
@login_required
def delete(comment_id: int) -> Response | tuple[str, int]:
    """The author withdraws their own comment."""
    comment, trace = _comment_and_trace(comment_id)
    form = DeleteCommentForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = operations.delete_comment(comment, trace, current_user)
    except CommentConflict as error:
        return _conflict_page(error, trace)
    if changed:
        flash(gettext("Your comment is deleted."), "success")
    else:
        flash(gettext("The comment was already deleted; nothing changed."), "info")
    return redirect(_next_or(form.next.data, _trace_url(trace)))


def _comment_and_trace(comment_id: int) -> tuple[Comment, Trace]:
    comment = queries.get_comment(comment_id)
    trace = trace_queries.get_trace(comment.trace_id) if comment else None
    if comment is None or trace is None:
        abort(404)
    return comment, trace


def _decision_message(decision: Decision, changed: bool) -> str:
    if decision == Decision.APPROVE:
        if changed:
            return gettext("The comment is approved and shown under the trace.")
        return gettext("The comment was already approved; nothing changed.")
    if changed:
        return gettext("The comment is rejected and hidden.")
    return gettext("The comment was already rejected; nothing changed.")


def _conflict_page(error: CommentConflict, trace: Trace) -> tuple[str, int]:
    return render_template("comments/conflict.html", message=error.message, trace=trace), 409


def _trace_url(trace: Trace, comment: Comment | None = None) -> str:
    anchor = f"comment-{comment.id}" if comment is not None else "comments"
    return url_for("traces.show", trace_id=trace.id, _anchor=anchor)


def _next_or(target: str | None, fallback: str) -> str:
    """Only same-site relative paths (the moderation queue sends its own); else the fallback."""
    return safe_target(target) or fallback
