"""One RFC 7946 Feature per approved trace, built as JSON by PostgreSQL.

Used by the exports and the OGC API alike, so every channel carries the same properties and
the same location rule (generalised unless the receiver may see sensitive sites precisely).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by, distinct_on
from sqlalchemy.orm import aliased

from app.access import display_geometry, located_in
from app.bbox import in_box
from app.models import Membership, Photo, Project, Scheme, Term, Trace, TraceStatus, User
from app.photos.queries import public_photo_condition
from app.publication.provenance import provenance_members


@dataclass
class ExportFilters:
    """What a delivery is limited to; every field optional."""

    project_slug: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    trace_type: str | None = None
    period: str | None = None
    term: str | None = None  # a code in any scheme, or a free tag
    updated_since: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        """The filters as plain JSON, for the collection's metadata and the export log."""
        out: dict[str, object] = {
            k: v
            for k, v in {
                "project": self.project_slug,
                "bbox": list(self.bbox) if self.bbox else None,
                "type": self.trace_type,
                "period": self.period,
                "term": self.term,
                "updated_since": self.updated_since.isoformat() if self.updated_since else None,
            }.items()
            if v is not None
        }
        out.update(self.extra)
        return out


def _term_json(term):  # noqa: ANN001, ANN202 - an aliased Term and a SQL expression
    return case(
        (term.id.is_(None), None),
        else_=func.json_build_object(
            "code",
            term.code,
            "label",
            term.label_nb,
            "label_nn",
            term.label_nn,
            "label_en",
            term.label_en,
            "label_se",
            term.label_se,
            "uri",
            term.uri,
        ),
    )


def _photo_link(base_url: str):  # noqa: ANN202 - a SQL expression
    """SQL: one of our photos as the JSON object exports carry (absolute stable addresses)."""
    base = base_url.rstrip("/")
    address = lambda size: func.concat(base, "/photos/", Photo.id, "/", size)  # noqa: E731
    return func.json_build_object(
        "href", address("display"),
        "thumbnail", address("thumb"),
        "caption", Photo.caption,
        "credit", Photo.credit,
        "licence", Photo.licence,
        "taken_on", Photo.taken_on,
        "width", Photo.width,
        "height", Photo.height,
        "type", func.concat("image/", Photo.image_format),
    )  # fmt: skip


def _reference_link(value):  # noqa: ANN001, ANN202 - a jsonb element and a SQL expression
    """SQL: one imported photo link (an element of photo_references), marked as a reference."""
    return func.json_build_object(
        "href", value.op("->>")("href"),
        "thumbnail", value.op("->>")("thumbnail"),
        "caption", value.op("->>")("caption"),
        "credit", value.op("->>")("credit"),
        "licence", value.op("->>")("licence"),
        "reference", true(),
    )  # fmt: skip


def photos_json(precise: ColumnElement[bool], base_url: str):  # noqa: ANN201 - SQL expression
    """JSON list of the trace's photos the receiver may see, as links, in their order.

    Our own photos (the photos backend's rule, app.photos.queries.public_photo_condition)
    with absolute addresses of the app's stable photo URLs; a trace without any that carries
    photo links from an import gets those instead, marked "reference": true. References of a
    protected site go only to receivers who see it precisely: their captions may describe
    the place, and no moderator here has looked at them.
    """
    photo = _photo_link(base_url)
    # Correlated per trace: an index scan of ix_photos_trace (trace_id, position) each.
    own = (
        select(func.json_agg(aggregate_order_by(photo, Photo.position, Photo.id)))
        .where(Photo.comment_id.is_(None), public_photo_condition(precise))
        .correlate(Trace)
        .scalar_subquery()
    )
    element = (
        func.jsonb_array_elements(Trace.photo_references)
        .table_valued("value", with_ordinality="n")
        .render_derived(name="ref")
    )
    reference = _reference_link(element.c.value)
    references = (
        select(func.json_agg(aggregate_order_by(reference, element.c.n)))
        .select_from(element)
        .where(or_(not_(Trace.is_sensitive), precise))
        .correlate(Trace)
        .scalar_subquery()
    )
    # Most traces have no references (SQL NULL, or JSON null when an ORM write gave None):
    # skip that subquery for them.
    imported = case((func.jsonb_typeof(Trace.photo_references) == "array", references))
    return func.coalesce(own, imported, cast(literal("[]"), _json_type()))


