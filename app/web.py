"""Request lifecycle: one commit per request, security headers, template helpers.

Transaction policy: operations flush, never commit. A write request (POST, PUT, PATCH,
DELETE) that succeeds is committed exactly once, by commit_request(), right after its view
returns and before the response leaves; a failed commit removes the request's flashes and
answers with an error page. Everything else is rolled back. Side records written on reads
go through app.db.write_aside, on a connection of their own. Mail is queued in the outbox
and sent after the commit (app.mail).
"""

from __future__ import annotations

import functools
import logging
import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, has_request_context, request, session
from flask.signals import message_flashed
from flask_babel import get_locale, gettext
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.exc import StaleDataError

from app.db import AppSession, db
from app.errors import Conflict
from app.mail import send_after_commit
from app.observability.logs import route_of
from app.text import render_markdown
from app.traces.messages import status_label

# Methods that may change state; GET never does (docs/security.md).
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

log = logging.getLogger(__name__)

# Map and search answers are what every visitor asks for, many at once: one that needs more
# than a moment is given up (503, try again) instead of holding a worker and a connection
# that light requests wait for. Everything else keeps DB_STATEMENT_TIMEOUT_MS.
SHORT_TIMEOUT_PREFIXES = ("/api/map", "/api/search", "/search")
DEFAULT_SHORT_TIMEOUT_MS = 2500
# PostgreSQL's query_canceled: statement_timeout (or an operator's pg_cancel_backend).
_CANCELED = "57014"


def safe_target(target: str | None) -> str | None:
    """A same-site path to redirect to, or None: never another host (open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 for c in target):
        return None  # browsers read /\host as //host; control characters are never paths
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def absolute_url(endpoint: str, **values: object) -> str:
    """A page's absolute address on BASE_URL, never from the request's Host header.

    Built from the app's URL map without the mount point (script root), so it is the same
    inside a request, in a mail sent after one and on the command line (no request at all).
    """
    path = current_app.url_map.bind("", script_name="/").build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


def csp_nonce() -> str:
    """A per-request nonce for the inline map script Folium generates."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _tile_origins(app: Flask) -> str:
    origins = set()
    for key in ("TILE_URL", "ALT_TILE_URL"):
        url = app.config.get(key) or ""
        parts = urlsplit(url.replace("{s}", "a"))
        if parts.scheme in ("http", "https") and parts.netloc:
            host = parts.netloc.replace("a.", "*.", 1) if "{s}" in url else parts.netloc
            origins.add(f"{parts.scheme}://{host}")
    return " ".join(sorted(origins))


def _media_origin(app: Flask) -> str:
    """Where signed photo addresses point when photos live in object storage (else nothing)."""
    bucket = app.config.get("MEDIA_S3_BUCKET") or ""
    if not bucket:
        return ""
    endpoint = app.config.get("MEDIA_S3_ENDPOINT") or ""
    if endpoint:
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    region = app.config.get("MEDIA_S3_REGION") or "us-east-1"
    return f"https://{bucket}.s3.{region}.amazonaws.com"


def _content_security_policy() -> str:
    tiles = _tile_origins(current_app)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{csp_nonce()}'",
            # Leaflet positions tiles and markers with inline style attributes.
            "style-src 'self' 'unsafe-inline'",
            # blob: previews of photos chosen on the form; the media origin serves signed
            # photo addresses when photos live in object storage.
            f"img-src 'self' data: blob: {tiles} {_media_origin(current_app)}".strip(),
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ]
    )


def _unread_count() -> int:
    """Unread notifications of the logged-in user (once per request)."""
    if "unread_count" not in g:
        from sqlalchemy import func, select

        from app.models import Notification

        g.unread_count = 0
        if current_user.is_authenticated:
            g.unread_count = db.session.execute(
                select(func.count()).where(
                    Notification.user_id == current_user.id, Notification.read_at.is_(None)
                )
            ).scalar_one()
    return g.unread_count


def _is_moderator() -> bool:
    """Whether to show the moderation link (once per request)."""
    if "is_moderator" not in g:
        from app.access import moderated_projects, viewer_of

        g.is_moderator = bool(moderated_projects(viewer_of(current_user)))
    return g.is_moderator


class CommitFailed(Conflict):
    """The request's work could not be committed because of a concurrent change (409)."""


# SQLSTATEs of a commit that lost against another transaction: try again and it may work.
_CONFLICT_STATES = {"40001", "40P01"}


def commit_request() -> None:
    """Commit the request's transaction once; on failure take back this request's flashes.

    Nothing the request said ("saved!") may outlive a commit that failed: the flashes are
    removed from the session, the transaction is rolled back, and the error is raised for the
    error pages (409 for a concurrent change or a broken rule, 503/500 otherwise).
    """
    try:
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        _take_back_flashes()
        # The rule, not the path (a reset token is in one), and the error's kind and constraint,
        # not its message (which can quote the values: addresses, password hashes).
        constraint = getattr(
            getattr(getattr(error, "orig", None), "diag", None), "constraint_name", None
        )
        log.warning("commit of %s %s failed: %s %s", request.method, route_of(request),
                    type(error).__name__, constraint or "")  # fmt: skip
        if isinstance(error, (IntegrityError, StaleDataError)) or (
            isinstance(error, DBAPIError)
            and getattr(error.orig, "sqlstate", None) in _CONFLICT_STATES
        ):
            raise CommitFailed(
                gettext(
                    "Nothing was saved: someone changed the same thing at the same moment. "
                    "Reload the page and try again."
                )
            ) from error
        raise
    g.request_committed = True


