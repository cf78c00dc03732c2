"""The moderation queue and decisions (stub)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


@bp.get("/")
@login_required
def index() -> str:
    """The projects this user moderates."""
    return render_template("error.html", status=200, title="Moderation", detail="")
