"""The service worker and the manifest, served from the site's root so they cover every page.

Also what the outbox in the browser needs when it sends what was captured without a signal:
a fresh CSRF token (a form kept offline carries a token that may have expired), the typed
coordinates turned into GeoJSON by the server's own parser, and whether a submission key
already made a trace.

Releases: every static URL carries ``?v=<release>``, a short hash of the static files'
contents computed once at start-up (or HERITAGE_RELEASE). The service worker's caches are
named after the release, so a new release gets new caches and the old ones are deleted when
its worker activates: nothing from an old release is served after that.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import orjson
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask_babel import get_locale, gettext
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from app.db import db
from app.http_cache import leave_session_cookie_alone
from app.models import Trace
from app.traces.messages import geometry_message
from app.web import _tile_origins
from geo.crs import parse_typed
from geo.errors import GeometryError
from geo.maps import vendor_assets

bp = Blueprint("offline", __name__)

# How many base-map tiles the service worker keeps (the oldest go first). At ~15-40 kB a
# tile that is roughly 50-120 MB; only tiles the resident has seen are kept, never prefetched.
TILE_CACHE_LIMIT = 3000
THEME_COLOUR = "#7a3e00"  # --brand in static/css/app.css
BACKGROUND_COLOUR = "#fbfaf7"  # --bg
# The pages kept for use without a signal (network first; the cached copy when offline).
OFFLINE_PAGES = ("/", "/traces/new")
SUBMISSION_KEY_MAX = 64  # Trace.submission_key


def static_release(folder: str | os.PathLike[str]) -> str:
    """A short hash of every file under the static folder (names and contents)."""
    digest = hashlib.sha256()
    root = Path(folder)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def release() -> str:
    """The running release: HERITAGE_RELEASE, or the static files' hash made at start-up."""
    return current_app.config["RELEASE"]


@bp.record_once
def _compute_release(state: BlueprintSetupState) -> None:
    app: Flask = state.app
    configured = app.config.get("RELEASE") or os.environ.get("HERITAGE_RELEASE", "")
    # Cache names and URLs carry it: keep it to characters that need no escaping.
    cleaned = "".join(c for c in str(configured) if c.isalnum() or c in "-_.")[:40]
    app.config["RELEASE"] = cleaned or static_release(app.static_folder or "static")


@bp.app_url_defaults
def _version_static(endpoint: str, values: dict[str, Any]) -> None:
    # Only files: url_for("static", filename="") is the folder Folium's links are built on.
    if endpoint == "static" and values.get("filename") and "v" not in values:
        values["v"] = current_app.config["RELEASE"]


@bp.after_app_request
def _release_headers(response: Response) -> Response:
    if request.endpoint == "static" and request.args.get("v") == current_app.config["RELEASE"]:
        # The address changes with every release, so this copy never needs checking again.
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    elif response.mimetype == "text/html":
        # The service worker compares it with its own and drops its unversioned copies when
        # the server runs a newer release than the worker that is still in control.
        response.headers["X-Heritage-Release"] = current_app.config["RELEASE"]
    return response


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    leave_session_cookie_alone()
    return response


def _shell_assets() -> list[str]:
    """The versioned files the new-trace page needs, fetched when the worker installs."""
    files = [
        "css/app.css", "css/projects.css", "css/revisions.css", "css/comments.css",
        "css/export.css", "css/imports.css", "css/newtrace.css", "css/map.css",
        "css/search.css", "css/offline.css", "css/photos.css", "js/offline.js",
        "js/offline-register.js", "js/new-trace.js", "js/photos-form.js", "js/map-search.js",
        "js/previews.js", "icons/icon-192.png",
    ]  # fmt: skip
    folder = Path(current_app.static_folder or "static")
    return [url_for("static", filename=name) for name in files if (folder / name).is_file()]


