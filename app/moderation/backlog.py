"""A librarian's own backlog: how old the oldest entry is and what waits in each curator area."""

from __future__ import annotations

from typing import Any

from app.models import Project, User


def project_backlog(user: User, project: Project) -> Any:
    """What waits for this user in this project, for the moderation index (None: nothing)."""
    return None
