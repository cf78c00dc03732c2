"""Reads for the about pages: who moderates a project, and what it has approved."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, User


@dataclass(frozen=True)
class Moderators:
    """A project's moderators as the public may know them.

    Names only of people who chose to show their name publicly; the others are counted by role,
    so the page never reveals who holds a role without their consent.
    """

    librarian_names: list[str]
    curator_names: list[str]
    unnamed_librarians: int
    unnamed_curators: int


def moderators(project: Project) -> Moderators:
    """The project's live librarians and curators: public names, and a count of the rest."""
    rows = db.session.execute(
        select(Membership.role, User.display_name, User.show_name_publicly)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.project_id == project.id,
            Membership.revoked_at.is_(None),
            Membership.role.in_((MembershipRole.LIBRARIAN, MembershipRole.CURATOR)),
            User.is_enabled.is_(True),
            User.deleted_at.is_(None),
        )
        .order_by(User.display_name, User.id)
    ).all()
    named: dict[MembershipRole, list[str]] = {
        MembershipRole.LIBRARIAN: [],
        MembershipRole.CURATOR: [],
    }
    unnamed = {MembershipRole.LIBRARIAN: 0, MembershipRole.CURATOR: 0}
    for role, name, public in rows:
        if public:
            named[role].append(name)
        else:
            unnamed[role] += 1
    return Moderators(
        librarian_names=named[MembershipRole.LIBRARIAN],
        curator_names=named[MembershipRole.CURATOR],
        unnamed_librarians=unnamed[MembershipRole.LIBRARIAN],
        unnamed_curators=unnamed[MembershipRole.CURATOR],
    )


def approved_count(project: Project) -> int:
    """How many of the project's traces are approved (public anyway)."""
    return db.session.execute(
        select(func.count()).where(
            Trace.project_id == project.id, Trace.status == TraceStatus.APPROVED
        )
    ).scalar_one()
