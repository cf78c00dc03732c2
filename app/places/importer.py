"""Load place names into the gazetteer from Kartverket's SSR extracts (GeoJSON, CSV, GML).

Every reader streams: GeoJSON through the imports' JsonReader (one feature at a time), CSV
row by row, GML with xml.etree's iterparse (each feature cleared once read). Rows are upserted
on (source, source_id) in batches inside the caller's transaction; the caller commits once at
the end, so a refused file (FileRefused) leaves nothing stored.

Field names follow SSR as Kartverket ships it: the place-name API (ws.geonorge.no/stedsnavn/v1:
skrivemåte, navneobjekttype, stedsnummer, representasjonspunkt {øst, nord, koordsys}, kommuner
[{kommunenavn}], fylker [{fylkesnavn}]), the download's GML and GeoJSON (stedsnavn / skrivemåte /
komplettskrivemåte, kommunenavn, fylkesnavn, identifikasjon/lokalId) and the older flat extracts
(enh_snavn, enh_ssr_id, enh_navntype). Other GeoJSON and CSV use name, kind, municipality,
county, lat, lon and id.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.geometry import LineString, Polygon, shape
from sqlalchemy import literal_column, tuple_
from sqlalchemy.dialects.postgresql import insert

from app.db import db
from app.imports.jsonstream import FileRefused, JsonReader
from app.models import Place
from app.validation import has_visible_text, strip_controls
from geo.bounds import in_norway

BATCH = 1000
NAME_MAX = 200
KIND_MAX = 80
AREA_MAX = 100
ID_MAX = 100

__all__ = ["FileRefused", "ImportReport", "PlaceRecord", "import_file", "import_records"]


@dataclass
class PlaceRecord:
    """One place as read from a file, before checks: coordinates in `crs` (None: degrees)."""

    name: Any
    kind: Any = ""
    municipality: Any = ""
    county: Any = ""
    x: Any = None
    y: Any = None
    source_id: Any = None
    crs: str | None = None
    where: str = ""  # "feature 12", "line 40": for the report


@dataclass
class ImportReport:
    """What an import did: counts, and why rows were skipped (with a few examples each)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def skip(self, reason: str, where: str) -> None:
        """Count one skipped row under `reason`, keeping its position for the first few."""
        self.skipped[reason] += 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 5 and where:
            shown.append(where)

    @property
    def skipped_total(self) -> int:
        """All skipped rows, whatever the reason."""
        return sum(self.skipped.values())

    def lines(self) -> list[str]:
        """The report as lines of text for the command line."""
        out = [
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}, "
            f"skipped {self.skipped_total}"
        ]
        for reason, count in self.skipped.most_common():
            where = ", ".join(self.examples.get(reason, []))
            out.append(f"  skipped {count}: {reason}" + (f" (e.g. {where})" if where else ""))
        return out


# --- Coordinates -------------------------------------------------------------------------------

_EPSG = re.compile(r"epsg(?:\.xml#|/0/|:+|::)\s*(\d{4,6})\s*$", re.IGNORECASE)


def epsg_of(name: Any) -> int | None:
    """The EPSG code a CRS name stands for (EPSG:25833, URN, OGC URI, CRS84), else None."""
    if isinstance(name, int):
        return name
    if not isinstance(name, str):
        return None
    text = name.strip()
    if text.lower().endswith("crs84"):
        return 4326
    match = _EPSG.search(text)
    if match:
        return int(match.group(1))
    return int(text) if text.isdigit() else None


def _lat_first(name: str | None) -> bool:
    """GML in a URN or URI geographic CRS lists latitude first (EPSG axis order)."""
    if not name:
        return False
    code = epsg_of(name)
    return code in (4326, 4258) and ("urn:" in name.lower() or "opengis.net" in name.lower())


@lru_cache(maxsize=16)
def _transformer(code: int) -> Transformer:
    return Transformer.from_crs(CRS.from_epsg(code), "EPSG:4326", always_xy=True)


