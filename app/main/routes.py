"""The front page map and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template
from sqlalchemy import select, text

from app.db import db
from app.maps import index_map
from app.models import Project

bp = Blueprint("main", __name__)


@bp.get("/")
def index() -> str:
    """The map of traces; data arrives by viewport from /api/map."""
    demo = db.session.execute(
        select(Project.name).where(Project.is_demo.is_(True)).limit(1)
    ).first()
    return render_template("index.html", page_map=index_map(), has_demo=demo is not None)


@bp.get("/health")
def health() -> tuple[Response, int]:
    """For load balancers: 200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"}), 200
