"""Read the mail a test caused, whichever way it is kept: rows in the mail_outbox table (written
in the request's transaction) and messages already handed on (app.extensions["mail_outbox"],
kept when no SMTP server is configured)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import OutboxMail


def mail_bodies(app: Flask, session: Session) -> list[str]:
    """The body of every mail written so far, new ones last: those handed on, then those still
    queued (one both handed on and still in the table counts once). Slice from an earlier
    length to get the mail a step caused."""
    session.expire_all()
    delivered = [message.get_content() for message in app.extensions.get("mail_outbox", [])]
    seen = {body.rstrip("\n") for body in delivered}
    rows = session.execute(select(OutboxMail).order_by(OutboxMail.id)).scalars()
    return delivered + [row.body for row in rows if row.body.rstrip("\n") not in seen]
