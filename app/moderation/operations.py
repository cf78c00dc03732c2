"""Moderation decisions: one path for single, bulk and duplicate decisions, each checked,
version-locked, revisioned, audited and notified."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import func
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.access import can_moderate, can_revert, can_view, project_role
from app.db import db
from app.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.mail import clean_body
from app.models import MembershipRole, Trace, TraceStatus, User
from app.moderation.states import TRANSITIONS, Action, Actor, NotAllowedFrom, Unchanged, plan
from app.notify import notify
from app.photos.operations import approve_with_trace, remove_trace_photos
from app.traces.messages import status_label
from app.traces.operations import record_revision

log = logging.getLogger(__name__)
REASON_MAX = 2000


class NotAllowedNow(DomainError):
    """The action does not apply to the trace's current state."""

    status = 409
    code = "invalid_transition"


@dataclass(frozen=True)
class Outcome:
    """What a decision did: changed or not, and a sentence for the person who took it."""

    changed: bool
    message: str


def may_act(user: User | None, trace: Trace, action: Action) -> bool:
    """Whether this user holds the right kind of role for the action on this trace."""
    if user is None:
        return False
    actor = TRANSITIONS[action].actor
    if actor is Actor.MODERATOR:
        # Four eyes: a curator does not decide on their own entries; a librarian may, since a
        # small library's project can have a single librarian.
        own = trace.author_id == user.id
        if own and project_role(user, trace.project_id) != MembershipRole.LIBRARIAN:
            return False
        return can_moderate(user, trace)
    if actor is Actor.AUTHOR:
        return trace.author_id == user.id
    return can_revert(user, trace)


def decide(
    user: User, trace: Trace, action: Action, expected_version: int | None, reason: str = ""
) -> Outcome:
    """Apply one moderation action to one trace, or refuse it with the reason."""
    return _decide(user, trace, action, expected_version, reason, None)


def _decide(
    user: User,
    trace: Trace,
    action: Action,
    expected_version: int | None,
    reason: str,
    merged_into: Trace | None,
) -> Outcome:
    """decide(); with ``merged_into`` a rejection that closes a duplicate of that trace.

    A merge needs no typed reason: the event and the notification say what happened, in
    each reader's language.
    """
    if not can_view(user, trace):
        raise NotFound(gettext("No such trace."))
    if not may_act(user, trace, action):
        raise Forbidden(gettext("You may not do this with this trace."))
    if expected_version is not None and trace.version != expected_version:
        raise Conflict(
            gettext(
                "Someone else changed this trace while you were looking at it. "
                "It is now: %(status)s.",
                status=status_label(trace.status),
            ),
            current_version=trace.version,
            current_status=trace.status.value,
        )
    reason = clean_body(reason or "").strip()
    try:
        target = plan(action, trace.status)
    except Unchanged:
        return Outcome(
            False,
            gettext("Nothing changed: the trace is already %(status)s.",
                    status=status_label(trace.status).lower()),
        )  # fmt: skip
    except NotAllowedFrom:
        raise NotAllowedNow(
            gettext("This cannot be done while the trace is %(status)s.",
                    status=status_label(trace.status).lower())
        ) from None  # fmt: skip
    if TRANSITIONS[action].needs_reason and not reason and merged_into is None:
        raise ValidationFailed({"reason": [gettext("Write a reason or a message to the author.")]})
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            {"reason": [gettext("At most %(limit)s characters.", limit=REASON_MAX)]}
        )
    source = trace.status
    _apply(trace, user, action, target, reason)
    try:
        db.session.flush()
    except StaleDataError:
        # The caller's transaction (or savepoint) is rolled back; the other decision stands.
        raise Conflict(
            gettext("Someone else decided on this trace at the same moment. Reload and look again.")
        ) from None
    event: dict[str, Any] = (
        {"kind": "decision", "action": action.value, "message": reason}
        if merged_into is None
        else {"kind": "merged", "into": merged_into.id, "title": merged_into.title}
    )
    record_revision(trace, user, event=event)
    audit.record(
        user, f"trace.{action.value}", "trace", trace.id, project_id=trace.project_id,
        from_state=source.value, to_state=target.value,
        reason=reason if merged_into is None else f"duplicate of #{merged_into.id}",
    )  # fmt: skip
    _photos_follow(trace, user, target)
    if merged_into is None:
        _tell_author(user, trace, target, reason)
    elif trace.author is not None and trace.author_id != user.id:
        notify(
            trace.author, "trace.merged", trace, title=trace.title,
            original_id=merged_into.id, original_title=merged_into.title,
        )  # fmt: skip
    return Outcome(True, gettext("Done: the trace is now %(status)s.",
                                 status=status_label(target).lower()))  # fmt: skip


def _apply(trace: Trace, user: User, action: Action, target: TraceStatus, reason: str) -> None:
    trace.status = target
    trace.updated_at = func.now()
    if TRANSITIONS[action].actor is not Actor.AUTHOR:
        trace.decided_by_id = user.id
        trace.decided_at = func.now()
        trace.decision_note = reason
    if target == TraceStatus.APPROVED:
        trace.approved_by_id = user.id
        trace.approved_at = func.now()
    if target == TraceStatus.PENDING:
        trace.submitted_at = func.now()


