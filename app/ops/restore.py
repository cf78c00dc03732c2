"""Restoring a backup written by flask backup: check everything first, then change things."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.ops import pg
from app.ops.backup import DUMP, MEDIA, BackupRefused, read_manifest, verify

# What app.media.storage.LocalStorage gives a photo file; folders get the matching 0750.
MEDIA_FILE_MODE = 0o640
MEDIA_DIR_MODE = 0o750


@dataclass(frozen=True)
class Restored:
    """What a restore did."""

    database: str
    revision: str | None
    media_dir: Path | None
    media_files: int
    note: str


def restore_backup(
    backup: Path, database_url: str, media_dir: Path | None, *, force: bool = False
) -> Restored:
    """Restore the database dump and the media files of a verified backup.

    Every refusal (damaged backup, missing or non-empty database, non-empty media directory)
    comes before anything is changed.
    """
    manifest = read_manifest(backup)
    verify(backup, manifest)
    where = pg.target(database_url)
    if not pg.database_exists(where):
        raise BackupRefused(
            f"The database {where.name!r} does not exist. Create it first, empty and with "
            f"PostGIS available, e.g.: createdb -T template0 {where.name} && psql -d "
            f"{where.name} -c 'CREATE EXTENSION postgis' (docs/operations.md)."
        )
    tables = pg.user_tables(where)
    if tables and not force:
        raise BackupRefused(
            f"The database {where.name!r} already has {len(tables)} tables "
            f"({', '.join(tables[:3])}{', …' if len(tables) > 3 else ''}). Restore into an "
            "empty database, or add --force to replace what the backup holds."
        )
    media = manifest.get("media") or {}
    from_s3 = media.get("storage") == "s3"
    if not from_s3 and media_dir is None:
        raise BackupRefused("The backup holds media files: say where they go (--media-dir).")
    if not from_s3 and media_dir is not None and _has_files(media_dir) and not force:
        raise BackupRefused(
            f"The media directory {media_dir} is not empty. Restore into an empty one, or add "
            "--force to copy the backup's files over it."
        )
    # --force over tables: drop what is about to be recreated, in the same single transaction.
    pg.restore(where, backup / DUMP, clean=bool(tables))
    copied = 0 if from_s3 or media_dir is None else _copy_tree(backup / MEDIA, media_dir)
    note = str(media.get("note", "")) if from_s3 else ""
    return Restored(where.name, pg.alembic_revision(where), media_dir, copied, note)


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(path.is_file() for path in folder.rglob("*"))


def _copy_tree(source: Path, target: Path) -> int:
    """Copy every file (keeping times: the media sweep reads them) and count them.

    Modes are the media storage's own (files 0640, folders 0750), not the backup's private
    0600/0700 and not whatever the umask allows: the app's user and group read them, nobody else.
    """
    count = 0
    _media_dir(target)
    if not source.is_dir():
        return 0
    for folder, _dirs, names in os.walk(source):
        relative = Path(folder).relative_to(source)
        _media_dir(target / relative)
        for name in names:
            copied = target / relative / name
            shutil.copy2(Path(folder, name), copied)
            copied.chmod(MEDIA_FILE_MODE)
            count += 1
    return count


def _media_dir(folder: Path) -> None:
    """Create the folder (and its parents) if missing, with the media folders' mode."""
    if not folder.is_dir():
        folder.mkdir(parents=True, mode=MEDIA_DIR_MODE)
        folder.chmod(MEDIA_DIR_MODE)  # mkdir's mode is cut by the umask
