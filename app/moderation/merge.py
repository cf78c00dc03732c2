"""Merging a near-duplicate group: keep one trace, close the others as its duplicates (their
text kept there as observations), and approve the kept one when it still waits.

Each merge is operations.mark_duplicate in its own savepoint, as decide_many does with
decisions: one refusal (a stale version, a trace outside the moderator's rights) leaves the
others merged, and the result says which were merged and which were refused, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField
from wtforms.validators import DataRequired

from app.access import can_moderate, can_view
from app.db import db
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.models import Trace, TraceStatus, User
from app.moderation import operations
from app.moderation.forms import IN_RANGE
from app.moderation.states import Action
from app.traces.messages import status_label

# What a trace must be to take the others in: what is kept must be seen (or about to be).
KEEPABLE = (TraceStatus.PENDING, TraceStatus.APPROVED)


class MergeForm(FlaskForm):
    """Keep one trace and merge the ticked members into it.

    The members come as repeated fields the form classes do not model: `merge` (trace ids
    ticked for merging) and `version-<id>` (the version the moderator looked at, for every
    member and every trace offered to keep).
    """

    keep = IntegerField(validators=[DataRequired(), IN_RANGE])
    approve = BooleanField(default=True)
    next = HiddenField()


@dataclass
class MergeResult:
    """How a group merge went, trace by trace."""

    kept: Trace
    merged: list[Trace] = field(default_factory=list)
    already: list[Trace] = field(default_factory=list)  # merged into the kept one before
    refused: list[tuple[int, str, str]] = field(default_factory=list)  # (id, title, why)
    approved: bool = False
    approval_refused: str = ""


class KeepRefused(DomainError):
    """The trace chosen to keep cannot take the others (gone, deleted, merged itself, stale)."""

    status = 409
    code = "keep_refused"


def merge_group(
    user: User,
    keep: Trace,
    others: list[tuple[int, int]],
    *,
    keep_version: int,
    approve: bool = False,
) -> MergeResult:
    """Merge each (trace id, version) of `others` into `keep`, and approve `keep` if asked
    and it waits. Refuses the whole merge only when `keep` itself cannot be kept."""
    _check_keep(user, keep, keep_version)
    result = MergeResult(keep)
    if approve and keep.status == TraceStatus.PENDING:
        _approve(user, keep, keep_version, result)
    for trace_id, version in others:
        if trace_id == keep.id:
            continue  # the kept one is never its own duplicate
        trace = db.session.get(Trace, trace_id)
        if trace is None or not can_view(user, trace):
            result.refused.append((trace_id, "", gettext("No such trace.")))
            continue
        if trace.duplicate_of_id == keep.id and trace.status == TraceStatus.REJECTED:
            result.already.append(trace)
            continue
        savepoint = db.session.begin_nested()
        try:
            outcome = operations.mark_duplicate(user, trace, keep, version)
        except DomainError as error:
            savepoint.rollback()
            result.refused.append((trace_id, trace.title, error.message))
            continue
        savepoint.commit()
        if outcome.changed:
            result.merged.append(trace)
        else:
            result.refused.append((trace_id, trace.title, outcome.message))
    return result


def _check_keep(user: User, keep: Trace, keep_version: int) -> None:
    """The kept trace must be there for the moderator, alive, not merged away itself, and as
    they saw it (a stale kept entry would take the others into something they did not see)."""
    if not can_view(user, keep):
        raise NotFound(gettext("No such trace to keep."))
    if not can_moderate(user, keep):
        raise Forbidden(
            gettext(
                "You can merge into “%(title)s” (#%(id)s) only if you moderate it: it is in "
                "another project or outside your area; ask its librarian.",
                title=keep.title,
                id=keep.id,
            )
        )
    if keep.status == TraceStatus.DELETED:
        raise KeepRefused(
            gettext("“%(title)s” is deleted: choose another one to keep.", title=keep.title)
        )
    if keep.duplicate_of_id is not None:
        raise KeepRefused(
            gettext(
                "“%(title)s” was itself merged into another trace (#%(id)s): keep that one.",
                title=keep.title,
                id=keep.duplicate_of_id,
            )
        )
    if keep.status not in KEEPABLE:
        raise KeepRefused(
            gettext(
                "“%(title)s” is %(status)s: only a waiting or approved trace can be kept.",
                title=keep.title,
                status=status_label(keep.status).lower(),
            )
        )
    if keep.version != keep_version:
        raise Conflict(
            gettext(
                "Someone else changed “%(title)s” while you were looking at it. "
                "Nothing was merged: look again.",
                title=keep.title,
            )
        )


def _approve(user: User, keep: Trace, version: int, result: MergeResult) -> None:
    """Approve the kept entry as a single decision would, in its own savepoint."""
    savepoint = db.session.begin_nested()
    try:
        outcome = operations.decide(user, keep, Action.APPROVE, version)
    except DomainError as error:
        savepoint.rollback()
        db.session.refresh(keep)
        result.approval_refused = error.message
        return
    savepoint.commit()
    result.approved = outcome.changed