def to_lonlat(x: float, y: float, crs: str | None) -> tuple[float, float]:
    """(lon, lat) in WGS84 from x, y in `crs` (None or a geographic CRS: already degrees)."""
    code = epsg_of(crs) if crs else None
    if code is None:
        if crs:
            raise ValueError("unknown coordinate system")
        return x, y
    if _lat_first(crs):
        x, y = y, x
    if code in (4326, 4258, 4230):
        return x, y
    try:
        return _transformer(code).transform(x, y)
    except CRSError:
        raise ValueError("unknown coordinate system") from None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(",", ".").replace("\u2212", "-")
        try:
            return float(text)
        except ValueError:
            return None
    return None


# --- Checking and storing ----------------------------------------------------------------------


def _line(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return ""
    return " ".join(strip_controls(value, multiline=False).split())[:limit]


def check_record(record: PlaceRecord, source: str, report: ImportReport) -> dict[str, Any] | None:
    """The row to store, or None (counted in the report with the reason)."""
    name = _line(record.name, NAME_MAX)
    if not name or not has_visible_text(name):
        report.skip("no name", record.where)
        return None
    x, y = _number(record.x), _number(record.y)
    if x is None or y is None or not (math.isfinite(x) and math.isfinite(y)):
        report.skip("no usable coordinates", record.where)
        return None
    if record.crs is None and (abs(x) > 180 or abs(y) > 90):
        report.skip(
            "projected coordinates without a coordinate system (give --crs, e.g. EPSG:25833)",
            record.where,
        )
        return None
    try:
        lon, lat = to_lonlat(x, y, record.crs)
    except ValueError:
        report.skip(f"unknown coordinate system {str(record.crs)[:60]}", record.where)
        return None
    if not (math.isfinite(lon) and math.isfinite(lat)) or not in_norway(lon, lat):
        report.skip("outside Norway", record.where)
        return None
    source_id = _line(record.source_id, ID_MAX)
    kind = _line(record.kind, KIND_MAX)
    municipality = _line(record.municipality, AREA_MAX)
    if not source_id:
        # No id in the file: one made of what the place is, so a second import matches it.
        key = f"{name}|{kind}|{municipality}|{lon:.4f}|{lat:.4f}"
        source_id = "h:" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:24]
    return {
        "name": name,
        "kind": kind,
        "municipality": municipality,
        "county": _line(record.county, AREA_MAX),
        "geom": f"SRID=4326;POINT({lon:.7f} {lat:.7f})",
        "source": source,
        "source_id": source_id,
    }


def _store(rows: list[dict[str, Any]], report: ImportReport) -> None:
    """Upsert one batch; rows whose values did not change are not written (and counted)."""
    statement = insert(Place).values(rows)
    new = statement.excluded
    columns = ("name", "kind", "municipality", "county", "geom")
    statement = statement.on_conflict_do_update(
        constraint="uq_places_source_id",
        set_={name: getattr(new, name) for name in columns},
        where=tuple_(
            *(getattr(Place, n) for n in columns[:4]), Place.geom.ST_AsEWKB()
        ).is_distinct_from(tuple_(*(getattr(new, n) for n in columns[:4]), new.geom.ST_AsEWKB())),
    ).returning(literal_column("xmax = 0").label("inserted"))
    inserted = [row.inserted for row in db.session.execute(statement)]
    added = sum(1 for flag in inserted if flag)
    report.added += added
    report.updated += len(inserted) - added
    report.unchanged += len(rows) - len(inserted)


def import_records(
    records: Iterable[PlaceRecord], source: str, report: ImportReport | None = None
) -> ImportReport:
    """Check and upsert records in batches (in the caller's transaction; it commits)."""
    report = report or ImportReport()
    batch: dict[str, dict[str, Any]] = {}
    for record in records:
        row = check_record(record, source, report)
        if row is None:
            continue
        if row["source_id"] in batch:  # ON CONFLICT cannot touch one row twice in a statement
            report.skip("the same id twice in the file (the later one kept)", record.where)
        batch[row["source_id"]] = row
        if len(batch) >= BATCH:
            _store(list(batch.values()), report)
            batch = {}
    if batch:
        _store(list(batch.values()), report)
    return report


