"""Map clusters on the precomputed cell grid: public cells from map_cells, the viewer's extras
on top, filters computed on the fly on the very same grid.

The grid (geo.cells) is the one of the map_cells trigger: everything here works on rectangles
of cells (`CellRange`), a tile is one, a map view is one or two (across 180°).

Who sees what (app.access): the public set is the approved traces, counted at their public
point when protected. A logged-in viewer also sees what only they may see, added from small
indexed sets: their own traces that are not approved (nor deleted), and the pending traces they
moderate (the queue; rejected or withdrawn traces of others appear from the cluster zoom on,
as shapes). Admins see every trace that is neither approved nor deleted, bounded by the view.
Extras are shown at their precise point: the viewer may see it for every one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Numeric,
    ScalarSelect,
    Select,
    Text,
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.orm import aliased

from app.access import MODERATOR_ROLES, is_admin, located_in
from app.db import db
from app.models import Membership, Photo, Place, Trace, TraceStatus, User
from app.models.maps import MAX_CELL_ZOOM, MapCell
from app.photos.queries import public_photo_condition
from geo.cells import CELLS_PER_TILE_SIDE, CellRange

_EMPTY = literal("[]").cast(JSON)
# Last-Modified of a tile without any cell row: a fixed date, so repeats stay cacheable.
EPOCH = datetime(2026, 1, 1)


@dataclass(frozen=True)
class MapFilter:
    """The map's optional filters, resolved to ids: a trace type, a period, a project."""

    type_id: int | None = None
    period_id: int | None = None
    project_id: int | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.type_id, self.period_id, self.project_id))

    def conditions(self) -> list[ColumnElement[bool]]:
        """The filters as SQL conditions on traces."""
        pairs = (
            (Trace.trace_type_id, self.type_id),
            (Trace.period_id, self.period_id),
            (Trace.project_id, self.project_id),
        )
        return [column == value for column, value in pairs if value is not None]


NO_FILTER = MapFilter()


# --- the points that make up clusters ---------------------------------------------------------


def _public_point():  # noqa: ANN202 - a SQL expression
    """Where the public sees a trace: as the trigger counts it (public point when protected)."""
    return case((Trace.is_sensitive, Trace.public_geom), else_=func.ST_PointOnSurface(Trace.geom))


def _in_ranges(x, y, ranges: list[CellRange]) -> ColumnElement[bool]:  # noqa: ANN001
    """SQL: the point (x, y) falls in one of the cell rectangles (the grid's own functions)."""
    tests = []
    for r in ranges:
        cx = func.heritage_cell_x(x, r.zoom)
        cy = func.heritage_cell_y(y, r.zoom)
        tests.append(and_(cx.between(r.x0, r.x1), cy.between(r.y0, r.y1)))
    return or_(*tests)


def _in_envelopes(precise, ranges: list[CellRange]) -> ColumnElement[bool]:  # noqa: ANN001
    """SQL: the shown geometry meets one of the ranges' envelopes (uses the GiST indexes)."""
    return or_(*(located_in(precise, func.ST_MakeEnvelope(*r.bounds(), 4326)) for r in ranges))


def _points(point, precise, where: list, ranges: list[CellRange]) -> Select:  # noqa: ANN001
    """Rows (id, x, y, updated_at) of the traces meeting `where` whose point is in the ranges."""
    inner = (
        select(
            Trace.id.label("id"),
            func.ST_X(point).label("x"),
            func.ST_Y(point).label("y"),
            Trace.updated_at.label("updated_at"),
        )
        .where(*where, _in_envelopes(precise, ranges))
        # OFFSET keeps PostgreSQL from inlining the subquery, which would compute each
        # point again in every test on it (a filtered z6 tile at 1M: 590 -> 330 ms).
        .offset(0)
        .subquery()
    )
    return select(inner).where(_in_ranges(inner.c.x, inner.c.y, ranges))


def public_points(ranges: list[CellRange], filters: list) -> Select:
    """The approved traces (with the filters) in the ranges, at their public point."""
    where = [
        Trace.status == TraceStatus.APPROVED,
        or_(not_(Trace.is_sensitive), Trace.public_geom.is_not(None)),
        *filters,
    ]
    return _points(_public_point(), false(), where, ranges)


def extra_condition(viewer: User) -> ColumnElement[bool]:
    """SQL: the traces this viewer sees beyond the public set, on the low-zoom map."""
    hidden = Trace.status.not_in([TraceStatus.APPROVED, TraceStatus.DELETED])
    if is_admin(viewer):
        return hidden
    projects = list(
        db.session.execute(
            select(Membership.project_id).where(
                Membership.user_id == viewer.id,
                Membership.revoked_at.is_(None),
                Membership.role.in_(MODERATOR_ROLES),
            )
        ).scalars()
    )
    own = and_(Trace.author_id == viewer.id, hidden)  # ix_traces_author
    if not projects:
        return own
    # The queue: pending in the viewer's projects (ix_traces_pending_queue), within their area.
    area = or_(Membership.area.is_(None), func.ST_Intersects(Membership.area, Trace.geom))
    moderated = (
        select(Membership.id)
        .where(
            Membership.user_id == viewer.id,
            Membership.revoked_at.is_(None),
            Membership.project_id == Trace.project_id,
            Membership.role.in_(MODERATOR_ROLES),
            area,
        )
        .exists()
    )
    queue = and_(Trace.status == TraceStatus.PENDING, Trace.project_id.in_(projects), moderated)
    return or_(own, queue)


