"""The OpenAPI 3.1 document for /api, written out by hand: small, stable, and reviewed.

The request schemas (app.openapi_schemas) are as tight as the server's own checks allow, and
the project names are this installation's; every answer a route can give is declared.
"""

from __future__ import annotations

from typing import Any

from app.openapi_schemas import (
    PROBLEM_RESPONSE,
    PROBLEM_SCHEMA,
    VISIBLE_TEXT,
    code_schema,
    geometry_schema,
    informant_schema,
    position_schema,
)
from app.params import PG_INT_MAX
from app.photos.openapi import photo_paths, photo_schemas
from app.traces.informants import last_birth_year

_NUMBER = r"-?[0-9]{1,3}(\.[0-9]{1,7})?"


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, **PROBLEM_RESPONSE}


# Answers any route may give, besides its own.
_COMMON = {
    "400": _problem("A control character in the address or a parameter"),
    "429": _problem("Too many requests; Retry-After says when to try again"),
    "503": _problem("The database is not reachable; Retry-After says when to try again"),
}


def _path_integer(name: str, description: str, maximum: int) -> dict[str, Any]:
    """A path integer: a PostgreSQL integer at most (app.params); larger is no such page, 404."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "integer", "minimum": 0, "maximum": maximum},
    }


def _map_filters(
    vocabulary: dict[str, list[str]], projects: list[str] | None
) -> list[dict[str, Any]]:
    """The map's optional filters; an unknown code or project is a 400."""

    def query(name: str, description: str, values: list[str] | None) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if values is not None:
            schema["enum"] = values
        return {"name": name, "in": "query", "description": description, "schema": schema}

    return [
        query("type", "Only traces of this trace type (a code)", vocabulary.get("trace_type")),
        query("period", "Only traces of this period (a code)", vocabulary.get("period")),
        query("project", "Only traces of this project (its short name)", projects),
    ]