def import_file(path: str | Path, source: str = "ssr", crs: str | None = None) -> ImportReport:
    """Read a GeoJSON, CSV or GML file (told apart by name, else by content) and upsert it.

    Raises FileRefused with a message for a file that cannot be read as a whole; the caller
    rolls back then. `crs` names the coordinate system when the file does not.
    """
    path = Path(path)
    if crs is not None and epsg_of(crs) is None:
        raise FileRefused(f"Unknown coordinate system {crs!r}: give it as EPSG:25833 or similar.")
    try:
        stream = path.open("rb")
    except OSError as error:
        raise FileRefused(f"The file cannot be opened: {error.strerror or error}.") from None
    with stream:
        head = stream.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
        stream.seek(0)
        suffix = path.suffix.lower()
        if suffix in (".gml", ".xml") or (suffix not in (".csv", ".txt") and head[:1] == b"<"):
            return import_records(_gml_records(stream, crs), source)
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
        try:
            if suffix in (".geojson", ".json") or head[:1] in (b"{", b"["):
                return import_records(_geojson_records(text, crs), source)
            return import_records(_csv_records(text, crs), source)
        except UnicodeDecodeError:
            raise FileRefused("The file is not UTF-8 text.") from None


# --- GeoJSON (and the place-name API's answer) -------------------------------------------------

NAME_KEYS = ("komplettskrivemåte", "skrivemåte", "stedsnavn", "enh_snavn", "navn", "name",
             "snavn", "tittel", "title")  # fmt: skip
KIND_KEYS = ("navneobjekttype", "navnetype", "enh_navntype", "objekttype", "kind", "type")
MUNICIPALITY_KEYS = ("kommunenavn", "kommune", "kommuner", "municipality", "kom_navn")
COUNTY_KEYS = ("fylkesnavn", "fylke", "fylker", "county", "fylk_navn")
ID_KEYS = ("stedsnummer", "lokalid", "ssrid", "enh_ssr_id", "ssr_id", "source_id", "id",
           "identifikasjon")  # fmt: skip


def _text_in(value: Any, inner: tuple[str, ...]) -> Any:
    """A plain value, or the first of `inner` keys inside a dict or a list of dicts."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        lowered = {str(k).lower(): v for k, v in value.items()}
        for key in inner:
            if key in lowered:
                return _text_in(lowered[key], inner)
        return None
    return value


def record_from_properties(properties: Mapping[str, Any], where: str = "") -> PlaceRecord:
    """A PlaceRecord from SSR-like properties (coordinates filled in by the caller)."""
    lowered = {str(k).lower(): v for k, v in properties.items()}

    def first(keys: tuple[str, ...], inner: tuple[str, ...]) -> Any:
        for key in keys:
            if key in lowered and lowered[key] not in (None, "", []):
                found = _text_in(lowered[key], inner)
                if found not in (None, ""):
                    return found
        return None

    return PlaceRecord(
        name=first(NAME_KEYS, ("komplettskrivemåte", "skrivemåte", "langnavn", "navn")),
        kind=first(KIND_KEYS, ("navneobjekttype", "navn")),
        municipality=first(MUNICIPALITY_KEYS, ("kommunenavn", "navn")),
        county=first(COUNTY_KEYS, ("fylkesnavn", "navn")),
        source_id=first(ID_KEYS, ("lokalid", "stedsnummer")),
        where=where,
    )


def api_record(item: Mapping[str, Any], where: str = "") -> PlaceRecord:
    """A PlaceRecord from one entry of the place-name API's "navn" list."""
    record = record_from_properties(item, where)
    point = item.get("representasjonspunkt")
    if isinstance(point, dict):
        record.x, record.y = point.get("øst"), point.get("nord")
        code = point.get("koordsys")
        record.crs = f"EPSG:{code}" if code not in (None, "", 4326, 4258, "4326", "4258") else None
    return record


def _geojson_point(geometry: Any) -> tuple[Any, Any]:
    """A point for any GeoJSON geometry: itself, or its point on surface."""
    if not isinstance(geometry, dict):
        return None, None
    coordinates = geometry.get("coordinates")
    if geometry.get("type") == "Point" and isinstance(coordinates, list) and len(coordinates) >= 2:
        return coordinates[0], coordinates[1]
    try:
        point = shape(geometry).representative_point()
    except Exception:  # noqa: BLE001 - any malformed geometry is one skipped row
        return None, None
    return (None, None) if point.is_empty else (point.x, point.y)


