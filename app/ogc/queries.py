"""Reads for the OGC API: query parameters, collections with their extents, pages of features.

The features come from app.publication.features.feature_query, so the OGC API carries the same
properties and the same location rule as the exports. A page is joined into one JSON text by
PostgreSQL; the JSON answer never turns a feature into a Python object (only the HTML page
parses its one page, for the template).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, and_, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.access import display_geometry
from app.bbox import bbox_message
from app.db import db
from app.errors import InvalidParameter
from app.models import Project, Scheme, Term, Trace, TraceStatus
from app.ogc import ALL_TRACES, CRS84, MAX_LIMIT
from app.params import clamped_whole_number
from app.publication.features import ExportFilters, feature_query
from app.timeparse import Interval, TimeError, parse_interval, time_message
from app.traces.validation import LICENCES
from geo import bbox as geo_bbox
from geo.bbox import BBox, BBoxError

# Parameters that filter on a property by equality (OGC API - Features Part 3 queryables).
QUERYABLES = ("type", "period", "licence", "project")


@dataclass(frozen=True)
class ItemsQuery:
    """One page of a collection: which collection, the filters and the window."""

    collection: str
    limit: int
    offset: int = 0
    bbox: BBox | None = None
    interval: Interval | None = None
    datetime_text: str | None = None  # as given, for the export log
    # Equality filters on the queryables, by name (type, period, licence, project).
    properties: dict[str, str] = field(default_factory=dict)
    updated_since: datetime | None = None  # for harvesters (app.publication.harvest)

    def filters(self) -> ExportFilters:
        """The shared export filters, with the OGC-only parameters for the log."""
        extra = {"collection": self.collection, "limit": str(self.limit),
                 "offset": str(self.offset)}  # fmt: skip
        if self.datetime_text:
            extra["datetime"] = self.datetime_text
        for name in ("licence", "project"):
            if name in self.properties:
                extra[name] = self.properties[name]
        project = None if self.collection == ALL_TRACES else self.collection
        return ExportFilters(
            project_slug=project,
            bbox=self.bbox,
            trace_type=self.properties.get("type"),
            period=self.properties.get("period"),
            updated_since=self.updated_since,
            extra=extra,
        )


@dataclass(frozen=True)
class Collection:
    """A collection's facts: names and the extent of its approved traces as shown."""

    id: str
    name: str | None  # None for the collection of all traces
    description: str
    library: str | None
    bbox: tuple[float, float, float, float] | None
    first_approved: datetime | None


@dataclass(frozen=True)
class Page:
    """Features of one page as JSON texts joined by commas, and what the page holds."""

    features: str
    matched: int
    returned: int
    precise: bool  # a sensitive trace was delivered precisely


# --- Parameters ------------------------------------------------------------------------------


def parse_limit(raw: str | None, default: int) -> int:
    """limit: 1 or more features per page; more than MAX_LIMIT is served as MAX_LIMIT."""
    if raw is None:
        return default
    value = clamped_whole_number(raw)
    if value is None or value < 1:
        raise InvalidParameter.named("limit", gettext("give a whole number, 1 or more."))
    # The standard lets a server answer a larger limit with fewer features; GDAL asks for
    # its PAGE_SIZE and pages on with the next links.
    return min(value, MAX_LIMIT)


def parse_offset(raw: str | None) -> int:
    """offset: how many matching features to skip (0 or more)."""
    if raw is None:
        return 0
    value = clamped_whole_number(raw)
    if value is None:
        raise InvalidParameter.named("offset", gettext("give a whole number, 0 or more."))
    return value


def parse_bbox(raw: str | None, bbox_crs: str | None) -> BBox | None:
    """bbox in CRS84 degrees: 4 numbers or 6 with heights, west > east across 180°."""
    if bbox_crs is not None and bbox_crs.strip() != CRS84:
        raise InvalidParameter.named("bbox-crs", gettext("only %(crs)s is supported.", crs=CRS84))
    if raw is None:
        return None
    try:
        return geo_bbox.parse_bbox(raw)
    except BBoxError as error:
        raise InvalidParameter.named("bbox", bbox_message(error)) from None


def parse_datetime(raw: str | None) -> Interval | None:
    """datetime: an instant (matched at its precision) or an interval with open ends as `..`."""
    if raw is None:
        return None
    try:
        return parse_interval(raw)
    except TimeError as error:
        raise InvalidParameter.named("datetime", time_message(error)) from None


def parse_properties(args: Mapping[str, str]) -> dict[str, str]:
    """The queryables given as parameters (type=..., project=...): equality filters."""
    found = {}
    for name in QUERYABLES:
        value = args.get(name)
        if value is not None:
            if not value.strip():
                raise InvalidParameter.named(name, gettext("give a value."))
            found[name] = value.strip()
    return found


# --- Reads -----------------------------------------------------------------------------------


def _extent_columns(precise: ColumnElement[bool]) -> tuple:
    # The shown geometries: a precise extent would give away a sensitive site on its edge.
    extent = func.ST_Extent(display_geometry(precise))
    return (
        func.ST_XMin(extent).label("west"),
        func.ST_YMin(extent).label("south"),
        func.ST_XMax(extent).label("east"),
        func.ST_YMax(extent).label("north"),
        func.min(Trace.approved_at).label("first_approved"),
    )


