"""Retention: `flask purge` removes what the privacy statement says is kept only for a while.

Run daily from cron (docs/operations.md); running it again the same day removes nothing more.
What goes, and after how long (app/config.py):
- login sessions ended or idle longer than SESSION_RETENTION_DAYS;
- password-reset links used or expired more than a day ago;
- mail sent more than MAIL_RETENTION_DAYS ago, and mail given up on that long ago;
- request log files (they hold IP addresses) older than LOG_RETENTION_DAYS;
- backups older than BACKUP_RETENTION_DAYS, so deleted data is gone from them in that time
  (only directories flask backup wrote, recognised by their manifest).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import and_, delete, or_

from app.db import db
from app.models import OutboxMail, PasswordResetToken, UserSession
from app.observability.logs import LOG_FILE_RE

# A used or expired reset link is useless at once; a day keeps it for looking into a complaint.
RESET_TOKEN_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class Purged:
    """How many of each kind were removed."""

    sessions: int
    reset_tokens: int
    mail: int
    log_files: int
    backups: int


def purge(app: Flask, now: datetime | None = None) -> Purged:
    """Remove everything past its retention period; the database part is flushed, not
    committed (the caller commits)."""
    now = now or datetime.now(UTC)
    config = app.config
    return Purged(
        sessions=_purge_sessions(now - timedelta(days=int(config["SESSION_RETENTION_DAYS"]))),
        reset_tokens=_purge_reset_tokens(now - RESET_TOKEN_KEEP),
        mail=_purge_mail(now - timedelta(days=int(config["MAIL_RETENTION_DAYS"]))),
        log_files=_purge_log_files(config.get("LOG_DIR") or "", now, config),
        backups=_purge_backups(app, now - timedelta(days=int(config["BACKUP_RETENTION_DAYS"]))),
    )


def _purge_sessions(cutoff: datetime) -> int:
    result = db.session.execute(
        delete(UserSession).where(
            or_(UserSession.revoked_at < cutoff, UserSession.last_seen_at < cutoff)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _purge_reset_tokens(cutoff: datetime) -> int:
    result = db.session.execute(
        delete(PasswordResetToken).where(
            or_(PasswordResetToken.used_at < cutoff, PasswordResetToken.expires_at < cutoff)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _purge_mail(cutoff: datetime) -> int:
    from app.mail import MAX_ATTEMPTS

    # A message is given up on after its last failed attempt, which set next_attempt_at a
    # little later still: next_attempt_at before the cut-off means given up before it.
    given_up = and_(
        OutboxMail.sent_at.is_(None),
        OutboxMail.attempts >= MAX_ATTEMPTS,
        OutboxMail.next_attempt_at < cutoff,
    )
    result = db.session.execute(
        delete(OutboxMail).where(or_(OutboxMail.sent_at < cutoff, given_up))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _purge_log_files(log_dir: str, now: datetime, config: object) -> int:
    """Remove requests-YYYY-MM-DD.log files whose last possible line (the end of that UTC day)
    is older than LOG_RETENTION_DAYS. Other files in the directory are left alone."""
    if not log_dir or not Path(log_dir).is_dir():
        return 0
    days = int(config["LOG_RETENTION_DAYS"])  # type: ignore[index]
    oldest_kept: date = (now - timedelta(days=days)).date()
    removed = 0
    for path in Path(log_dir).iterdir():
        match = LOG_FILE_RE.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            continue
        if day < oldest_kept:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _purge_backups(app: Flask, cutoff: datetime) -> int:
    """Remove backup directories flask backup wrote (by their manifest) before the cut-off."""
    from app.ops.backup import backup_created, backup_root

    root = backup_root(app)
    if not root.is_dir():
        return 0
    removed = 0
    for path in sorted(root.iterdir()):
        created = backup_created(path)
        if created is not None and created < cutoff:
            shutil.rmtree(path)
            removed += 1
    return removed


@click.command("purge")
@with_appcontext
def purge_command() -> None:
    """Remove request logs, ended sessions and sent mail older than their retention periods."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    done = purge(app)
    db.session.commit()
    config = app.config
    click.echo(
        f"Login sessions ended or idle over {config['SESSION_RETENTION_DAYS']} days: "
        f"{done.sessions} removed.\n"
        f"Password-reset links used or expired over a day ago: {done.reset_tokens} removed.\n"
        f"Mail sent or given up on over {config['MAIL_RETENTION_DAYS']} days ago: "
        f"{done.mail} removed.\n"
        f"Request log files over {config['LOG_RETENTION_DAYS']} days old: "
        f"{done.log_files} removed.\n"
        f"Backups over {config['BACKUP_RETENTION_DAYS']} days old: {done.backups} removed."
    )
