"""The queue's entry dicts: what one compact row and its expanded part show, built per page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import format_timedelta

from app.models import MembershipRole, Photo, Project, Trace, User
from app.moderation import photo_queries, queries, since
from app.moderation.states import Action, Actor, available
from app.moderation.thumbs import thumbnail


def build(
    user: User,
    project: Project,
    traces: list[Trace],
    geometries: dict[int, str],
    *,
    compact: bool = False,
) -> list[dict[str, Any]]:
    """One dict per trace, in the given order, with a fixed number of queries for the page.

    Keys: trace, geometry, nearby (queries.Neighbour), actions, since (what changed since
    changes were asked, or None), age, photo_count, and either photos (the expanded part:
    compact=False) or thumb (the queue's compact rows: thumbs.Thumbnail or None).
    The rows show how many photos an entry has, not the photos: `compact` counts them.
    """
    neighbours = queries.nearby(traces, user)
    actions = _actions(user, project, traces)
    changed = since.since_asked(traces)
    if compact:
        counts = photo_queries.photo_counts(traces, user)
        photos: dict[int, list[Photo]] = {}
    else:
        photos = photo_queries.photos_of(traces, user)  # one query for the whole page
        counts = {trace_id: len(found) for trace_id, found in photos.items()}
    now = datetime.now(UTC)
    entries = []
    for t in traces:
        near = neighbours.get(t.id, [])
        entry = {
            "trace": t,
            "geometry": geometries[t.id],
            "nearby": near,
            "actions": actions[t.id],
            "since": changed.get(t.id),
            "age": _age(t, now),
            "photo_count": counts.get(t.id, 0),
        }
        if compact:
            entry["thumb"] = thumbnail(geometries[t.id], [n.geometry_json for n in near])
        else:
            entry["photos"] = photos.get(t.id, [])
        entries.append(entry)
    return entries


def _age(trace: Trace, now: datetime) -> str:
    """How long the entry has waited, in words ("3 days"), for the row."""
    if trace.submitted_at is None:
        return ""
    return format_timedelta(now - trace.submitted_at, threshold=1.0, add_direction=False)


def _actions(user: User, project: Project, traces: list[Trace]) -> dict[int, list[Action]]:
    """The actions on each queue entry, decided once for the page instead of per entry.

    Every entry is pending in this project and inside the user's moderation scope (the queue
    query holds the same conditions as can_moderate, own entries excluded for curators), so
    only authorship differs between entries.
    """
    base = {Actor.MODERATOR}
    if queries.role_in(user, project) == MembershipRole.LIBRARIAN:
        base.add(Actor.LIBRARIAN)
    return {
        t.id: available(t.status, base | ({Actor.AUTHOR} if t.author_id == user.id else set()))
        for t in traces
    }
