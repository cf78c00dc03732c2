"""Metres per degree on the WGS 84 ellipsoid, in Python and as SQL, for distances of a few
hundred metres measured in a local plane (near-duplicate groups, the queue's nearby traces)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Float, func

# WGS 84: semi-major axis and first eccentricity squared.
A = 6_378_137.0
E2 = 6.694379990141317e-3
_RADIAN = math.radians(1)


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at a latitude, on the WGS 84 ellipsoid.

    A local plane with the ellipsoid's radii of curvature measures a few hundred metres to
    well under a millimetre of the geodesic distance, which is all grouping needs.
    """
    phi = math.radians(lat)
    w = 1 - E2 * math.sin(phi) ** 2
    normal = A / math.sqrt(w)  # prime vertical radius
    meridional = A * (1 - E2) / w**1.5
    return _RADIAN * normal * math.cos(phi), _RADIAN * meridional


def metres_per_degree_sql(lat: Any) -> tuple[Any, Any]:
    """metres_per_degree as two SQL expressions of a latitude expression (degrees)."""
    # Typed as floats: SQLAlchemy would otherwise cast the quotients to numeric.
    phi = func.radians(lat, type_=Float)
    w = 1.0 - E2 * func.power(func.sin(phi, type_=Float), 2.0, type_=Float)
    return (
        _RADIAN * A / func.sqrt(w, type_=Float) * func.cos(phi, type_=Float),
        _RADIAN * A * (1.0 - E2) / func.power(w, 1.5, type_=Float),
    )
