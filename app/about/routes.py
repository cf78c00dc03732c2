"""Privacy statement, accessibility statement and about pages (built from configuration)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("about", __name__)
