"""The OpenAPI 3.0 document for /api, written out by hand: small, stable, and reviewed."""

from __future__ import annotations

from typing import Any

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
# RFC 9457 problem details, as every error of /api and /ogc is answered.
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}
_PROBLEM_RESPONSE = {"content": {"application/problem+json": {"schema": _PROBLEM}}}


def openapi_document(server_url: str) -> dict[str, Any]:
    """The API description with this installation as its server."""
    term = {"type": "string", "nullable": True, "description": "A code from the vocabulary."}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Heritage traces API",
            "version": "1",
            "description": "Map data and trace submission. Writes need a logged-in session and "
            "the CSRF token from the page's meta tag in an X-CSRFToken header.",
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/map": {
                "get": {
                    "summary": "Visible traces in a bounding box (clusters below a zoom level)",
                    "parameters": [
                        {
                            "name": "bbox",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string", "example": "23.0,69.8,23.5,70.1"},
                            "description": "west,south,east,north in WGS84 degrees",
                        },
                        {
                            "name": "zoom",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 22},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "A GeoJSON FeatureCollection",
                            "content": {"application/geo+json": {"schema": {"type": "object"}}},
                        },
                        "400": {"description": "Invalid bbox or zoom", **_PROBLEM_RESPONSE},
                    },
                }
            },
            "/api/traces": {
                "post": {
                    "summary": "Submit a new trace (stored as pending)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/geo+json": {
                                "schema": {"$ref": "#/components/schemas/TraceFeature"}
                            },
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/TraceFeature"}
                            },
                        },
                    },
                    "responses": {
                        "201": {"description": "Created; Location holds the trace's page"},
                        "400": {"description": "Missing CSRF token", **_PROBLEM_RESPONSE},
                        "401": {"description": "Not logged in", **_PROBLEM_RESPONSE},
                        "413": {"description": "Body too large", **_PROBLEM_RESPONSE},
                        "415": {"description": "Body is not JSON", **_PROBLEM_RESPONSE},
                        "422": {"description": "Invalid fields", **_PROBLEM_RESPONSE},
                    },
                }
            },
            "/api/traces/{trace_id}": {
                "get": {
                    "summary": "One trace as a GeoJSON Feature",
                    "parameters": [
                        {
                            "name": "trace_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {"description": "The trace"},
                        "404": {"description": "No such visible trace", **_PROBLEM_RESPONSE},
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Problem": PROBLEM_SCHEMA,
                "TraceFeature": {
                    "type": "object",
                    "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": {"type": "string", "enum": ["Feature"]},
                        "geometry": {
                            "type": "object",
                            "description": "Point, LineString or Polygon in WGS84 lon/lat",
                        },
                        "properties": {
                            "type": "object",
                            "required": ["title"],
                            "properties": {
                                "title": {"type": "string", "maxLength": 200},
                                "description": {"type": "string", "description": "Markdown"},
                                "project": {"type": "string", "description": "project slug"},
                                "trace_type": term,
                                "period": term,
                                "condition": term,
                                "dating_method": term,
                                "sources": {"type": "string"},
                                "licence": {"type": "string", "enum": ["CC-BY-4.0", "CC0-1.0"]},
                            },
                        },
                    },
                },
            }
        },
    }
