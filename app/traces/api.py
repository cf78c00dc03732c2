"""The JSON API: viewport map data and trace submission as GeoJSON (problem details on errors)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext
from flask_login import current_user
from geoalchemy2.shape import to_shape

from app.access import can_view, sees_precisely, viewer_of
from app.auth.sessions import might_be_signed_in, submission_rate_limit, user_rate_key
from app.errors import DomainError, NotFound, ValidationFailed, problem
from app.http_cache import public_answer
from app.limits import limiter
from app.models import Trace
from app.openapi import openapi_document
from app.traces import queries, submissions, tiles
from app.traces.operations import recorded_photos
from app.traces.validation import TERM_FIELDS
from geo import cells
from geo.geojson import feature, geometry_to_geojson

bp = Blueprint("api", __name__, url_prefix="/api")

# Properties a client may set; anything else (status, author_id, ...) is ignored (no mass
# assignment, docs/security.md item 10). "informant" is for the project's moderators: anyone
# else sending one gets 403 and nothing is stored (app/traces/informants.py).
WRITABLE = (
    "project", "title", "description", "trace_type", "period", "condition", "dating_method",
    "sources", "licence", "confirm_outside_area", "informant",
)  # fmt: skip
JSON_TYPES = ("application/json", "application/geo+json")


class NotAuthenticated(DomainError):
    """The API needs a logged-in session."""

    status = 401
    code = "not_authenticated"


class UnsupportedMediaType(DomainError):
    """The body is not JSON."""

    status = 415
    code = "unsupported_media_type"


@bp.get("/map")
def map_data() -> Response | tuple[Response, int]:
    """Visible traces in a bounding box: shapes when zoomed in, counted clusters when out.

    Below the cluster zoom the clusters come from the precomputed cells (app.traces.tiles),
    with what only a logged-in viewer may see added on top; the same filters as the tiles.
    """
    try:
        view = queries.parse_viewport(request.args.get("bbox"), request.args.get("zoom"))
    except ValueError as error:
        return problem(400, gettext("Invalid map query"), str(error), code="bad_viewport")
    filters = _map_filters()
    viewer = viewer_of(current_user)
    if view.zoom < current_app.config["MAP_CLUSTER_BELOW_ZOOM"]:
        body = queries.map_clusters(view, viewer, filters)
    else:
        limit = current_app.config["MAP_MAX_FEATURES"]
        body = queries.map_features(view, viewer, limit, filters)
    response = Response(body, mimetype="application/geo+json")
    # What a logged-in user sees includes their own pending traces: never cache it in between.
    response.headers["Cache-Control"] = "private, no-store" if viewer else "public, max-age=30"
    response.vary.add("Cookie")
    return response


@bp.get("/map/tiles/<int:z>/<int:x>/<int:y>")
def map_tile(z: int, x: int, y: int) -> Response | tuple[Response, int]:
    """Clusters of one z/x/y tile (shapes from the cluster zoom on), cacheable when public.

    Caching: an anonymous answer is the same for everyone, so it is `public` with a strong
    ETag (a hash of the body) and Last-Modified (the newest change among the tile's cells; a
    fixed date for shapes and empty tiles), and 304 on a matching If-None-Match. Only the
    ETag validates (If-Modified-Since is not used: a cell emptied by a rejection has no
    newer date among those left). It carries no `Vary: Cookie`: that would split a shared
    cache by every visitor's cookies.
    Instead a logged-in answer is `private, no-store` (it holds the viewer's own pending
    traces) and a reverse proxy passes requests of logged-in visitors on uncached (nginx:
    proxy_cache_bypass and proxy_no_cache on $cookie_heritage_signed_in, a marker set while
    logged in). Every anonymous answer, with or without a session cookie (anonymous visitors
    have one for their CSRF token or language), is the public one and varies on nothing
    (SharedResponse); who is logged in is asked only when the cookies hold a login
    (might_be_signed_in), so an anonymous session is never written and no cookie is set.
    The worst a cache that ignores this can do is show a logged-in viewer the public tile,
    never the other way round.
    """
    if not (0 <= z <= cells.MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        return problem(
            400, gettext("Invalid map query"),
            gettext("The tile must have 0 <= z <= 22 and 0 <= x, y < 2^z."), code="bad_tile",
        )  # fmt: skip
    filters = _map_filters()
    viewer = viewer_of(current_user) if might_be_signed_in() else None
    changed = None
    if z >= current_app.config["MAP_CLUSTER_BELOW_ZOOM"]:
        west, south, east, north = cells.tile_bounds(z, x, y)
        view = queries.Viewport(west, south, east, north, z)
        limit = current_app.config["MAP_MAX_FEATURES"]
        body = queries.map_features(view, viewer, limit, filters)
    else:
        body, changed = tiles.clusters([cells.tile_range(z, x, y)], viewer, filters)
    if viewer is not None:
        response = Response(body, mimetype="application/geo+json")
        response.headers["Cache-Control"] = "private, no-store"
        return response
    max_age = int(current_app.config.get("MAP_TILE_MAX_AGE", 60))
    response = public_answer(body, max_age, mimetype="application/geo+json")
    response.last_modified = changed or tiles.EPOCH
    return response


def _map_filters() -> tiles.MapFilter:
    """The map's filters ?type=<code>&period=<code>&project=<slug>, resolved to ids."""
    args = request.args
    return queries.map_filter(args.get("type"), args.get("period"), args.get("project"))


