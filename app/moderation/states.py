"""The moderation state machine: which action leads from which states to which, and who may
take it. Pure data and one function; every decision in the app goes through plan()."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.models.traces import TraceStatus as S


class Action(enum.StrEnum):
    """What someone can do to a trace's status."""

    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request_changes"
    RESUBMIT = "resubmit"
    WITHDRAW = "withdraw"
    DELETE = "delete"
    RESTORE = "restore"


class Actor(enum.StrEnum):
    """Who may take an action: a moderator in scope, the trace's author, a project librarian."""

    MODERATOR = "moderator"
    AUTHOR = "author"
    LIBRARIAN = "librarian"


@dataclass(frozen=True)
class Transition:
    """From any of `sources` to `target`, by `actor`; `needs_reason` demands a message."""

    sources: frozenset[S]
    target: S
    actor: Actor
    needs_reason: bool = False


TRANSITIONS: dict[Action, Transition] = {
    Action.APPROVE: Transition(
        frozenset({S.PENDING, S.NEEDS_CHANGES, S.REJECTED}), S.APPROVED, Actor.MODERATOR
    ),
    Action.REJECT: Transition(
        frozenset({S.PENDING, S.NEEDS_CHANGES, S.APPROVED}), S.REJECTED, Actor.MODERATOR, True
    ),
    Action.REQUEST_CHANGES: Transition(
        frozenset({S.PENDING, S.APPROVED}), S.NEEDS_CHANGES, Actor.MODERATOR, True
    ),
    Action.RESUBMIT: Transition(
        frozenset({S.DRAFT, S.NEEDS_CHANGES, S.WITHDRAWN}), S.PENDING, Actor.AUTHOR
    ),
    Action.WITHDRAW: Transition(
        frozenset({S.DRAFT, S.PENDING, S.NEEDS_CHANGES}), S.WITHDRAWN, Actor.AUTHOR
    ),
    Action.DELETE: Transition(frozenset(set(S) - {S.DELETED}), S.DELETED, Actor.LIBRARIAN, True),
    Action.RESTORE: Transition(frozenset({S.DELETED}), S.PENDING, Actor.LIBRARIAN),
}


class Unchanged(Exception):
    """The trace is already in the state the action leads to; nothing to do."""


class NotAllowedFrom(Exception):
    """The action cannot start from the trace's current state."""


def plan(action: Action, current: S) -> S:
    """The state `action` leads to from `current`; raises Unchanged or NotAllowedFrom."""
    transition = TRANSITIONS[action]
    if current == transition.target:
        raise Unchanged(current)
    if current not in transition.sources:
        raise NotAllowedFrom(current)
    return transition.target


def available(current: S, actors: set[Actor]) -> list[Action]:
    """The actions that can start from `current` for someone who is all of `actors`."""
    return [
        action for action, t in TRANSITIONS.items() if t.actor in actors and current in t.sources
    ]
