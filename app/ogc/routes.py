"""OGC API - Features views: landing, conformance, API document, collections, queryables, items.

Every resource answers in JSON (GeoJSON for features) or HTML, chosen by `f=json|html` or the
Accept header; a query parameter the API document does not declare for the path is a 400.
Anyone may read; a partner token (Authorization: Bearer) gets its projects' protected sites
precisely, and each delivery to it is written to the export log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext

from app.errors import InvalidParameter, NotFound
from app.ogc import ALL_TRACES, CRS84, DEFAULT_LIMIT, queries
from app.ogc.openapi import declared_query_parameters, openapi_document
from app.params import db_int
from app.publication import harvest
from app.publication.deliveries import record_reading
from app.publication.receiver import (
    InvalidToken,
    Receiver,
    invalid_token_response,
    receiver_from_request,
)
from app.timeparse import TimeError, time_message

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
bp.register_error_handler(InvalidToken, invalid_token_response)

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
]
JSON, GEOJSON, HTML = "application/json", "application/geo+json", "text/html"
SCHEMA = "application/schema+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
OGC_REL = "http://www.opengis.net/def/rel/ogc/1.0/"


def _wants_html() -> bool:
    """f=json|html decides; without it the Accept header does (JSON unless HTML is preferred)."""
    chosen = request.args.get("f")
    if chosen is not None:
        if chosen not in ("json", "html"):
            raise InvalidParameter.named("f", gettext("give json or html."))
        return chosen == "html"
    return request.accept_mimetypes.best_match([JSON, GEOJSON, HTML], default=JSON) == HTML


@bp.before_request
def _refuse_unknown() -> None:
    """400 for a query parameter the API document does not declare for this path.

    OGC API - Features (/req/core/query-param-unknown) asks for this, and taking the list from
    the document keeps every path, and the document itself, to one rule.
    """
    if request.method == "OPTIONS" or request.url_rule is None:
        return
    allowed = declared_query_parameters(request.url_rule.rule.removeprefix(bp.url_prefix))
    if allowed is None:
        return
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        raise InvalidParameter.named(
            ",".join(unknown), gettext("not a query parameter of this resource.")
        )
    if request.args.get("crs", CRS84) != CRS84:
        raise InvalidParameter.named("crs", gettext("only %(crs)s is supported.", crs=CRS84))


def _url(endpoint: str, **params: Any) -> str:
    return url_for(f"ogc.{endpoint}", _external=True, **params)


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def _self_links(endpoint: str, html: bool, media_type: str = JSON, **params: Any) -> list[dict]:
    """self and alternate: the format answered and the other one."""
    as_json = _link(_url(endpoint, **params, f="json"), "", media_type, gettext("As JSON"))
    as_html = _link(_url(endpoint, **params, f="html"), "", HTML, gettext("As HTML"))
    first, second = (as_html, as_json) if html else (as_json, as_html)
    return [{**first, "rel": "self"}, {**second, "rel": "alternate"}]


def _json(body: Any, media_type: str = JSON) -> Response:
    return Response(orjson.dumps(body), mimetype=media_type)


def _page(template: str, links: list[dict], **context: Any) -> str:
    json_link = next(link["href"] for link in links if link["type"] != HTML)
    return render_template(f"ogc/{template}", links=links, json_link=json_link, **context)


def _title() -> str:
    return gettext("%(name)s: historical traces", name=current_app.config["INSTALLATION_NAME"])


@bp.after_request
def _cross_origin(response: Response) -> Response:
    """Any site may read the API (QGIS, web maps); a browser's cookies are not sent with it."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Accept"
        response.headers["Access-Control-Max-Age"] = "600"
    response.vary.update(("Accept", "Authorization", "Cookie"))
    # Only anonymous, cookieless JSON may sit in shared caches: pages carry the visitor's CSRF
    # token, a token's answers are its own, and a session cookie may be refreshed in this one.
    cookie = current_app.config["SESSION_COOKIE_NAME"] in request.cookies
    personal = cookie or "Authorization" in request.headers or response.mimetype == HTML
    cache = "private, no-store" if personal else "public, max-age=60"
    response.headers.setdefault("Cache-Control", cache)
    return response


@bp.get("/")
@bp.get("")
def landing() -> Response | str:
    """The landing page: what this is and where everything else is."""
    html = _wants_html()
    links = _self_links("landing", html) + [
        _link(_url("api", f="json"), "service-desc", OPENAPI, gettext("The API definition")),
        _link(_url("api", f="html"), "service-doc", HTML, gettext("The API documentation")),
        _link(_url("conformance"), "conformance", JSON, gettext("Conformance classes")),
        _link(_url("conformance"), OGC_REL + "conformance", JSON, gettext("Conformance classes")),
        _link(_url("collections"), "data", JSON, gettext("The collections")),
        _link(_url("collections"), OGC_REL + "data", JSON, gettext("The collections")),
    ]
    description = gettext(
        "Historical traces recorded by residents and checked by librarians, as OGC API - "
        "Features. Protected sites are shown at an approximate location."
    )
    body = {"title": _title(), "description": description, "links": links}
    return _page("landing.html", links, doc=body) if html else _json(body)


