"""The JSON API: viewport map data and trace submission as GeoJSON (problem details on errors)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_babel import gettext
from flask_login import current_user
from geoalchemy2.shape import to_shape

from app.access import can_view, sees_precisely, viewer_of
from app.auth.sessions import submission_rate_limit, user_rate_key
from app.errors import DomainError, NotFound, ValidationFailed, problem
from app.limits import limiter
from app.openapi import openapi_document
from app.traces import operations, queries
from app.traces.validation import TERM_FIELDS, clean_submission
from geo.geojson import feature, geometry_to_geojson

bp = Blueprint("api", __name__, url_prefix="/api")

# Properties a client may set; anything else (status, author_id, ...) is ignored (no mass
# assignment, docs/security.md item 10).
WRITABLE = (
    "project", "title", "description", "trace_type", "period", "condition", "dating_method",
    "sources", "licence",
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
    """Visible traces in a bounding box: shapes when zoomed in, counted clusters when out."""
    try:
        view = queries.parse_viewport(request.args.get("bbox"), request.args.get("zoom"))
    except ValueError as error:
        return problem(400, gettext("Invalid map query"), str(error), code="bad_viewport")
    viewer = viewer_of(current_user)
    if view.zoom < current_app.config["MAP_CLUSTER_BELOW_ZOOM"]:
        body = queries.map_clusters(view, viewer)
    else:
        body = queries.map_features(view, viewer, current_app.config["MAP_MAX_FEATURES"])
    response = Response(body, mimetype="application/geo+json")
    # What a logged-in user sees includes their own pending traces: never cache it in between.
    response.headers["Cache-Control"] = "private, no-store" if viewer else "public, max-age=30"
    response.vary.add("Cookie")
    return response


@bp.post("/traces")
@limiter.limit(submission_rate_limit, key_func=user_rate_key)
def create_trace() -> tuple[Response, int]:
    """Submit a trace as a GeoJSON Feature; 201 with its URL, or 4xx problem details."""
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
    raw = {name: properties.get(name) for name in WRITABLE}
    submission = clean_submission(raw, payload.get("geometry"))
    trace = operations.submit_trace(current_user, submission)
    url = url_for("traces.show", trace_id=trace.id, _external=True)
    response = jsonify(
        {
            "id": trace.id,
            "url": url,
            "api_url": url_for("api.get_trace", trace_id=trace.id, _external=True),
            "status": trace.status.value,
            "version": trace.version,
        }
    )
    response.headers["Location"] = url
    return response, 201


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
