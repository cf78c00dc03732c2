"""GET /api/where: which projects take a point, for the new-trace form (filled in by issue 8)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("where", __name__, url_prefix="/api")
