"""Which project a place belongs to: one rule for the web form and the JSON API.

A project with an area takes traces inside it; a trace just across the border is refused with
the projects that do take it, unless the resident confirms it on purpose. Projects without an
area take anything.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

from app.db import db
from app.errors import ValidationFailed
from app.models import Project


class OutsideProjectArea(ValidationFailed):
    """The place is outside the chosen project's area (422, with the projects that take it)."""

    code = "outside_project_area"

    def __init__(self, errors: dict[str, list[str]], suggested: list[Project]) -> None:
        super().__init__(errors)
        self.suggested = suggested
        self.extra = {"suggested_projects": [p.slug for p in suggested]}


def _open_projects_by_place(geometry: BaseGeometry) -> list[tuple[Project, bool]]:
    """Every open project with whether its area holds the shape: holders first, then by name."""
    shape = from_shape(geometry, srid=4326)
    holds = func.coalesce(func.ST_Intersects(Project.area, shape), False).label("holds")
    rows = db.session.execute(
        select(Project, holds)
        .where(Project.is_open.is_(True))
        .order_by(holds.desc(), Project.name, Project.id)
    ).all()
    return [(project, bool(held)) for project, held in rows]


def _holds(project: Project, geometry: BaseGeometry) -> bool:
    """Whether the project's area holds the shape (one row, by primary key)."""
    shape = from_shape(geometry, srid=4326)
    return bool(
        db.session.execute(
            select(func.ST_Intersects(Project.area, shape)).where(Project.id == project.id)
        ).scalar()
    )


def projects_at(lon: float, lat: float) -> list[dict[str, Any]]:
    """The open projects for a point, those whose area contains it first (GET /api/where)."""
    return [
        {
            "slug": project.slug,
            "name": project.name,
            "contains": held,
            "has_area": project.area is not None,
        }
        for project, held in _open_projects_by_place(Point(lon, lat))
    ]


def _names(projects: list[Project]) -> str:
    return ", ".join(p.name for p in projects)


def place(project: Project | None, geometry: BaseGeometry, confirmed: bool = False) -> Project:
    """The project a new trace goes to, or ValidationFailed on `project` saying why not.

    With no project given, the one open project whose area holds the shape is taken (or the
    only open project without an area, or the only open project at all).
    """
    if project is not None and (project.area is None or confirmed):
        return project  # nothing to check: no lookup (a submission's most common case)
    if project is not None and _holds(project, geometry):
        return project
    ranked = _open_projects_by_place(geometry)
    holders = [p for p, held in ranked if held]
    if project is None:
        unbounded = [p for p, _ in ranked if p.area is None]
        candidates = holders or unbounded
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise ValidationFailed({"project": [gettext(
                "Choose a project: several take this place (%(names)s).", names=_names(candidates)
            )]})  # fmt: skip
        if not ranked:
            raise ValidationFailed({"project": [gettext("No project is open for contributions.")]})
        if len(ranked) > 1:
            raise OutsideProjectArea({"project": [gettext(
                "No open project covers this place; choose one of: %(names)s.",
                names=_names([p for p, _ in ranked]),
            )]}, [])  # fmt: skip
        project = ranked[0][0]  # the only open project: its area is checked below
    if project.area is None or confirmed or any(p.id == project.id for p in holders):
        return project
    if holders:
        message = gettext(
            "The place is outside the area of %(project)s. It lies in the area of: %(names)s. "
            "Choose that project, or confirm that it belongs to %(project)s anyway.",
            project=project.name,
            names=_names(holders),
        )
    else:
        message = gettext(
            "The place is outside the area of %(project)s, and no open project covers it. "
            "Confirm that it belongs to %(project)s anyway, or move the point.",
            project=project.name,
        )
    raise OutsideProjectArea({"project": [message]}, holders)


def project_bounds(projects: list[Project]) -> dict[str, list[float]]:
    """Each project's area as [south, west, north, east], for opening the map on it."""
    ids = [p.id for p in projects if p.area is not None]
    if not ids:
        return {}
    box = func.Box2D(Project.area)
    rows = db.session.execute(
        select(Project.slug, func.ST_YMin(box), func.ST_XMin(box), func.ST_YMax(box),
               func.ST_XMax(box)).where(Project.id.in_(ids))
    ).all()  # fmt: skip
    return {slug: [round(v, 5) for v in values] for slug, *values in rows}
