"""The OpenAPI 3.0 document for /ogc, written out by hand like the one for /api."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from app.ogc import CRS84, DEFAULT_LIMIT, MAX_LIMIT
from app.openapi_schemas import PROBLEM_RESPONSE, PROBLEM_SCHEMA

_JSON_OR_HTML = {
    "application/json": {"schema": {"type": "object"}},
    "text/html": {"schema": {"type": "string"}},
}
_GEOJSON_OR_HTML = {
    "application/geo+json": {"schema": {"type": "object"}},
    "text/html": {"schema": {"type": "string"}},
}


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _get(summary: str, operation_id: str, params: list[str], content: dict[str, Any],
         not_found: bool = False) -> dict[str, Any]:  # fmt: skip
    responses: dict[str, Any] = {
        "200": {"description": summary, "content": content},
        "400": {"description": "A parameter is invalid", **PROBLEM_RESPONSE},
    }
    if not_found:
        responses["404"] = {"description": "No such collection or feature", **PROBLEM_RESPONSE}
    return {"get": {"summary": summary, "operationId": operation_id, "tags": ["OGC API - Features"],
                    "parameters": [_param(p) for p in params], "responses": responses}}  # fmt: skip


def _parameters() -> dict[str, Any]:
    return {
        "f": {
            "name": "f", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "The format of the answer (else chosen by the Accept header)",
            "schema": {"type": "string", "enum": ["json", "html"]},
        },
        "collectionId": {
            "name": "collectionId", "in": "path", "required": True,
            "description": "`traces` for every approved trace, or a project's short name",
            "schema": {"type": "string"},
        },
        "featureId": {
            "name": "featureId", "in": "path", "required": True,
            "description": "The number of an approved trace", "schema": {"type": "integer"},
        },
        "limit": {
            "name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
            "description": f"How many features per page; more than {MAX_LIMIT} is served as "
                           f"{MAX_LIMIT} (follow the next link for the rest)",
            "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_LIMIT},
        },
        "offset": {
            "name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "How many matching features to skip; the next link sets it",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "bbox": {
            "name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "west,south,east,north in CRS84 degrees, or six numbers "
                           "west,south,min height,east,north,max height (heights are ignored); "
                           "west greater than east crosses the antimeridian. Filters on the "
                           "location as shown (the generalised one for protected sites)",
            "schema": {"type": "array", "minItems": 4, "maxItems": 6,
                       "items": {"type": "number"}},
        },
        "bbox-crs": {
            "name": "bbox-crs", "in": "query", "required": False, "style": "form",
            "explode": False, "schema": {"type": "string", "format": "uri", "enum": [CRS84]},
        },
        "datetime": {
            "name": "datetime", "in": "query", "required": False, "style": "form",
            "explode": False,
            "description": "When the trace was approved: an RFC 3339 instant or date, or an "
                           "interval start/end with `..` for an open end",
            "schema": {"type": "string"},
        },
        "crs": {
            "name": "crs", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "The coordinate system of the answer: CRS84 only",
            "schema": {"type": "string", "format": "uri", "enum": [CRS84]},
        },
        **_harvest_parameters(),
        **{name: _queryable(name, description) for name, description in _QUERYABLES.items()},
    }  # fmt: skip


# The equality filters on items (OGC API - Features Part 3, queryables as query parameters).
_QUERYABLES = {
    "type": "Only traces of this type (a code of the trace type vocabulary)",
    "period": "Only traces of this period (a code of the period vocabulary)",
    "licence": "Only traces under this licence (SPDX identifier, e.g. CC0-1.0)",
    "project": "Only traces of this project (its short name)",
}


def _queryable(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name, "in": "query", "required": False, "style": "form", "explode": False,
        "description": description + "; see the collection's queryables for the values",
        "schema": {"type": "string", "minLength": 1},
    }  # fmt: skip


# For harvesters that mirror a collection (app.publication.harvest): what changed, what left.
_HARVESTING = (
    "For harvesters that mirror a collection. From the `since` of the previous harvest: first "
    "delete the ids this feed lists, then insert or replace the items with "
    "`updated_since`, in that order (a trace removed and approved again later appears in "
    "both). Start each harvest a few minutes before the previous one began (the server's "
    "`timeStamp`): changes are stamped when made but committed a moment later. Moves to "
    "another project are listed for the project left, not for `traces`."
)


def _harvest_parameters() -> dict[str, Any]:
    moment = {"type": "string", "description": "A date (2026-01-31) or date-time "
              "(2026-01-31T12:00:00Z); without a zone it is UTC"}  # fmt: skip
    return {
        "updated_since": {
            "name": "updated_since", "in": "query", "required": False, "style": "form",
            "explode": False, "schema": moment,
            "description": "Only traces changed since this moment (anything the feature "
                           "carries, its shown location included). " + _HARVESTING,
        },
        "since": {
            "name": "since", "in": "query", "required": False, "style": "form",
            "explode": False, "schema": moment,
            "description": "Only traces that left the collection since this moment (all "
                           "when left out)",
        },
    }  # fmt: skip


def _deletions_path() -> dict[str, Any]:
    path = _get(
        "Traces that left the collection (withdrawn, deleted, rejected after approval, merged "
        "as a duplicate, moved to another project), oldest first",
        "getDeletions",
        ["collectionId", "since", "limit", "offset"],
        {"application/json": {"schema": {
            "type": "object",
            "required": ["deletions", "numberMatched", "numberReturned", "timeStamp", "links"],
            "properties": {
                "deletions": {"type": "array", "items": {
                    "type": "object", "required": ["id", "removed_at", "reason"],
                    "properties": {
                        "id": {"type": "integer", "description": "The feature's id"},
                        "removed_at": {"type": "string", "format": "date-time"},
                        "reason": {"type": "string", "description": "withdrawn, deleted, "
                                   "rejected, merged, moved, erased, or another status"},
                    },
                }},
                "numberMatched": {"type": "integer"},
                "numberReturned": {"type": "integer"},
                "since": {"type": "string", "format": "date-time", "nullable": True},
                "timeStamp": {"type": "string", "format": "date-time"},
                "links": {"type": "array", "items": {"type": "object"}},
            },
        }}},
        not_found=True,
    )  # fmt: skip
    path["get"]["description"] = _HARVESTING
    return path


def declared_query_parameters(path: str) -> frozenset[str] | None:
    """The query parameters the document declares for a route such as /collections/<id>.

    None when the document has no such path. Route variables are matched by position, so
    `<collection_id>` stands for `{collectionId}`.
    """
    return _declared().get(re.sub(r"<[^>]*>", "{}", path).rstrip("/") or "/")


@cache
def _declared() -> dict[str, frozenset[str]]:
    document = openapi_document("", "")
    shared = document["components"]["parameters"]
    found = {}
    for path, operations in document["paths"].items():
        names = set()
        for parameter in operations["get"]["parameters"]:
            ref = parameter.get("$ref")
            parameter = shared[ref.rsplit("/", 1)[1]] if ref else parameter
            if parameter["in"] == "query":
                names.add(parameter["name"])
        found[re.sub(r"\{[^}]*\}", "{}", path).rstrip("/") or "/"] = frozenset(names)
    return found


def openapi_document(server_url: str, title: str) -> dict[str, Any]:
    """The OGC API description with this installation's /ogc as its server."""
    items_params = ["collectionId", "limit", "offset", "bbox", "bbox-crs", "datetime",
                    *_QUERYABLES, "updated_since", "crs", "f"]  # fmt: skip
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": "1.0",
            "description": "OGC API - Features (Part 1: Core) for approved heritage traces. "
            "Protected sites are shown at a generalised point unless the request carries a "
            "partner token (Authorization: Bearer ...) for their project. Provenance of a "
            "trace a librarian or curator registered for a resident who told it: "
            "recorded_for_informant (true/false), informant (their name, only with their "
            "consent, else null), informant_birth_year (only with consent), knowledge_source "
            "(how the knowledge was passed on, only with consent) and recorded_by (the "
            "recorder's display name when they show it publicly, else null).",
        },
        "servers": [{"url": server_url}],
        "tags": [{"name": "OGC API - Features"}],
        "paths": {
            "/": _get("Landing page", "getLandingPage", ["f"], _JSON_OR_HTML),
            "/conformance": _get(
                "The conformance classes implemented", "getConformance", ["f"], _JSON_OR_HTML
            ),
            "/api": _get(
                "This document",
                "getApi",
                ["f"],
                {
                    "application/vnd.oai.openapi+json;version=3.0": {"schema": {"type": "object"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            ),  # fmt: skip
            "/collections": _get("The collections", "getCollections", ["f"], _JSON_OR_HTML),
            "/collections/{collectionId}": _get(
                "One collection",
                "describeCollection",
                ["collectionId", "f"],
                _JSON_OR_HTML,
                not_found=True,
            ),
            "/collections/{collectionId}/queryables": _get(
                "The properties items can be filtered on (a JSON Schema)",
                "getQueryables",
                ["collectionId", "f"],
                {
                    "application/schema+json": {"schema": {"type": "object"}},
                    "text/html": {"schema": {"type": "string"}},
                },
                not_found=True,
            ),
            "/collections/{collectionId}/items": _get(
                "A page of features",
                "getFeatures",
                items_params,
                _GEOJSON_OR_HTML,
                not_found=True,
            ),
            "/collections/{collectionId}/items/{featureId}": _get(
                "One feature",
                "getFeature",
                ["collectionId", "featureId", "crs", "f"],
                _GEOJSON_OR_HTML,
                not_found=True,
            ),
            "/collections/{collectionId}/deletions": _deletions_path(),
        },
        "components": {
            "parameters": _parameters(),
            "schemas": {
                "Problem": PROBLEM_SCHEMA,
            },
            "securitySchemes": {
                "partnerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A partner institution's token: precise locations of "
                    "protected sites in its projects",
                }
            },  # fmt: skip
        },
        # Optional: without a token the API answers with generalised locations.
        "security": [{}, {"partnerToken": []}],
    }