def photo_joins(precise: ColumnElement[bool], base_url: str) -> tuple[Any, Any, Any, Any, Any]:
    """For a whole export: the photos grouped by trace to join, the conditions, the JSON list.

    The list holds the photos the receiver may see, as links, in their order: our own (the
    photos backend's rule, app.photos.queries.public_photo_condition) with absolute addresses
    of the app's stable photo URLs; a trace without any that carries photo links from an
    import gets those instead, marked "reference": true. References of a protected site go
    only to receivers who see it precisely: their captions may describe the place, and no
    moderator here has looked at them.

    The same list as photos_json, grouped by trace once and hash-joined: PostgreSQL 15 runs
    a correlated subquery (or LATERAL) only in the leader process, which took a whole
    export's parallel workers away (2.7x slower at 100k traces).
    """
    photo = _photo_link(base_url)
    listing = func.json_agg(aggregate_order_by(photo, Photo.position, Photo.id)).label("list")
    # Most traces have no references (SQL NULL, or JSON null when an ORM write gave None).
    listed = case((func.jsonb_typeof(Trace.photo_references) == "array", Trace.photo_references))
    element = (
        func.jsonb_array_elements(listed)
        .table_valued("value", with_ordinality="n")
        .render_derived(name="ref")
    )
    reference = _reference_link(element.c.value)
    referenced = func.json_agg(aggregate_order_by(reference, element.c.n)).label("list")
    shown = or_(not_(Trace.is_sensitive), precise)
    # The rule's Trace is each subquery's own join here, not the outer row.
    own = (
        select(Photo.trace_id.label("trace_id"), listing)
        .join(Trace, Trace.id == Photo.trace_id)
        .where(Photo.comment_id.is_(None), public_photo_condition(precise))
        .group_by(Photo.trace_id)
        .correlate(None)
        .subquery("own_photos")
    )
    references = (
        select(Trace.id.label("trace_id"), referenced)
        .select_from(Trace)
        .join(element, true())
        # IS NOT NULL first: the statistics then know how few traces have references.
        .where(Trace.photo_references.is_not(None), shown)
        .group_by(Trace.id)
        .correlate(None)
        .subquery("photo_references")
    )
    own_on, references_on = own.c.trace_id == Trace.id, references.c.trace_id == Trace.id
    photos = func.coalesce(own.c.list, references.c.list, cast(literal("[]"), _json_type()))
    return own, own_on, references, references_on, photos


def photo_links(photos):  # noqa: ANN001, ANN201 - SQL expressions
    """OGC links of a photos JSON list: rel enclosure (display size) and preview (thumbnail)."""
    photo = (
        func.json_array_elements(photos)
        .table_valued("value", with_ordinality="n")
        .render_derived(name="ph")
    )
    value = photo.c.value

    def link(member: str, rel: str):  # noqa: ANN202 - a SQL expression
        return func.json_strip_nulls(func.json_build_object(
            "href", value.op("->>")(member),
            "rel", rel,
            "type", value.op("->>")("type"),
            "title", value.op("->>")("caption"),
        ))  # fmt: skip

    pair = (
        func.json_array_elements(
            func.json_build_array(link("href", "enclosure"), link("thumbnail", "preview"))
        )
        .table_valued("value", with_ordinality="k")
        .render_derived(name="pair")
    )
    found = (
        select(func.json_agg(aggregate_order_by(pair.c.value, photo.c.n, pair.c.k)))
        .select_from(photo)
        .join(pair, true())
        # A reference without a thumbnail has no preview.
        .where(pair.c.value.op("->>")("href").is_not(None))
        .scalar_subquery()
    )
    return func.coalesce(found, cast(literal("[]"), _json_type()))


