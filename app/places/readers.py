"""Readers of Kartverket's SSR extracts: GeoJSON (and the place-name API), CSV and GML.

Each yields PlaceRecords one at a time, so memory follows one feature, not the file: GeoJSON
through the imports' JsonReader, CSV row by row, GML with xml.etree's iterparse (each feature
cleared once read). A file that cannot be read as a whole raises FileRefused.

Field names follow SSR as Kartverket ships it: the place-name API (ws.geonorge.no/stedsnavn/v1:
skrivemåte, navneobjekttype, stedsnummer, representasjonspunkt {øst, nord, koordsys}, kommuner
[{kommunenavn}], fylker [{fylkesnavn}]), the download's GML and GeoJSON (stedsnavn / skrivemåte /
komplettskrivemåte, kommunenavn, fylkesnavn, identifikasjon/lokalId) and the older flat extracts
(enh_snavn, enh_ssr_id, enh_navntype). Other GeoJSON and CSV use name, kind, municipality,
county, lat, lon and id.
"""

from __future__ import annotations

import csv
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from typing import IO, Any

from shapely.geometry import LineString, Polygon, shape

from app.imports.jsonstream import FileRefused, JsonReader, streamed_arrays
from app.places.records import PlaceRecord, epsg_of, lat_first, number

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


def geojson_records(text: IO[str], crs: str | None) -> Iterator[PlaceRecord]:
    """Features of a FeatureCollection (or the API's {"navn": [...]}), one at a time."""
    top: dict[str, Any] = {}
    declared = crs

    def check_crs(_key: str) -> None:
        nonlocal declared
        declared = crs or _crs_member(top.get("crs"))
        if declared and epsg_of(declared) is None:
            raise FileRefused(f"The file declares an unknown coordinate system {declared!r}.")

    not_a_collection = "The file is JSON but not a GeoJSON FeatureCollection."
    arrays = ("features", "navn")
    members = streamed_arrays(JsonReader(text), arrays, top, check_crs, not_a_collection)
    for count, (_key, feature) in enumerate(members, 1):
        yield feature_record(feature, count, declared)
    if "navn" in top and "features" not in top:
        return
    if not (top.get("type") == "FeatureCollection" and isinstance(top.get("features"), list)):
        raise FileRefused(not_a_collection)


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


def csv_records(text: IO[str], crs: str | None) -> Iterator[PlaceRecord]:
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
        numbers = [number(part) for part in (node.text or "").replace(",", " ").split()]
        if len(numbers) < 2 or any(n is None for n in numbers):
            return None, None, crs
        dimension = int(node.get("srsDimension") or 2)
        pairs = [tuple(numbers[i : i + 2]) for i in range(0, len(numbers) - 1, max(dimension, 2))]
        if lat_first(crs):
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


def gml_records(stream: IO[bytes], crs: str | None) -> Iterator[PlaceRecord]:
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