def _unversioned_assets() -> list[str]:
    """Folium's links (Leaflet, Leaflet.draw, the map script, versioned like the pages use
    them) and the plugins' images (plain URLs: their CSS names them), kept from install so the
    map opens offline even when the first visit happened before the worker was in control.
    """
    base = url_for("static", filename="").rstrip("/")
    urls = [url for group in vendor_assets(base, release()).values() for _name, url in group]
    folder = Path(current_app.static_folder or "static")
    for image in sorted(folder.glob("vendor/*/images/*")):
        if image.is_file():
            urls.append(f"{base}/{image.relative_to(folder).as_posix()}")
    return urls


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, at the root so that its scope is the whole site."""
    tiles = _tile_origins(current_app)
    body = render_template(
        "offline/sw.js",
        release=release(),
        shell=_shell_assets(),
        runtime=_unversioned_assets(),
        offline_url=url_for("offline.offline_page"),
        pages=list(OFFLINE_PAGES),
        tile_limit=_tile_limit(),
        tile_patterns=_tile_patterns(),
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    leave_session_cookie_alone()
    # The worker fetches (and caches) base-map tiles itself: its own policy lets it reach them.
    response.headers["Content-Security-Policy"] = "; ".join(
        [
            "default-src 'self'",
            f"connect-src 'self' {tiles}".strip(),
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return response


def _tile_limit() -> int:
    """TILE_CACHE_LIMIT unless HERITAGE_TILE_CACHE_LIMIT (or the config) says otherwise."""
    configured = current_app.config.get("TILE_CACHE_LIMIT") or os.environ.get(
        "HERITAGE_TILE_CACHE_LIMIT"
    )
    try:
        return max(1, int(configured)) if configured else TILE_CACHE_LIMIT
    except ValueError:
        return TILE_CACHE_LIMIT


def _tile_patterns() -> list[str]:
    """Prefixes of the configured tile URLs (before the first placeholder), {s} as a wildcard."""
    prefixes = []
    for key in ("TILE_URL", "ALT_TILE_URL"):
        url = current_app.config.get(key) or ""
        if url.startswith(("http://", "https://")):
            prefixes.append(url.split("{z}")[0].split("{x}")[0].split("{y}")[0])
    return prefixes


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: install the site as an app that opens on the map."""
    name = current_app.config["INSTALLATION_NAME"]
    icon = "icons/icon-{}.png"
    body = {
        "name": name,
        "short_name": name[:12],
        "description": gettext("Mark and describe traces of the past in the landscape."),
        "lang": str(get_locale()),
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "icons": [
            {
                "src": url_for("static", filename=icon.format(192)),
                "sizes": "192x192",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": url_for("static", filename=icon.format(512)),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any",
            },
            {
                "src": url_for("static", filename="icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],  # fmt: skip
        "shortcuts": [{"name": gettext("Add a trace"), "url": "/traces/new"}],
    }
    response = Response(orjson.dumps(body), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    leave_session_cookie_alone()
    return response


@bp.get("/offline")
def offline_page() -> str:
    """What the service worker shows for a page it has no copy of while there is no signal."""
    return render_template("offline/offline.html")


def _not_signed_in() -> tuple[Response, int]:
    response = jsonify({"error": "not_authenticated", "message": gettext("Log in to send.")})
    return _no_store(response), 401


@bp.get("/offline/token")
def token() -> Response | tuple[Response, int]:
    """A fresh CSRF token for the outbox (the one in a page kept offline may have expired)."""
    if not current_user.is_authenticated:
        return _not_signed_in()
    return _no_store(jsonify({"csrf_token": generate_csrf()}))


@bp.post("/offline/geometry")
def typed_geometry() -> Response | tuple[Response, int]:
    """Typed coordinates -> GeoJSON with the form's own parser (422 naming what is wrong)."""
    if not current_user.is_authenticated:
        return _not_signed_in()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        body = {}
    try:
        geometry = parse_typed(
            str(body.get("coordinates") or ""),
            str(body.get("system") or "wgs84"),
            str(body.get("shape") or "point"),
        )
    except GeometryError as error:
        response = jsonify({"error": error.code, "message": geometry_message(error)})
        return _no_store(response), 422
    return _no_store(jsonify({"geometry": geometry}))


@bp.get("/offline/sent")
def sent() -> Response | tuple[Response, int]:
    """Whether this resident's submission key already made a trace (its address), else 404."""
    if not current_user.is_authenticated:
        return _not_signed_in()
    key = (request.args.get("key") or "")[:SUBMISSION_KEY_MAX]
    trace_id = None
    if key:
        trace_id = db.session.execute(
            select(Trace.id).where(Trace.author_id == current_user.id, Trace.submission_key == key)
        ).scalar_one_or_none()
    if trace_id is None:
        return _no_store(jsonify({"sent": False})), 404
    url = url_for("traces.show", trace_id=trace_id)
    return _no_store(jsonify({"sent": True, "id": trace_id, "url": url}))