def feature_query(
    precise: ColumnElement[bool],
    base_url: str,
    filters: ExportFilters,
    links: bool = False,
    whole: bool = False,
) -> Select:
    """SELECT id, feature-json-text for approved traces matching filters, ordered by id.

    links: the feature also carries OGC `links` to its photos (enclosure and preview).
    whole: many features are read (an export): photos are grouped once and hash-joined
    rather than looked up per trace (see photo_joins).
    """
    ttype, period, condition, dating = (aliased(Term) for _ in range(4))
    author = aliased(User)
    recorder = aliased(User)  # who registered it for an informant (app/publication/provenance)
    # The approver's latest role in the project: one pass over the (small) memberships table,
    # joined, instead of a subquery per exported row (half the export's SQL at a million).
    latest_role = (
        select(
            Membership.user_id, Membership.project_id, cast(Membership.role, String).label("role")
        )
        .ext(distinct_on(Membership.user_id, Membership.project_id))
        .order_by(Membership.user_id, Membership.project_id, Membership.granted_at.desc())
        .subquery()
    )
    approver_role = latest_role.c.role
    generalised = and_(Trace.is_sensitive, not_(precise))
    page = func.concat(base_url.rstrip("/"), "/traces/", Trace.id)
    joins: list[tuple[Any, Any]] = []
    if whole:
        own_photos, own_on, photo_references, references_on, photos = photo_joins(precise, base_url)
        joins = [(own_photos, own_on), (photo_references, references_on)]
    else:
        photos = photos_json(precise, base_url)
    properties = func.json_build_object(
        "uri", page,
        "title", Trace.title,
        "description", Trace.description,  # Markdown, as written
        # Plain text for tools that show it raw: Markdown's emphasis, heading and quote marks
        # and link targets dropped.
        # Most descriptions have none of those marks: skip both regular expressions for them.
        "description_text", case((Trace.description.op("~")(r"[][*_`#>]"), func.regexp_replace(
            func.regexp_replace(Trace.description, r"\[([^\]]*)\]\([^)]*\)", r"\1", "g"),
            r"[*_`#>]+", "", "g",
        )), else_=Trace.description),
        "type", _term_json(ttype),
        "period", _term_json(period),
        "condition", _term_json(condition),
        "dating_method", _term_json(dating),
        "tags", Trace.tags,
        "sources", Trace.sources,
        "licence", Trace.licence,
        # An imported record keeps its source's attribution, address, id and date.
        "attribution", func.coalesce(Trace.source_attribution, case(
            (author.show_name_publicly, author.display_name), else_=literal("A contributor")
        )),
        "source_uri", Trace.source_uri,
        "source_id", Trace.source_id,
        "project", Project.slug,
        "project_name", Project.name,
        "library", Project.library_name,
        "recorded_at", func.coalesce(Trace.recorded_at, Trace.created_at),
        "updated_at", Trace.updated_at,
        "approved_at", Trace.approved_at,
        "approved_by_role", func.coalesce(approver_role, literal("librarian")),
        "location", case((generalised, literal("generalised")), else_=literal("precise")),
        # Whether the site is protected, also in a precise delivery, so that an import of it
        # stays protected (the public learns nothing new: its position says "generalised").
        "sensitive", Trace.is_sensitive,
        "photos", photos,
        *provenance_members(recorder),
    )  # fmt: skip
    members = [
        "type", "Feature",
        "id", Trace.id,
        # RFC 7946 right-hand rule: outer rings counter-clockwise, whatever was stored.
        "geometry", cast(
            func.ST_AsGeoJSON(_right_hand(display_geometry(precise)), 7), _json_type()
        ),
        "properties", properties,
    ]  # fmt: skip
    if links:
        # A second look at the photos (an index probe), only for the OGC API's small pages.
        members += ["links", photo_links(photos if whole else photos_json(precise, base_url))]
    feature = func.json_build_object(*members)
    query = (
        select(Trace.id, cast(feature, String).label("feature"))
        .join(Project, Project.id == Trace.project_id)
        .outerjoin(author, author.id == Trace.author_id)
        .outerjoin(recorder, recorder.id == Trace.recorder_id)
        .outerjoin(
            latest_role,
            and_(
                latest_role.c.user_id == Trace.approved_by_id,
                latest_role.c.project_id == Trace.project_id,
            ),
        )
        .outerjoin(ttype, ttype.id == Trace.trace_type_id)
        .outerjoin(period, period.id == Trace.period_id)
        .outerjoin(condition, condition.id == Trace.condition_id)
        .outerjoin(dating, dating.id == Trace.dating_method_id)
        .where(Trace.status == TraceStatus.APPROVED)
        .order_by(Trace.id)
    )
    for joined, on in joins:
        # One row per trace at most (grouped by it): a count leaves the join out.
        query = query.outerjoin(joined, on)
    if filters.project_slug:
        query = query.where(Project.slug == filters.project_slug)
    if filters.bbox:
        # A box with west > east crosses the antimeridian (geo.bbox): in_box() splits it.
        query = query.where(in_box(filters.bbox, lambda shape: located_in(precise, shape)))
    if filters.trace_type:
        query = query.where(ttype.code == filters.trace_type, ttype.scheme == Scheme.TRACE_TYPE)
    if filters.period:
        query = query.where(period.code == filters.period, period.scheme == Scheme.PERIOD)
    if filters.term:
        query = query.where(
            or_(
                ttype.code == filters.term,
                period.code == filters.term,
                condition.code == filters.term,
                dating.code == filters.term,
                filters.term == any_(Trace.tags),
            )
        )
    if filters.updated_since:
        query = query.where(Trace.updated_at >= filters.updated_since)
    return query


def _right_hand(geometry):  # noqa: ANN001, ANN202 - SQL expressions
    # Only polygons: PostGIS 3.3's ST_ForcePolygonCCW also reverses clockwise-looking lines.
    return case(
        (func.GeometryType(geometry) == "POLYGON", func.ST_ForcePolygonCCW(geometry)),
        else_=geometry,
    )


def _json_type():  # noqa: ANN202
    from sqlalchemy.dialects.postgresql import JSON

    return JSON
