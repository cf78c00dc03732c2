"""Reads for moderation: the queue, its filters, and existing traces near each entry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import g
from sqlalchemy import Integer, Select, any_, func, literal, or_, select, text, true
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import aliased, joinedload, lazyload, load_only

from app.access import (
    display_geometry,
    located_in,
    moderation_scope,
    precise_allowed,
    project_role,
    scope_in_project,
    visible_traces,
)
from app.bbox import in_box
from app.db import db
from app.models import (
    MembershipRole,
    Project,
    Scheme,
    Term,
    Trace,
    TraceStatus,
    User,
)
from app.moderation import geodesy

PAGE_SIZE = 50  # compact rows (issue 10): a page is one screenful of decisions
# "Select all matching the filter" takes at most this many (the oldest), each with its version.
# Every one is a full decision (revision, audit, notification, mail): 500 approvals took 10 s
# in one request on 2 busy cores, 200 keep a bulk decision to a few seconds.
MATCHING_MAX = 200
# The queue counts at most this many entries past the page ("more than 1,000 wait").
COUNT_CAP = 1000
NEARBY_METRES = 100.0
# Degrees of latitude a little over NEARBY_METRES (1 deg of latitude >= 110.5 km), so the GiST
# index narrows the search before the exact distance on the spheroid. Longitude gets this
# divided by the cosine of the entry's latitude farthest from the equator (wider northwards).
# A flat 0.01 deg both ways (1.1 km north-south) fed each entry ~260 candidates in a dense
# town, each tested on the spheroid: 6 ms per entry, 320 ms per page of 50.
_NEARBY_DEGREES_LAT = 0.001


@dataclass
class QueueFilters:
    """What the moderator narrowed the queue to."""

    trace_type: str = ""
    period: str = ""
    author_id: int | None = None
    bbox: tuple[float, float, float, float] | None = None


def _scope(user: User, project: Project) -> tuple[MembershipRole | None, Any]:
    """The user's role in the project and their moderation scope there, looked up once per
    request (the queue page needs them for the count, the page, the contributors and the
    actions)."""
    key = ("moderation_scope", user.id, project.id)
    cached = g.get("_moderation_scope")
    if cached is None or cached[0] != key:
        cached = (key, project_role(user, project.id), scope_in_project(user, project.id))
        g._moderation_scope = cached
    return cached[1], cached[2]


def role_in(user: User, project: Project) -> MembershipRole | None:
    """The user's role in the project (admins count as librarians), once per request."""
    return _scope(user, project)[0]


def _own_excluded(user: User, role: MembershipRole | None):  # noqa: ANN202 - a SQL expression
    """Curators do not see their own entries in the queue (they may not decide on them)."""
    if role == MembershipRole.LIBRARIAN:
        return true()
    return or_(Trace.author_id.is_(None), Trace.author_id != user.id)


def _pending_in_scope(user: User, project: Project) -> list:
    """The conditions every queue read shares: pending, this project, the user's scope."""
    role, scope = _scope(user, project)
    return [
        Trace.project_id == project.id,
        Trace.status == TraceStatus.PENDING,
        scope,
        _own_excluded(user, role),
    ]


def _queue_query(user: User, project: Project, filters: QueueFilters) -> Select:
    query = select(Trace).where(*_pending_in_scope(user, project))
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
        query = query.where(
            in_box(filters.bbox, lambda shape: func.ST_Intersects(Trace.geom, shape))
        )
    return query


# What a compact row, its group and its actions read of an entry (templates/moderation/
# _row.html, _group.html): not the description, the stored shapes or the search vector.
_ROW_COLUMNS = (
    Trace.project_id, Trace.author_id, Trace.title, Trace.status, Trace.version,
    Trace.is_sensitive, Trace.submitted_at, Trace.trace_type_id, Trace.period_id,
)  # fmt: skip


@dataclass
class QueuePage:
    """One page of the queue: its entries (with their geometries) and how many wait."""

    traces: list[Trace]
    geometries: dict[int, str]
    # Exact when `capped` is false; otherwise more than `total` wait (counting stops there).
    total: int
    capped: bool
    # (id, version) of the oldest MATCHING_MAX entries matching the filters, as they were
    # when the page was read: "all matching" decides only those, at those versions (later
    # entries and later edits are refused). Empty when the page shows every match.
    matching: list[tuple[int, int]] = field(default_factory=list)


