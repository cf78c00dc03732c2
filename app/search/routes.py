"""GET /api/search: traces and places for the map's search box; GET /search without script."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from app.access import viewer_of
from app.bbox import bbox_message
from app.errors import InvalidParameter
from app.params import clamped_whole_number
from app.search import geocoder
from app.search.queries import Query, clean_query, prepare, search_places, search_traces
from geo.bbox import BBoxError, parse_bbox

bp = Blueprint("search", __name__, url_prefix="/api")
# The page for browsers without script lives outside /api (problem details are for /api).
page_bp = Blueprint("search_page", __name__)
bp.record_once(lambda state: state.app.register_blueprint(page_bp))

DEFAULT_LIMIT = 8
MAX_LIMIT = 30


def _box() -> tuple[float, float, float, float] | None:
    raw = request.args.get("bbox", "")
    if not raw.strip():
        return None
    try:
        return tuple(parse_bbox(raw, view=True))  # type: ignore[return-value]
    except BBoxError as error:
        raise InvalidParameter.named("bbox", bbox_message(error)) from None


def _limit() -> int:
    number = clamped_whole_number(request.args.get("limit", ""))
    return DEFAULT_LIMIT if number is None else max(1, min(number, MAX_LIMIT))


def run_search(query: Query, box: Any, limit: int) -> dict[str, Any]:
    """Traces and places for a cleaned query: the one search behind the API and the page."""
    config = current_app.config
    pending = None
    if config.get("GEOCODER_URL") and not query.empty:
        pending = geocoder.ask_later(
            config["GEOCODER_URL"], query.text, limit, config["GEOCODER_TIMEOUT"]
        )
    viewer = viewer_of(current_user)
    if not query.empty:
        prepare()
    traces = search_traces(query, viewer, box, limit)
    places = search_places(query, box, limit)
    if pending is not None:
        places = geocoder.merge(
            places, geocoder.result_of(pending, config["GEOCODER_TIMEOUT"]), limit
        )
    for trace in traces:
        trace["url"] = url_for("traces.show", trace_id=trace["id"])
    body: dict[str, Any] = {
        "query": query.text,
        "cut": query.cut,
        "traces": traces,
        "places": places,
    }
    if query.cut:
        body["note"] = gettext(
            "The search was cut to its first %(count)s characters.",
            count=config["SEARCH_MAX_CHARS"],
        )
    return body


@bp.get("/search")
def search() -> Response:
    """Traces visible to the viewer and places matching q, best first (200 for any text)."""
    query = clean_query(request.args.get("q", ""), current_app.config["SEARCH_MAX_CHARS"])
    body = run_search(query, _box(), _limit())
    response = jsonify(body)
    # What a logged-in user finds includes their own pending traces: never share it.
    anonymous = viewer_of(current_user) is None
    response.headers["Cache-Control"] = "public, max-age=60" if anonymous else "private, no-store"
    response.vary.add("Cookie")
    return response


@page_bp.get("/search")
def results() -> str:
    """The search without script: the same results as a page of links."""
    query = clean_query(request.args.get("q", ""), current_app.config["SEARCH_MAX_CHARS"])
    try:
        box = _box()
    except InvalidParameter:
        box = None  # a page keeps working with a mangled view; it only loses the preference
    body = run_search(query, box, _limit())
    return render_template("search/results.html", **body)
