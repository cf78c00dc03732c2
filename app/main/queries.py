"""Reads for the front page: the map's filter choices."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.db import db
from app.maps import TYPE_FAMILIES, TypeFamily, type_family
from app.models import Project, Scheme, Term


@dataclass(frozen=True)
class FilterChoices:
    """What the map's filters offer: (code, label) pairs, types grouped by colour family."""

    type_groups: list[tuple[TypeFamily, list[tuple[str, str]]]]
    periods: list[tuple[str, str]]
    projects: list[tuple[str, str]]  # (slug, name), every project: a closed one still has traces


def map_filter_choices(locale: str) -> FilterChoices:
    """The active trace types (by family) and periods labelled in `locale`, and the projects."""
    terms = db.session.execute(
        select(Term)
        .where(Term.is_active.is_(True), Term.scheme.in_([Scheme.TRACE_TYPE, Scheme.PERIOD]))
        .order_by(Term.scheme, Term.sort_order, Term.code)
    ).scalars()
    groups: dict[str, list[tuple[str, str]]] = {family.key: [] for family in TYPE_FAMILIES}
    periods: list[tuple[str, str]] = []
    for term in terms:
        if term.scheme == Scheme.TRACE_TYPE:
            groups[type_family(term.code).key].append((term.code, term.label(locale)))
        else:
            periods.append((term.code, term.label(locale)))
    projects = db.session.execute(
        select(Project.slug, Project.name).order_by(Project.is_demo, Project.name)
    ).all()
    return FilterChoices(
        type_groups=[(f, groups[f.key]) for f in TYPE_FAMILIES if groups[f.key]],
        periods=periods,
        projects=[(slug, name) for slug, name in projects],
    )