def queue(user: User, project: Project, filters: QueueFilters, page: int = 1) -> QueuePage:
    """Pending traces in the user's scope, oldest first, one page, and how many in all.

    Counting 100,000 pending rows exactly costs more than the whole page, and nobody pages
    through them: the count stops COUNT_CAP entries past this page's start.
    """
    query = _queue_query(user, project, filters)
    offset = (max(page, 1) - 1) * PAGE_SIZE
    bound = offset + COUNT_CAP + 1
    count = select(func.count()).select_from(
        # In queue order, so the planner walks ix_traces_pending_queue (index-only) rather
        # than a sequential scan that happens upon enough pending rows.
        query.with_only_columns(Trace.submitted_at)
        .order_by(Trace.submitted_at)
        .limit(bound)
        .subquery()
    )
    rows = db.session.execute(
        # The count rides along with the page (one round trip, evaluated once).
        query.add_columns(func.ST_AsGeoJSON(Trace.geom, 7), count.scalar_subquery())
        # The project is the queue's own, already loaded: not joined into every row.
        .options(load_only(*_ROW_COLUMNS), joinedload(Trace.author), lazyload(Trace.project))
        .order_by(Trace.submitted_at, Trace.id)
        .limit(PAGE_SIZE)
        .offset(offset)
    ).all()
    # Past the last page there is no row to carry the count.
    counted = rows[0][2] if rows else db.session.execute(count).scalar_one()
    capped = counted == bound
    total = counted - 1 if capped else counted
    return QueuePage(
        [row[0] for row in rows],
        {row[0].id: row[1] for row in rows},
        total,
        capped,
        # "All matching" is only worth offering when more match than this page shows.
        _matching(query) if capped or total > len(rows) else [],
    )


def _matching(query: Select) -> list[tuple[int, int]]:
    """(id, version) of the oldest MATCHING_MAX entries of the queue query, as they are now,
    in one row: pairs in one two-dimensional array that psycopg reads in C (200 result rows
    cost ~1 ms more in SQLAlchemy).

    Taken when the page is rendered and carried by its form, so "all matching" decides only
    what was there then, at the versions of then: later entries and later edits are refused.
    """
    oldest = (
        query.with_only_columns(Trace.id, Trace.version, Trace.submitted_at)
        .order_by(Trace.submitted_at, Trace.id)
        .limit(MATCHING_MAX)
        .subquery()
    )
    pairs = postgresql.array([oldest.c.id, oldest.c.version])
    # Untyped on purpose: an ARRAY type would make SQLAlchemy walk every item in Python.
    found = db.session.execute(
        select(func.array_agg(aggregate_order_by(pairs, oldest.c.submitted_at, oldest.c.id)))
    ).scalar_one()
    return [(trace_id, version) for trace_id, version in found or []]


def pending_entry(user: User, project: Project, trace_id: int) -> QueuePage:
    """One pending entry of the user's queue (for its expanded part), or an empty page."""
    rows = db.session.execute(
        _queue_query(user, project, QueueFilters())
        .where(Trace.id == trace_id)
        .add_columns(func.ST_AsGeoJSON(Trace.geom, 7))
        .options(joinedload(Trace.author))
    ).all()
    return QueuePage(
        [row[0] for row in rows], {row[0].id: row[1] for row in rows}, len(rows), False
    )


def queue_contributors(user: User, project: Project) -> list[tuple[int, str]]:
    """The people with pending traces in the user's scope, for the contributor filter.

    A skip scan over ix_traces_author (author_id, status): one index probe per contributor
    instead of grouping every pending row (tens of thousands in a national project).
    """
    conditions = [
        Trace.project_id == project.id,
        Trace.status == TraceStatus.PENDING,
        _scope(user, project)[1],
    ]
    first = select(func.min(Trace.author_id).label("aid")).where(*conditions)
    authors = first.cte("authors", recursive=True)
    following = (
        select(func.min(Trace.author_id))
        .where(*conditions, Trace.author_id > authors.c.aid)
        .correlate(authors)
        .scalar_subquery()
    )
    authors = authors.union_all(select(following.label("aid")).where(authors.c.aid.is_not(None)))
    rows = db.session.execute(
        select(User.id, User.display_name)
        .join(authors, authors.c.aid == User.id)
        .order_by(User.display_name, User.id)
    )
    return [(row.id, row.display_name) for row in rows]


@dataclass(frozen=True)
class NearbyProject:
    """The project of a neighbouring trace, as far as the queue names it."""

    name: str


@dataclass(frozen=True)
class NearbyTrace:
    """What the queue and its groups show of a neighbouring trace (read as plain columns:
    up to 250 a page, and whole ORM entities cost more than finding them)."""

    id: int
    title: str
    status: TraceStatus
    project_id: int
    version: int
    project: NearbyProject


@dataclass
class Neighbour:
    """An existing trace near a queue entry."""

    trace: NearbyTrace
    metres: float
    geometry_json: str
    # Whether the moderator may mark the entry as its duplicate (they moderate it too).
    may_link: bool = False


def _around(geom: Any, metres: float) -> Any:
    """The geometry's box grown by a little more than `metres` each way (a SQL expression)."""
    dy = _NEARBY_DEGREES_LAT * max(metres, 1.0) / NEARBY_METRES
    farthest = func.greatest(func.abs(func.ST_YMax(geom)), func.abs(func.ST_YMin(geom)))
    # cos(89 deg) at the most: a shape at a pole still gets a finite box.
    dx = dy / func.cos(func.radians(func.least(farthest, 89.0)))
    return func.ST_Expand(geom, dx, dy)


