"""The JSON Schemas of /api's documents: problem details, and a submitted trace's positions,
geometry and vocabulary codes, as tight as the server's own checks allow a schema to be.

A client (or a fuzzer) that follows them gets its trace stored: positions within Norway's
regions, titles with a visible letter or digit, codes from this installation. What a schema
cannot say (the exact outline of Norway, a valid polygon) is in the descriptions.
"""

from __future__ import annotations

from typing import Any

from app.traces import informants

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
# The content of every error answer, here and in the OGC API's document (app.ogc.openapi).
PROBLEM_RESPONSE = {"content": {"application/problem+json": {"schema": _PROBLEM}}}

# West, south, east, north of boxes that lie wholly inside Norway (tested against the outline
# in tests/integration/test_schemathesis.py). A position in one of them is always accepted; the
# server accepts any position within the outline of the mainland, Svalbard and Jan Mayen with
# a small sea margin (geo/norway.py), which a JSON Schema cannot describe.
REGIONS = {
    "Vestlandet": (5.6, 59.0, 7.0, 61.5),
    "Østlandet": (7.0, 59.3, 11.0, 62.0),
    "Trøndelag": (10.0, 62.6, 12.0, 64.3),
    "Helgeland": (12.5, 65.0, 14.0, 66.3),
    "Troms": (18.0, 68.8, 20.0, 69.5),
    "Finnmark": (23.5, 69.4, 25.5, 70.5),
    "Spitsbergen": (14.0, 77.7, 17.0, 78.6),
}
# At least one letter or digit that can be seen (app.validation accepts any script; a JSON
# Schema pattern cannot name Unicode classes portably, so the schema asks for a Latin one).
VISIBLE_TEXT = "[0-9A-Za-zÆØÅæøå]"


def position_schema() -> dict[str, Any]:
    """A [lon, lat] position inside Norway, as a schema can say it (REGIONS)."""

    def within(name: str, west: float, south: float, east: float, north: float) -> dict:
        return {
            "title": name,
            "type": "array",
            "prefixItems": [
                {"type": "number", "minimum": west, "maximum": east},
                {"type": "number", "minimum": south, "maximum": north},
            ],
            "items": False,
            "minItems": 2,
        }

    return {
        "description": "[longitude, latitude] in WGS84 degrees inside Norway: within one of "
        "these boxes, or elsewhere within the outline of the mainland, Svalbard and Jan Mayen",
        "anyOf": [within(name, *box) for name, box in REGIONS.items()],
    }


def geometry_schema(max_vertices: int) -> dict[str, Any]:
    """A submitted trace's geometry: Point, LineString or Polygon of Positions."""
    position = {"$ref": "#/components/schemas/Position"}
    ring = {
        "type": "array",
        "items": position,
        "minItems": 4,
        "description": "A closed ring: the last position repeats the first",
    }
    return {
        "description": "Point, LineString or Polygon in WGS84 lon/lat, inside Norway along its "
        f"whole length, at most {max_vertices} positions; a polygon must be valid",
        "oneOf": [
            {
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {"type": {"const": "Point"}, "coordinates": position},
            },
            {
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {
                    "type": {"const": "LineString"},
                    "coordinates": {
                        "type": "array",
                        "items": position,
                        "minItems": 2,
                        "maxItems": max_vertices,
                    },
                },
            },
            {
                "type": "object",
                "required": ["type", "coordinates"],
                "properties": {
                    "type": {"const": "Polygon"},
                    "coordinates": {"type": "array", "items": ring, "minItems": 1, "maxItems": 20},
                },
            },
        ],
    }


def code_schema(codes: list[str] | None, what: str) -> dict[str, Any]:
    """A vocabulary code (or null), an enum of this installation's codes when known."""
    schema: dict[str, Any] = {"type": ["string", "null"], "description": f"A code of {what}."}
    if codes is not None:
        schema["enum"] = [*codes, None]
    return schema


def informant_schema(last_birth_year: int) -> dict[str, Any]:
    """Assisted registration: who told the trace (only the project's moderators may send it)."""
    return {
        "type": ["object", "null"],
        "description": "Registered for someone else: the resident who told it (the "
        "informant). Only the project's librarians and curators (in their area) may send "
        "it, else 403 and nothing is stored; the sender is recorded as the recorder. The "
        "name, year of birth and knowledge_source are published only with consent",
        "required": ["name"],
        "properties": {
            "name": {
                "type": "string",
                "maxLength": informants.NAME_MAX,
                "pattern": VISIBLE_TEXT,
                "description": "Name or initials, with at least one visible letter or digit",
            },
            "birth_year": {
                "type": ["integer", "null"],
                "minimum": informants.FIRST_BIRTH_YEAR,
                "maximum": last_birth_year,
            },
            "consent": {
                "type": ["boolean", "null"],
                "description": "They agree to be named publicly and to museums (default false)",
            },
            "knowledge_source": {
                "type": ["string", "null"],
                "maxLength": informants.SOURCE_MAX,
                "description": (
                    'How the knowledge was passed on, such as "fortalt av far"; published '
                    "only with the informant's consent, as it may name people"
                ),
            },
        },
    }
