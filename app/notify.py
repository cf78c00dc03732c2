"""Telling people what happened to their traces: on the page, and by e-mail when set up."""

from __future__ import annotations

import logging

from flask import url_for

from app.db import db
from app.mail import send_mail
from app.models import Notification, Trace, User

log = logging.getLogger(__name__)


def notify(user: User | None, kind: str, message: str, trace: Trace | None = None) -> None:
    """Store a notification for the user and mail it if they want mail."""
    if user is None:
        return
    db.session.add(
        Notification(
            user_id=user.id, trace_id=trace.id if trace else None, kind=kind, message=message
        )
    )
    if user.notify_by_email and user.is_enabled:
        link = url_for("traces.show", trace_id=trace.id, _external=True) if trace else ""
        try:
            send_mail(user.email, message[:120], f"{message}\n\n{link}".strip())
        except OSError:  # mail trouble must not undo a moderation decision
            log.exception("notification mail to user=%s failed", user.id)
