"""What a contributor changed since a moderator asked for changes, for the queue.

The request is the trace's latest moderator decision when that decision asked for changes
(a later approval, rejection, deletion or restore closes it). Decisions are read from the
revisions' events ({"kind": "decision", "action": ...}) only, never from comments: a comment is
what an editor typed, and an author could type "request_changes: ..." into one. Decisions
stored before events existed were turned into events by migration 20261203c7d8.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, literal_column, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import aliased

from app.db import db
from app.models import Revision, Trace, User
from app.revisions.diff import diff_snapshots
from app.revisions.views import FIELD_LABELS

REQUEST = "request_changes"
# The decisions a moderator takes: the latest of them says whether a request is still open.
MODERATOR_DECISIONS = ("approve", "reject", REQUEST, "delete", "restore")
# A resubmission changes the status by definition: not a change the moderator asked about.
NOT_ASKED_ABOUT = {"status"}


@dataclass(frozen=True)
class SinceAsked:
    """A request for changes on a trace and what the contributor changed after it."""

    asked_at: datetime
    asked_by: str  # the moderator's display name (the queue is for moderators); "" if gone
    message: str  # as the moderator typed it
    asked_version: int
    current_version: int
    fields: list[str]  # snapshot keys changed since, in the history page's order
    # The one history comparison that shows exactly these changes, if one does (the edit
    # right after the request); otherwise None and the history page is the place to look.
    compare_version: int | None

    @property
    def labels(self) -> list[str]:
        """The changed fields as the history page names them, in the reader's language."""
        return [str(FIELD_LABELS.get(name, name)) for name in self.fields]


def since_asked(traces: list[Trace]) -> dict[int, SinceAsked]:
    """For each resubmitted trace on a queue page, what changed since the request (one query)."""
    ids = [t.id for t in traces]
    if not ids:
        return {}
    rows = db.session.execute(_query(ids)).all()
    found: dict[int, SinceAsked] = {}
    for row in rows:
        if row.action != REQUEST or row.current_version <= row.version:
            continue
        fields = _changed(row.snapshot, row.current_snapshot)
        step = _changed(row.snapshot, row.next_snapshot) if row.next_snapshot else None
        found[row.trace_id] = SinceAsked(
            asked_at=row.created_at,
            asked_by=row.display_name or "",
            message=_message(row.event),
            asked_version=row.version,
            current_version=row.current_version,
            fields=fields,
            compare_version=row.version + 1 if fields and step == fields else None,
        )
    return found


def _query(ids: list[int]) -> Any:
    """The latest moderator decision of each trace, with the snapshots to compare (one query)."""
    kind, action = Revision.event["kind"].astext, Revision.event["action"].astext
    decided = and_(kind == "decision", action.in_(MODERATOR_DECISIONS))
    last = (
        select(
            Revision.trace_id,
            Revision.version,
            Revision.editor_id,
            Revision.created_at,
            Revision.event,
            Revision.snapshot,
            action.label("action"),
        )
        .where(Revision.trace_id.in_(ids), decided)
        .ext(distinct_on(Revision.trace_id))
        .order_by(Revision.trace_id, Revision.version.desc())
        .cte("last_decision")
    )
    current = aliased(Revision)
    latest = (
        select(current.version, current.snapshot)
        .where(current.trace_id == last.c.trace_id)
        .order_by(current.version.desc())
        .limit(1)
        .lateral("current_revision")
    )
    following = aliased(Revision)
    return (
        select(
            last,
            User.display_name,
            latest.c.version.label("current_version"),
            latest.c.snapshot.label("current_snapshot"),
            following.snapshot.label("next_snapshot"),
        )
        .select_from(last)
        .join(latest, literal_column("true"))
        .outerjoin(
            following,
            and_(following.trace_id == last.c.trace_id, following.version == last.c.version + 1),
        )
        .outerjoin(User, User.id == last.c.editor_id)
    )


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The snapshot keys that differ, leaving out the status (the resubmission itself)."""
    return [c.field for c in diff_snapshots(before, after) if c.field not in NOT_ASKED_ABOUT]


def _message(event: Mapping[str, Any]) -> str:
    """The moderator's message as typed, from the decision's event."""
    message = event.get("message")
    return message if isinstance(message, str) else ""