def _take_back_flashes() -> None:
    """Remove the messages flashed during this request from the session."""
    flashed = g.pop("request_flashes", [])
    if not flashed or "_flashes" not in session:
        return
    remaining = list(session["_flashes"])
    for entry in flashed:
        if entry in remaining:
            remaining.remove(entry)
    session["_flashes"] = remaining


def _remember_flash(sender: Flask, message: str, category: str, **_extra: object) -> None:
    if has_request_context():
        g.setdefault("request_flashes", []).append((category, message))


def _is_write() -> bool:
    return request.method in WRITE_METHODS


def route_statement_timeout_ms() -> int | None:
    """The statement timeout of this request's route when it is shorter than the default
    (map and search), else None (the connection's DB_STATEMENT_TIMEOUT_MS holds)."""
    if not has_request_context() or not request.path.startswith(SHORT_TIMEOUT_PREFIXES):
        return None
    return int(current_app.config.get("MAP_STATEMENT_TIMEOUT_MS", DEFAULT_SHORT_TIMEOUT_MS))


def _apply_route_timeout(
    _session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    # SET LOCAL lasts for the request's transaction only, so the pooled connection goes back
    # with the default; nothing is sent for routes that keep the default.
    timeout = route_statement_timeout_ms()
    if timeout is not None:
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout)}")


def _is_canceled(error: BaseException) -> bool:
    return isinstance(error, DBAPIError) and getattr(error.orig, "sqlstate", None) == _CANCELED


def _too_slow() -> Response:
    """503 with Retry-After for a query the statement timeout stopped (not a server fault)."""
    from app.errors import problem, wants_problem_json

    db.session.rollback()
    title = gettext("Service unavailable")
    detail = gettext("This took too long to answer and was stopped. Try again in a moment.")
    log.warning("statement timeout on %s %s", request.method, route_of(request))
    if wants_problem_json():
        response, _status = problem(503, title, detail, code="timeout")
    else:
        from flask import render_template

        body = render_template("error.html", status=503, title=title, detail=detail)
        response = Response(body, mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response


def init_app(app: Flask) -> None:
    """Register the per-request hooks and template globals."""
    message_flashed.connect(_remember_flash, app)
    if not event.contains(AppSession, "after_begin", _apply_route_timeout):
        event.listen(AppSession, "after_begin", _apply_route_timeout)
    view_dispatch = app.dispatch_request

    def dispatch_and_commit() -> Response:
        # House rule 2: operations only flush; the request commits once, right after the view
        # and before the response leaves, so a failed commit is an error page and never comes
        # after a success message. Errors raised here go through the app's error handlers.
        try:
            response = app.make_response(view_dispatch())
        except DBAPIError as error:
            if not _is_canceled(error):
                raise
            return _too_slow()
        if _is_write() and response.status_code < 400:
            commit_request()
        return response

    # Wrapping dispatch (not each view) also covers blueprints registered after this point.
    app.dispatch_request = dispatch_and_commit  # type: ignore[method-assign]

    @app.after_request
    def _finish_transaction(response: Response) -> Response:
        if not g.get("request_committed"):
            if not (_is_write() and response.status_code < 400):
                db.session.rollback()
                return response
            commit_request()  # a success answered before any view ran: the same rule
        # Mail goes out once the response is complete, outside the committed transaction.
        queued = bool(g.pop("mail_queued", False))
        response.call_on_close(functools.partial(send_after_commit, app, queued=queued))
        # Photos (app/photos, not the web layer's own): the files of photos this request
        # deleted go once the deletion is committed; `flask media sweep` catches the rest.
        from app.photos.operations import GARBAGE_FLAG, remove_files_after_commit

        media = bool(g.pop(GARBAGE_FLAG, False))
        response.call_on_close(functools.partial(remove_files_after_commit, app, queued=media))
        return response

    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", _content_security_policy())
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        if app.config["ENV"] == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response

    @app.context_processor
    def _template_helpers() -> dict[str, object]:
        return {
            "csp_nonce": csp_nonce,
            "current_locale": str(get_locale()),
            # The language of <main> when it differs from the page's (app/i18n.py overrides it).
            "content_lang": None,
            "languages": app.config["LANGUAGES"],
            "installation_name": app.config["INSTALLATION_NAME"],
            "status_label": status_label,
            "unread_count": _unread_count,
            "is_moderator": _is_moderator,
            "render_markdown": render_markdown,  # returns sanitised Markup
        }
