"""Streaming exports: PostgreSQL builds every GeoJSON feature or CSV row, COPY carries them out.

Nothing is loaded into Python objects: the bytes COPY sends are passed on in blocks, so memory
stays flat whatever the size (docs/benchmark.md: psycopg reads COPY at about 200 MiB/s). The count
and the receiver's location rights are read first, in the same REPEATABLE READ snapshot as the
COPY, so the count in the export log and the collection equals what is streamed.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_

from app.db import db
from app.export.cells import sql_join_tags, sql_join_values, sql_neutralise
from app.models import Trace
from app.publication.features import ExportFilters, feature_query

FORMATS = ("geojson", "csv")
MEDIA_TYPES = {"geojson": "application/geo+json", "csv": "text/csv; charset=utf-8"}
BLOCK_BYTES = 64 * 1024
# A parallel export (jobs > 1) cuts the id range into about this many chunks: each is read
# whole into memory by a worker connection while the previous one is written, so memory stays
# below jobs x (export size / CHUNKS) (a 1.6 GB export of 1M traces: ~6 MB per chunk; with 64
# chunks the peak RSS was 236 MB, near the 250 MB budget).
CHUNKS = 256
MIN_CHUNK_IDS = 2000
# Below this many features one connection is as quick (and a filtered export keeps the plan
# of its filter: a bbox walks the spatial index instead of hundreds of id ranges).
PARALLEL_MIN_ROWS = 20_000
GENERALISED = "generalised for sensitive sites"
LICENCE_NOTE = (
    "Each feature carries its own licence in properties.licence (CC BY 4.0 unless stated "
    "otherwise; CC0 where the contributor chose it). Name the source and the attribution."
)
# Text-format COPY would double every backslash inside the JSON; CSV format with a quote and a
# delimiter that never occur (PostgreSQL escapes control characters in JSON) leaves it intact.
GEOJSON_COPY = (
    "COPY (SELECT fq.feature FROM ({inner}) AS fq) "
    "TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
)
# Every text cell, as spreadsheets read it: formula-like text neutralised and tags escaped
# (app/export/cells.py; docs/csv.md). Numbers and WKT are written by PostgreSQL, never by people.
_CSV_TEXT = (
    ("uri", "s.p->>'uri'"),
    ("title", "s.p->>'title'"),
    ("type_code", "s.p#>>'{type,code}'"),
    ("type_label", "s.p#>>'{type,label}'"),
    ("period_code", "s.p#>>'{period,code}'"),
    ("period_label", "s.p#>>'{period,label}'"),
    ("condition_code", "s.p#>>'{condition,code}'"),
    ("dating_method_code", "s.p#>>'{dating_method,code}'"),
    ("tags", "s.tags"),
    ("licence", "s.p->>'licence'"),
    ("attribution", "s.p->>'attribution'"),
    ("project", "s.p->>'project'"),
    ("recorded_at", "s.p->>'recorded_at'"),
    ("approved_at", "s.p->>'approved_at'"),
    ("location", "s.p->>'location'"),
    ("sensitive", "s.p->>'sensitive'"),
    ("source_uri", "s.p->>'source_uri'"),
    ("source_id", "s.p->>'source_id'"),
    # Assisted registration (app/publication/provenance.py): names only with consent.
    ("informant", "s.p->>'informant'"),
    ("informant_birth_year", "s.p->>'informant_birth_year'"),
    ("knowledge_source", "s.p->>'knowledge_source'"),
    ("recorded_by", "s.p->>'recorded_by'"),
    ("recorded_for_informant", "s.p->>'recorded_for_informant'"),
    # The photos as links, one column per attribute (cells.join_values; docs/csv.md).
    ("photo_urls", "ph.urls"),
    ("photo_thumbnails", "ph.thumbnails"),
    ("photo_captions", "ph.captions"),
    ("photo_credits", "ph.credits"),
    ("photo_licences", "ph.licences"),
)
# The photo cells of a row, from the same properties.photos the GeoJSON carries.
_PHOTO_CELLS = (
    ("urls", "href"),
    ("thumbnails", "thumbnail"),
    ("captions", "caption"),
    ("credits", "credit"),
    ("licences", "licence"),
)
# One pass over a row's photos gives all five cells (an aggregate always yields one row).
_PHOTO_CELL_SQL = ", ".join(f"{sql_join_values(m)} AS {name}" for name, m in _PHOTO_CELLS)
_PHOTO_LATERAL = (
    f"CROSS JOIN LATERAL (SELECT {_PHOTO_CELL_SQL}\n"  # noqa: S608 - fixed text of ours
    "  FROM jsonb_array_elements(s.p->'photos') WITH ORDINALITY AS e(ph, n) OFFSET 0) AS ph"
)
# The CSV reads each feature back (one jsonb parse per row, fenced by OFFSET 0 so it is not
# repeated per column): the same properties, filters and location rule as the GeoJSON.
CSV_COPY = (
    "COPY (\nSELECT fq.id,\n"
    + "".join(f"  {sql_neutralise(f'({sql})')} AS {name},\n" for name, sql in _CSV_TEXT)
    + """  trim_scale(round(ST_X(t.pt)::numeric, 7)) AS lon,
  trim_scale(round(ST_Y(t.pt)::numeric, 7)) AS lat,
  ST_AsText(s.g, 7) AS wkt
