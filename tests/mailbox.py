"""Read the mail a test caused, whichever way it is kept: rows in the mail_outbox table (written
in the request's transaction) and messages already handed on (app.extensions["mail_outbox"],
kept when no SMTP server is configured)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OutboxMail


def mail_bodies(app: Flask, session: Session) -> list[str]:
    """The body of every mail written so far, oldest first; one both queued and delivered
    counts once."""
    session.expire_all()
    rows = session.execute(select(OutboxMail).order_by(OutboxMail.id)).scalars()
    queued = [row.body for row in rows]
    seen = {body.rstrip("\n") for body in queued}
    delivered = [message.get_content() for message in app.extensions.get("mail_outbox", [])]
    return queued + [body for body in delivered if body.rstrip("\n") not in seen]
