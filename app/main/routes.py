"""The front page map and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import get_locale
from sqlalchemy import select, text

from app.db import db
from app.main import queries
from app.maps import TYPE_FAMILIES, index_map
from app.models import Project

bp = Blueprint("main", __name__)


def _map_filters(locale: str) -> dict[str, object]:
    """The front page's filter choices and the chosen values, as the template reads them.

    Values come from the query string (?type=&period=&project=) so a filtered view can be
    shared; an unknown value is ignored rather than refused, as a stale bookmark may hold one.
    """
    choices = queries.map_filter_choices(locale)
    known = {
        "type": {code for _family, members in choices.type_groups for code, _label in members},
        "period": {code for code, _label in choices.periods},
        "project": {slug for slug, _name in choices.projects},
    }
    chosen = {
        name: value if (value := request.args.get(name, "")) in values else ""
        for name, values in known.items()
    }
    return {
        "type_groups": choices.type_groups,
        "periods": choices.periods,
        "projects": choices.projects,
        "chosen": chosen,
        "active": sum(1 for value in chosen.values() if value),
    }


@bp.get("/")
def index() -> str:
    """The map of traces; data arrives by tile or viewport from /api/map."""
    demo = db.session.execute(
        select(Project.name).where(Project.is_demo.is_(True)).limit(1)
    ).first()
    return render_template(
        "index.html",
        page_map=index_map(),
        has_demo=demo is not None,
        families=TYPE_FAMILIES,
        map_filters=_map_filters(str(get_locale())),
    )


@bp.get("/health")
def health() -> tuple[Response, int]:
    """For load balancers: 200 when the database answers, 503 otherwise."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means unhealthy
        db.session.rollback()
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok"}), 200
