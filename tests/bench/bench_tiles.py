"""Map tiles (z5-z9): the URLs that cover seeded viewports, and their counts checked exactly
against an aggregation of the approved traces that does not read map_cells."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import psycopg

from tests.bench.bench_load import Request, fetch
from tests.bench.bench_sql import Bbox, bbox_for
from tests.bench.dataset import TOWNS

TILE_ZOOMS = (5, 6, 7, 8, 9)
Tile = tuple[int, int, int]

# Each approved trace at the point the map shows (protected ones at their public point), in
# tile coordinates per zoom: floor(lon/lat in Web Mercator * 2^z). Independent of map_cells
# and of the heritage_cell_* helpers, so a wrong trigger or a wrong tile query shows up.
EXPECTED_COUNTS = """
WITH p AS (
  SELECT ST_X(pt) AS x, ST_Y(pt) AS y FROM (
    SELECT CASE WHEN is_sensitive THEN public_geom ELSE ST_PointOnSurface(geom) END AS pt
    FROM traces WHERE status = 'approved') s
  WHERE pt IS NOT NULL
)
SELECT z, tx, ty, count(*)
FROM (
  SELECT z,
         least(greatest(floor((x + 180) / 360 * (1 << z))::int, 0), (1 << z) - 1) AS tx,
         least(greatest(floor((1 - ln(tan(radians(least(greatest(y, -85.0511), 85.0511)))
                  + 1 / cos(radians(least(greatest(y, -85.0511), 85.0511)))) / pi()) / 2
                  * (1 << z))::int, 0), (1 << z) - 1) AS ty
  FROM p CROSS JOIN unnest(%s::int[]) AS z
) t
GROUP BY 1, 2, 3
"""

# What a tile reads when it is answered from the precomputed cells (the SQL baseline).
CELL_SQL = """
SELECT cx, cy, n, sum_x / n AS x, sum_y / n AS y, sum_id
FROM map_cells
WHERE zoom = %(z)s AND cx BETWEEN %(x0)s AND %(x1)s AND cy BETWEEN %(y0)s AND %(y1)s AND n > 0
"""


def tile_x(lon: float, z: int) -> int:
    """The tile column of a longitude."""
    return min(max(math.floor((lon + 180) / 360 * 2**z), 0), 2**z - 1)


def tile_y(lat: float, z: int) -> int:
    """The tile row of a latitude (Web Mercator, north up)."""
    lat = min(max(lat, -85.0511), 85.0511)
    r = math.radians(lat)
    y = (1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * 2**z
    return min(max(math.floor(y), 0), 2**z - 1)


def viewports(seed: int, zoom: int, count: int = 20) -> list[Bbox]:
    """Seeded 1280x800 views over Norway: around the towns and anywhere in the country."""
    rng = random.Random(f"{seed}-tiles-{zoom}")
    spread = {5: 3.0, 6: 2.0, 7: 1.5, 8: 1.0, 9: 0.6}[zoom]
    boxes = []
    for i in range(count):
        if i % 2:
            _name, lon, lat = rng.choice(TOWNS)
            lat = min(70.8, lat + rng.gauss(0, spread))
            lon = lon + rng.gauss(0, spread) / math.cos(math.radians(lat))
        else:
            lon, lat = rng.uniform(5, 30), rng.uniform(58, 71)
        boxes.append(bbox_for(lon, lat, zoom))
    return boxes


def tiles_for(boxes: list[Bbox], zoom: int) -> list[Tile]:
    """Every tile a browser loads for these views (each tile once, in view order)."""
    seen: dict[Tile, None] = {}
    for west, south, east, north in boxes:
        for x in range(tile_x(west, zoom), tile_x(east, zoom) + 1):
            for y in range(tile_y(north, zoom), tile_y(south, zoom) + 1):
                seen[(zoom, x, y)] = None
    return list(seen)


def expected_counts(conn: psycopg.Connection) -> dict[Tile, int]:
    """Approved traces per tile for every zoom in TILE_ZOOMS, in one scan."""
    rows = conn.execute(EXPECTED_COUNTS, (list(TILE_ZOOMS),)).fetchall()
    return {(z, x, y): n for z, x, y, n in rows}


def request(tile: Tile) -> Request:
    """The tile URL (anonymous, no filters)."""
    z, x, y = tile
    return Request(f"/api/map/tiles/{z}/{x}/{y}")


def check(port: int, tiles: list[Tile], expected: dict[Tile, int]) -> dict[str, Any]:
    """Fetch each tile once: its count and the sum of its clusters against the SQL count."""
    wrong: list[dict[str, Any]] = []
    statuses: dict[int, int] = {}
    for tile in tiles:
        status, _headers, body = fetch(port, request(tile))
        statuses[status] = statuses.get(status, 0) + 1
        want = expected.get(tile, 0)
        if status != 200:
            wrong.append({"tile": tile, "status": status})
            continue
        answer = json.loads(body)
        summed = sum(int(f["properties"].get("count", 1)) for f in answer.get("features", []))
        if answer.get("count") != want or summed != want:
            wrong.append({"tile": tile, "count": answer.get("count"), "sum": summed, "sql": want})
    return {
        "tiles": len(tiles),
        "wrong_counts": len(wrong),
        "first_wrong": wrong[:3],
        "statuses": statuses,
        "traces_covered": sum(expected.get(t, 0) for t in tiles),
    }


def cell_batches(tiles: list[Tile]) -> list[list[tuple[str, Any]]]:
    """The SQL baseline: one read of map_cells per tile."""
    return [
        [(CELL_SQL, {"z": z, "x0": 4 * x, "x1": 4 * x + 3, "y0": 4 * y, "y1": 4 * y + 3})]
        for z, x, y in tiles
    ]