def extra_points(viewer: User, ranges: list[CellRange], filters: list) -> Select:
    """What only this viewer sees, in the ranges, at its precise point.

    Every extra is the viewer's own, in their moderation scope, or seen by an admin: all of
    them may see the precise location, so no per-row check of rights is needed here.
    """
    point = func.ST_PointOnSurface(Trace.geom)
    return _points(point, true(), [extra_condition(viewer), *filters], ranges)


# --- the first public photo of a trace, for popups and the list ----------------------------------


def first_public_photo(trace_id) -> ScalarSelect:  # noqa: ANN001 - a SQL expression
    """SQL: the trace's first photo anyone may see (by position) as JSON, or NULL.

    Only the public rule (public_photo_condition(False)), whoever asks: public tiles are
    cached by shared caches, and a signed-in viewer's own pending traces go without one.
    A comment's photo is not the trace's. One probe of ix_photos_trace per trace.
    """
    return (
        select(
            func.json_build_object(
                # The address photo_path() gives, built here in SQL: /photos/<id>/thumb.
                "src", func.concat("/photos/", Photo.id, "/thumb"),
                "width", Photo.thumb_width,
                "height", Photo.thumb_height,
                "alt", Photo.caption,
            )
        )
        .select_from(Photo)
        .join(Trace, Trace.id == Photo.trace_id)
        .where(
            Photo.trace_id == trace_id, Photo.comment_id.is_(None), public_photo_condition(False)
        )
        .order_by(Photo.position, Photo.id)
        .limit(1)
        .scalar_subquery()
    )  # fmt: skip


def first_public_photo_sql(trace_id_sql: str) -> str:
    """first_public_photo as SQL text, for the fixed statements of the hot paths."""
    statement = first_public_photo(literal_column(trace_id_sql))
    return str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )


# --- cells into a FeatureCollection ------------------------------------------------------------


def _stored_cells(ranges: list[CellRange]) -> Select:
    """The precomputed public cells of the ranges (primary-key range scans)."""
    return select(
        MapCell.cx.label("cx"),
        MapCell.cy.label("cy"),
        MapCell.n.label("n"),
        MapCell.sum_x.label("sx"),
        MapCell.sum_y.label("sy"),
        MapCell.sum_id.label("sid"),
        MapCell.updated_at.label("updated_at"),
    ).where(
        or_(
            *(
                and_(
                    MapCell.zoom == r.zoom,
                    MapCell.cx.between(r.x0, r.x1),
                    MapCell.cy.between(r.y0, r.y1),
                )
                for r in ranges
            )
        )
    )


def _cells_of(points: Select, zoom: int) -> Select:
    """Points aggregated to cells, in the columns of _stored_cells."""
    p = points.subquery()
    cx = func.heritage_cell_x(p.c.x, zoom)
    cy = func.heritage_cell_y(p.c.y, zoom)
    return select(
        cx.label("cx"),
        cy.label("cy"),
        func.count().label("n"),
        func.sum(p.c.x).label("sx"),
        func.sum(p.c.y).label("sy"),
        func.sum(p.c.id).label("sid"),
        func.max(p.c.updated_at).label("updated_at"),
    ).group_by(cx, cy)


# The hot path (an anonymous tile without filters) as one fixed statement: nothing to build
# in Python per request, and PostgreSQL writes the JSON. Same answer as _collection's.
_PUBLIC_TILE = text(
    (  # noqa: S608 - the inserted part is SQL compiled from our own constructs, no input
        """
    SELECT json_build_object(
             'type', 'FeatureCollection',
             'features', coalesce(json_agg(json_build_object(
                 'type', 'Feature',
                 'geometry', json_build_object('type', 'Point', 'coordinates',
                     json_build_array(round((c.sum_x / c.n)::numeric, 6),
                                      round((c.sum_y / c.n)::numeric, 6))),
                 'properties', json_build_object(
                     'count', c.n,
                     'id', CASE WHEN c.n = 1 THEN c.sum_id END,
                     'title', CASE WHEN c.n = 1 THEN t.title END,
                     'place', p.name,
                     'photo', CASE WHEN c.n = 1 THEN {photo} END))
               ORDER BY c.cy, c.cx) FILTER (WHERE c.n > 0), '[]'::json),
             'clustered', true,
             'truncated', false,
             'count', coalesce(sum(c.n) FILTER (WHERE c.n > 0), 0))::text,
           max(c.updated_at)
      FROM map_cells c
      LEFT JOIN traces t ON c.n = 1 AND t.id = c.sum_id
      LEFT JOIN LATERAL (
        SELECT pl.name FROM places pl
         WHERE c.n > 0
           AND ST_DWithin(pl.geom, ST_SetSRID(ST_MakePoint(c.sum_x / c.n, c.sum_y / c.n), 4326),
                          :reach)
         ORDER BY pl.geom <-> ST_SetSRID(ST_MakePoint(c.sum_x / c.n, c.sum_y / c.n), 4326)
         LIMIT 1) p ON true
     WHERE c.zoom = :z AND c.cx BETWEEN :x0 AND :x1 AND c.cy BETWEEN :y0 AND :y1
    """
    ).format(photo=first_public_photo_sql("t.id"))
)


