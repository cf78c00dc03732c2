"""Restoring a backup written by flask backup: check everything first, then change things."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from app.ops import pg
from app.ops.backup import DUMP, MEDIA, BackupRefused, read_manifest, verify


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
    if tables:
        # --force: drop what is about to be recreated, in the same single transaction.
        pg.run_tool(_clean_restore_args(where, backup / DUMP), where)
    else:
        pg.restore(where, backup / DUMP)
    copied = 0 if from_s3 or media_dir is None else _copy_tree(backup / MEDIA, media_dir)
    note = str(media.get("note", "")) if from_s3 else ""
    return Restored(where.name, pg.alembic_revision(where), media_dir, copied, note)


def _clean_restore_args(where: pg.Target, dump_file: Path) -> list[str]:
    return [
        "pg_restore",
        "--clean",
        "--if-exists",
        "--no-owner",
        "--no-privileges",
        "--exit-on-error",
        "--single-transaction",
        f"--dbname={where.conninfo}",
        str(dump_file),
    ]


def _has_files(folder: Path) -> bool:
    return folder.is_dir() and any(path.is_file() for path in folder.rglob("*"))


def _copy_tree(source: Path, target: Path) -> int:
    """Copy every file (keeping times: the media sweep reads them) and count them."""
    count = 0
    target.mkdir(parents=True, exist_ok=True)
    if not source.is_dir():
        return 0
    for folder, _dirs, names in os.walk(source):
        relative = Path(folder).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy2(Path(folder, name), target / relative / name)
            count += 1
    return count