def _bbox(row) -> tuple[float, float, float, float] | None:  # noqa: ANN001 - a result row
    if row.west is None:
        return None
    # 7 decimals (about 1 cm), rounded outwards so the box still holds every feature.
    # The inner round keeps float noise (69.94 * 1e7 = 699400000.0000001) from widening it.
    down = lambda v: math.floor(round(v * 1e7, 3)) / 1e7  # noqa: E731
    up = lambda v: math.ceil(round(v * 1e7, 3)) / 1e7  # noqa: E731
    return (down(row.west), down(row.south), up(row.east), up(row.north))


def collections(precise: ColumnElement[bool], only: str | None = None) -> list[Collection]:
    """`traces` then one collection per project by name; `only` picks one id."""
    found: list[Collection] = []
    if only in (None, ALL_TRACES):
        row = db.session.execute(
            select(*_extent_columns(precise)).where(Trace.status == TraceStatus.APPROVED)
        ).one()
        found.append(Collection(ALL_TRACES, None, "", None, _bbox(row), row.first_approved))
    if only == ALL_TRACES:
        return found
    approved = and_(Trace.project_id == Project.id, Trace.status == TraceStatus.APPROVED)
    query = (
        select(
            Project.slug,
            Project.name,
            Project.description,
            Project.library_name,
            *_extent_columns(precise),
        )  # fmt: skip
        .select_from(Project)
        .outerjoin(Trace, approved)
        # A project called "traces" would shadow the collection of all traces.
        .where(Project.slug != ALL_TRACES)
        .group_by(Project.id)
        .order_by(Project.name, Project.slug)
    )
    if only is not None:
        query = query.where(Project.slug == only)
    for row in db.session.execute(query):
        found.append(Collection(row.slug, row.name, row.description, row.library_name,
                                _bbox(row), row.first_approved))  # fmt: skip
    return found


def collection_exists(collection_id: str) -> bool:
    """Whether the id names a collection: `traces` or a project's slug."""
    if collection_id == ALL_TRACES:
        return True
    return bool(db.session.execute(select(exists().where(Project.slug == collection_id))).scalar())


def _features(precise: ColumnElement[bool], base_url: str, filters: ExportFilters) -> Select:
    # Each feature carries links to its photos (rel enclosure and preview), as OGC items do.
    return feature_query(precise, base_url, filters, links=True).add_columns(
        and_(Trace.is_sensitive, precise).label("sensitive_precise")
    )


def items_page(precise: ColumnElement[bool], base_url: str, query: ItemsQuery) -> Page:
    """The matching count and one page of features, joined into JSON text by PostgreSQL."""
    features = _features(precise, base_url, query.filters())
    if "licence" in query.properties:
        features = features.where(Trace.licence == query.properties["licence"])
    if "project" in query.properties:
        features = features.where(Project.slug == query.properties["project"])
    if query.interval is not None:
        if query.interval.start is not None:
            features = features.where(Trace.approved_at >= query.interval.start)
        if query.interval.stop is not None:
            features = features.where(Trace.approved_at < query.interval.stop)
    matched = db.session.execute(
        select(func.count()).select_from(features.order_by(None).subquery())
    ).scalar_one()
    page = features.limit(query.limit).offset(query.offset).subquery()
    row = db.session.execute(
        select(
            func.coalesce(
                func.string_agg(
                    page.c.feature, aggregate_order_by(literal_column("','"), page.c.id)
                ),
                "",
            ).label("features"),
            func.count().label("returned"),
            func.coalesce(func.bool_or(page.c.sensitive_precise), False).label("precise"),
        )
    ).one()
    return Page(row.features, matched, row.returned, row.precise)


def one_feature(
    precise: ColumnElement[bool], base_url: str, collection_id: str, feature_id: int
) -> tuple[str, bool] | None:
    """One approved trace of the collection as Feature JSON text, and whether precise."""
    project = None if collection_id == ALL_TRACES else collection_id
    row = db.session.execute(
        _features(precise, base_url, ExportFilters(project_slug=project)).where(
            Trace.id == feature_id
        )
    ).first()
    return None if row is None else (row.feature, row.sensitive_precise)


@dataclass(frozen=True)
class Choices:
    """The values each queryable can take in a collection, for the queryables document."""

    types: list[str]
    periods: list[str]
    licences: list[str]
    projects: list[str]


def queryable_choices(collection_id: str) -> Choices:
    """Vocabulary codes, licences in use or offered, and the collection's project slugs."""
    codes = {
        scheme: list(db.session.execute(
            select(Term.code).where(Term.scheme == scheme).order_by(Term.code)
        ).scalars())
        for scheme in (Scheme.TRACE_TYPE, Scheme.PERIOD)
    }  # fmt: skip
    used = db.session.execute(
        select(Trace.licence).where(Trace.status == TraceStatus.APPROVED).distinct()
    ).scalars()
    licences = sorted(set(LICENCES) | {licence for licence in used if licence})
    if collection_id == ALL_TRACES:
        projects = list(db.session.execute(
            select(Project.slug).where(Project.slug != ALL_TRACES).order_by(Project.slug)
        ).scalars())  # fmt: skip
    else:
        projects = [collection_id]
    return Choices(codes[Scheme.TRACE_TYPE], codes[Scheme.PERIOD], licences, projects)
