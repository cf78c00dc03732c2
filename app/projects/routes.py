"""Projects: list, create, edit, and the members and their rights (stub, to be completed)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("projects", __name__, url_prefix="/projects")


@bp.get("/")
def index() -> str:
    """All projects."""
    return render_template("error.html", status=200, title="Projects", detail="")
