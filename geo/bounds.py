"""Where Norway is, roughly: the mainland plus Svalbard and Jan Mayen (docs/domain.md)."""

from __future__ import annotations

from geo.norway import contains_position

# (west, south, east, north) in degrees. Generous by a few kilometres so that coastal islands and
# border cairns are never refused.
MAINLAND = (4.0, 57.5, 31.5, 71.5)
ARCTIC = (-9.5, 70.5, 35.0, 81.0)  # Jan Mayen in the west, Kvitøya in the east
REGIONS = (MAINLAND, ARCTIC)

# What a map of the whole country shows first.
NORWAY_CENTER = (65.0, 15.0)  # lat, lon
NORWAY_VIEW = (57.5, 4.0, 71.5, 31.5)  # south, west, north, east


def in_norway(lon: float, lat: float) -> bool:
    """True when the position lies in Norway's real outline with its sea margin (geo/norway.py).

    The boxes above only frame maps and sample test data: Stockholm lies inside MAINLAND.
    """
    return contains_position(lon, lat)
