"""The demo data shows what the product does: its projects have areas that hold their traces."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app.demo import load_demo
from app.models import Project, Trace


def test_every_demo_trace_lies_in_its_own_projects_area_only(session) -> None:
    """The place chooses the project on the new-trace form only if the demo areas are right."""
    load_demo(per_project=7)
    projects = session.execute(select(Project).where(Project.is_demo.is_(True))).scalars().all()
    assert len(projects) == 4 and all(p.area is not None for p in projects)
    outside = session.execute(
        select(func.count())
        .select_from(Trace)
        .join(Project, Project.id == Trace.project_id)
        .where(Project.is_demo.is_(True), func.ST_Within(Trace.geom, Project.area).is_(False))
    ).scalar_one()
    assert outside == 0
    other = aliased(Project)
    overlapping = session.execute(
        select(func.count())
        .select_from(Project)
        .join(other, other.id > Project.id)
        .where(Project.is_demo.is_(True), other.is_demo.is_(True))
        .where(func.ST_Intersects(Project.area, other.area))
    ).scalar_one()
    assert overlapping == 0
