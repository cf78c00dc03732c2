"""The photo paths and schemas of /api/openapi.json (app/openapi.py includes them)."""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context

from app.openapi_schemas import PROBLEM_RESPONSE


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, **PROBLEM_RESPONSE}


def _page(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


IMAGE_TYPES = ("image/webp", "image/jpeg", "image/png", "image/heic")


def photo_paths() -> dict[str, Any]:
    """POST /api/photos (an upload for a trace to come) and GET /photos/{photo_id}/{size}."""
    max_mb = current_app.config["PHOTO_MAX_MB"] if has_app_context() else 20
    return {
        "/api/photos": {
            "post": {
                "summary": "Upload a photo for a trace to come (staged until a trace names it)",
                "description": (
                    "One JPEG, PNG, WebP or HEIC/HEIF file in the multipart field `file`, at "
                    f"most {max_mb} MB; its type is read from its content. The photo is "
                    "re-encoded without any metadata. Name its `id` in the trace's "
                    "`properties.photos` to attach it; uploads never attached are removed "
                    "after HERITAGE_MEDIA_STAGED_HOURS. `gps` is the position the camera "
                    "recorded, offered to the person and never stored."
                ),
                "security": [{"session": [], "csrf": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                },
                            },
                            "encoding": {"file": {"contentType": ", ".join(IMAGE_TYPES)}},
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "Stored; Location holds the display size",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/StagedPhoto"}
                            }
                        },
                    },
                    "400": _problem("Missing or invalid CSRF token, or a control character"),
                    "401": _problem("Not logged in"),
                    "413": _problem(
                        "The file is larger than the limit (code too_large; `message` says "
                        "the limit in MB and what to do)"
                    ),
                    "422": _problem(
                        "The file was refused (code: empty, unknown_type, svg, polyglot, "
                        "animated, too_many_pixels, broken, no_file, storage_quota); "
                        "`message` says which limit and what to do"
                    ),
                    "429": _problem("Too many uploads (rate limit or daily_quota)"),
                    "503": _problem("Database unavailable; try again"),
                },
            }
        },
        "/photos/{photo_id}/{size}": {
            "get": {
                "summary": "One size of a photo (to those who may see it)",
                "description": (
                    "Served with the stored type, X-Content-Type-Options: nosniff and a "
                    "sandboxing Content-Security-Policy. With object storage the answer is a "
                    "302 to a signed address that expires after HERITAGE_MEDIA_URL_SECONDS. "
                    "`original` exists only when originals are kept, for the uploader and "
                    "the trace's moderators. Partner tokens (Authorization: Bearer) see "
                    "their projects' protected sites' approved photos."
                ),
                "parameters": [
                    {
                        "name": "photo_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647},
                    },
                    {
                        "name": "size",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": ["thumb", "display", "original"]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "The image",
                        "content": {
                            kind: {"schema": {"type": "string", "format": "binary"}}
                            for kind in IMAGE_TYPES
                        },
                    },
                    "302": {"description": "A signed, expiring address of the image"},
                    "304": {"description": "Not modified (If-None-Match)"},
                    "404": {
                        "description": (
                            "No such photo, or not one this viewer may see (a short text); "
                            "an address that is no photo's at all gets the site's 404 page"
                        ),
                        "content": {
                            "text/plain": {"schema": {"type": "string"}},
                            "text/html": {"schema": {"type": "string"}},
                        },
                    },
                    # Outside /api, the site's pages answer these.
                    "400": _page("A control character in the address"),
                    "429": _page("Too many requests"),
                    "503": _page("Database unavailable; try again"),
                },
            }
        },
    }


def photo_schemas() -> dict[str, Any]:
    """The StagedPhoto answer of POST /api/photos."""
    return {
        "StagedPhoto": {
            "type": "object",
            "required": ["id", "width", "height", "thumbnail", "display", "gps", "taken_on"],
            "properties": {
                "id": {"type": "integer"},
                "width": {"type": "integer"},
                "height": {"type": "integer"},
                "thumbnail": {"type": "string"},
                "display": {"type": "string"},
                "gps": {
                    "type": ["object", "null"],
                    "required": ["lat", "lon", "accuracy_m"],
                    "properties": {
                        "lat": {"type": "number"},
                        "lon": {"type": "number"},
                        "accuracy_m": {"type": ["number", "null"]},
                    },
                },
                "taken_on": {"type": ["string", "null"], "format": "date"},
            },
        }
    }