def _local_metres(a: Any, b: Any) -> Any:
    """The distance in metres between two lon/lat shapes a short way apart (SQL): both
    scaled to a local plane at their middle latitude, as groups.distance_m measures.

    The same as PostGIS's distance on the spheroid to a few millimetres at 100 m (tested),
    at a third of its cost: each geography cast and spheroid distance took ~10 us, and a
    page of 50 entries tests ~500 candidates.
    """
    south = func.least(func.ST_YMin(a), func.ST_YMin(b))
    lat = (south + func.greatest(func.ST_YMax(a), func.ST_YMax(b))) / 2.0
    kx, ky = geodesy.metres_per_degree_sql(lat)
    return func.ST_Distance(func.ST_Scale(a, kx, ky), func.ST_Scale(b, kx, ky))


# The page's entries, as a plain table alias made once: aliased(Trace) built ~45 column
# proxies on every call (a fifth of nearby()'s Python time).
_ENTRY = Trace.__table__.alias("entry")


def nearby(
    traces: list[Trace], viewer: User, metres: float = NEARBY_METRES
) -> dict[int, list[Neighbour]]:
    """For each trace, up to five other visible, non-deleted traces within `metres`, nearest
    first, with what the queue shows of them, in one query (a LATERAL join over the page)."""
    if not traces:
        return {}
    # The planner prices each entry's spatial probe far above what it costs (~0.2 ms), so at
    # 1M traces the page's estimate passes jit_above_cost and JIT compilation took 1.5 s of a
    # 1.5 s query. Off for the rest of this read-only transaction.
    db.session.execute(text("SET LOCAL jit = off"))
    entries = (
        select(_ENTRY.c.id.label("eid"), _ENTRY.c.geom.label("egeom"))
        # One array parameter, not 50: a shorter statement that psycopg can keep parsed.
        .where(_ENTRY.c.id == any_(literal([t.id for t in traces], ARRAY(Integer))))
        .subquery()
    )
    # Neighbours the moderator may not see precisely (sensitive traces of other projects)
    # are measured at their public point, so the hint never leaks a protected location.
    precise = precise_allowed(viewer)
    shown = display_geometry(precise)
    # Each candidate's shown geometry and distance worked out once (not once per use: the
    # geometry holds a membership probe, the distance four scalings).
    candidates = (
        select(
            Trace.id.label("nid"),
            Trace.title,
            Trace.status,
            Trace.project_id,
            Trace.version,
            moderation_scope(viewer).label("mine"),
            shown.label("shown"),
        )  # fmt: skip
        .where(
            Trace.id != entries.c.eid,
            Trace.status != TraceStatus.DELETED,
            visible_traces(viewer),
            located_in(precise, _around(entries.c.egeom, metres)),
        )
        .offset(0)  # keeps PostgreSQL from inlining it (and the CASE into every use)
        .correlate(entries)
        .subquery("candidate")
    )
    measured = (
        select(
            *[c for c in candidates.c if c.name != "shown"],
            _local_metres(candidates.c.shown, entries.c.egeom).label("metres"),
            func.ST_AsGeoJSON(candidates.c.shown, 7).label("geometry"),
        )
        .offset(0)
        .correlate(entries)
        .subquery("measured")
    )
    near = (
        select(measured)
        .where(measured.c.metres <= metres)
        .order_by(measured.c.metres)
        .limit(5)
        .correlate(entries)
        .lateral()
    )
    rows = db.session.execute(
        select(entries.c.eid, near, Project.name.label("project_name"))
        .select_from(entries.join(near, true()).join(Project, Project.id == near.c.project_id))
        .order_by(entries.c.eid, near.c.metres)
    ).all()
    names: dict[str, NearbyProject] = {}
    result: dict[int, list[Neighbour]] = {t.id: [] for t in traces}
    for row in rows:
        project = names.setdefault(row.project_name, NearbyProject(row.project_name))
        found = NearbyTrace(row.nid, row.title, row.status, row.project_id, row.version, project)
        result[row.eid].append(Neighbour(found, float(row.metres), row.geometry, bool(row.mine)))
    return result


def pending_count(user: User, project: Project) -> tuple[int, bool]:
    """How many traces wait for this user in this project, and whether counting stopped at
    COUNT_CAP (then more than that many wait)."""
    bound = COUNT_CAP + 1
    counted = db.session.execute(
        select(func.count()).select_from(
            select(Trace.submitted_at)
            .where(*_pending_in_scope(user, project))
            .order_by(Trace.submitted_at)
            .limit(bound)
            .subquery()
        )
    ).scalar_one()
    return (COUNT_CAP, True) if counted == bound else (counted, False)