def feature_record(feature: Any, number: int, crs: str | None) -> PlaceRecord:
    """A PlaceRecord from one GeoJSON feature (or one entry of the API's "navn" list)."""
    where = f"feature {number}"
    if not isinstance(feature, dict):
        return PlaceRecord(name=None, where=where)
    if feature.get("type") != "Feature" and "representasjonspunkt" in feature:
        return api_record(feature, where)
    properties = feature.get("properties")
    record = record_from_properties(properties if isinstance(properties, dict) else {}, where)
    if record.source_id is None and feature.get("id") is not None:
        record.source_id = feature["id"]
    record.x, record.y = _geojson_point(feature.get("geometry"))
    record.crs = crs
    return record


def _crs_member(value: Any) -> str | None:
    properties = value.get("properties") if isinstance(value, dict) else None
    name = properties.get("name") if isinstance(properties, dict) else None
    return name if isinstance(name, str) else None


def _geojson_records(text: IO[str], crs: str | None) -> Iterator[PlaceRecord]:
    """Features of a FeatureCollection (or the API's {"navn": [...]}), one at a time."""
    reader = JsonReader(text)
    if not reader.take("{"):
        reader.value()
        reader.end()
        raise FileRefused("The file is JSON but not a GeoJSON FeatureCollection.")
    top: dict[str, Any] = {}
    count = 0
    first = True
    while not reader.take("}"):
        if not first:
            reader.expect(",")
        first = False
        if reader.peek() != '"':
            raise FileRefused(reader.invalid(reader.pos))
        key = reader.value()
        reader.expect(":")
        if key not in ("features", "navn") or reader.peek() != "[":
            top[key] = reader.value()
            continue
        top[key] = []
        declared = crs or _crs_member(top.get("crs"))
        if declared and epsg_of(declared) is None:
            raise FileRefused(f"The file declares an unknown coordinate system {declared!r}.")
        reader.expect("[")
        if reader.take("]"):
            continue
        while True:
            count += 1
            yield feature_record(reader.value(), count, declared)
            if reader.take("]"):
                break
            reader.expect(",")
    reader.end()
    if "navn" in top and "features" not in top:
        return
    if not (top.get("type") == "FeatureCollection" and isinstance(top.get("features"), list)):
        raise FileRefused("The file is JSON but not a GeoJSON FeatureCollection.")


# --- CSV ---------------------------------------------------------------------------------------

CSV_COLUMNS = {
    "name": ("name", "navn", "stedsnavn", "komplettskrivemåte", "skrivemåte", "enh_snavn"),
    "kind": ("kind", "type", "navneobjekttype", "navnetype", "enh_navntype"),
    "municipality": ("municipality", "kommune", "kommunenavn"),
    "county": ("county", "fylke", "fylkesnavn"),
    "lat": ("lat", "latitude", "breddegrad", "y", "nord", "northing"),
    "lon": ("lon", "lng", "long", "longitude", "lengdegrad", "x", "øst", "aust", "easting"),
    "id": ("id", "stedsnummer", "lokalid", "ssrid", "ssr_id", "enh_ssr_id", "source_id"),
}


def _csv_records(text: IO[str], crs: str | None) -> Iterator[PlaceRecord]:
    """Rows of a CSV with a header, `;` or `,` between cells (decimal commas with `;`)."""
    first = text.readline()
    if "\x00" in first:
        raise FileRefused("The file is not a text file.")
    if not first.strip():
        raise FileRefused("The file is empty.")
    delimiter = ";" if first.count(";") > first.count(",") else ","
    if first.count("\t") > max(first.count(";"), first.count(",")):
        delimiter = "\t"
    reader = csv.reader(itertools.chain([first], text), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(reader)]
    columns: dict[str, int] = {}
    for key, aliases in CSV_COLUMNS.items():
        for alias in aliases:
            if alias in header:
                columns[key] = header.index(alias)
                break
    missing = [key for key in ("name", "lat", "lon") if key not in columns]
    if missing:
        raise FileRefused(
            "The CSV file needs the columns name (or navn), lat and lon (or x/y with --crs); "
            f"missing: {', '.join(missing)}. The header read: {', '.join(header)[:200]}."
        )
    number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise FileRefused(f"Line {reader.line_num} of the file could not be read.") from None
        number += 1
        if "\x00" in "".join(cells):
            raise FileRefused("The file is not a text file.")
        if not any(cell.strip() for cell in cells):
            continue

        def cell(key: str, cells: list[str] = cells) -> str | None:
            index = columns.get(key)
            return cells[index] if index is not None and index < len(cells) else None

        yield PlaceRecord(
            name=cell("name"), kind=cell("kind"), municipality=cell("municipality"),
            county=cell("county"), x=cell("lon"), y=cell("lat"), source_id=cell("id"),
            crs=crs, where=f"line {reader.line_num}",
        )  # fmt: skip


