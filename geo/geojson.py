"""RFC 7946 encoding helpers: lon/lat, no crs member, seven decimals, stable ids."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from geo.geometry import PRECISION


def geometry_to_geojson(geom: BaseGeometry) -> dict[str, Any]:
    """A Shapely geometry as a GeoJSON geometry dict, rounded to storage precision."""
    rounded = shapely.set_precision(geom, 10**-PRECISION, mode="pointwise")
    return dict(mapping(rounded))


def feature(
    feature_id: int | str, geometry: dict[str, Any] | None, properties: dict[str, Any]
) -> dict[str, Any]:
    """A GeoJSON Feature with a stable id."""
    return {"type": "Feature", "id": feature_id, "geometry": geometry, "properties": properties}