def public_tile(tile: CellRange) -> tuple[str, datetime | None]:
    """An anonymous, unfiltered tile straight from map_cells (zoom <= MAX_CELL_ZOOM)."""
    row = db.session.execute(
        _PUBLIC_TILE,
        {"z": tile.zoom, "x0": tile.x0, "x1": tile.x1, "y0": tile.y0, "y1": tile.y1,
         "reach": _reach(tile.zoom)},
    ).one()  # fmt: skip
    return row[0], row[1]


def _reach(zoom: int) -> float:
    """How far a cluster looks for a place name: about one cell side, in degrees."""
    return 360.0 / (CELLS_PER_TILE_SIDE << zoom)


def clusters(
    ranges: list[CellRange], viewer: User | None, chosen: MapFilter = NO_FILTER
) -> tuple[str, datetime | None]:
    """The clusters of the ranges as GeoJSON text, and the newest change among their cells.

    Without filters at a zoom with cells, the public part is read from map_cells; otherwise
    it is computed on the fly on the same grid. The viewer's extras are merged into the cells.
    """
    filters = chosen.conditions()
    zoom = ranges[0].zoom
    if viewer is None and not filters and zoom <= MAX_CELL_ZOOM and len(ranges) == 1:
        return public_tile(ranges[0])
    # Clustering on the fly is costed high enough to be JIT-compiled, which then takes longer
    # (100-200 ms) than the few thousand rows it reads: off, for this transaction only.
    db.session.execute(text("SET LOCAL jit = off"))
    if not filters and zoom <= MAX_CELL_ZOOM:
        public: Select = _stored_cells(ranges)
    else:
        public = _cells_of(public_points(ranges, filters), zoom)
    parts = [public]
    if viewer is not None:
        parts.append(_cells_of(extra_points(viewer, ranges, filters), zoom))
    source = union_all(*parts).subquery() if len(parts) > 1 else public.subquery()
    merged = (
        select(
            source.c.cx,
            source.c.cy,
            # Back to integers: sum() of bigint is numeric, and traces.id = numeric would not
            # use the primary key for the singletons' titles.
            func.sum(source.c.n).cast(BigInteger).label("n"),
            func.sum(source.c.sx).label("sx"),
            func.sum(source.c.sy).label("sy"),
            func.sum(source.c.sid).cast(BigInteger).label("sid"),
            func.max(source.c.updated_at).label("updated_at"),
        )
        .group_by(source.c.cx, source.c.cy)
        .subquery()
    )
    return _collection(merged, zoom)


def _collection(cells, zoom: int) -> tuple[str, datetime | None]:  # noqa: ANN001
    n = cells.c.n.cast(Float)
    x = func.round((cells.c.sx / n).cast(Numeric), 6)
    y = func.round((cells.c.sy / n).cast(Numeric), 6)
    single = cells.c.n == 1
    titled = aliased(Trace)
    centre = func.ST_SetSRID(func.ST_MakePoint(cells.c.sx / n, cells.c.sy / n), 4326)
    # The nearest named place within about a cell: KNN on the GiST index, one row per cluster.
    reach = _reach(zoom)
    place = (
        select(Place.name)
        .where(func.ST_DWithin(Place.geom, centre, reach))
        .order_by(Place.geom.op("<->")(centre))
        .limit(1)
        .scalar_subquery()
    )
    feature = func.json_build_object(
        "type", "Feature",
        "geometry", func.json_build_object(
            "type", "Point", "coordinates", func.json_build_array(x, y)
        ),
        "properties", func.json_build_object(
            "count", cells.c.n,
            "id", case((single, cells.c.sid), else_=None),
            "title", case((single, titled.title), else_=None),
            "place", place,
            "photo", case((single, first_public_photo(titled.id)), else_=None),
        ),
    )  # fmt: skip
    present = cells.c.n > 0
    collection = func.json_build_object(
        "type", "FeatureCollection",
        "features", func.coalesce(
            func.json_agg(aggregate_order_by(feature, cells.c.cy, cells.c.cx)).filter(present),
            _EMPTY,
        ),
        "clustered", True,
        "truncated", False,
        "count", func.coalesce(func.sum(cells.c.n), 0),
    )  # fmt: skip
    query = select(collection.cast(Text), func.max(cells.c.updated_at)).select_from(
        cells.outerjoin(titled, and_(single, titled.id == cells.c.sid))
    )
    body, changed = db.session.execute(query).one()
    return body, changed
