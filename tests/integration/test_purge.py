"""flask purge: each kind of data on both sides of its retention boundary.

A second run removes nothing more; the newest backup is never removed; --logs-only touches the
request log files alone.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.mail import MAX_ATTEMPTS
from app.models import OutboxMail, PasswordResetToken, User, UserSession
from app.observability.purge import purge_command
from app.ops.backup import FORMAT

NOW = datetime.now(UTC)


def _ago(**delta: float) -> datetime:
    """That long before NOW."""
    return NOW - timedelta(**delta)


def _session_row(user: User, *, last_seen: datetime, revoked: datetime | None = None) -> str:
    return _add(UserSession(id=secrets.token_hex(16), user_id=user.id, created_at=last_seen,
                            last_seen_at=last_seen, revoked_at=revoked))  # fmt: skip


def _token(user: User, *, expires: datetime, used: datetime | None = None) -> str:
    return _add(PasswordResetToken(token_hash=secrets.token_hex(32), user_id=user.id,
                                   expires_at=expires, used_at=used))  # fmt: skip


def _mail(subject: str, **fields: Any) -> str:
    _add(OutboxMail(to_address="someone@example.org", subject=subject, body="Hei", **fields))
    return subject


_pending: list[Any] = []


def _add(row: Any) -> Any:
    _pending.append(row)
    return getattr(row, "id", None) or getattr(row, "token_hash", None) or row.subject


def _backup(root: Path, name: str, created: datetime, fmt: str = FORMAT) -> Path:
    """A directory that looks like one flask backup wrote (manifest only)."""
    folder = root / name
    folder.mkdir(parents=True)
    manifest = {"format": fmt, "version": 1, "created": created.isoformat(), "files": []}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_purge_removes_only_what_is_past_retention(
    app: Flask,
    session: Session,
    make_user: Callable[..., User],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Sessions, reset links, mail, log files and backups: old ones go, recent ones stay."""
    logs, backups = tmp_path / "logs", tmp_path / "backups"
    for key, value in {
        "SESSION_RETENTION_DAYS": 30, "MAIL_RETENTION_DAYS": 30, "LOG_RETENTION_DAYS": 14,
        "BACKUP_RETENTION_DAYS": 35, "LOG_DIR": str(logs), "BACKUP_DIR": str(backups),
    }.items():  # fmt: skip
        monkeypatch.setitem(app.config, key, value)
    user = make_user()
    _pending.clear()
    gone = {
        "sessions": {
            _session_row(user, last_seen=_ago(days=31)),  # idle too long
            _session_row(user, last_seen=_ago(days=40), revoked=_ago(days=31)),  # ended long ago
        },
        "tokens": {
            _token(user, expires=_ago(days=2)),  # expired, never used
            _token(user, expires=_ago(hours=1), used=_ago(days=1, hours=1)),  # used long ago
        },
        "mail": {
            _mail("sent long ago", sent_at=_ago(days=31), attempts=1),
            _mail(
                "given up long ago",
                attempts=MAX_ATTEMPTS,
                next_attempt_at=_ago(days=31),
                last_error="SMTPRecipientsRefused",
            ),  # fmt: skip
        },
    }
    kept = {
        "sessions": {
            _session_row(user, last_seen=_ago(days=29)),
            _session_row(user, last_seen=_ago(days=29), revoked=_ago(days=29)),
            _session_row(user, last_seen=_ago(minutes=1)),
        },
        "tokens": {
            _token(user, expires=_ago(hours=20)),  # expired, but less than a day ago
            _token(user, expires=NOW + timedelta(minutes=20), used=_ago(hours=2)),
            _token(user, expires=NOW + timedelta(minutes=20)),  # still usable
        },
        "mail": {
            _mail("sent recently", sent_at=_ago(days=29), attempts=1),
            _mail("given up recently", attempts=MAX_ATTEMPTS, next_attempt_at=_ago(days=29)),
            _mail(
                "still retrying",
                attempts=3,
                created_at=_ago(days=40),
                next_attempt_at=_ago(days=31),
            ),  # fmt: skip
            _mail("waiting", attempts=0),
        },
    }
    session.add_all(_pending)
    session.commit()

    logs.mkdir()
    day = NOW.date()
    old_logs = [logs / f"requests-{day - timedelta(days=n)}.log" for n in (15, 30)]
    new_logs = [logs / f"requests-{day - timedelta(days=n)}.log" for n in (14, 13, 0)]
    others = [logs / "gunicorn.log", logs / "requests-yesterday.log"]
    for path in old_logs + new_logs + others:
        path.write_text('{"message": "request"}\n')

    old_backup = _backup(backups, "heritage-backup-20261001T021500Z", _ago(days=36))
    new_backup = _backup(backups, "heritage-backup-20261030T021500Z", _ago(days=34))
    not_ours = _backup(backups, "heritage-backup-foreign", _ago(days=90), fmt="something-else")
    no_manifest = backups / "heritage-backup-20200101T000000Z"
    no_manifest.mkdir()
    elsewhere = _backup(backups, "my-own-copy", _ago(days=90))

    result = app.test_cli_runner().invoke(purge_command)
    assert result.exit_code == 0, result.output
    for line in (
        "Login sessions ended or idle over 30 days: 2 removed.",
        "Password-reset links used or expired over a day ago: 2 removed.",
        "Mail sent or given up on over 30 days ago: 2 removed.",
        "Request log files over 14 days old: 2 removed.",
        "Backups over 35 days old: 1 removed.",
    ):
        assert line in result.output

    session.expire_all()
    sessions = set(session.scalars(select(UserSession.id).where(UserSession.user_id == user.id)))
    assert sessions == kept["sessions"]
    tokens = set(
        session.scalars(
            select(PasswordResetToken.token_hash).where(PasswordResetToken.user_id == user.id)
        )
    )
    assert tokens == kept["tokens"]
    subjects = set(session.scalars(select(OutboxMail.subject)))
    assert kept["mail"] <= subjects and not gone["mail"] & subjects
    assert [p for p in old_logs if p.exists()] == []
    assert all(p.exists() for p in new_logs + others)
    assert not old_backup.exists()
    assert new_backup.exists() and not_ours.exists() and no_manifest.exists()
    assert elsewhere.exists()

    again = app.test_cli_runner().invoke(purge_command)
    assert again.exit_code == 0, again.output
    assert again.output.count(" 0 removed.") == 5


