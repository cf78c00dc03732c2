"""Photo upload, serving and later additions (thin views over operations and queries)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("photos", __name__)
