"""Load place names into the gazetteer from Kartverket's SSR extracts (GeoJSON, CSV, GML).

Every reader streams: GeoJSON through the imports' JsonReader (one feature at a time), CSV
row by row, GML with xml.etree's iterparse (each feature cleared once read). Rows are upserted
on (source, source_id) in batches inside the caller's transaction; the caller commits once at
the end, so a refused file (FileRefused) leaves nothing stored. The readers are in
app.places.readers, the checks of each record in app.places.records.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import literal_column, tuple_
from sqlalchemy.dialects.postgresql import insert

from app.db import db
from app.imports.jsonstream import FileRefused
from app.models import Place
from app.places.readers import csv_records, geojson_records, gml_records
from app.places.records import ImportReport, PlaceRecord, check_record, epsg_of

BATCH = 1000

__all__ = ["FileRefused", "ImportReport", "PlaceRecord", "import_file", "import_records"]


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
            return import_records(gml_records(stream, crs), source)
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
        try:
            if suffix in (".geojson", ".json") or head[:1] in (b"{", b"["):
                return import_records(geojson_records(text, crs), source)
            return import_records(csv_records(text, crs), source)
        except UnicodeDecodeError:
            raise FileRefused("The file is not UTF-8 text.") from None
