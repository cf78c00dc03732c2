"""The one blueprint of the trace pages (/traces): new, show, edit and revert.

Defined apart from the view modules so that routes.py and edit_routes.py can both add to it
without importing each other's views.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("traces", __name__, url_prefix="/traces")
