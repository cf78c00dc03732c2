"""Outgoing mail: SMTP when HERITAGE_SMTP_HOST is set, otherwise written to the log."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

log = logging.getLogger("heritage.mail")


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message; in development the whole message goes to the log instead."""
    cfg = current_app.config
    message = EmailMessage()
    message["From"] = cfg["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    if not cfg.get("SMTP_HOST"):
        log.info("mail (not sent, no SMTP configured) to=%s subject=%s\n%s", to, subject, body)
        current_app.extensions.setdefault("mail_outbox", []).append(message)
        return
    with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg["SMTP_PORT"]), timeout=10) as smtp:
        if cfg.get("SMTP_STARTTLS", True):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        smtp.send_message(message)
