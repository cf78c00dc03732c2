"""Place records as the readers give them, and the checks that make them rows of places.

A record holds what a file said, unchecked; check_record turns it into a row (a name with
visible text, finite coordinates turned into WGS84, inside Norway) or counts why not in the
ImportReport.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from app.validation import has_visible_text, strip_controls
from geo.bounds import in_norway

NAME_MAX = 200
KIND_MAX = 80
AREA_MAX = 100
ID_MAX = 100


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


def lat_first(name: str | None) -> bool:
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
    if lat_first(crs):
        x, y = y, x
    if code in (4326, 4258, 4230):
        return x, y
    try:
        return _transformer(code).transform(x, y)
    except CRSError:
        raise ValueError("unknown coordinate system") from None


def number(value: Any) -> float | None:
    """A coordinate as a float: numbers, and text with a decimal comma or a minus sign (U+2212)."""
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


def _line(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return ""
    return " ".join(strip_controls(value, multiline=False).split())[:limit]


@dataclass(frozen=True)
class CheckedPlace:
    """A record that passed the checks: cleaned text and a point in WGS84 inside Norway."""

    name: str
    kind: str
    municipality: str
    county: str
    lon: float
    lat: float


def check_place(record: PlaceRecord, report: ImportReport) -> CheckedPlace | None:
    """The record cleaned and in degrees, or None (counted in the report with the reason)."""
    name = _line(record.name, NAME_MAX)
    if not name or not has_visible_text(name):
        report.skip("no name", record.where)
        return None
    x, y = number(record.x), number(record.y)
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
    return CheckedPlace(
        name=name,
        kind=_line(record.kind, KIND_MAX),
        municipality=_line(record.municipality, AREA_MAX),
        county=_line(record.county, AREA_MAX),
        lon=lon,
        lat=lat,
    )


def check_record(record: PlaceRecord, source: str, report: ImportReport) -> dict[str, Any] | None:
    """The row to store, or None (counted in the report with the reason)."""
    place = check_place(record, report)
    if place is None:
        return None
    source_id = _line(record.source_id, ID_MAX)
    if not source_id:
        # No id in the file: one made of what the place is, so a second import matches it.
        key = f"{place.name}|{place.kind}|{place.municipality}|{place.lon:.4f}|{place.lat:.4f}"
        source_id = "h:" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:24]
    return {
        "name": place.name,
        "kind": place.kind,
        "municipality": place.municipality,
        "county": place.county,
        "geom": f"SRID=4326;POINT({place.lon:.7f} {place.lat:.7f})",
        "source": source,
        "source_id": source_id,
    }
