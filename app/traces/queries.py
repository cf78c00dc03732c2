"""Reads of traces: viewport map data built as GeoJSON inside PostgreSQL, details, vocabularies."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import Text, and_, func, literal, not_, select, text
from sqlalchemy.dialects.postgresql import JSON, aggregate_order_by
from sqlalchemy.orm import aliased

from app.access import display_geometry, located_in, precise_allowed, visible_traces
from app.bbox import in_box
from app.db import db
from app.errors import DomainError
from app.models import Project, Scheme, Term, Trace, TraceStatus, User
from app.traces import tiles
from geo import cells
from geo.bbox import BBox, BBoxError, parse_bbox

_EMPTY = literal("[]").cast(JSON)


@dataclass(frozen=True)
class Viewport:
    """A bounding box in WGS84 degrees (west > east across 180°) and the map's zoom level."""

    west: float
    south: float
    east: float
    north: float
    zoom: int


def parse_viewport(bbox: str | None, zoom: str | None) -> Viewport:
    """Parse ``bbox=west,south,east,north`` and ``zoom``; ValueError says what is wrong."""
    # A map's view: geo.bbox cuts it to the globe (a zoomed-out map reaches past ±180).
    try:
        west, south, east, north = parse_bbox(bbox, view=True)
    except BBoxError as error:
        raise ValueError(f"bbox: {error}") from None
    try:
        level = int(zoom) if zoom not in (None, "") else 12
    except ValueError:
        raise ValueError("zoom must be a whole number") from None
    return Viewport(west, south, east, north, max(0, min(level, 22)))


def _in_view(precise, view: Viewport):  # noqa: ANN001, ANN202 - SQL expressions
    box = (view.west, view.south, view.east, view.north)
    return in_box(box, lambda shape: located_in(precise, shape))


# Anonymous visitors' shapes (the busiest zoomed-in request) as one fixed statement: the same
# answer as the built query below for viewer None, without building it per request. Two
# envelopes (the second repeats the first unless the view crosses 180°); each branch of the
# OR walks a GiST index, as located_in's.
_PUBLIC_FEATURES = text(
    (  # noqa: S608 - the inserted part is SQL compiled from our own constructs, no input
        """
    WITH r AS (
      SELECT t.id, t.title, t.status, tt.code AS type_code, t.is_sensitive AS approximate,
             ST_AsGeoJSON(CASE WHEN t.is_sensitive THEN t.public_geom ELSE t.geom END, 7)::json
               AS geometry,
             {photo} AS photo
        FROM traces t LEFT JOIN terms tt ON tt.id = t.trace_type_id
       WHERE t.status = 'approved'
         AND ((NOT t.is_sensitive
               AND (t.geom && ST_MakeEnvelope(:w1, :s1, :e1, :n1, 4326)
                    OR t.geom && ST_MakeEnvelope(:w2, :s2, :e2, :n2, 4326)))
           OR (t.is_sensitive
               AND (t.public_geom && ST_MakeEnvelope(:w1, :s1, :e1, :n1, 4326)
                    OR t.public_geom && ST_MakeEnvelope(:w2, :s2, :e2, :n2, 4326))))
         AND (CAST(:type_id AS integer) IS NULL OR t.trace_type_id = :type_id)
         AND (CAST(:period_id AS integer) IS NULL OR t.period_id = :period_id)
         AND (CAST(:project_id AS integer) IS NULL OR t.project_id = :project_id)
       ORDER BY t.id
       LIMIT :limit + 1),
    n AS (SELECT r.*, row_number() OVER (ORDER BY r.id) AS rn FROM r)
    SELECT json_build_object(
             'type', 'FeatureCollection',
             'features', coalesce(json_agg(json_build_object(
                 'type', 'Feature', 'id', id, 'geometry', geometry,
                 'properties', json_build_object('title', title, 'status', status,
                                                 'type', type_code, 'approximate', approximate,
                                                 'photo', photo))
               ORDER BY rn) FILTER (WHERE rn <= :limit), '[]'::json),
             'clustered', false,
             'truncated', count(*) > :limit,
             'count', count(*) FILTER (WHERE rn <= :limit))::text
      FROM n
    """
    ).format(photo=tiles.first_public_photo_sql("t.id"))
)


def _public_features(view: Viewport, limit: int, chosen: tiles.MapFilter) -> str:
    parts = BBox(view.west, view.south, view.east, view.north).parts()
    first, second = parts[0], parts[-1]
    params = {
        "w1": first[0], "s1": first[1], "e1": first[2], "n1": first[3],
        "w2": second[0], "s2": second[1], "e2": second[2], "n2": second[3],
        "type_id": chosen.type_id, "period_id": chosen.period_id,
        "project_id": chosen.project_id, "limit": limit,
    }  # fmt: skip
    return db.session.execute(_PUBLIC_FEATURES, params).scalar_one()


