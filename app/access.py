"""Who may see and do what: the one access policy for every channel (docs/security.md items 9-12).

Installation roles: an admin may do everything; an installation librarian may create projects
and change the vocabularies (their rules hold in every project).
Everything else comes from live (unrevoked) Memberships: a project's librarians run it, its
curators moderate within their area (or the whole project when no area is set). Rights are read
from the database on every request, so a revocation takes effect on the very next one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, false, func, not_, or_, select, true

from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, User, UserRole

MODERATOR_ROLES = (MembershipRole.CURATOR, MembershipRole.LIBRARIAN)
# Authors may still change their own trace while nobody has decided on it.
AUTHOR_EDITABLE = (TraceStatus.DRAFT, TraceStatus.PENDING, TraceStatus.NEEDS_CHANGES)


def viewer_of(user: Any) -> User | None:
    """The logged-in User behind Flask-Login's current_user, or None for anonymous visitors."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def is_admin(user: User | None) -> bool:
    """Installation administrators may do everything."""
    return user is not None and user.role == UserRole.ADMIN


def _live(user_id: int) -> ColumnElement[bool]:
    return and_(Membership.user_id == user_id, Membership.revoked_at.is_(None))


def _moderates(user: User, roles: tuple[MembershipRole, ...] = MODERATOR_ROLES):  # noqa: ANN202
    """EXISTS: the user holds one of roles in the trace's project, and its area covers it."""
    return exists().where(
        _live(user.id),
        Membership.project_id == Trace.project_id,
        Membership.role.in_(roles),
        or_(Membership.area.is_(None), func.ST_Intersects(Membership.area, Trace.geom)),
    )


def visible_traces(viewer: User | None) -> ColumnElement[bool]:
    """SQL condition: which traces a viewer may see, on every read channel."""
    public = Trace.status == TraceStatus.APPROVED
    if viewer is None:
        return public
    if is_admin(viewer):
        return true()
    not_deleted = Trace.status != TraceStatus.DELETED
    own = and_(Trace.author_id == viewer.id, not_deleted)
    # Deleted traces stay visible to the project's librarians, who may restore them.
    librarian = _moderates(viewer, (MembershipRole.LIBRARIAN,))
    return or_(public, own, and_(not_deleted, _moderates(viewer)), librarian)


def moderation_scope(user: User | None) -> ColumnElement[bool]:
    """SQL condition: the traces this user may check, tag, approve or reject."""
    if user is None:
        return false()
    if is_admin(user):
        return true()
    return _moderates(user)


def _holds(condition: ColumnElement[bool], trace: Trace) -> bool:
    return bool(
        db.session.execute(select(exists().where(Trace.id == trace.id, condition))).scalar()
    )


def can_view(viewer: User | None, trace: Trace) -> bool:
    """The same rule as visible_traces, for one trace (evaluated in SQL, areas included)."""
    if trace.status == TraceStatus.APPROVED:
        return True
    if viewer is None:
        return False
    return _holds(visible_traces(viewer), trace)


def can_moderate(user: User | None, trace: Trace) -> bool:
    """May check, tag, approve, reject or edit this trace."""
    if user is None:
        return False
    return is_admin(user) or _holds(_moderates(user), trace)


def can_edit(user: User | None, trace: Trace) -> bool:
    """Moderators always; the author while the trace waits for a decision."""
    if user is None or trace.status == TraceStatus.DELETED:
        return False
    if trace.author_id == user.id and trace.status in AUTHOR_EDITABLE:
        return True
    return can_moderate(user, trace)


def project_role(user: User | None, project_id: int) -> MembershipRole | None:
    """The user's live role in a project (admins count as its librarians)."""
    if user is None:
        return None
    if is_admin(user):
        return MembershipRole.LIBRARIAN
    return db.session.execute(
        select(Membership.role).where(_live(user.id), Membership.project_id == project_id)
    ).scalar_one_or_none()


def can_manage_project(user: User | None, project: Project) -> bool:
    """Librarians of the project (and admins) edit it and grant or revoke rights in it."""
    return project_role(user, project.id) == MembershipRole.LIBRARIAN


def can_revert(user: User | None, trace: Trace) -> bool:
    """Reverting to an earlier revision is for the project's librarians."""
    return project_role(user, trace.project_id) == MembershipRole.LIBRARIAN


