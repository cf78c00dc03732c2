"""Readiness, structured request logs, Prometheus metrics and retention (flask purge)."""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, g, request

from app.observability.logs import (
    REQUEST_ID_HEADER,
    configure_app_logger,
    loggable_path,
    request_id_from,
    request_logger,
)
from app.observability.metrics import Metrics
from app.observability.ready import ReadinessCache


@dataclass(frozen=True)
class Observability:
    """What one app keeps (app.extensions["observability"])."""

    metrics: Metrics
    requests: logging.Logger
    ready: ReadinessCache


def init_app(app: Flask) -> None:
    """Attach the request id, JSON logging, /ready and /metrics to the app."""
    from app.observability.routes import bp

    configure_app_logger(app)
    state = Observability(Metrics(app), request_logger(app), ReadinessCache())
    app.extensions["observability"] = state
    app.register_blueprint(bp)

    def start() -> None:
        """Give the request its id and start its clock."""
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        g.request_started = time.perf_counter()

    def finish(response: Response) -> Response:
        """Send the id back and write the request's line when the response is closed."""
        rid = g.get("request_id") or request_id_from(None)
        response.headers[REQUEST_ID_HEADER] = rid
        user = g.get("_login_user")  # only when the request loaded it: never an extra query
        fields = {
            "request_id": rid,
            "method": request.method,
            # The rule, not the path: /reset-password/<token> is a working link (logs.py).
            **loggable_path(request),
            "status": response.status_code,
            "remote_addr": request.remote_addr,
            "user_id": user.id if getattr(user, "is_authenticated", False) else None,
        }
        started = g.get("request_started") or time.perf_counter()
        # Written when the server closes the response: a streamed export is timed to its end.
        response.call_on_close(functools.partial(_log_request, state, fields, started))
        return response

    # First before anything else, and last after everything else (hooks run in reverse):
    # the id exists for every other hook, and the line holds the status that was sent.
    app.before_request_funcs.setdefault(None, []).insert(0, start)
    app.after_request_funcs.setdefault(None, []).insert(0, finish)


def _log_request(state: Observability, fields: dict[str, Any], started: float) -> None:
    """Time the finished request into the histogram and write its log line."""
    seconds = time.perf_counter() - started
    state.metrics.observe(fields["route"], fields["method"], fields["status"], seconds)
    state.requests.info("request", extra={**fields, "duration_ms": round(seconds * 1000, 1)})
