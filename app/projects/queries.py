"""Reads of projects and memberships; trace counts go through the one access policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.access import is_admin, visible_traces
from app.db import db
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, User
from geo.geojson import geometry_to_geojson


@dataclass(frozen=True)
class ProjectRow:
    """One line of the project list."""

    project: Project
    approved: int
    role: MembershipRole | None


@dataclass(frozen=True)
class MemberRow:
    """One membership as the members page shows it (display names only, never e-mail)."""

    id: int
    name: str
    role: MembershipRole
    has_area: bool
    granted_by: str | None
    granted_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None


def list_projects(viewer: User | None) -> list[ProjectRow]:
    """All projects by name, with their approved traces (public anyway) and the viewer's role."""
    approved = (
        select(func.count())
        .where(Trace.project_id == Project.id, Trace.status == TraceStatus.APPROVED)
        .scalar_subquery()
    )
    rows = db.session.execute(select(Project, approved).order_by(Project.name, Project.id)).all()
    roles = _roles_of(viewer)
    return [ProjectRow(project, count, roles.get(project.id)) for project, count in rows]


def get_project(slug: str) -> Project | None:
    """The project with this slug, or None."""
    return db.session.execute(select(Project).where(Project.slug == slug)).scalar_one_or_none()


def status_counts(project: Project, viewer: User | None) -> list[tuple[TraceStatus, int]]:
    """Traces of the project per status, counting only what the viewer may see."""
    rows = db.session.execute(
        select(Trace.status, func.count())
        .where(Trace.project_id == project.id, visible_traces(viewer))
        .group_by(Trace.status)
    ).all()
    counts = dict(rows)
    if TraceStatus.APPROVED not in counts:
        counts[TraceStatus.APPROVED] = 0
    return [(status, counts[status]) for status in TraceStatus if status in counts]


def members(project: Project) -> tuple[list[MemberRow], list[MemberRow]]:
    """The live memberships (by role, then name) and the revoked ones (newest first)."""
    person, granter, revoker = aliased(User), aliased(User), aliased(User)
    rows = db.session.execute(
        select(
            Membership.id,
            person.display_name,
            Membership.role,
            Membership.area.is_not(None),
            granter.display_name,
            Membership.granted_at,
            revoker.display_name,
            Membership.revoked_at,
        )
        .join(person, person.id == Membership.user_id)
        .outerjoin(granter, granter.id == Membership.granted_by_id)
        .outerjoin(revoker, revoker.id == Membership.revoked_by_id)
        .where(Membership.project_id == project.id)
        .order_by(Membership.revoked_at.desc(), Membership.role.desc(), person.display_name)
    ).all()
    every = [MemberRow(*_in_utc(row)) for row in rows]
    live = [row for row in every if row.revoked_at is None]
    revoked = [row for row in every if row.revoked_at is not None]
    return live, revoked


def get_membership(project: Project, membership_id: int) -> Membership | None:
    """A membership of this project (a membership of another project is not found)."""
    return db.session.execute(
        select(Membership).where(
            Membership.id == membership_id, Membership.project_id == project.id
        )
    ).scalar_one_or_none()


def area_geojson(project: Project) -> str:
    """The project's area as GeoJSON text for the drawing map, or "" when it has none."""
    if project.area is None:
        return ""
    return orjson.dumps(geometry_to_geojson(to_shape(project.area))).decode()


def area_bounds(project: Project) -> tuple[float, float, float, float] | None:
    """West, south, east, north of the project's area, rounded for reading."""
    if project.area is None:
        return None
    west, south, east, north = to_shape(project.area).bounds
    return round(west, 4), round(south, 4), round(east, 4), round(north, 4)


def slug_taken(slug: str) -> bool:
    """Whether a project already uses this slug."""
    return db.session.execute(select(Project.id).where(Project.slug == slug)).first() is not None


def slugs_like(stem: str) -> set[str]:
    """The slugs that start with stem and a hyphen (to suggest a free one)."""
    pattern = stem.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"
    return set(db.session.execute(select(Project.slug).where(Project.slug.like(pattern))).scalars())


def _in_utc(row: Any) -> tuple[Any, ...]:
    # The page says UTC; the connection's time zone setting must not decide what it shows.
    *head, granted_at, revoked_by, revoked_at = row
    revoked_at = revoked_at.astimezone(UTC) if revoked_at is not None else None
    return (*head, granted_at.astimezone(UTC), revoked_by, revoked_at)


def _roles_of(viewer: User | None) -> dict[int, MembershipRole]:
    if viewer is None or is_admin(viewer):
        return {}
    rows = db.session.execute(
        select(Membership.project_id, Membership.role).where(
            Membership.user_id == viewer.id, Membership.revoked_at.is_(None)
        )
    ).all()
    return {project_id: role for project_id, role in rows}
