"""The OpenAPI 3.0 document for /ogc, written out by hand like the one for /api."""

from __future__ import annotations

from typing import Any

from app.ogc import CRS84, DEFAULT_LIMIT, MAX_LIMIT
from app.openapi import PROBLEM_SCHEMA

_PROBLEM = {
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
}
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
        "400": {"description": "A parameter is invalid", **_PROBLEM},
    }
    if not_found:
        responses["404"] = {"description": "No such collection or feature", **_PROBLEM}
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
            "description": "How many features per page",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                       "default": DEFAULT_LIMIT},
        },
        "offset": {
            "name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "How many matching features to skip; the next link sets it",
            "schema": {"type": "integer", "minimum": 0, "default": 0},
        },
        "bbox": {
            "name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
            "description": "west,south,east,north in CRS84 degrees; filters on the location "
                           "as shown (the generalised one for protected sites)",
            "schema": {"type": "array", "minItems": 4, "maxItems": 4,
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
    }  # fmt: skip


def openapi_document(server_url: str, title: str) -> dict[str, Any]:
    """The OGC API description with this installation's /ogc as its server."""
    items_params = ["collectionId", "limit", "offset", "bbox", "bbox-crs", "datetime", "f"]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": "1.0",
            "description": "OGC API - Features (Part 1: Core) for approved heritage traces. "
            "Protected sites are shown at a generalised point unless the request carries a "
            "partner token (Authorization: Bearer ...) for their project.",
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
                ["collectionId", "featureId", "f"],
                _GEOJSON_OR_HTML,
                not_found=True,
            ),
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