def map_features(
    view: Viewport, viewer: User | None, limit: int, chosen: tiles.MapFilter = tiles.NO_FILTER
) -> str:
    """A FeatureCollection (as JSON text) of the visible traces in the viewport.

    PostgreSQL builds the JSON; Python only passes the text on. Properties carry no
    description or personal data: the map needs the title, the type, the status and the first
    public photo's thumbnail.
    One row more than the limit is read so the answer can say it was truncated.
    """
    if viewer is None:
        return _public_features(view, limit, chosen)
    ttype = aliased(Term)
    precise = precise_allowed(viewer)
    rows = (
        select(
            Trace.id.label("id"),
            Trace.title.label("title"),
            Trace.status.label("status"),
            ttype.code.label("type_code"),
            func.ST_AsGeoJSON(display_geometry(precise), 7).cast(JSON).label("geometry"),
            and_(Trace.is_sensitive, not_(precise)).label("approximate"),
            func.row_number().over(order_by=Trace.id).label("rn"),
        )
        .outerjoin(ttype, ttype.id == Trace.trace_type_id)
        .where(
            visible_traces(viewer),
            Trace.status != TraceStatus.DELETED,  # deleted traces never go on the map
            _in_view(precise, view),
            *chosen.conditions(),
        )
        .order_by(Trace.id)
        .limit(limit + 1)
        .subquery()
    )
    feature = func.json_build_object(
        "type", "Feature",
        "id", rows.c.id,
        "geometry", rows.c.geometry,
        "properties", func.json_build_object(
            "title", rows.c.title, "status", rows.c.status, "type", rows.c.type_code,
            "approximate", rows.c.approximate,
            # The public photo only, as on the public map (own pending traces go without).
            "photo", tiles.first_public_photo(rows.c.id),
        ),
    )  # fmt: skip
    kept = rows.c.rn <= limit
    collection = func.json_build_object(
        "type", "FeatureCollection",
        "features", func.coalesce(
            func.json_agg(aggregate_order_by(feature, rows.c.rn)).filter(kept), _EMPTY
        ),
        "clustered", False,
        "truncated", func.count() > limit,
        "count", func.count().filter(kept),
    )  # fmt: skip
    return db.session.execute(select(collection.cast(Text)).select_from(rows)).scalar_one()


def map_clusters(
    view: Viewport, viewer: User | None, chosen: tiles.MapFilter = tiles.NO_FILTER
) -> str:
    """Counted clusters on the 64-px cell grid of map_cells, for low zoom levels."""
    box = BBox(view.west, view.south, view.east, view.north)
    body, _changed = tiles.clusters(cells.view_ranges(list(box.parts()), view.zoom), viewer, chosen)
    return body


def get_trace(trace_id: int) -> Trace | None:
    """One trace by id, whatever its state; callers apply the visibility policy."""
    return db.session.get(Trace, trace_id)


def terms_by_scheme() -> dict[Scheme, list[Term]]:
    """Active vocabulary terms per scheme, in their set order."""
    terms = db.session.execute(
        select(Term).where(Term.is_active.is_(True)).order_by(Term.scheme, Term.sort_order)
    ).scalars()
    grouped: dict[Scheme, list[Term]] = {scheme: [] for scheme in Scheme}
    for term in terms:
        grouped[term.scheme].append(term)
    return grouped


def open_projects() -> list[Project]:
    """Projects that take contributions, by name."""
    return list(
        db.session.execute(
            select(Project).where(Project.is_open.is_(True)).order_by(Project.name)
        ).scalars()
    )


class UnknownFilter(DomainError):
    """A map filter names a code or project that does not exist."""

    code = "unknown_filter"


def map_filter(
    type_code: str | None, period_code: str | None, project_slug: str | None
) -> tiles.MapFilter:
    """The map's filters resolved to ids (empty: no filter); UnknownFilter for a name not found."""
    ids: dict[str, int | None] = {}
    for name, scheme, code in (
        ("type", Scheme.TRACE_TYPE, type_code),
        ("period", Scheme.PERIOD, period_code),
    ):
        ids[name] = None
        if not code:
            continue
        ids[name] = db.session.execute(
            select(Term.id).where(Term.scheme == scheme, Term.code == code)
        ).scalar_one_or_none()
        if ids[name] is None:
            raise UnknownFilter(
                gettext("%(name)s: no such code: %(code)s", name=name, code=code[:100]),
                parameter=name,
            )
    project_id = None
    if project_slug:
        project_id = db.session.execute(
            select(Project.id).where(Project.slug == project_slug)
        ).scalar_one_or_none()
        if project_id is None:
            raise UnknownFilter(
                gettext("project: no such project: %(slug)s", slug=project_slug[:100]),
                parameter="project",
            )
    return tiles.MapFilter(ids["type"], ids["period"], project_id)
