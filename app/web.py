"""Request lifecycle: one commit per request, security headers, template helpers."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from flask_babel import get_locale
from flask_login import current_user

from app.db import db
from app.text import render_markdown
from app.traces.messages import status_label

# Methods that may change state; GET never does (SECURITY.md item 22).
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


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


def _content_security_policy() -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{csp_nonce()}'",
            # Leaflet positions tiles and markers with inline style attributes.
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: {_tile_origins(current_app)}".strip(),
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


def init_app(app: Flask) -> None:
    """Register the per-request hooks and template globals."""

    @app.after_request
    def _finish_transaction(response: Response) -> Response:
        # House rule 2: operations only flush; the request commits once, or rolls back.
        if request.method in WRITE_METHODS and response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
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
            "languages": app.config["LANGUAGES"],
            "installation_name": app.config["INSTALLATION_NAME"],
            "status_label": status_label,
            "unread_count": _unread_count,
            "is_moderator": _is_moderator,
            "render_markdown": render_markdown,  # returns sanitised Markup
        }