@bp.post("/traces")
@limiter.limit(submission_rate_limit, key_func=user_rate_key)
def create_trace() -> tuple[Response, int]:
    """Submit a trace as a GeoJSON Feature; 201 with its URL, or 4xx problem details.

    ``properties.photos`` attaches staged uploads (POST /api/photos); a moderator of the
    project may add ``properties.informant`` (assisted registration). With an
    ``Idempotency-Key`` header (or ``properties.submission_key``) a resend by the same author
    answers 200 with the trace the first request made, never a second trace.
    """
    if not current_user.is_authenticated:
        raise NotAuthenticated(gettext("Log in to submit traces."))
    payload = _json_body()
    if not isinstance(payload, dict) or payload.get("type") != "Feature":
        raise ValidationFailed(
            {"type": [gettext('The body must be a GeoJSON Feature ("type": "Feature").')]}
        )
    properties = payload.get("properties")
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise ValidationFailed({"properties": [gettext("properties must be an object.")]})
    key = submissions.clean_key(_idempotency_key(properties))
    existing = submissions.already_submitted(current_user, key)
    if existing is not None:
        return _created(existing, 200)
    raw = {name: properties.get(name) for name in WRITABLE}
    submission, photos = submissions.clean_with_photos(
        raw, payload.get("geometry"), properties.get("photos")
    )
    done = submissions.submit(current_user, submission, photos, key)
    return _created(done.trace, 201 if done.created else 200)


def _idempotency_key(properties: dict[str, Any]) -> Any:
    """The Idempotency-Key header, else properties.submission_key (the header wins)."""
    header = request.headers.get("Idempotency-Key")
    return header if header is not None else properties.get("submission_key")


def _created(trace: Trace, status: int) -> tuple[Response, int]:
    """The answer to a submission: 201 for a new trace, 200 for one a resend already made."""
    url = url_for("traces.show", trace_id=trace.id, _external=True)
    response = jsonify(
        {
            "id": trace.id,
            "url": url,
            "api_url": url_for("api.get_trace", trace_id=trace.id, _external=True),
            "status": trace.status.value,
            "version": trace.version,
            "photos": [photo["id"] for photo in recorded_photos(trace)],
        }
    )
    response.headers["Location"] = url
    return response, status


@bp.get("/traces/<int:trace_id>")
def get_trace(trace_id: int) -> Response:
    """One visible trace as a GeoJSON Feature."""
    trace = queries.get_trace(trace_id)
    viewer = viewer_of(current_user)
    if trace is None or not can_view(viewer, trace):
        raise NotFound(gettext("No such trace."))
    precise = sees_precisely(viewer, trace)
    body = feature(
        trace.id,
        geometry_to_geojson(to_shape(trace.geom if precise else trace.public_geom)),
        {
            "location": "precise" if precise else "generalised",
            "title": trace.title,
            "description": trace.description,
            "status": trace.status.value,
            "project": trace.project.slug,
            "trace_type": trace.trace_type.code if trace.trace_type else None,
            "period": trace.period.code if trace.period else None,
            "condition": trace.condition.code if trace.condition else None,
            "dating_method": trace.dating_method.code if trace.dating_method else None,
            "sources": trace.sources,
            "licence": trace.licence,
            "version": trace.version,
            "url": url_for("traces.show", trace_id=trace.id, _external=True),
        },
    )
    response = Response(orjson.dumps(body), mimetype="application/geo+json")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.0 description of this API."""
    terms = queries.terms_by_scheme()
    vocabulary = {field: [t.code for t in terms[scheme]] for field, scheme in TERM_FIELDS.items()}
    document = openapi_document(
        url_for("main.index", _external=True).rstrip("/"),
        vocabulary=vocabulary,
        projects=[p.slug for p in queries.open_projects()],
        max_vertices=current_app.config["MAX_VERTICES"],
    )
    return jsonify(document)


def _json_body() -> Any:
    """Parse the body strictly: NaN and Infinity are refused (docs/security.md item 15)."""
    if request.mimetype not in JSON_TYPES:
        raise UnsupportedMediaType(
            gettext("Send the body as application/json or application/geo+json.")
        )
    try:
        return orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as error:
        raise ValidationFailed(
            {"body": [gettext("The body is not valid JSON (%(reason)s).", reason=str(error))]}
        ) from None
