"""A contributor's own pages: my traces with their status and messages (stub)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("me", __name__, url_prefix="/me")


@bp.get("/traces")
@login_required
def traces() -> str:
    """The user's traces and notifications."""
    return render_template("error.html", status=200, title="My traces", detail="")
