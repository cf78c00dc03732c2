"""Removing photo files that are due: queued garbage, forgotten uploads and orphaned keys.

The entry points are app.photos.operations.remove_due_files (``flask media sweep``) and
remove_files_after_commit (right after a request that deleted photos); see the timing there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from app.db import db
from app.media.storage import MediaStorage
from app.models import MediaGarbage, Photo, PhotoStatus


def remove_garbage(storage: MediaStorage, now: datetime | None, limit: int | None) -> int:
    """Delete the files of due media_garbage rows; how many storage keys went."""
    due_at = now if now is not None else func.now()
    query = (
        select(MediaGarbage.storage_key)
        .where(MediaGarbage.due_at <= due_at)
        .order_by(MediaGarbage.due_at)
        .with_for_update(skip_locked=True)
    )
    if limit is not None:
        query = query.limit(limit)
    keys = list(dict.fromkeys(db.session.execute(query).scalars()))
    removed = 0
    for key in keys:
        photo = db.session.execute(
            select(Photo).where(Photo.storage_key == key)
        ).scalar_one_or_none()
        if photo is not None and photo.status != PhotoStatus.REJECTED:
            # Approved again after a rejection: the files stay, the entry goes.
            db.session.execute(delete(MediaGarbage).where(MediaGarbage.storage_key == key))
            continue
        if photo is not None:
            # A rejected photo past its grace period goes for good, row and files.
            db.session.delete(photo)
            db.session.flush()
        storage.delete_prefix(key)
        db.session.execute(delete(MediaGarbage).where(MediaGarbage.storage_key == key))
        removed += 1
    db.session.flush()
    return removed


def remove_forgotten_uploads(now: datetime | None) -> int:
    """Delete staged uploads older than MEDIA_STAGED_HOURS (their files are queued)."""
    hours = int(current_app.config.get("MEDIA_STAGED_HOURS", 24))
    cutoff = (now or datetime.now(UTC)) - timedelta(hours=hours)
    result = db.session.execute(
        delete(Photo)
        .where(Photo.status == PhotoStatus.STAGED, Photo.created_at < cutoff)
        .returning(Photo.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


def remove_orphans(storage: MediaStorage, older_than_seconds: int) -> int:
    """Delete stored keys with no photo row at all, written over ``older_than_seconds`` ago."""
    removed = 0
    batch: list[str] = []

    def flush_batch() -> int:
        known = set(
            db.session.execute(
                select(Photo.storage_key).where(Photo.storage_key.in_(batch))
            ).scalars()
        )
        gone = 0
        for key in batch:
            if key not in known:
                storage.delete_prefix(key)
                gone += 1
        batch.clear()
        return gone

    for key in storage.list_prefixes(older_than_seconds):
        batch.append(key)
        if len(batch) >= 500:
            removed += flush_batch()
    if batch:
        removed += flush_batch()
    return removed
