"""Reads of the vocabularies for the editing pages (inactive terms included)."""

from __future__ import annotations

from sqlalchemy import select

from app.db import db
from app.models import Scheme, Term


def all_terms_by_scheme() -> dict[Scheme, list[Term]]:
    """Every term per scheme, active or not, in their set order."""
    grouped: dict[Scheme, list[Term]] = {scheme: [] for scheme in Scheme}
    terms = db.session.execute(
        select(Term).order_by(Term.scheme, Term.sort_order, Term.code)
    ).scalars()
    for term in terms:
        grouped[term.scheme].append(term)
    return grouped


def get_term(term_id: int) -> Term | None:
    """One term by id."""
    return db.session.get(Term, term_id)