def test_purge_keeps_the_newest_backup_when_all_are_old(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Backups stopped longer than the retention: the newest one stays, and purge says so."""
    backups = tmp_path / "backups"
    monkeypatch.setitem(app.config, "BACKUP_RETENTION_DAYS", 35)
    monkeypatch.setitem(app.config, "BACKUP_DIR", str(backups))
    oldest = _backup(backups, "heritage-backup-20260901T021500Z", _ago(days=90))
    older = _backup(backups, "heritage-backup-20260902T021500Z", _ago(days=89))
    newest = _backup(backups, "heritage-backup-20260903T021500Z", _ago(days=88))
    # Names do not decide: a backup written later under an earlier-sorting name still counts.
    renamed = _backup(backups, "heritage-backup-20200101T000000Z-2", _ago(days=60))
    not_ours = _backup(backups, "heritage-backup-foreign", _ago(days=1), fmt="something-else")

    result = app.test_cli_runner().invoke(purge_command)
    assert result.exit_code == 0, result.output
    assert "Backups over 35 days old: 3 removed." in result.output
    assert f"Kept {renamed.name}" in result.output and "Backups have stopped" in result.output
    assert renamed.exists() and not_ours.exists()
    assert not (oldest.exists() or older.exists() or newest.exists())

    again = app.test_cli_runner().invoke(purge_command)
    assert again.exit_code == 0 and "Backups over 35 days old: 0 removed." in again.output
    assert renamed.exists()


def test_purge_logs_only_removes_this_servers_log_files_and_nothing_else(
    app: Flask,
    session: Session,
    make_user: Callable[..., User],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--logs-only (every app server with LOG_DIR) removes old request logs only."""
    logs, backups = tmp_path / "logs", tmp_path / "backups"
    for key, value in {
        "LOG_RETENTION_DAYS": 14, "SESSION_RETENTION_DAYS": 30, "BACKUP_RETENTION_DAYS": 35,
        "LOG_DIR": str(logs), "BACKUP_DIR": str(backups),
    }.items():  # fmt: skip
        monkeypatch.setitem(app.config, key, value)
    user = make_user()
    _pending.clear()
    idle = _session_row(user, last_seen=_ago(days=31))
    session.add_all(_pending)
    session.commit()
    old_backup = _backup(backups, "heritage-backup-20261001T021500Z", _ago(days=40))
    _backup(backups, "heritage-backup-20261101T021500Z", _ago(days=1))
    logs.mkdir()
    old_log = logs / f"requests-{NOW.date() - timedelta(days=15)}.log"
    new_log = logs / f"requests-{NOW.date()}.log"
    for path in (old_log, new_log):
        path.write_text('{"message": "request"}\n')

    result = app.test_cli_runner().invoke(purge_command, ["--logs-only"])
    assert result.exit_code == 0, result.output
    assert result.output == "Request log files over 14 days old: 1 removed.\n"
    assert not old_log.exists() and new_log.exists()
    assert old_backup.exists()
    session.expire_all()
    assert session.get(UserSession, idle) is not None
