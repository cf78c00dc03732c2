"""Editing a trace, its history, and reverting to a revision (stub)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("revisions", __name__, url_prefix="/traces")
