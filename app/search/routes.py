"""GET /api/search: traces and places for the map's search box."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("search", __name__, url_prefix="/api")
