"""State changes of projects and of the rights people hold in them: flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext, lazy_gettext
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth.operations import normalize_email
from app.db import db
from app.errors import DomainError, ValidationFailed
from app.models import Membership, MembershipRole, Project, User
from app.notify import notify

ROLE_LABELS = {
    MembershipRole.CONTRIBUTOR: lazy_gettext("contributor"),
    MembershipRole.CURATOR: lazy_gettext("curator"),
    MembershipRole.LIBRARIAN: lazy_gettext("librarian"),
}


class Conflict(DomainError):
    """The change clashes with the project's state (or with a change made at the same time)."""

    status = 409
    code = "conflict"


@dataclass
class ProjectData:
    """Checked project fields (see forms.clean_project), ready for create or update."""

    name: str
    slug: str
    library_name: str
    description: str
    default_licence: str
    is_open: bool
    area: MultiPolygon | None


def create_project(creator: User, data: ProjectData) -> Project:
    """Start a project; its creator becomes its first librarian."""
    project = Project(
        slug=data.slug,
        name=data.name,
        library_name=data.library_name,
        description=data.description,
        default_licence=data.default_licence,
        is_open=data.is_open,
        area=_stored(data.area),
        created_by_id=creator.id,
    )
    try:
        with db.session.begin_nested():  # a slug taken a moment ago by someone else
            db.session.add(project)
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed(
            {"slug": [gettext("This short name was taken a moment ago; choose another.")]}
        ) from None
    db.session.add(
        Membership(
            project_id=project.id,
            user_id=creator.id,
            role=MembershipRole.LIBRARIAN,
            granted_by_id=creator.id,
        )
    )
    db.session.flush()
    audit.record(creator, "project.created", "project", project.id, project_id=project.id)
    return project


def update_project(actor: User, project: Project, data: ProjectData) -> list[str]:
    """Change the editable fields (never the slug); returns the names of what changed."""
    changed = []
    for field in ("name", "library_name", "description", "default_licence", "is_open"):
        if getattr(project, field) != getattr(data, field):
            setattr(project, field, getattr(data, field))
            changed.append(field)
    old_area = to_shape(project.area) if project.area is not None else None
    if not _same_area(old_area, data.area):
        project.area = _stored(data.area)
        changed.append("area")
    if changed:
        db.session.flush()
        audit.record(
            actor, "project.updated", "project", project.id, project_id=project.id, changed=changed
        )
    return changed


def grant_role(
    actor: User, project: Project, email: str, role: MembershipRole, area: MultiPolygon | None
) -> tuple[Membership, bool]:
    """Give a registered user a role (a curator optionally within an area).

    A live membership is revoked and replaced, so the history keeps every grant. Returns the
    live membership and whether anything changed (granting the same again changes nothing).
    """
    if area is not None and role != MembershipRole.CURATOR:
        raise ValidationFailed({"role": [gettext("Only curators can be limited to an area.")]})
    user = db.session.execute(
        select(User).where(
            User.email_normalized == normalize_email(email),
            User.deleted_at.is_(None),  # «Tidligere bidragsyter» is nobody to give a role to
        )
    ).scalar_one_or_none()
    if user is None:
        raise ValidationFailed(
            {"email": [gettext("No account with this e-mail address; ask them to register first")]}
        )
    old = _live_membership(project.id, user.id)
    if old is not None:
        old_area = to_shape(old.area) if old.area is not None else None
        if old.role == role and _same_area(old_area, area):
            return old, False
        if role != MembershipRole.LIBRARIAN:
            _keep_a_librarian(project, old)
        _revoke(actor, project, old, replaced=True)
    membership = Membership(
        project_id=project.id,
        user_id=user.id,
        role=role,
        area=_stored(area),
        granted_by_id=actor.id,
    )
    try:
        with db.session.begin_nested():  # the partial unique index allows one live row
            db.session.add(membership)
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            gettext("The rights of this person were changed at the same time; reload the page.")
        ) from None
    audit.record(
        actor,
        "membership.granted",
        "membership",
        membership.id,
        project_id=project.id,
        from_state=old.role.value if old else None,
        to_state=role.value,
        user_id=user.id,
        has_area=area is not None,
    )
    notify(user, "rights", change="granted", role=role.value, project=project.name)
    return membership, True


def revoke_membership(actor: User, project: Project, membership: Membership) -> bool:
    """Withdraw a live membership; False (and nothing changes) when it was already revoked."""
    if membership.revoked_at is not None:
        return False
    _keep_a_librarian(project, membership)
    _revoke(actor, project, membership, replaced=False)
    notify(
        membership.user,
        "rights",
        change="withdrawn",
        role=membership.role.value,
        project=project.name,
    )
    return True


def _revoke(actor: User, project: Project, membership: Membership, *, replaced: bool) -> None:
    membership.revoked_at = func.now()
    membership.revoked_by_id = actor.id
    db.session.flush()
    audit.record(
        actor,
        "membership.revoked",
        "membership",
        membership.id,
        project_id=project.id,
        from_state=membership.role.value,
        to_state="revoked",
        reason="replaced" if replaced else "",
        user_id=membership.user_id,
        has_area=membership.area is not None,
    )


def _live_membership(project_id: int, user_id: int) -> Membership | None:
    # Locked, so two librarians changing one person's rights at once take turns.
    return db.session.execute(
        select(Membership)
        .where(
            Membership.project_id == project_id,
            Membership.user_id == user_id,
            Membership.revoked_at.is_(None),
        )
        .with_for_update()
    ).scalar_one_or_none()


def _keep_a_librarian(project: Project, leaving: Membership) -> None:
    """A project without a librarian could not be run or handed on: refuse to remove the last."""
    if leaving.role != MembershipRole.LIBRARIAN:
        return
    others = db.session.execute(
        select(func.count()).where(
            Membership.project_id == project.id,
            Membership.role == MembershipRole.LIBRARIAN,
            Membership.revoked_at.is_(None),
            Membership.id != leaving.id,
        )
    ).scalar_one()
    if not others:
        raise Conflict(
            gettext("A project needs at least one librarian; make someone else librarian first.")
        )


def _stored(area: MultiPolygon | None) -> Any:
    return from_shape(area, srid=4326) if area is not None else None


def _same_area(old: Any, new: MultiPolygon | None) -> bool:
    if old is None or new is None:
        return old is None and new is None
    return bool(old.equals(new))
