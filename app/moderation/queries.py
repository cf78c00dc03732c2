"""Reads for moderation: the queue, its filters, and existing traces near each entry."""

from __future__ import annotations

from dataclasses import dataclass

from geoalchemy2 import Geography
from sqlalchemy import Select, and_, func, or_, select, true
from sqlalchemy.orm import aliased

from app.access import (
    display_geometry,
    located_in,
    precise_allowed,
    project_role,
    scope_in_project,
    visible_traces,
)
from app.db import db
from app.models import MembershipRole, Project, Scheme, Term, Trace, TraceStatus, User

PAGE_SIZE = 20
NEARBY_METRES = 100.0
# A bounding box comfortably larger than 100 m at any Norwegian latitude (71 N: 1 deg lon ~ 36 km),
# so the GiST index narrows the search before the exact distance on the spheroid.
_NEARBY_DEGREES = 0.01


@dataclass
class QueueFilters:
    """What the moderator narrowed the queue to."""

    trace_type: str = ""
    period: str = ""
    author_id: int | None = None
    bbox: tuple[float, float, float, float] | None = None


def _own_excluded(user: User, project: Project):  # noqa: ANN202 - a SQL expression
    """Curators do not see their own entries in the queue (they may not decide on them)."""
    if project_role(user, project.id) == MembershipRole.LIBRARIAN:
        return true()
    return or_(Trace.author_id.is_(None), Trace.author_id != user.id)


def _queue_query(user: User, project: Project, filters: QueueFilters) -> Select:
    query = select(Trace).where(
        Trace.project_id == project.id,
        Trace.status == TraceStatus.PENDING,
        scope_in_project(user, project.id),
        _own_excluded(user, project),
    )
    for code, column, scheme in (
        (filters.trace_type, Trace.trace_type_id, Scheme.TRACE_TYPE),
        (filters.period, Trace.period_id, Scheme.PERIOD),
    ):
        if code:
            term = aliased(Term)
            query = query.join(term, term.id == column).where(
                term.code == code, term.scheme == scheme
            )
    if filters.author_id:
        query = query.where(Trace.author_id == filters.author_id)
    if filters.bbox:
        west, south, east, north = filters.bbox
        query = query.where(
            func.ST_Intersects(Trace.geom, func.ST_MakeEnvelope(west, south, east, north, 4326))
        )
    return query


def queue(
    user: User, project: Project, filters: QueueFilters, page: int = 1
) -> tuple[list[Trace], int]:
    """Pending traces in the user's scope, oldest first, one page, and how many in all."""
    query = _queue_query(user, project, filters)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    traces = (
        db.session.execute(
            query.order_by(Trace.submitted_at, Trace.id)
            .limit(PAGE_SIZE)
            .offset((max(page, 1) - 1) * PAGE_SIZE)
        )
        .scalars()
        .all()
    )
    return list(traces), total


def queue_contributors(user: User, project: Project) -> list[tuple[int, str]]:
    """The people with pending traces in the user's scope, for the contributor filter."""
    rows = db.session.execute(
        select(User.id, User.display_name)
        .join(Trace, Trace.author_id == User.id)
        .where(
            Trace.project_id == project.id,
            Trace.status == TraceStatus.PENDING,
            scope_in_project(user, project.id),
        )
        .group_by(User.id, User.display_name)
        .order_by(User.display_name)
    )
    return [(row.id, row.display_name) for row in rows]


@dataclass
class Neighbour:
    """An existing trace near a queue entry."""

    trace: Trace
    metres: float
    geometry_json: str


def nearby(trace: Trace, viewer: User, metres: float = NEARBY_METRES) -> list[Neighbour]:
    """Other visible, non-deleted traces within `metres` of `trace`, nearest first."""
    here = select(Trace.geom).where(Trace.id == trace.id).scalar_subquery()
    # Neighbours the moderator may not see precisely (sensitive traces of other projects)
    # are measured at their public point, so the hint never leaks a protected location.
    precise = precise_allowed(viewer)
    shown = display_geometry(precise)
    distance = func.ST_Distance(shown.cast(Geography), here.cast(Geography))
    rows = db.session.execute(
        select(Trace, distance.label("metres"), func.ST_AsGeoJSON(shown, 7))
        .where(
            Trace.id != trace.id,
            Trace.status != TraceStatus.DELETED,
            visible_traces(viewer),
            located_in(precise, func.ST_Expand(here, _NEARBY_DEGREES)),
            func.ST_DWithin(shown.cast(Geography), here.cast(Geography), metres),
        )
        .order_by(distance)
        .limit(5)
    ).all()
    return [Neighbour(row[0], float(row[1]), row[2]) for row in rows]


def geometry_json(trace: Trace) -> str:
    """A trace's geometry as GeoJSON text, built by PostGIS."""
    return db.session.execute(
        select(func.ST_AsGeoJSON(Trace.geom, 7)).where(Trace.id == trace.id)
    ).scalar_one()


def pending_count(user: User, project: Project) -> int:
    """How many traces wait for this user in this project."""
    return db.session.execute(
        select(func.count()).where(
            and_(
                Trace.project_id == project.id,
                Trace.status == TraceStatus.PENDING,
                scope_in_project(user, project.id),
                _own_excluded(user, project),
            )
        )
    ).scalar_one()
