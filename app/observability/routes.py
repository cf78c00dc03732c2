"""GET /ready (for load balancers and orchestrators) and GET /metrics (for Prometheus)."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

bp = Blueprint("observability", __name__)


def _no_store(response: Response) -> Response:
    """Tell every cache not to keep the answer (it is about this moment)."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/ready")
def ready() -> tuple[Response, int]:
    """200 when the database, Redis (if configured) and media storage all answer, else 503."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    # This process's result of the last CACHE_SECONDS: a flood does not write to storage.
    ok, checks = app.extensions["observability"].ready.get(app)
    if ok:
        return _no_store(jsonify({"status": "ready", "checks": checks})), 200
    failing = [name for name, result in checks.items() if result.startswith("failed")]
    body = {"status": "unavailable", "failing": failing, "checks": checks}
    return _no_store(jsonify(body)), 503


@bp.get("/metrics")
def metrics() -> Response | tuple[Response, int]:
    """Prometheus text format, only with `Authorization: Bearer <METRICS_TOKEN>`."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)  # not switched on: the address does not exist
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        refused = Response("Unauthorized\n", status=401, mimetype="text/plain")
        refused.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return _no_store(refused)
    body = current_app.extensions["observability"].metrics.render()
    return _no_store(Response(body, mimetype=None, content_type=CONTENT_TYPE_LATEST))
