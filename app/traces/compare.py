"""When two shapes or tag lists count as the same: the rule edits and the history share.

Pure functions, no Flask and no session: an edit asks them whether anything moved, the history
(app.revisions.diff) whether a revision changed the place or the tags.
"""

from __future__ import annotations

from collections.abc import Iterable

import shapely
from shapely.geometry.base import BaseGeometry

# Leaflet writes drawn shapes with six decimals, so a shape that went through the map untouched
# comes back up to 5e-7 degrees off; a difference below this tolerance is no move at all (~10 cm).
GEOMETRY_TOLERANCE = 1e-6


def same_geometry(a: BaseGeometry, b: BaseGeometry) -> bool:
    """True when two shapes are the same kind with the same vertices, within the tolerance."""
    if a.geom_type != b.geom_type:
        return False
    return bool(
        shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), GEOMETRY_TOLERANCE)
    )


def same_tags(a: Iterable[str] | None, b: Iterable[str] | None) -> bool:
    """Tags are a set: order and repetition do not count as a change."""
    return set(a or ()) == set(b or ())