def _photos_follow(trace: Trace, user: User, target: TraceStatus) -> None:
    """The trace's photos follow its decision: approved with it, removed when it is deleted.

    Photos the moderator rejected one by one stay rejected; a deleted trace's photos are
    removed in one statement (no revision per photo), and their files go after the commit.
    """
    if target == TraceStatus.APPROVED:
        approve_with_trace(trace, user)
    elif target == TraceStatus.DELETED:
        remove_trace_photos(trace)


# The status a decision leads to, and the notification kind that tells the author about it.
TOLD_AUTHOR = {
    TraceStatus.APPROVED: "trace.approved",
    TraceStatus.NEEDS_CHANGES: "trace.needs_changes",
    TraceStatus.REJECTED: "trace.rejected",
    TraceStatus.DELETED: "trace.deleted",
}


def _tell_author(user: User, trace: Trace, target: TraceStatus, reason: str) -> None:
    kind = TOLD_AUTHOR.get(target)
    if kind is None or trace.author is None or trace.author_id == user.id:
        return
    if target == TraceStatus.APPROVED:
        notify(trace.author, kind, trace, title=trace.title)
    else:
        notify(trace.author, kind, trace, title=trace.title, message=reason)


@dataclass
class BulkResult:
    """How a bulk decision went, trace by trace."""

    changed: list[int]
    unchanged: list[int]
    refused: dict[int, str]


def decide_many(
    user: User, items: list[tuple[int, int]], action: Action, reason: str = ""
) -> BulkResult:
    """Apply one action to several traces, each exactly as a single decision would.

    Each trace gets its own savepoint: a conflict or refusal on one leaves the others decided.
    There is deliberately no bulk UPDATE, so locking, revisions and audit hold for every row.
    """
    result = BulkResult([], [], {})
    for trace_id, version in items:
        trace = db.session.get(Trace, trace_id)
        if trace is None:
            result.refused[trace_id] = gettext("No such trace.")
            continue
        savepoint = db.session.begin_nested()
        try:
            outcome = decide(user, trace, action, version, reason)
        except DomainError as error:
            savepoint.rollback()
            result.refused[trace_id] = error.message
            continue
        savepoint.commit()
        (result.changed if outcome.changed else result.unchanged).append(trace_id)
    return result


def mark_duplicate(user: User, trace: Trace, original: Trace, expected_version: int) -> Outcome:
    """Close `trace` as a duplicate of `original`, keeping its text as an observation there.

    The text is published on `original`, so the moderator must moderate both traces: a
    curator of one project (or one area) cannot publish on a trace outside their scope.
    """
    from app.comments.operations import add_observation

    if not can_view(user, trace):
        raise NotFound(gettext("No such trace."))
    if original.id == trace.id or not can_view(user, original):
        raise NotFound(gettext("No such trace to link to."))
    if not can_moderate(user, trace):
        raise Forbidden(gettext("You may not do this with this trace."))
    if not can_moderate(user, original):
        raise Forbidden(
            gettext(
                "You can mark a duplicate only when you moderate both traces. “%(title)s” "
                "(#%(id)s) is in another project or outside your area; ask its librarian.",
                title=original.title,
                id=original.id,
            )
        )
    if original.status == TraceStatus.DELETED:
        raise NotAllowedNow(gettext("A deleted trace cannot be the original."))
    # Set before the decision is flushed (in the same UPDATE, not autoflushed ahead of the
    # version check), so the harvest tombstone the database writes says "merged".
    previous, trace.duplicate_of_id = trace.duplicate_of_id, original.id
    with db.session.no_autoflush:
        outcome = _decide(user, trace, Action.REJECT, expected_version, "", original)
    if not outcome.changed:
        trace.duplicate_of_id = previous
    else:
        text = trace.title if not trace.description else f"{trace.title}\n\n{trace.description}"
        add_observation(original, trace.author, text, user)
        audit.record(user, "trace.duplicate", "trace", trace.id, project_id=trace.project_id,
                     duplicate_of=original.id)  # fmt: skip
    return outcome


SENSITIVITY_CHOICES = {"rules": None, "sensitive": True, "open": False}


def set_sensitivity(user: User, trace: Trace, choice: str, expected_version: int) -> Outcome:
    """A librarian's or curator's decision on whether a location is protected.

    "rules" hands the decision back to the type and period rules. The database trigger
    recomputes is_sensitive and the public point.
    """
    if not can_moderate(user, trace):
        raise Forbidden(gettext("You may not do this with this trace."))
    if choice not in SENSITIVITY_CHOICES:
        raise ValidationFailed({"sensitivity": [gettext("Choose one of the options.")]})
    if trace.version != expected_version:
        raise Conflict(gettext("Someone else changed this trace. Reload and look again."))
    value = SENSITIVITY_CHOICES[choice]
    if trace.sensitivity_override is value:
        return Outcome(False, gettext("Nothing changed."))
    before = trace.is_sensitive
    trace.sensitivity_override = value
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(gettext("Someone else changed this trace. Reload and look again.")) from None
    record_revision(trace, user, event={"kind": "sensitivity", "choice": choice})
    audit.record(
        user, "trace.sensitivity", "trace", trace.id, project_id=trace.project_id,
        from_state=str(before).lower(), to_state=str(trace.is_sensitive).lower(), reason=choice,
    )  # fmt: skip
    return Outcome(True, gettext("Saved."))
