"""An uploaded GeoJSON or CSV file -> candidate known sites, each with its own errors.

Pure functions: no database, no request. Whole-file problems (not JSON, not UTF-8, a foreign
`crs`, too many features, no title column) raise FileRefused; everything wrong with one
feature is listed on its candidate (candidates.clean_feature).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
import shapely
import shapely.wkt
from flask_babel import gettext
from pyproj import Transformer
from shapely.geometry import mapping

from app.imports.candidates import ALIASES, Candidate, Vocabulary, canonical, clean_feature
from app.traces.messages import geometry_message
from geo.crs import SYSTEMS, WGS84, parse_typed
from geo.errors import GeometryError
from geo.geometry import DEFAULT_MAX_VERTICES

MAX_FEATURES = 5000
# RFC 7946 has no crs member; older files name WGS84 in one of these ways, which is harmless.
WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:6.6:4326",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "http://www.opengis.net/def/crs/epsg/0/4326",
}
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_NOT_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


class FileRefused(ValueError):
    """The whole file cannot be read; nothing in it is considered."""


@dataclass
class ParsedFile:
    """What a file held: 'geojson' or 'csv', and its candidates in file order."""

    kind: str
    candidates: list[Candidate]


def parse_upload(
    data: bytes,
    filename: str,
    vocabulary: Vocabulary,
    default_licence: str,
    system: str = "wgs84",
    max_vertices: int = DEFAULT_MAX_VERTICES,
) -> ParsedFile:
    """Read an uploaded file (GeoJSON or CSV, told apart by name, else by content)."""
    name = filename.lower()
    body = data.removeprefix(b"\xef\xbb\xbf")
    is_json = name.endswith((".geojson", ".json")) or (
        not name.endswith((".csv", ".txt")) and body.lstrip()[:1] in (b"{", b"[")
    )
    text = _utf8(body)
    if is_json:
        rows, kind = _geojson_rows(body), "geojson"
    else:
        rows, kind = _csv_rows(text, system), "csv"
    candidates = [
        clean_feature(raw, number, vocabulary, default_licence, max_vertices, errors)
        for number, raw, errors in rows
    ]
    return ParsedFile(kind, candidates)


# --- GeoJSON -----------------------------------------------------------------------------------


def _geojson_rows(body: bytes) -> list[tuple[int, dict[str, Any], list[str]]]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise FileRefused(_json_problem(body, error)) from None
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = {"type": "FeatureCollection", "features": [document]}
    if not (
        isinstance(document, dict)
        and document.get("type") == "FeatureCollection"
        and isinstance(document.get("features"), list)
    ):
        raise FileRefused(gettext("The file is JSON but not a GeoJSON FeatureCollection."))
    problem = _crs_problem(document.get("crs"))
    if problem:
        raise FileRefused(problem)
    features = document["features"]
    _check_count(len(features))
    return [_feature_row(number, feature) for number, feature in enumerate(features, 1)]


def _feature_row(number: int, feature: Any) -> tuple[int, dict[str, Any], list[str]]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return number, {}, [gettext("This is not a GeoJSON Feature.")]
    errors: list[str] = []
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        errors.append(gettext("The properties must be a JSON object."))
        properties = {}
    raw = canonical(properties)
    problem = _crs_problem(feature.get("crs"))
    if problem:
        errors.append(problem)
    if feature.get("geometry") is None:
        errors.append(gettext("The feature has no geometry."))
    else:
        raw["geometry"] = feature["geometry"]
    return number, raw, errors


def _crs_problem(crs: Any) -> str | None:
    if crs is None:
        return None
    properties = crs.get("properties") if isinstance(crs, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    if isinstance(name, str) and name.strip().lower() in WGS84_NAMES:
        return None
    shown = name if isinstance(name, str) else orjson.dumps(crs).decode()
    return gettext(
        "The file declares the coordinate system %(crs)s. GeoJSON (RFC 7946) is always WGS84 "
        "longitude/latitude and has no crs member: convert the file, for example with "
        "ogr2ogr -t_srs EPSG:4326, and upload it again.",
        crs=shown[:80],
    )


def _json_problem(body: bytes, error: orjson.JSONDecodeError) -> str:
    where = {"line": error.lineno, "column": error.colno}
    rest = body[error.pos : error.pos + 9].lstrip(b"-+")
    if rest.startswith((b"NaN", b"Infinity")) or "infinity" in error.msg:
        return gettext(
            "The file holds NaN, Infinity or a number too large (line %(line)s, column "
            "%(column)s). Coordinates and values must be finite numbers.",
            **where,
        )
    return gettext("The file is not valid JSON (line %(line)s, column %(column)s).", **where)


# --- CSV ---------------------------------------------------------------------------------------


def _csv_rows(text: str, system: str) -> list[tuple[int, dict[str, Any], list[str]]]:
    if "\x00" in text:
        raise FileRefused(gettext("The file is not a text file."))
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip().lower() for cell in next(reader)]
        records: list[tuple[int, list[str]]] = []
        line = reader.line_num
        for cells in reader:
            if any(cell.strip() for cell in cells):
                records.append((line + 1, cells))
            line = reader.line_num
    except StopIteration:
        raise FileRefused(gettext("The file is empty.")) from None
    except csv.Error as error:
        raise FileRefused(
            gettext("Line %(line)s of the file could not be read.", line=reader.line_num)
        ) from error
    columns = {name: index for index, name in reversed(list(enumerate(header)))}
    if not any(alias in columns for alias in ALIASES["title"]):
        raise FileRefused(
            gettext("The file needs a column named title, name or navn with each site's title.")
        )
    place = _place_columns(columns, system)
    _check_count(len(records))
    rows = []
    for number, cells in records:
        errors: list[str] = []
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            errors.append(
                gettext(
                    "The row has %(count)s values but the header names %(columns)s.",
                    count=len(cells),
                    columns=len(header),
                )
            )
        values = {name: cells[i] for name, i in columns.items() if i < len(cells)}
        raw = canonical(values)
        raw["tags"] = (raw.get("tags") or "").split(";")
        geometry = _csv_geometry(values, place, errors)
        if geometry is not None:
            raw["geometry"] = geometry
        rows.append((number, raw, errors))
    return rows


def _place_columns(columns: Mapping[str, int], system: str) -> tuple[str, str, str]:
    """('wkt', 'wkt', system) or (x column, y column, system of those numbers)."""
    if "wkt" in columns:
        return "wkt", "wkt", system
    for x, y, fixed in (
        ("lon", "lat", "wgs84"),
        ("longitude", "latitude", "wgs84"),
        ("easting", "northing", None),
        ("x", "y", None),
    ):
        if x in columns and y in columns:
            if x == "easting" and system == "wgs84":
                raise FileRefused(
                    gettext("The file has easting and northing: choose its UTM zone.")
                )
            return x, y, fixed or system
    raise FileRefused(
        gettext(
            "The file needs coordinate columns: lon and lat (or longitude and latitude, or x "
            "and y), easting and northing, or a wkt column."
        )
    )


def _csv_geometry(values: Mapping[str, str], place: tuple[str, str, str], errors: list[str]) -> Any:
    x_name, y_name, system = place
    if x_name == "wkt":
        return _wkt(values.get("wkt", ""), system, errors)
    numbers = [_decimal(values.get(name, ""), name, errors) for name in (x_name, y_name)]
    if None in numbers:
        return None
    x, y = numbers
    if system == "wgs84":
        return {"type": "Point", "coordinates": [x, y]}
    try:
        return parse_typed(f"{x!r} {y!r}", system, "point")
    except GeometryError as error:
        errors.append(_utm_message(error, y))
        return None


def _wkt(text: str, system: str, errors: list[str]) -> Any:
    if not text.strip():
        errors.append(gettext("The wkt column is empty."))
        return None
    try:
        shape = shapely.wkt.loads(text)
    except (shapely.errors.ShapelyError, ValueError):
        errors.append(gettext("The WKT geometry could not be read."))
        return None
    if system != "wgs84":
        shape = shapely.transform(shape, lambda xy: _to_wgs84(system, xy))
    return mapping(shape)


@lru_cache(maxsize=4)
def _transformer(system: str) -> Transformer:
    return Transformer.from_crs(SYSTEMS[system][0], WGS84, always_xy=True)


def _to_wgs84(system: str, xy: np.ndarray) -> np.ndarray:
    lon, lat = _transformer(system).transform(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def _decimal(text: str, column: str, errors: list[str]) -> float | None:
    value = text.strip().replace("\u2212", "-")
    if "," in value and "." not in value:
        value = value.replace(",", ".")  # Norwegian decimal comma
    if value.lower() in _NOT_FINITE:
        errors.append(gettext("%(column)s must be a finite number, not %(value)s.",
                              column=column, value=text.strip()[:20]))  # fmt: skip
        return None
    if not _DECIMAL.fullmatch(value) or not math.isfinite(float(value)):
        errors.append(gettext("%(column)s is not a number: %(value)s.",
                              column=column, value=text.strip()[:20] or "–"))  # fmt: skip
        return None
    return float(value)


def _utm_message(error: GeometryError, northing: float) -> str:
    if error.code == "utm_swapped":
        return gettext(
            "Easting and northing look swapped: the easting has about 6 digits, the northing 7."
        )
    if error.code == "utm_out_of_range":
        return gettext(
            "The northing %(northing)s is not in Norway; check the numbers and the UTM zone.",
            northing=f"{northing:.0f}",
        )
    return geometry_message(error)


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        line = body[: error.start].count(b"\n") + 1
        raise FileRefused(
            gettext(
                "The file is not UTF-8 text (line %(line)s). Save it as UTF-8 and try again.",
                line=line,
            )
        ) from None


def _check_count(count: int) -> None:
    if count > MAX_FEATURES:
        raise FileRefused(
            gettext(
                "The file holds %(count)s features; at most %(limit)s can be imported at once. "
                "Split it into smaller files.",
                count=count,
                limit=MAX_FEATURES,
            )
        )


def clean_filename(raw: str | None) -> str:
    """The uploaded file's own name, without folders or control characters, for the record."""
    name = re.split(r"[/\\]", raw or "")[-1]
    name = " ".join("".join(ch if ch.isprintable() else " " for ch in name).split())
    return name[:120] or "upload"
