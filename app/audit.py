"""Recording moderation, rights and account events: a row in audit_events and a log line."""

from __future__ import annotations

import logging
from typing import Any

from app.db import db
from app.models import AuditEvent, User

log = logging.getLogger("heritage.audit")


def record(
    actor: User | None,
    action: str,
    target_type: str,
    target_id: int,
    *,
    project_id: int | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    **details: Any,
) -> AuditEvent:
    """Add an audit event (flushed with the request's transaction); never holds secrets."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        project_id=project_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        details=details,
    )
    db.session.add(event)
    log.info(
        "%s by user=%s on %s=%s project=%s %s->%s",
        action,
        actor.id if actor else None,
        target_type,
        target_id,
        project_id,
        from_state,
        to_state,
    )
    return event
