"""Reads of the vocabularies for the editing pages (inactive terms included)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from app.db import db
from app.models import AuditEvent, Scheme, Term, Trace, User

SUGGESTIONS_SHOWN = 20


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


@dataclass(frozen=True)
class Impact:
    """What changing a term's sensitive flag would do: traces whose protection changes."""

    exposes: bool  # True: the traces lose their protection; False: they gain it
    traces: int
    projects: int


def sensitivity_impact(term: Term, sensitive: bool) -> Impact:
    """How many traces (in how many projects) would change is_sensitive if the term's flag
    became `sensitive`, counted in SQL by the same rule as the database trigger.

    A trace changes only when no override decides for it and its other term (type or
    period) does not keep it sensitive anyway. Call before the term is changed in the session.
    """
    exposes = not sensitive
    if sensitive == term.sensitive:
        return Impact(exposes, 0, 0)
    other = aliased(Term)
    changing = and_(
        or_(Trace.trace_type_id == term.id, Trace.period_id == term.id),
        Trace.sensitivity_override.is_(None),
        Trace.is_sensitive.is_(exposes),
        ~exists().where(
            other.sensitive,
            other.id != term.id,
            other.id.in_([Trace.trace_type_id, Trace.period_id]),
        ),
    )
    traces, projects = db.session.execute(
        select(func.count(), func.count(func.distinct(Trace.project_id))).where(changing)
    ).one()
    return Impact(exposes, traces, projects)


@dataclass(frozen=True)
class Suggestion:
    """A curator's suggested change to a term, as recorded in the audit log."""

    author: str
    text: str
    created_at: datetime


def suggestions_for(term_id: int) -> list[Suggestion]:
    """The latest suggested changes to one term, newest first."""
    rows = db.session.execute(
        select(AuditEvent.reason, AuditEvent.created_at, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            AuditEvent.action == "vocab.change_suggested",
            AuditEvent.target_type == "term",
            AuditEvent.target_id == term_id,
        )
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(SUGGESTIONS_SHOWN)
    ).all()
    return [Suggestion(author=name or "?", text=text, created_at=at) for text, at, name in rows]
