"""What changed between two revisions of a trace: pure functions over snapshot dicts.

No Flask, no session (what counts as the same shape or tags: app.traces.compare, shared with
edits): the history page turns the result into labels, tests call it directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shapely.errors import ShapelyError
from shapely.geometry import shape

from app.traces.compare import same_geometry, same_tags

TERM_FIELDS = ("trace_type_id", "period_id", "condition_id", "dating_method_id")
# The order the history page lists changes in: what a reader looks for first comes first.
FIELDS = (
    "title",
    *TERM_FIELDS,
    "description",
    "sources",
    "licence",
    "status",
    "tags",
    "geometry",
)


@dataclass(frozen=True)
class Change:
    """One field that differs: its snapshot key and the raw values before and after."""

    field: str
    before: Any
    after: Any


def diff_snapshots(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    """The fields that differ between two snapshots, in display order.

    ``old`` is None for the first known revision (nothing to compare with: no changes). A key
    missing from either snapshot is unknown, not a change: older snapshots may lack tags.
    """
    if old is None:
        return []
    changes: list[Change] = []
    for field in FIELDS:
        if field not in old or field not in new:
            continue
        before, after = old[field], new[field]
        if not _equal(field, before, after):
            changes.append(Change(field, before, after))
    return changes


def term_ids(changes: Iterable[Change]) -> set[int]:
    """The vocabulary term ids mentioned in term changes, to look their labels up at once."""
    ids: set[int] = set()
    for change in changes:
        if change.field in TERM_FIELDS:
            ids.update(v for v in (change.before, change.after) if isinstance(v, int))
    return ids


def _equal(field: str, before: Any, after: Any) -> bool:
    if field == "tags":
        return same_tags(before, after)
    if field == "geometry":
        return _same_geojson(before, after)
    return before == after


def _same_geojson(before: Any, after: Any) -> bool:
    if before == after:
        return True
    try:
        return same_geometry(shape(before), shape(after))
    except (AttributeError, KeyError, TypeError, ValueError, ShapelyError):
        return False  # unreadable on one side but not equal as data: report it as changed