def can_create_project(user: User | None) -> bool:
    """Installation librarians and admins start new projects."""
    return user is not None and user.role in (UserRole.LIBRARIAN, UserRole.ADMIN)


def can_edit_vocabulary(user: User | None) -> bool:
    """Installation librarians and admins: the vocabulary rules hold for every project.

    A right is as wide as its scope. Unticking "sensitive" on a type exposes that type's
    traces in every project, so project roles (even librarian) do not suffice.
    """
    return user is not None and user.role in (UserRole.LIBRARIAN, UserRole.ADMIN)


def can_suggest_vocabulary_change(user: User | None) -> bool:
    """Vocabulary editors, and anyone curating in some project: they may read the
    vocabularies and suggest a change to an installation librarian."""
    if user is None:
        return False
    if can_edit_vocabulary(user):
        return True
    return bool(
        db.session.execute(
            select(exists().where(_live(user.id), Membership.role.in_(MODERATOR_ROLES)))
        ).scalar()
    )


def moderated_projects(user: User | None) -> list[Project]:
    """Projects in which the user may moderate something, by name."""
    if user is None:
        return []
    query = select(Project).order_by(Project.name)
    if not is_admin(user):
        query = query.where(
            exists().where(
                _live(user.id),
                Membership.project_id == Project.id,
                Membership.role.in_(MODERATOR_ROLES),
            )
        )
    return list(db.session.execute(query).scalars())


# --- Sensitive locations: who sees the precise shape, and what everyone else sees ----------


def precise_allowed(
    viewer: User | None, partner_projects: list[int] | None = None
) -> ColumnElement[bool]:
    """SQL condition: the viewer may see this trace's precise location.

    The author, the project's moderators in scope and admins may; a partner institution's
    token may for its projects (`partner_projects`, an empty list meaning all projects).
    """
    conditions: list[ColumnElement[bool]] = []
    if partner_projects is not None:
        conditions.append(
            true() if not partner_projects else Trace.project_id.in_(partner_projects)
        )
    if viewer is not None:
        if is_admin(viewer):
            return true()
        conditions.extend([Trace.author_id == viewer.id, _moderates(viewer)])
    return or_(*conditions) if conditions else false()


def display_geometry(precise: ColumnElement[bool]):  # noqa: ANN201 - a SQL expression
    """The geometry to show: the generalised point for sensitive traces unless precise."""
    return case((and_(Trace.is_sensitive, not_(precise)), Trace.public_geom), else_=Trace.geom)


def located_in(precise: ColumnElement[bool], envelope) -> ColumnElement[bool]:  # noqa: ANN001
    """SQL condition: the shown geometry meets the envelope; both branches use a GiST index.

    Filtering on the shown geometry, not the precise one, is what makes bounding-box
    bisection useless: a sensitive trace can only be found where its cell centre is.
    """
    return or_(
        and_(or_(Trace.is_sensitive.is_(False), precise), Trace.geom.intersects(envelope)),
        and_(Trace.is_sensitive, not_(precise), Trace.public_geom.intersects(envelope)),
    )


def sees_precisely(viewer: User | None, trace: Trace) -> bool:
    """For one trace: whether to show its precise location to this viewer."""
    if not trace.is_sensitive:
        return True
    if viewer is None:
        return False
    return _holds(precise_allowed(viewer), trace)


def scope_in_project(user: User | None, project_id: int) -> ColumnElement[bool]:
    """moderation_scope for one project, resolved up front: no per-row membership lookup.

    The queue of a project with tens of thousands of pending entries can then walk the
    partial index on (project_id, submitted_at) and stop after one page.
    """
    role = project_role(user, project_id)
    if role == MembershipRole.LIBRARIAN:
        return true()
    if role != MembershipRole.CURATOR or user is None:
        return false()
    area = (
        select(Membership.area)
        .where(_live(user.id), Membership.project_id == project_id)
        .scalar_subquery()
    )
    has_area = db.session.execute(
        select(Membership.area.is_not(None)).where(
            _live(user.id), Membership.project_id == project_id
        )
    ).scalar()
    return func.ST_Intersects(area, Trace.geom) if has_area else true()
