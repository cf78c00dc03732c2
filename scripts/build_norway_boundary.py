"""Regenerate geo/data/norway.geojson: where a position counts as "in Norway".

Input is Natural Earth's 1:10m admin-0 countries (public domain) as the TopoJSON that the npm
package world-atlas ships (countries-10m.json). The package is only read here, never at runtime:

    cd "$(mktemp -d)" && npm pack world-atlas && tar xzf world-atlas-*.tgz
    .venv/bin/python scripts/build_norway_boundary.py package/countries-10m.json

The result is Norway's land (mainland, Svalbard, Jan Mayen; not Bouvet Island) widened by a sea
margin of SEA_MARGIN_M. Where the margin meets Swedish or Russian waters it stops at the median
line (equally far from both coasts), and it never covers a neighbour's land except for
BORDER_TOLERANCE_M along the land border, because Natural Earth draws the border only to within
a few hundred metres and a border cairn must never be refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import MultiPolygon, Polygon, box, mapping
from shapely.geometry.base import BaseGeometry

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "geo" / "data" / "norway.geojson"
METRIC = "EPSG:25833"  # EUREF89 UTM 33, the national mapping projection
SEA_MARGIN_M = 22_000.0  # about 12 nautical miles, the breadth of the territorial sea
BORDER_TOLERANCE_M = 2_000.0
SIMPLIFY_M = 400.0
NEIGHBOURS = ("Sweden", "Finland", "Russia")
DECIMALS = 4  # about 10 m; far below the simplification
# Inhabited outer islands and lighthouses more than a sea margin from the nearest land that
# Natural Earth's 1:10m scale keeps (it drops small islands). Approximate centres (lon, lat):
# each counts as land, so the margin is drawn around it.
OUTER_ISLANDS = {
    "Røst": (12.10, 67.515),
    "Skomvær": (11.87, 67.41),
    "Værøy": (12.67, 67.67),
    "Træna": (12.10, 66.50),
    "Myken": (12.48, 66.76),
    "Lovund": (12.37, 66.37),
    "Fleinvær": (13.80, 67.23),
    "Sklinna": (10.99, 65.20),
    "Nordøyan": (10.55, 64.80),
    "Sør-Gjæslingan": (10.95, 64.75),
    "Halten": (9.41, 64.17),
    "Froan": (9.07, 63.98),
    "Sula": (8.47, 63.85),
    "Utvær": (4.52, 61.04),
    "Utsira": (4.88, 59.31),
    "Rossøya": (20.34, 80.83),
}


def decode(path: Path, names: set[str]) -> dict[str, MultiPolygon]:
    """The named countries of a TopoJSON file as Shapely multipolygons in WGS84."""
    topology = json.loads(path.read_text())
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # delta-encoded, quantised positions
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)

    def ring(indexes: list[int]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for i in indexes:
            arc = arcs[i] if i >= 0 else arcs[~i][::-1]
            out.extend(arc if not out else arc[1:])
        # The file is stitched for a sphere: a ring crossing the antimeridian jumps from +180
        # to -180. Unwrapped, it stays one plane polygon (with longitudes past 180).
        unwrapped = out[:1]
        for lon, lat in out[1:]:
            previous = unwrapped[-1][0]
            while lon - previous > 180:
                lon -= 360
            while previous - lon > 180:
                lon += 360
            unwrapped.append((lon, lat))
        return unwrapped

    found = {}
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry.get("properties", {}).get("name")
        if name not in names:
            continue
        parts = [geometry["arcs"]] if geometry["type"] == "Polygon" else geometry["arcs"]
        polygons = []
        for part in parts:
            shell = ring(part[0])
            if len(shell) < 4:  # an islet quantised away to nothing
                continue
            holes = [r for r in (ring(h) for h in part[1:]) if len(r) >= 4]
            polygons.append(polygonal(shapely.make_valid(Polygon(shell, holes))))
        found[name] = shapely.union_all(polygons)
    return found


def polygonal(geometry: BaseGeometry) -> BaseGeometry:
    """Only the polygons of a geometry (make_valid and overlays may add stray lines)."""
    parts = shapely.get_parts(geometry)
    polygons = [p for p in parts if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polygons) if polygons else Polygon()


def reproject(geometry: BaseGeometry, source: str, target: str) -> BaseGeometry:
    """The geometry in another coordinate reference system."""
    transformer = Transformer.from_crs(source, target, always_xy=True)

    def move(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geometry, move)


def nearby(country: BaseGeometry, area: BaseGeometry) -> BaseGeometry:
    """The part of a country inside an area, whichever turn of 360 degrees it was unwrapped to."""
    turns = [shapely.transform(country, lambda xy, k=k: xy + (360.0 * k, 0.0)) for k in (-1, 0, 1)]
    return polygonal(shapely.union_all([t.intersection(area) for t in turns]))


def median_side(
    strip: BaseGeometry, own_coast: BaseGeometry, their_coast: BaseGeometry
) -> BaseGeometry:
    """The part of a strip of water nearer to our coast than to theirs (Voronoi cells)."""
    reach = strip.buffer(SEA_MARGIN_M + 5_000)
    own = shapely.get_coordinates(shapely.segmentize(own_coast.intersection(reach), 250))
    theirs = shapely.get_coordinates(shapely.segmentize(their_coast.intersection(reach), 250))
    if not len(theirs):
        return strip
    if not len(own):
        return Polygon()
    sites = shapely.multipoints(np.vstack([own, theirs]))
    cells = shapely.get_parts(shapely.voronoi_polygons(sites, extend_to=reach.envelope))
    own_tree = shapely.STRtree(shapely.points(own))
    ours = [cell for cell in cells if own_tree.query(cell, predicate="contains").size > 0]
    return strip.intersection(shapely.union_all(ours))


def build(countries: dict[str, BaseGeometry]) -> BaseGeometry:
    """Norway plus its sea margin, split from the neighbours' waters at the median line."""
    # Bouvet Island lies in the South Atlantic; only the north is "Norway" here.
    norway = countries["Norway"].intersection(box(-20, 50, 40, 85))
    # Only the neighbours' parts near Norway matter (Russia also spans the antimeridian).
    near = box(0, 55, 45, 85)
    land = polygonal(reproject(norway, "EPSG:4326", METRIC))
    islands = shapely.points(list(OUTER_ISLANDS.values()))
    land = land.union(shapely.union_all(reproject(islands, "EPSG:4326", METRIC)).buffer(1_000))
    others = polygonal(
        shapely.union_all(
            [reproject(nearby(countries[n], near), "EPSG:4326", METRIC) for n in NEIGHBOURS]
        )
    )
    sea = land.buffer(SEA_MARGIN_M)
    # Water within the margin of both Norway and a neighbour (Iddefjorden and the Hvaler
    # skerries, Varangerfjorden): a point there belongs to whichever coast is nearer.
    contested = sea.intersection(others.buffer(SEA_MARGIN_M)).difference(land).difference(others)
    # Land-border stretches are left out of the sampling: the split at sea runs between coasts.
    own_coast = land.boundary.difference(others.buffer(200))
    their_coast = others.boundary.difference(land.buffer(200))
    nearer_to_us = shapely.union_all(
        [
            median_side(strip, own_coast, their_coast)
            for strip in shapely.get_parts(contested)
            if strip.area > 10_000
        ]
    )
    margin = sea.difference(contested).union(contested.intersection(nearer_to_us))
    accepted = shapely.union_all([land, margin.difference(others), land.buffer(BORDER_TOLERANCE_M)])
    accepted = accepted.simplify(SIMPLIFY_M, preserve_topology=True)
    # Only what encloses something: slivers from the Voronoi split are dropped.
    accepted = shapely.union_all([p for p in shapely.get_parts(accepted) if p.area > 1_000_000])
    # Holes are lakes in a neighbour (or slivers); a hole inside Norway would be a bug.
    accepted = shapely.union_all([Polygon(p.exterior) for p in shapely.get_parts(accepted)])
    result = shapely.set_precision(reproject(accepted, METRIC, "EPSG:4326"), 10**-DECIMALS)
    return polygonal(shapely.make_valid(result))


def feature(geometry: BaseGeometry) -> dict[str, Any]:
    """The GeoJSON document written to geo/data."""
    return {
        "type": "Feature",
        "properties": {
            "name": "Norway (mainland, Svalbard, Jan Mayen) with a sea margin",
            "source": "Natural Earth 1:10m admin-0 countries, v4.1.0, via world-atlas 2.0.2",
            "licence": "Public domain (Natural Earth, https://www.naturalearthdata.com/)",
            "sea_margin_m": SEA_MARGIN_M,
            "border_tolerance_m": BORDER_TOLERANCE_M,
            "simplified_m": SIMPLIFY_M,
            "generator": "scripts/build_norway_boundary.py",
        },
        "geometry": mapping(geometry),
    }


def main(argv: list[str]) -> int:
    """Read countries-10m.json, write geo/data/norway.geojson."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("countries", type=Path, help="world-atlas countries-10m.json")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    countries = decode(args.countries, {"Norway", *NEIGHBOURS})
    geometry = build(countries)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(feature(geometry), separators=(",", ":")) + "\n")
    size = args.output.stat().st_size // 1024
    count = shapely.get_num_coordinates(geometry)
    print(f"{args.output}: {size} kB, {count} positions, valid={geometry.is_valid}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
