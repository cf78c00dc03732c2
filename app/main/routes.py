"""The front page map and the health check."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template, request
from flask_babel import get_locale
from sqlalchemy import select, text

from app.db import db
from app.maps import TYPE_FAMILIES, index_map, type_family
from app.models import Project, Scheme, Term

bp = Blueprint("main", __name__)


def _map_filters(locale: str) -> dict[str, object]:
    """The front page's filter choices (types grouped by colour family) and the chosen values.

    Values come from the query string (?type=&period=&project=) so a filtered view can be
    shared; an unknown value is ignored rather than refused, as a stale bookmark may hold one.
    """
    terms = db.session.execute(
        select(Term.scheme, Term.code, Term.label_nb, Term.label_nn, Term.label_en, Term.label_se)
        .where(Term.is_active.is_(True), Term.scheme.in_([Scheme.TRACE_TYPE, Scheme.PERIOD]))
        .order_by(Term.scheme, Term.sort_order, Term.code)
    ).all()
    projects = db.session.execute(
        select(Project.slug, Project.name).order_by(Project.is_demo, Project.name)
    ).all()

    def label(row: object) -> str:
        return getattr(row, f"label_{locale}", None) or row.label_nb  # type: ignore[attr-defined]

    groups: dict[str, list[tuple[str, str]]] = {family.key: [] for family in TYPE_FAMILIES}
    periods: list[tuple[str, str]] = []
    for row in terms:
        if row.scheme == Scheme.TRACE_TYPE:
            groups[type_family(row.code).key].append((row.code, label(row)))
        else:
            periods.append((row.code, label(row)))
    type_groups = [(family, groups[family.key]) for family in TYPE_FAMILIES if groups[family.key]]
    known = {
        "type": {code for _family, members in type_groups for code, _label in members},
        "period": {code for code, _label in periods},
        "project": {slug for slug, _name in projects},
    }
    chosen = {
        name: value if (value := request.args.get(name, "")) in values else ""
        for name, values in known.items()
    }
    return {
        "type_groups": type_groups,
        "periods": periods,
        "projects": [(slug, name) for slug, name in projects],
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