FROM ({inner}) AS fq
CROSS JOIN LATERAL (SELECT fq.feature::jsonb AS f OFFSET 0) AS j
CROSS JOIN LATERAL (
  SELECT j.f->'properties' AS p, ST_GeomFromGeoJSON(j.f->'geometry') AS g,
    """
    + sql_join_tags("j.f->'properties'->'tags'")
    + """ AS tags
  OFFSET 0) AS s
CROSS JOIN LATERAL (SELECT ST_PointOnSurface(s.g) AS pt OFFSET 0) AS t
"""
    + _PHOTO_LATERAL
    + """
ORDER BY fq.id
) TO STDOUT WITH (FORMAT csv, HEADER)"""
)
CSV_COLUMNS = ("id", *(name for name, _ in _CSV_TEXT), "lon", "lat", "wkt")


@dataclass(frozen=True)
class Summary:
    """What a delivery holds, counted in the snapshot it is streamed from."""

    count: int
    precise_sensitive: int  # sensitive traces delivered with their precise location
    generalised_sensitive: int

    @property
    def precise(self) -> bool:
        """Whether any protected location leaves precisely (the export log's flag)."""
        return self.precise_sensitive > 0

    @property
    def location(self) -> str:
        """The collection's statement about locations."""
        return GENERALISED if self.generalised_sensitive else "precise"


@dataclass(frozen=True)
class Source:
    """The installation the data comes from, named in the collection's metadata."""

    name: str
    base_url: str


def driver_sql(query: Select, dialect: Any = None) -> tuple[str, dict[str, Any]]:
    """The query as psycopg SQL plus its parameters, which psycopg quotes (never pasted in)."""
    dialect = dialect or db.engine.dialect
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params: dict[str, Any] = {}
    for name, value in compiled.params.items():
        # Expanded IN lists are named <bind>_<n>; they share the type of their bind.
        bind = compiled.binds.get(name)
        if bind is None:
            bind = compiled.binds.get(name.rsplit("_", 1)[0])
        processor = None
        if bind is not None:
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        params[name] = processor(value) if processor else value
    return str(compiled), params


class Export:
    """One delivery on its own database connection: open(), then body(), then close()."""

    def __init__(
        self,
        fmt: str,
        filters: ExportFilters,
        precise: ColumnElement[bool],
        source: Source,
        timeout_ms: int = 0,
        jobs: int = 1,
    ) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}")
        self.format = fmt
        self.filters = filters
        self.source = source
        self._query = feature_query(precise, source.base_url, filters)
        self._precise = precise
        self._timeout_ms = timeout_ms
        # Building each feature's JSON is PostgreSQL's work, one core per connection: with
        # jobs > 1 the id range is split over that many connections sharing one snapshot.
        self._jobs = max(1, int(jobs))
        self._helpers: list[Any] = []
        self._snapshot: str | None = None
        self._ids: tuple[int, int] | None = None
        # The body is streamed after the request's app context has ended: keep the engine.
        self._engine = db.read_engine  # the replica for anonymous downloads (app.replica)
        self._raw: Any = None
        self.summary: Summary | None = None
        self.streamed = 0

    def open(self) -> Summary:
        """Take a connection, fix the snapshot, and count what will be delivered."""
        self._raw = self._engine.raw_connection()
        try:
            cursor = self._raw.driver_connection.cursor()
            # psycopg has just sent BEGIN; SET TRANSACTION must come before any query in it.
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            # A slow download keeps COPY running; the app's short default timeout would cut it.
            cursor.execute(f"SET LOCAL statement_timeout = {int(self._timeout_ms)}")
            sql, params = driver_sql(self._summary_query(), self._engine.dialect)
            count, precise, generalised = cursor.execute(sql, params).fetchone()
            if count < PARALLEL_MIN_ROWS:
                self._jobs = 1
            elif self._jobs == 1:
                # One connection for many features: photos grouped once and hash-joined keep
                # PostgreSQL's parallel workers (publication.features.photo_joins). A few
                # features, or our own id-range chunks, look each trace's photos up instead.
                self._query = feature_query(
                    self._precise, self.source.base_url, self.filters, whole=True
                )
            if self._jobs > 1:
                self._snapshot = cursor.execute("SELECT pg_export_snapshot()").fetchone()[0]
                low, high = cursor.execute("SELECT min(id), max(id) FROM traces").fetchone()
                self._ids = (low, high) if low is not None else None
        except BaseException:
            self.close()
            raise
        self.summary = Summary(int(count), int(precise), int(generalised))
        return self.summary

    def _summary_query(self) -> Select:
        sensitive = Trace.is_sensitive
        return self._query.with_only_columns(
            func.count(),
            func.count().filter(and_(sensitive, self._precise)),
            func.count().filter(and_(sensitive, not_(self._precise))),
            maintain_column_froms=False,
        ).order_by(None)

    def body(self, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
        """The file in blocks; progress(n) is told how many rows each block carried."""
        if self.summary is None:
            self.open()
        try:
            if self.format == "geojson":
                yield from self._geojson(progress)
            else:
                yield from self._csv(progress)
        finally:
            self.close()

    def close(self) -> None:
        """End the snapshot and give the connections back to the pool (safe to call twice)."""
        helpers, self._helpers = self._helpers, []
        for helper in helpers:
            try:
                helper.driver_connection.rollback()
            finally:
                helper.close()
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                raw.driver_connection.rollback()
            finally:
                raw.close()

    def _blocks(self, template: str) -> Iterator[bytes]:
        """COPY's rows gathered into blocks of about BLOCK_BYTES, in id order."""
        if self._jobs > 1 and self._ids is not None:
            yield from self._parallel_blocks(template)
            return
        yield from _copy_blocks(self._raw, template, self._query, self._engine.dialect)

    def _chunks(self) -> list[tuple[int, int]]:
        assert self._ids is not None
        low, high = self._ids
        span = max(MIN_CHUNK_IDS, -(-(high - low + 1) // CHUNKS))
        return [(start, start + span) for start in range(low, high + 1, span)]

    def _helper(self) -> Any:
        """One more connection in the export's snapshot (SET TRANSACTION SNAPSHOT)."""
        raw = self._engine.raw_connection()
        self._helpers.append(raw)
        cursor = raw.driver_connection.cursor()
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{self._snapshot}'")
        cursor.execute(f"SET LOCAL statement_timeout = {int(self._timeout_ms)}")
        return raw

    def _parallel_blocks(self, template: str) -> Iterator[bytes]:
        """Chunks of the id range read by `jobs` connections at once, yielded in order.

        The chunk being written streams while the next ones are built and buffered, at most
        `jobs` chunks in memory. All connections read the snapshot open() fixed, so the
        result is the same as one COPY's.
        """
        free: SimpleQueue[Any] = SimpleQueue()
        free.put(self._raw)
        for _ in range(self._jobs - 1):
            free.put(self._helper())
        dialect = self._engine.dialect

        # The CSV header line comes with the first chunk only.
        later = template.replace("WITH (FORMAT csv, HEADER)", "WITH (FORMAT csv)")

        def read(bounds: tuple[int, int]) -> list[bytes]:
            raw = free.get()
            try:
                query = self._query.where(Trace.id >= bounds[0], Trace.id < bounds[1])
                sql = template if bounds[0] == first else later
                return list(_copy_blocks(raw, sql, query, dialect))
            finally:
                free.put(raw)

        first = self._chunks()[0][0]
        chunks = iter(self._chunks())
        with ThreadPoolExecutor(self._jobs, thread_name_prefix="export") as pool:
            pending: deque[Future[list[bytes]]] = deque()
            try:
                for bounds in chunks:
                    pending.append(pool.submit(read, bounds))
                    if len(pending) >= self._jobs:
                        break
                while pending:
                    blocks = pending.popleft().result()
                    bounds = next(chunks, None)
                    if bounds is not None:
                        pending.append(pool.submit(read, bounds))
                    yield from blocks
            finally:
                for future in pending:
                    future.cancel()

    def _geojson(self, progress: Callable[[int], None] | None) -> Iterator[bytes]:
        yield self._header()
        # Every row ends in a newline (JSON escapes the ones inside strings), so rows are
        # counted and joined with ",\n"; the last block is held back to drop its final comma.
        held: bytes | None = None
        for block in self._blocks(GEOJSON_COPY):
            if held is not None:
                yield held
            rows = block.count(b"\n")
            self.streamed += rows
            if progress:
                progress(rows)
            held = block.replace(b"\n", b",\n")
        if held is not None:
            yield held[:-2] + b"\n"
        yield b'\n], "numberReturned": %d}\n' % self.streamed

    def _csv(self, progress: Callable[[int], None] | None) -> Iterator[bytes]:
        for block in self._blocks(CSV_COPY):
            if progress:
                progress(block.count(b"\n"))
            yield block
        # Quoted fields may hold newlines, so the rows are the snapshot's count, not lines.
        self.streamed = self.summary.count if self.summary else 0

    def _header(self) -> bytes:
        assert self.summary is not None
        header = {
            "type": "FeatureCollection",
            "name": self.filters.project_slug or "traces",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": {"installation": self.source.name, "url": self.source.base_url},
            "query": self.filters.describe(),
            "licence": LICENCE_NOTE,
            "location": self.summary.location,
            "numberMatched": self.summary.count,
        }
        opening = json.dumps(header, ensure_ascii=False)[:-1]
        return (opening + ', "features": [\n').encode()


def _copy_blocks(raw: Any, template: str, query: Select, dialect: Any) -> Iterator[bytes]:
    """One COPY of `query` on this connection, its rows gathered into ~BLOCK_BYTES blocks."""
    sql, params = driver_sql(query, dialect)
    cursor = raw.driver_connection.cursor()
    block = bytearray()
    with cursor.copy(template.replace("{inner}", sql), params) as copy:
        for data in copy:
            block += data
            if len(block) >= BLOCK_BYTES:
                yield bytes(block)
                block.clear()
    if block:
        yield bytes(block)


def filename(export: Export) -> str:
    """A download name such as traces-alta-20261125.geojson (slugs are ASCII already)."""
    stem = export.filters.project_slug or "all"
    return f"traces-{stem}-{datetime.now(UTC):%Y%m%d}.{export.format}"
