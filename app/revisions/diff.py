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
    "photos",
)
# Revisions before photos existed have no "photos": a trace then had none, so missing is empty
# (unlike tags, which traces had before revisions recorded them).
EMPTY_WHEN_MISSING = {"photos": []}


@dataclass(frozen=True)
class Change:
    """One field that differs: its snapshot key and the raw values before and after."""

    field: str
    before: Any
    after: Any


def diff_snapshots(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[Change]:
    """The fields that differ between two snapshots, in display order.

    ``old`` is None for the first known revision (nothing to compare with: no changes). A key
    missing from either snapshot is unknown, not a change: older snapshots may lack tags (but
    not photos: see EMPTY_WHEN_MISSING).
    """
    if old is None:
        return []
    changes: list[Change] = []
    for field in FIELDS:
        default = EMPTY_WHEN_MISSING.get(field)
        if default is None and (field not in old or field not in new):
            continue
        before, after = old.get(field, default), new.get(field, default)
        if not _equal(field, before, after):
            changes.append(Change(field, before, after))
    return changes


@dataclass(frozen=True)
class PhotoChanges:
    """What a revision did to the photos: each as its recorded {"id", "caption"}."""

    added: list[dict[str, Any]]
    removed: list[dict[str, Any]]
    recaptioned: list[dict[str, Any]]  # the caption after; the same photo was there before


def photo_changes(before: Any, after: Any) -> PhotoChanges:
    """Photos added, removed and given a new caption between two recorded photo lists."""
    old = {p["id"]: p for p in _photo_list(before)}
    new = {p["id"]: p for p in _photo_list(after)}
    return PhotoChanges(
        added=[p for pid, p in new.items() if pid not in old],
        removed=[p for pid, p in old.items() if pid not in new],
        recaptioned=[
            p for pid, p in new.items() if pid in old and old[pid].get("caption") != p["caption"]
        ],
    )


def photo_ids(changes: Iterable[Change]) -> set[int]:
    """The photo ids mentioned in photo changes, to look the photos up at once."""
    ids: set[int] = set()
    for change in changes:
        if change.field == "photos":
            ids.update(p["id"] for p in (*_photo_list(change.before), *_photo_list(change.after)))
    return ids


def _photo_list(value: Any) -> list[dict[str, Any]]:
    """A recorded photo list, keeping only well-formed entries (snapshots are plain JSON)."""
    if not isinstance(value, list):
        return []
    return [
        {"id": p["id"], "caption": str(p.get("caption") or "")}
        for p in value
        if isinstance(p, dict) and isinstance(p.get("id"), int)
    ]


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
    if field == "photos":
        changed = photo_changes(before, after)
        return not (changed.added or changed.removed or changed.recaptioned)
    return before == after


def _same_geojson(before: Any, after: Any) -> bool:
    if before == after:
        return True
    try:
        return same_geometry(shape(before), shape(after))
    except (AttributeError, KeyError, TypeError, ValueError, ShapelyError):
        return False  # unreadable on one side but not equal as data: report it as changed