@bp.get("/conformance")
def conformance() -> Response | str:
    """The conformance classes this API implements."""
    html = _wants_html()
    links = _self_links("conformance", html)
    body = {"conformsTo": CONFORMANCE, "links": links}
    return _page("conformance.html", links, classes=CONFORMANCE) if html else _json(body)


@bp.get("/api")
def api() -> Response | str:
    """The OpenAPI 3.0 definition (JSON), or a readable page of it (f=html)."""
    document = openapi_document(_url("landing").rstrip("/"), _title())
    if _wants_html():
        links = _self_links("api", True, OPENAPI)
        return _page("api.html", links, doc=document)
    return _json(document, OPENAPI)


def _collection_json(collection: queries.Collection) -> dict[str, Any]:
    if collection.name is None:
        title = gettext("All approved traces")
        description = gettext("Every approved trace in every project.")
    else:
        title = collection.name
        description = collection.description or gettext(
            "Approved traces of the project run by %(library)s.", library=collection.library
        )
    items = {"collection_id": collection.id}
    body: dict[str, Any] = {
        "id": collection.id, "title": title, "description": description,
        "itemType": "feature", "crs": [CRS84], "storageCrs": CRS84,
        "links": [
            _link(_url("collection", collection_id=collection.id), "self", JSON, title),
            _link(_url("collection", collection_id=collection.id, f="html"), "alternate", HTML,
                  title),
            _link(_url("items", **items), "items", GEOJSON, gettext("The traces as GeoJSON")),
            _link(_url("items", **items, f="html"), "items", HTML, gettext("The traces")),
            _link(_url("queryables", **items), OGC_REL + "queryables", SCHEMA,
                  gettext("The properties to filter on")),
            _link(_url("deletions", **items), "deletions", JSON,
                  gettext("Traces that left the collection, for harvesters")),
        ],
    }  # fmt: skip
    if collection.bbox is not None:
        first = collection.first_approved.astimezone(UTC).isoformat().replace("+00:00", "Z")
        body["extent"] = {
            "spatial": {"bbox": [list(collection.bbox)], "crs": CRS84},
            "temporal": {
                "interval": [[first, None]],
                "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
            },
        }
    return body


@bp.get("/collections")
def collections() -> Response | str:
    """Every collection: `traces` and one per project, with their extents."""
    html = _wants_html()
    found = queries.collections(receiver_from_request().precise)
    links = _self_links("collections", html)
    body = {"links": links, "collections": [_collection_json(c) for c in found]}
    return _page("collections.html", links, doc=body) if html else _json(body)