def openapi_document(
    server_url: str,
    *,
    vocabulary: dict[str, list[str]] | None = None,
    projects: list[str] | None = None,
    max_vertices: int = 5000,
) -> dict[str, Any]:
    """The API description with this installation as its server.

    `vocabulary` (field -> active codes) and `projects` (open projects' short names) make the
    enums of this installation; without them those fields are plain strings.
    """
    vocabulary = vocabulary or {}
    project: dict[str, Any] = {
        "type": "string",
        "description": (
            "The short name of an open project. If omitted, the one open project whose area "
            "contains the place is used. A place outside the chosen project's area is refused "
            "(422, code outside_project_area, with suggested_projects) unless "
            "confirm_outside_area is true"
        ),
    }
    if projects is not None:
        project["enum"] = projects
    filters = _map_filters(vocabulary, projects)
    return {
        "openapi": "3.1.0",
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
                            "schema": {
                                "type": "string",
                                "pattern": rf"^{_NUMBER}(,{_NUMBER}){{3}}$",
                                "example": "23.0,69.8,23.5,70.1",
                            },
                            "description": "west,south,east,north in WGS84 degrees",
                        },
                        {
                            "name": "zoom",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 22},
                        },
                        *filters,
                    ],
                    "responses": {
                        "200": {
                            "description": "A GeoJSON FeatureCollection",
                            "content": {"application/geo+json": {"schema": {"type": "object"}}},
                        },
                        **_COMMON,
                        "400": _problem(
                            "Invalid bbox or zoom, an unknown filter, or a control character"
                        ),
                    },
                }
            },
            "/api/map/tiles/{z}/{x}/{y}": {
                "get": {
                    "summary": "Clusters of one Web Mercator tile (shapes from the cluster zoom)",
                    "description": "A FeatureCollection as /api/map's: below the cluster zoom, "
                    "Points with properties count, id and title (when count is 1) and place (the "
                    "nearest named place, or null). Anonymous answers are public with an ETag "
                    "and Last-Modified (304 on If-None-Match); logged-in ones are private.",
                    "parameters": [
                        _path_integer("z", "Zoom level", 22),
                        _path_integer("x", "Column, 0 <= x < 2^z", PG_INT_MAX),
                        _path_integer("y", "Row, 0 <= y < 2^z", PG_INT_MAX),
                        *filters,
                    ],
                    "responses": {
                        "200": {
                            "description": "A GeoJSON FeatureCollection",
                            "headers": {
                                "ETag": {"schema": {"type": "string"}},
                                "Last-Modified": {"schema": {"type": "string"}},
                                "Cache-Control": {"schema": {"type": "string"}},
                            },
                            "content": {"application/geo+json": {"schema": {"type": "object"}}},
                        },
                        "304": {"description": "Not modified (If-None-Match matched the ETag)"},
                        **_COMMON,
                        "400": _problem(
                            "No such tile at that zoom, an unknown filter, or a control character"
                        ),
                        "404": _problem("A negative or too large number in the path"),
                    },
                }
            },
            "/api/search": {
                "get": {
                    "summary": "Find traces (full text, partial and misspelt words) and places",
                    "description": "Any text is a valid search. Longer texts are cut (cut: true, "
                    "with a note). Protected sites are found only at their public point.",
                    "parameters": [
                        {
                            "name": "q",
                            "in": "query",
                            "description": "What to look for",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "bbox",
                            "in": "query",
                            "description": "The map's view (west,south,east,north): results "
                            "inside it come first",
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "description": "At most this many traces and places (1-30)",
                            "schema": {"type": "integer"},
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "Traces and places",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_COMMON,
                        "400": _problem("An invalid bbox or a control character"),
                    },
                }
            },
            "/api/traces": {
                "post": {
                    "summary": "Submit a new trace (stored as pending)",
                    "security": [{"session": [], "csrf": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "description": "A key the client makes per entry (an offline "
                            "outbox may send it twice): a resend by the same author answers 200 "
                            "with the trace the first request made",
                            "schema": {"type": "string", "minLength": 1, "maxLength": 64},
                        }
                    ],
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
                        "200": {
                            "description": "Sent before with this Idempotency-Key: the trace "
                            "that request made",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Created"}
                                }
                            },
                        },
                        "201": {
                            "description": "Created; Location holds the trace's page",
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Created"}
                                }
                            },
                        },
                        **_COMMON,
                        "400": _problem(
                            "Missing or invalid CSRF token, a control character, or a bad "
                            "Idempotency-Key (`bad_submission_key`)"
                        ),
                        "401": _problem("Not logged in"),
                        "403": _problem("Not allowed"),
                        "413": _problem("Body too large"),
                        "415": _problem("Body is not JSON"),
                        "422": _problem("Invalid fields; `errors` names each one"),
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
                            "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The trace",
                            "content": {"application/geo+json": {"schema": {"type": "object"}}},
                        },
                        "404": _problem("No such visible trace"),
                        **_COMMON,
                    },
                }
            },
            **photo_paths(),  # photos: app/photos/openapi.py
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        **_COMMON,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "heritage_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
            "schemas": {
                "Problem": PROBLEM_SCHEMA,
                **photo_schemas(),  # photos: app/photos/openapi.py
                "Position": position_schema(),
                "Created": {
                    "type": "object",
                    "required": ["id", "url", "api_url", "status", "version"],
                    "properties": {
                        "id": {"type": "integer"},
                        "url": {"type": "string"},
                        "api_url": {"type": "string"},
                        "status": {"type": "string", "enum": ["pending", "approved"]},
                        "version": {"type": "integer"},
                        "photos": {
                            "type": "array",
                            "items": {"type": "integer"},
                            "description": "The ids of the photos now on the trace",
                        },
                    },
                },
                "TraceFeature": {
                    "type": "object",
                    "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": {"const": "Feature"},
                        "geometry": geometry_schema(max_vertices),
                        "properties": {
                            "type": "object",
                            "required": ["title"],
                            "properties": {
                                "title": {
                                    "type": "string",
                                    "maxLength": 200,
                                    "pattern": VISIBLE_TEXT,
                                    "description": "At most 200 characters, with at least one "
                                    "visible letter or digit; control characters are removed",
                                },
                                "description": {
                                    "type": ["string", "null"],
                                    "maxLength": 20000,
                                    "description": "Markdown",
                                },
                                "project": project,
                                "trace_type": code_schema(
                                    vocabulary.get("trace_type"), "trace type"
                                ),
                                "period": code_schema(vocabulary.get("period"), "period"),
                                "condition": code_schema(vocabulary.get("condition"), "condition"),
                                "dating_method": code_schema(
                                    vocabulary.get("dating_method"), "dating method"
                                ),
                                "sources": {"type": ["string", "null"], "maxLength": 5000},
                                "licence": {
                                    "type": ["string", "null"],
                                    "enum": ["CC-BY-4.0", "CC0-1.0", None],
                                    "description": "The project's default licence if omitted",
                                },
                                "photos": {
                                    "type": ["array", "null"],
                                    "maxItems": 10,
                                    "description": "Uploads (POST /api/photos) to attach",
                                    "items": {
                                        "type": "object",
                                        "required": ["id"],
                                        "properties": {
                                            "id": {"type": "integer", "minimum": 1},
                                            "caption": {"type": "string", "maxLength": 300},
                                            "credit": {"type": "string", "maxLength": 200},
                                            "licence": {"type": "string", "maxLength": 32},
                                            "taken_on": {
                                                "type": ["string", "null"],
                                                "format": "date",
                                            },
                                        },
                                    },
                                },
                                "submission_key": {
                                    "type": ["string", "null"],
                                    "minLength": 1,
                                    "maxLength": 64,
                                    "description": "The same as the Idempotency-Key header",
                                },
                                "confirm_outside_area": {
                                    "type": ["boolean", "null"],
                                    "description": "Keep the chosen project although the place "
                                    "lies outside its area",
                                },
                                "informant": informant_schema(last_birth_year()),
                            },
                        },
                    },
                },
            },
        },
    }
