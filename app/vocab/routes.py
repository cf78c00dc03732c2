"""Editing the controlled vocabularies (stub)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("vocab", __name__, url_prefix="/vocab")


@bp.get("/")
@login_required
def index() -> str:
    """All vocabularies and their terms."""
    return render_template("error.html", status=200, title="Vocabularies", detail="")