# --- GML ---------------------------------------------------------------------------------------

MEMBERS = {"featuremember", "member", "featuremembers"}
GML_NAMES = ("komplettskrivemåte", "skrivemåte", "stedsnavn", "navn", "name")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def _gml_point(element: ET.Element, default_crs: str | None) -> tuple[Any, Any, str | None]:
    """The place's point: the first pos, or a point on the first posList's shape."""
    position = None
    for child in element.iter():
        if _local(child.tag) == "posisjon":
            position = child
            break
    scope = position if position is not None else element
    crs = default_crs
    for node in scope.iter():
        name = _local(node.tag)
        crs = node.get("srsName") or crs
        if name not in ("pos", "poslist", "coordinates"):
            continue
        numbers = [_number(part) for part in (node.text or "").replace(",", " ").split()]
        if len(numbers) < 2 or any(n is None for n in numbers):
            return None, None, crs
        dimension = int(node.get("srsDimension") or 2)
        pairs = [tuple(numbers[i : i + 2]) for i in range(0, len(numbers) - 1, max(dimension, 2))]
        if _lat_first(crs):
            pairs = [(b, a) for a, b in pairs]
            crs = "EPSG:4326"
        if len(pairs) == 1:
            return pairs[0][0], pairs[0][1], crs
        try:
            closed = pairs[0] == pairs[-1] and len(pairs) >= 4
            point = (Polygon(pairs) if closed else LineString(pairs)).representative_point()
        except Exception:  # noqa: BLE001 - a malformed shape is one skipped row
            return None, None, crs
        return point.x, point.y, crs
    return None, None, crs


def _gml_record(element: ET.Element, number: int, default_crs: str | None) -> PlaceRecord:
    found: dict[str, str] = {}
    for node in element.iter():
        name = _local(node.tag)
        text = (node.text or "").strip()
        if text and len(node) == 0 and name not in found:
            found[name] = text
    record = PlaceRecord(
        name=next((found[k] for k in GML_NAMES if k in found), None),
        kind=found.get("navneobjekttype") or found.get("navnetype"),
        municipality=found.get("kommunenavn"),
        county=found.get("fylkesnavn"),
        source_id=found.get("stedsnummer")
        or found.get("lokalid")
        or element.get("{http://www.opengis.net/gml/3.2}id"),
        where=f"feature {number}",
    )
    record.x, record.y, record.crs = _gml_point(element, default_crs)
    return record


def _gml_records(stream: IO[bytes], crs: str | None) -> Iterator[PlaceRecord]:
    """Features of a GML FeatureCollection, each dropped from the tree once read."""
    stack: list[ET.Element] = []
    root: ET.Element | None = None
    default_crs = crs
    count = 0
    try:
        # An operator's own file; expat >= 2.4.1 limits entity expansion (billion laughs) and
        # never fetches external entities.
        for event, element in ET.iterparse(stream, events=("start", "end")):  # noqa: S314
            if event == "start":
                if root is None:
                    root = element
                if crs is None and default_crs is None and element.get("srsName"):
                    default_crs = element.get("srsName")  # the collection's boundedBy
                stack.append(element)
                continue
            stack.pop()
            if not stack:
                continue
            parent = stack[-1]
            name, parent_name = _local(element.tag), _local(parent.tag)
            if parent_name in MEMBERS and name != "boundedby":
                count += 1
                yield _gml_record(element, count, crs or default_crs)
            if parent_name in MEMBERS or name in MEMBERS:
                parent.remove(element)  # memory follows one feature, not the file
    except ET.ParseError as error:
        line, column = error.position
        raise FileRefused(
            f"The file is not valid XML (line {line}, column {column}): nothing was stored."
        ) from None
    if root is None or count == 0 and _local(root.tag) not in ("featurecollection",):
        raise FileRefused("The file is XML but not a GML FeatureCollection of places.")
