"""An uploaded GeoJSON or CSV file -> candidate known sites, each with its own errors.

Pure functions: no database, no request. Whole-file problems (not JSON, not UTF-8, a foreign
`crs`, too many features, no title column) raise FileRefused; everything wrong with one
feature is listed on its candidate (candidates.clean_feature).

The file is read as a stream, never whole: CSV line by line, GeoJSON one feature at a time
(jsonstream.JsonReader), so memory follows the largest feature and the candidates, not the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import IO, Any

import numpy as np
import shapely
import shapely.wkt
from flask_babel import gettext
from pyproj import Transformer
from shapely.geometry import mapping

from app.export.cells import restore, split_tags
from app.imports.candidates import ALIASES, Candidate, Vocabulary, canonical, clean_feature
from app.imports.jsonstream import FileRefused, JsonReader, streamed_arrays
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
# Members of a GeoJSON Feature itself (not properties) that the import reads or needs.
FEATURE_MEMBERS = {"type", "geometry", "properties", "id", "crs", "bbox"}


@dataclass
class ParsedFile:
    """What a file held: 'geojson' or 'csv', its candidates in file order, and what it ignored.

    unused names the columns (CSV) or properties (GeoJSON) the import does not read.
    """

    kind: str
    candidates: list[Candidate]
    unused: list[str] = field(default_factory=list)


def parse_upload(
    data: bytes | IO[bytes],
    filename: str,
    vocabulary: Vocabulary,
    default_licence: str,
    system: str = "wgs84",
    max_vertices: int = DEFAULT_MAX_VERTICES,
) -> ParsedFile:
    """Read an uploaded file (GeoJSON or CSV, told apart by name, else by content).

    data is the file's bytes or a seekable binary stream (an upload spooled to disk).
    """
    stream: IO[bytes] = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    name = filename.lower()
    start = stream.tell()
    head = stream.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    stream.seek(start)
    is_json = name.endswith((".geojson", ".json")) or (
        not name.endswith((".csv", ".txt")) and head in (b"{", b"[")
    )
    unused: set[str] = set()
    # utf-8-sig drops a byte-order mark; newline="" keeps line ends inside quoted CSV fields.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    try:
        if is_json:
            rows, kind = _geojson_rows(text, unused), "geojson"
        else:
            rows, kind = _csv_rows(text, system, unused), "csv"
        candidates = [
            clean_feature(raw, number, vocabulary, default_licence, max_vertices, errors)
            for number, raw, errors in rows
        ]
    except UnicodeDecodeError:
        stream.seek(start)
        raise FileRefused(_utf8_problem(stream)) from None
    finally:
        text.detach()  # the caller's stream stays open
    return ParsedFile(kind, candidates, sorted(unused, key=str.lower))


# --- GeoJSON -----------------------------------------------------------------------------------


def _geojson_rows(
    text: IO[str], unused: set[str]
) -> Iterator[tuple[int, dict[str, Any], list[str]]]:
    """The features of a FeatureCollection (or one Feature), each as soon as it is read."""
    top: dict[str, Any] = {}

    def check_crs(_key: str) -> None:
        problem = _crs_problem(top.get("crs"))
        if problem:
            raise FileRefused(problem)

    not_a_collection = gettext("The file is JSON but not a GeoJSON FeatureCollection.")
    members = streamed_arrays(JsonReader(text), ("features",), top, check_crs, not_a_collection)
    for count, (_key, feature) in enumerate(members, 1):
        _check_count(count)
        yield _feature_row(count, feature, unused)
    if top.get("type") == "Feature" and "features" not in top:
        yield _feature_row(1, top, unused)
        return
    if not (top.get("type") == "FeatureCollection" and isinstance(top.get("features"), list)):
        raise FileRefused(not_a_collection)
    problem = _crs_problem(top.get("crs"))
    if problem:
        raise FileRefused(problem)


def _feature_row(
    number: int, feature: Any, unused: set[str]
) -> tuple[int, dict[str, Any], list[str]]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return number, {}, [gettext("This is not a GeoJSON Feature.")]
    errors: list[str] = []
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        errors.append(gettext("The properties must be a JSON object."))
        properties = {}
    raw = canonical(properties, unused)
    unused.update(name for name in feature if name not in FEATURE_MEMBERS)
    if "id" not in raw and feature.get("id") is not None:
        raw["id"] = feature["id"]  # RFC 7946's feature id: the source's own id
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
    shown = name if isinstance(name, str) else json.dumps(crs)
    return gettext(
        "The file declares the coordinate system %(crs)s. GeoJSON (RFC 7946) is always WGS84 "
        "longitude/latitude and has no crs member: convert the file, for example with "
        "ogr2ogr -t_srs EPSG:4326, and upload it again.",
        crs=shown[:80],
    )


# --- CSV ---------------------------------------------------------------------------------------


def _lines(text: IO[str]) -> Iterator[str]:
    for line in text:
        if "\x00" in line:
            raise FileRefused(gettext("The file is not a text file."))
        yield line


def _csv_rows(
    text: IO[str], system: str, unused: set[str]
) -> Iterator[tuple[int, dict[str, Any], list[str]]]:
    """Each row as soon as it is read. Cells our export neutralised are restored first."""
    lines = _lines(text)
    first = next(lines, "")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
    try:
        original = [cell.strip() for cell in next(reader)]
    except StopIteration:
        raise FileRefused(gettext("The file is empty.")) from None
    except csv.Error as error:
        raise FileRefused(gettext("Line 1 of the file could not be read.")) from error
    header = [cell.lower() for cell in original]
    columns = {name: index for index, name in reversed(list(enumerate(header)))}
    if not any(alias in columns for alias in ALIASES["title"]):
        raise FileRefused(
            gettext("The file needs a column named title, name or navn with each site's title.")
        )
    place = _place_columns(columns, system)
    canonical(dict.fromkeys(name for name in original if name), unused)
    unused.difference_update(name for name in original if name.lower() in place[:2])
    count = 0
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise FileRefused(
                gettext("Line %(line)s of the file could not be read.", line=reader.line_num)
            ) from error
        number, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        count += 1
        _check_count(count)
        yield number, *_csv_row(cells, header, columns, place)


def _csv_row(
    cells: list[str], header: list[str], columns: Mapping[str, int], place: tuple[str, str, str]
) -> tuple[dict[str, Any], list[str]]:
    errors: list[str] = []
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        errors.append(
            gettext(
                "The row has %(count)s values but the header names %(columns)s.",
                count=len(cells),
                columns=len(header),
            )
        )
    values = {name: restore(cells[i]) for name, i in columns.items() if i < len(cells)}
    raw = canonical(values)
    if isinstance(raw.get("tags"), str):
        raw["tags"] = split_tags(raw["tags"])
    geometry = _csv_geometry(values, place, errors)
    if geometry is not None:
        raw["geometry"] = geometry
    return raw, errors


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


def _utf8_problem(stream: IO[bytes]) -> str:
    """Where the first byte that is not UTF-8 stands (read again, only when there is one)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    for chunk in iter(lambda: stream.read(1 << 16), b""):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            line += chunk[: error.start].count(b"\n")
            break
        line += chunk.count(b"\n")
    return gettext(
        "The file is not UTF-8 text (line %(line)s). Save it as UTF-8 and try again.", line=line
    )


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
