"""What a contributor changed since a moderator asked for changes, for the queue."""

from __future__ import annotations

from typing import Any

from app.models import Trace


def since_asked(traces: list[Trace]) -> dict[int, Any]:
    """For each resubmitted trace on a queue page, what changed since the request (one query)."""
    return {}
