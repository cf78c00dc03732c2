"""Outgoing mail through an outbox: queued in the request's transaction, sent after it commits.

send_mail() only writes a mail_outbox row, so a decision and the mail about it are committed
together and no mail goes out for work that was rolled back. After the request's commit the app
sends what is due (web.py), each message in a short transaction of its own; `flask mail
send-pending` does the same from cron. A failing mail server never undoes or blocks anything:
the row keeps its error and is tried again later, with a growing pause.

Without HERITAGE_SMTP_HOST (development, tests) a sent message is written to the log and kept
in app.extensions["mail_outbox"], a list the tests read.
"""

from __future__ import annotations

import logging
import smtplib
import time
import unicodedata
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import select

from app.db import db
from app.models import OutboxMail

log = logging.getLogger("heritage.mail")

SUBJECT_LIMIT = 150
# After this many failed attempts a message stays in the outbox with its error, untried.
MAX_ATTEMPTS = 10
# How long one sending round may go on after a request before the rest waits for the next.
ROUND_SECONDS = 30.0
# Seconds between two looks for mail left over from earlier failures, per process.
RETRY_LOOK_EVERY = 60.0

_last_retry_look = 0.0


def one_line(text: str, limit: int = SUBJECT_LIMIT) -> str:
    """The text on one line, at most `limit` characters (cut with an ellipsis).

    Every control, line or paragraph separator becomes a space and runs of space collapse.
    """
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") or c.isspace() else c
        for c in text or ""
    )
    # Format characters (zero-width, bidi controls) have no place in a header.
    cleaned = "".join(c for c in cleaned if unicodedata.category(c) != "Cf")
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return cleaned


def clean_body(text: str) -> str:
    """The body without NUL and other control characters (newlines and tabs stay)."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


def send_mail(
    to: str, subject: str, body: str, *, user_id: int | None, about_user_id: int | None = None
) -> OutboxMail:
    """Queue a plain-text message; it is sent only once the current transaction commits.

    ``user_id`` is the account the mail is for (None: an address with no account), and
    ``about_user_id`` the person whose name the text carries: deleting either account deletes
    the mail by these ids (app/me/deletion.py), so every caller must say.
    """
    row = OutboxMail(
        to_address=one_line(to, 320),
        subject=one_line(subject, 200),
        body=clean_body(body),
        user_id=user_id,
        about_user_id=about_user_id,
    )
    db.session.add(row)
    if has_request_context():
        g.mail_queued = True  # web.py sends after the request's commit
    return row


def deliver(message: EmailMessage, smtp: smtplib.SMTP | None = None) -> None:
    """Hand one message to the mail server (or, without one, to the log and the test list)."""
    if not current_app.config.get("SMTP_HOST"):
        log.info(
            "mail (not sent, no SMTP configured) to=%s subject=%s\n%s",
            message["To"],
            message["Subject"],
            message.get_content(),
        )
        current_app.extensions.setdefault("mail_outbox", []).append(message)
        return
    if smtp is None:
        with _connect() as connection:
            connection.send_message(message)
        return
    smtp.send_message(message)


def compose(row: OutboxMail) -> EmailMessage:
    """The e-mail for an outbox row; the headers are one line whatever the row holds."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = one_line(row.to_address, 320)
    message["Subject"] = one_line(row.subject)
    message.set_content(clean_body(row.body))
    return message


def retry_delay(attempts: int) -> timedelta:
    """The pause before the next try: 1, 2, 4 ... minutes, at most six hours."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 360))


def send_due(limit: int = 500, *, seconds: float | None = None) -> tuple[int, int]:
    """Send the outbox messages that are due; returns (sent, failed).

    Each message is locked, sent and marked in a transaction of its own (SKIP LOCKED, so two
    workers or cron never send one twice). The round ends at the first failure: a server
    that is down is not asked again for every waiting message.
    """
    sent = failed = 0
    deadline = time.monotonic() + (ROUND_SECONDS if seconds is None else seconds)
    connection: _Connection = _Connection()
    try:
        while sent + failed < limit and time.monotonic() < deadline:
            row = db.session.execute(
                select(OutboxMail)
                .where(
                    OutboxMail.sent_at.is_(None),
                    OutboxMail.attempts < MAX_ATTEMPTS,
                    OutboxMail.next_attempt_at <= datetime.now(UTC),
                )
                .order_by(OutboxMail.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if row is None:
                db.session.rollback()
                break
            try:
                deliver(compose(row), connection.get())
            except (OSError, smtplib.SMTPException, ValueError) as error:
                row.attempts += 1
                row.last_error = f"{error.__class__.__name__}: {error}"[:1000]
                row.next_attempt_at = datetime.now(UTC) + retry_delay(row.attempts)
                db.session.commit()
                connection.close()
                log.warning("mail %s to the outbox again (attempt %s): %s",
                            row.id, row.attempts, row.last_error)  # fmt: skip
                failed += 1
                break
            row.sent_at = datetime.now(UTC)
            row.attempts += 1
            row.last_error = ""
            db.session.commit()
            sent += 1
    finally:
        connection.close()
    return sent, failed


def send_after_commit(app: Any, *, queued: bool) -> None:
    """Run after a committed request (outside it): send its mail and any that is due again.

    Without mail queued by the request, the outbox is looked at only once a minute per
    process, so ordinary requests cost nothing while earlier failures are still retried.
    """
    global _last_retry_look
    now = time.monotonic()
    if not queued and now - _last_retry_look < RETRY_LOOK_EVERY:
        return
    _last_retry_look = now
    with app.app_context():
        try:
            send_due()
        except Exception:  # noqa: BLE001 - the request is over; never let this surface
            db.session.rollback()
            log.exception("sending the outbox after a request failed")


def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    smtp = smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=10)
    try:
        if cfg.get("SMTP_STARTTLS", True):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


class _Connection:
    """One SMTP connection for a whole sending round, opened on first use."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def get(self) -> smtplib.SMTP | None:
        """The open connection, opened now if needed (None without an SMTP server)."""
        if not has_app_context() or not current_app.config.get("SMTP_HOST"):
            return None
        if self._smtp is None:
            self._smtp = _connect()
        return self._smtp

    def close(self) -> None:
        """Say goodbye to the server, if a connection was opened."""
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None
