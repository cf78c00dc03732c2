"""A librarian's own backlog: how old the oldest entry is and what waits in each curator area.

Two queries per project at most: the oldest pending entry in the user's scope (the partial
index on project and submission time, stopping at the first row), and, for the project's
librarians, the entries waiting in each curator's area and outside every area, counted up to
COUNT_CAP each so a project with 150,000 pending entries stays quick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask_babel import ngettext
from sqlalchemy import func, select, text

from app.db import db
from app.models import MembershipRole, Project, Trace, User
from app.moderation.queries import COUNT_CAP, _pending_in_scope, role_in


def age_text(age: timedelta | None) -> str:
    """How long an entry has waited, in whole days (hours in its first day), in the locale."""
    if age is None:
        return "–"
    if age < timedelta(days=1):
        hours = max(1, int(age.total_seconds() // 3600))
        return ngettext("%(num)s hour", "%(num)s hours", hours)
    return ngettext("%(num)s day", "%(num)s days", age.days)


@dataclass(frozen=True)
class AreaBacklog:
    """What waits in one curator's area (curator None: outside every curator area)."""

    curator: str | None
    count: int
    capped: bool
    oldest_age: timedelta | None

    @property
    def oldest_text(self) -> str:
        """The oldest entry's age as the page says it."""
        return age_text(self.oldest_age)


@dataclass(frozen=True)
class Backlog:
    """What waits for one moderator in one project."""

    oldest_age: timedelta | None
    areas: list[AreaBacklog] = field(default_factory=list)

    @property
    def oldest_text(self) -> str:
        """The oldest entry's age as the page says it."""
        return age_text(self.oldest_age)


# Per live curator membership with an area, and once for "outside every area": how many
# pending entries (up to the cap) and the oldest one's submission time.
_AREAS = """
    SELECT u.display_name, w.n, w.oldest FROM memberships m
    JOIN users u ON u.id = m.user_id
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, min(s) AS oldest FROM (
            SELECT t.submitted_at AS s FROM traces t
            WHERE t.project_id = m.project_id AND t.status = 'pending'
              AND ST_Intersects(m.area, t.geom)
            ORDER BY t.submitted_at LIMIT :bound) x) w
    WHERE m.project_id = :project AND m.revoked_at IS NULL AND m.role = 'curator'
      AND m.area IS NOT NULL
    UNION ALL
    SELECT NULL, count(*), min(s) FROM (
        SELECT t.submitted_at AS s FROM traces t
        WHERE t.project_id = :project AND t.status = 'pending'
          AND NOT EXISTS (SELECT 1 FROM memberships m
                          WHERE m.project_id = t.project_id AND m.revoked_at IS NULL
                            AND m.role = 'curator' AND m.area IS NOT NULL
                            AND ST_Intersects(m.area, t.geom))
        ORDER BY t.submitted_at LIMIT :bound) y
    HAVING EXISTS (SELECT 1 FROM memberships m WHERE m.project_id = :project
                   AND m.revoked_at IS NULL AND m.role = 'curator' AND m.area IS NOT NULL)
"""


def project_backlog(
    user: User, project: Project, now: datetime | None = None, *, with_areas: bool = True
) -> Backlog | None:
    """What waits for this user in this project, for the moderation index (None: nothing)."""
    now = now or datetime.now(UTC)
    oldest = db.session.execute(
        select(func.min(Trace.submitted_at)).where(*_pending_in_scope(user, project))
    ).scalar_one()
    areas: list[AreaBacklog] = []
    if with_areas and role_in(user, project) == MembershipRole.LIBRARIAN:
        rows = db.session.execute(
            text(_AREAS), {"project": project.id, "bound": COUNT_CAP + 1}
        ).all()
        for name, count, first in rows:
            capped = count > COUNT_CAP
            age = now - first if first is not None else None
            areas.append(AreaBacklog(name, min(count, COUNT_CAP), capped, age))
        # Curators' areas by name; "outside every area" last.
        areas.sort(key=lambda row: (row.curator is None, (row.curator or "").lower()))
    if oldest is None and not any(row.count for row in areas):
        return None
    return Backlog(now - oldest if oldest is not None else None, areas)