@bp.get("/collections/<collection_id>")
def collection(collection_id: str) -> Response | str:
    """One collection."""
    html = _wants_html()
    found = queries.collections(receiver_from_request().precise, only=collection_id)
    if not found:
        raise NotFound(gettext("No such collection."))
    body = _collection_json(found[0])
    links = _self_links("collection", html, collection_id=collection_id)
    return _page("collection.html", links, doc=body) if html else _json(body)


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str) -> Response | str:
    """The properties items can be filtered on by equality (OGC API - Features Part 3)."""
    html = _wants_html()
    if not queries.collection_exists(collection_id):
        raise NotFound(gettext("No such collection."))
    choices = queries.queryable_choices(collection_id)

    def prop(title: str, description: str, values: list[str]) -> dict[str, Any]:
        schema: dict[str, Any] = {"title": title, "description": description, "type": "string"}
        if values:
            schema["enum"] = values
        return schema

    links = _self_links("queryables", html, SCHEMA, collection_id=collection_id)
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _url("queryables", collection_id=collection_id),
        "type": "object",
        "title": gettext("Properties to filter on"),
        "description": gettext(
            "Give any of these as a query parameter on the items, e.g. ?type=gravminne; "
            "each must match exactly, and they combine with bbox, datetime and each other."
        ),
        "properties": {
            "type": prop(gettext("Type of trace"), gettext("The code of the trace type."),
                         choices.types),
            "period": prop(gettext("Period"), gettext("The code of the period."),
                           choices.periods),
            "licence": prop(gettext("Licence"), gettext("The SPDX licence identifier."),
                            choices.licences),
            "project": prop(gettext("Project"), gettext("The project's short name."),
                            choices.projects),
        },
        "additionalProperties": False,
        "links": links,
    }  # fmt: skip
    if html:
        return _page("queryables.html", links, collection_id=collection_id, doc=body)
    return _json(body, SCHEMA)


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _items_links(query: queries.ItemsQuery, page: queries.Page, html: bool) -> list[dict]:
    """self, alternate, next and prev: the same query with another offset."""
    params = {k: v for k, v in request.args.items() if k not in ("offset", "f")}
    params.update(collection_id=query.collection, limit=query.limit)
    links = _self_links("items", html, GEOJSON, **params, offset=query.offset)
    kind = HTML if html else GEOJSON
    fmt = "html" if html else "json"
    if query.offset + page.returned < page.matched:
        href = _url("items", **params, offset=query.offset + query.limit, f=fmt)
        links.append(_link(href, "next", kind, gettext("Next page")))
    if query.offset > 0:
        href = _url("items", **params, offset=max(0, query.offset - query.limit), f=fmt)
        links.append(_link(href, "prev", kind, gettext("Previous page")))
    links.append(_link(_url("collection", collection_id=query.collection), "collection", JSON,
                       gettext("The collection")))  # fmt: skip
    return links


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str) -> Response | str:
    """A page of features: limit/offset paging with next links, bbox and datetime filters."""
    if not queries.collection_exists(collection_id):
        raise NotFound(gettext("No such collection."))
    html = _wants_html()
    args = request.args
    query = queries.ItemsQuery(
        collection=collection_id,
        limit=queries.parse_limit(args.get("limit"), DEFAULT_LIMIT),
        offset=queries.parse_offset(args.get("offset")),
        bbox=queries.parse_bbox(args.get("bbox"), args.get("bbox-crs")),
        interval=queries.parse_datetime(args.get("datetime")),
        datetime_text=args.get("datetime"),
        properties=queries.parse_properties(args),
        updated_since=_since(args.get("updated_since"), "updated_since"),
    )
    reader = receiver_from_request()
    page = queries.items_page(reader.precise, current_app.config["BASE_URL"], query)
    _record_delivery(reader, html, query.filters().describe(), page.returned, page.precise)
    links = _items_links(query, page, html)
    if html:
        features = orjson.loads(f"[{page.features}]")  # at most one page, for the template
        found = queries.collections(reader.precise, only=collection_id)[0]
        return _page("items.html", links, collection_id=collection_id, features=features,
                     page=page, query=query, title=_collection_json(found)["title"])  # fmt: skip
    head = orjson.dumps({
        "type": "FeatureCollection", "numberMatched": page.matched,
        "numberReturned": page.returned, "timeStamp": _timestamp(), "links": links,
    })  # fmt: skip
    # PostgreSQL built the features as one JSON text; only the envelope is made here.
    body = head[:-1] + b',"features":[' + page.features.encode() + b"]}"
    return Response(body, mimetype=GEOJSON)


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str) -> Response | str:
    """One approved trace of the collection as a GeoJSON Feature."""
    html = _wants_html()
    reader = receiver_from_request()
    found = None
    number = db_int(feature_id)  # trace ids are PostgreSQL integers; past them, no feature
    if number is not None:
        found = queries.one_feature(
            reader.precise, current_app.config["BASE_URL"], collection_id, number
        )
    if found is None:
        raise NotFound(gettext("No such feature in this collection."))
    text, precise = found
    _record_delivery(reader, html, {"collection": collection_id, "feature": feature_id}, 1,
                     precise)  # fmt: skip
    feature = orjson.loads(text)
    links = _self_links("item", html, GEOJSON, collection_id=collection_id, feature_id=feature_id)
    links.append(_link(_url("collection", collection_id=collection_id), "collection", JSON,
                       gettext("The collection")))  # fmt: skip
    # The photos' enclosure and preview links, built with the feature, follow our own.
    feature["links"] = links + feature.get("links", [])
    if html:
        return _page("item.html", links, collection_id=collection_id, feature=feature)
    return _json(feature, GEOJSON)


@bp.get("/collections/<collection_id>/deletions")
def deletions(collection_id: str) -> Response:
    """Traces that left the collection since `since`, for harvesters (app.publication.harvest)."""
    if collection_id == ALL_TRACES:
        project_id = None
    else:
        project_id = harvest.project_id_of(collection_id)
        if project_id is None:
            raise NotFound(gettext("No such collection."))
    receiver_from_request()  # a token that does not work is refused here too
    args = request.args
    query = harvest.DeletionsQuery(
        project_id=project_id,
        since=_since(args.get("since"), "since"),
        limit=queries.parse_limit(args.get("limit"), harvest.DELETIONS_LIMIT),
        offset=queries.parse_offset(args.get("offset")),
    )
    page = harvest.deletions_page(query)
    params = {k: v for k, v in args.items() if k not in ("offset", "limit")}
    params.update(collection_id=collection_id, limit=query.limit)
    links = [
        _link(_url("deletions", **params, offset=query.offset), "self", JSON,
              gettext("This page")),
        _link(_url("collection", collection_id=collection_id), "collection", JSON,
              gettext("The collection")),
    ]  # fmt: skip
    if harvest.has_next(page, query):
        links.append(_link(_url("deletions", **params, offset=query.offset + query.limit),
                           "next", JSON, gettext("Next page")))  # fmt: skip
    return _json(harvest.deletions_body(page, query, links))


def _since(raw: str | None, name: str) -> datetime | None:
    """A `since` moment: a date or date-time (UTC when no zone is given)."""
    if raw is None:
        return None
    try:
        return harvest.parse_since(raw)
    except TimeError as error:
        raise InvalidParameter.named(name, time_message(error, interval=False)) from None


def _record_delivery(reader: Receiver, html: bool, query: dict, count: int, precise: bool) -> None:
    """Log what a partner token received (GET only); anonymous reads are not logged (too many)."""
    if request.method == "GET":
        record_reading(reader, "html" if html else "json", query, count, precise)
