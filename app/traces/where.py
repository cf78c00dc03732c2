"""GET /api/where: which open projects take a point, those whose area contains it first."""

from __future__ import annotations

import math

from flask import Blueprint, Response, jsonify, request
from flask_babel import gettext

from app.errors import InvalidParameter
from app.traces.placement import projects_at

bp = Blueprint("where", __name__, url_prefix="/api")


def _coordinate(name: str, limit: float) -> float:
    raw = request.args.get(name, "")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidParameter.named(name, gettext("Give a number in decimal degrees.")) from None
    if not math.isfinite(value) or abs(value) > limit:
        raise InvalidParameter.named(
            name, gettext("Give a number between -%(limit)s and %(limit)s.", limit=int(limit))
        )
    return value


@bp.get("/where")
def where() -> Response:
    """{"projects": [{"slug", "name", "contains", "has_area"}]} for ?lon=&lat=."""
    lon, lat = _coordinate("lon", 180.0), _coordinate("lat", 90.0)
    response = jsonify({"projects": projects_at(lon, lat)})
    # The same for everyone: open projects and their areas change rarely.
    response.headers["Cache-Control"] = "public, max-age=60"
    return response
