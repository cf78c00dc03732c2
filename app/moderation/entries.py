"""The queue's entry dicts: what one compact row and its expanded part show, built per page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_babel import format_timedelta

from app.models import MembershipRole, Project, Trace, User
from app.moderation import queries, since
from app.moderation.states import Action, Actor, available
from app.moderation.thumbs import thumbnail
from app.text import plain_text


def build(
    user: User, project: Project, traces: list[Trace], geometries: dict[int, str]
) -> list[dict[str, Any]]:
    """One dict per trace, in the given order, with a fixed number of queries for the page.

    Keys: trace, geometry, nearby (queries.Neighbour), excerpt, actions, photos, since (what
    changed since changes were asked, or None), thumb (thumbs.Thumbnail or None), age, hints.
    """
    neighbours = queries.nearby(traces, user)
    actions = _actions(user, project, traces)
    photos = queries.photos_of(traces, user)  # one query for the whole page
    changed = since.since_asked(traces)
    now = datetime.now(UTC)
    entries = []
    for t in traces:
        near = neighbours.get(t.id, [])
        entries.append(
            {
                "trace": t,
                "geometry": geometries[t.id],
                "nearby": near,
                "excerpt": plain_text(t.description, 400),
                "actions": actions[t.id],
                "photos": photos.get(t.id, []),
                "since": changed.get(t.id),
                "thumb": thumbnail(geometries[t.id], [n.geometry_json for n in near]),
                "age": _age(t, now),
            }
        )
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
