"""Retention: `flask purge` removes what the privacy statement says is kept only for a while.

Run daily from cron (docs/operations.md); running it again the same day removes nothing more.
What goes, and after how long (app/config.py):
- login sessions ended or idle longer than SESSION_RETENTION_DAYS;
- password-reset links used or expired more than a day ago;
- mail sent more than MAIL_RETENTION_DAYS ago, and mail given up on that long ago;
- request log files (they hold IP addresses) older than LOG_RETENTION_DAYS;
- backups older than BACKUP_RETENTION_DAYS, so deleted data is gone from them in that time
  (only directories flask backup wrote, recognised by their manifest), except the newest:
  when backups stopped, the last one is kept rather than none at all.

Request log files are written on every app server with LOG_DIR: each of them runs
`flask purge --logs-only` (the database and backup part runs on one machine only).
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
    # The newest backup, kept although past retention because it is the last one (else None).
    kept_old_backup: Path | None = None


def purge(app: Flask, now: datetime | None = None) -> Purged:
    """Remove everything past its retention period; the caller commits the database part."""
    now = now or datetime.now(UTC)
    config = app.config
    removed, kept_old = _purge_backups(
        app, now - timedelta(days=int(config["BACKUP_RETENTION_DAYS"]))
    )
    return Purged(
        sessions=_purge_sessions(now - timedelta(days=int(config["SESSION_RETENTION_DAYS"]))),
        reset_tokens=_purge_reset_tokens(now - RESET_TOKEN_KEEP),
        mail=_purge_mail(now - timedelta(days=int(config["MAIL_RETENTION_DAYS"]))),
        log_files=purge_log_files(app, now),
        backups=removed,
        kept_old_backup=kept_old,
    )


def purge_log_files(app: Flask, now: datetime | None = None) -> int:
    """Remove this server's request log files past LOG_RETENTION_DAYS (flask purge --logs-only)."""
    config = app.config
    return _purge_log_files(config.get("LOG_DIR") or "", now or datetime.now(UTC), config)


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
    """Remove requests-YYYY-MM-DD.log files of days that ended over LOG_RETENTION_DAYS ago.

    A file's last possible line is from the end of its UTC day. Other files are left alone.
    """
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


def _purge_backups(app: Flask, cutoff: datetime) -> tuple[int, Path | None]:
    """Remove backups flask backup wrote (by their manifest) before the cut-off, but the newest.

    Returns how many went, and the newest when it is itself past the cut-off. Backups that
    stopped (a full disk, a broken cron line) must not end with no backup at all: the one left
    is older than the grace period, which `flask purge` says on every run until backups resume
    (and the "backup too old" alert has fired long before).
    """
    from app.ops.backup import backup_created, backup_root

    root = backup_root(app)
    if not root.is_dir():
        return 0, None
    complete = sorted(
        (created, path) for path in root.iterdir() if (created := backup_created(path)) is not None
    )
    if not complete:
        return 0, None
    newest_created, newest = complete[-1]
    removed = 0
    for created, path in complete[:-1]:
        if created < cutoff:
            shutil.rmtree(path)
            removed += 1
    return removed, newest if newest_created < cutoff else None


@click.command("purge")
@click.option(
    "--logs-only",
    is_flag=True,
    help="Only remove this server's old request log files in LOG_DIR (run it on every app "
    "server that writes them; the full purge runs on one machine).",
)
@with_appcontext
def purge_command(logs_only: bool) -> None:
    """Remove request logs, ended sessions, sent mail and backups past their retention."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config
    if logs_only:
        removed = purge_log_files(app)
        click.echo(
            f"Request log files over {config['LOG_RETENTION_DAYS']} days old: {removed} removed."
        )
        return
    done = purge(app)
    db.session.commit()
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
    if done.kept_old_backup is not None:
        click.echo(
            f"Kept {done.kept_old_backup.name}, although it is over "
            f"{config['BACKUP_RETENTION_DAYS']} days old: it is the newest backup. "
            "Backups have stopped: check that flask backup runs.",
            err=True,
        )
