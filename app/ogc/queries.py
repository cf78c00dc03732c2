"""Reads for the OGC API: query parameters, collections with their extents, pages of features.

The features come from app.publication.features.feature_query, so the OGC API carries the same
properties and the same location rule as the exports. A page is joined into one JSON text by
PostgreSQL; the JSON answer never turns a feature into a Python object (only the HTML page
parses its one page, for the template).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext
from sqlalchemy import ColumnElement, Select, and_, exists, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from app.access import display_geometry
from app.db import db
from app.errors import DomainError
from app.models import Project, Trace, TraceStatus
from app.ogc import ALL_TRACES, CRS84, MAX_LIMIT
from app.publication.features import ExportFilters, feature_query

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# RFC 3339 date-time. A space before the offset is a "+" that a URL decoded into a space.
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+\- ]\d{2}:\d{2})"
)
_WHOLE_NUMBER = re.compile(r"\d{1,9}")


class InvalidParameter(DomainError):
    """A query parameter the API cannot use (400 with problem details, as OGC API asks)."""

    status = 400
    code = "invalid_parameter"


@dataclass(frozen=True)
class Interval:
    """A time range on approved_at: start inclusive, stop exclusive; None is an open end."""

    start: datetime | None
    stop: datetime | None


@dataclass(frozen=True)
class ItemsQuery:
    """One page of a collection: which collection, the filters and the window."""

    collection: str
    limit: int
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    interval: Interval | None = None
    datetime_text: str | None = None  # as given, for the export log

    def filters(self) -> ExportFilters:
        """The shared export filters, with the OGC-only parameters for the log."""
        extra = {"collection": self.collection, "limit": str(self.limit),
                 "offset": str(self.offset)}  # fmt: skip
        if self.datetime_text:
            extra["datetime"] = self.datetime_text
        project = None if self.collection == ALL_TRACES else self.collection
        return ExportFilters(project_slug=project, bbox=self.bbox, extra=extra)


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
    """limit: 1 to MAX_LIMIT features per page."""
    if raw is None:
        return default
    if not _WHOLE_NUMBER.fullmatch(raw.strip()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidParameter(
            gettext("limit must be a whole number from 1 to %(max)d.", max=MAX_LIMIT)
        )
    return int(raw)


def parse_offset(raw: str | None) -> int:
    """offset: how many matching features to skip (0 or more)."""
    if raw is None:
        return 0
    if not _WHOLE_NUMBER.fullmatch(raw.strip()):
        raise InvalidParameter(gettext("offset must be a whole number, 0 or more."))
    return int(raw)


def parse_bbox(raw: str | None, bbox_crs: str | None) -> tuple[float, float, float, float] | None:
    """bbox=west,south,east,north in CRS84 degrees; other CRSs and 3D boxes are refused."""
    if bbox_crs is not None and bbox_crs.strip() != CRS84:
        raise InvalidParameter(gettext("Only bbox-crs=%(crs)s is supported.", crs=CRS84))
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) == 6:
        raise InvalidParameter(gettext("bbox with heights is not supported; give four numbers."))
    try:
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise InvalidParameter(gettext("bbox needs four numbers: west,south,east,north.")) from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise InvalidParameter(gettext("bbox values must be finite numbers."))
    if south > north:
        raise InvalidParameter(gettext("bbox must have south at most north."))
    if west > east:
        raise InvalidParameter(gettext("A bbox across the antimeridian is not supported."))
    return (max(west, -180.0), max(south, -90.0), min(east, 180.0), min(north, 90.0))


def _moment(text: str) -> tuple[datetime, datetime]:
    """The [start, stop) a date or an RFC 3339 date-time stands for, at its precision."""
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start, start + timedelta(days=1)
        match = _DATETIME.fullmatch(text)
        if match:
            day_text, clock, fraction, zone = match.groups()
            zone = "+00:00" if zone in ("Z", "z") else zone.replace(" ", "+")
            digits = (fraction or "")[:6]
            start = datetime.fromisoformat(f"{day_text}T{clock}.{digits.ljust(6, '0')}{zone}")
            return start, start + timedelta(microseconds=10 ** (6 - len(digits)))
    except ValueError:
        pass  # a well-formed string that is no real date, such as 2026-02-30
    raise InvalidParameter(
        gettext(
            "datetime must be an RFC 3339 date or date-time (2026-10-01T12:00:00Z), "
            "or an interval start/end with .. for an open end."
        )
    )


def parse_datetime(raw: str | None) -> Interval | None:
    """datetime: an instant (matched at its precision) or an interval with open ends as `..`."""
    if raw is None:
        return None
    text = raw.strip()
    if "/" not in text:
        start, stop = _moment(text)
        return Interval(start, stop)
    left, _, right = text.partition("/")
    begin = None if left in ("", "..") else _moment(left)[0]
    end = None if right in ("", "..") else _moment(right)[1]
    if begin is not None and end is not None and begin >= end:
        raise InvalidParameter(gettext("The datetime interval ends before it starts."))
    return Interval(begin, end)


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
    return feature_query(precise, base_url, filters).add_columns(
        and_(Trace.is_sensitive, precise).label("sensitive_precise")
    )


def items_page(precise: ColumnElement[bool], base_url: str, query: ItemsQuery) -> Page:
    """The matching count and one page of features, joined into JSON text by PostgreSQL."""
    features = _features(precise, base_url, query.filters())
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
