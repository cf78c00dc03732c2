"""Writing and checking backups: the database dump, media, secret-key note and manifest.

The manifest holds every file's SHA-256 (docs/operations.md). A backup holds password hashes,
e-mail addresses and every photo: its directory is 0700 and each file in it 0600, whatever the
umask of the shell or cron that started flask backup.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask

from app.ops import pg

FORMAT = "kulturspor-backup"
VERSION = 1
PREFIX = "heritage-backup-"
MANIFEST = "manifest.json"
DUMP = "database.dump"
NOTE = "SECRET-KEY-NOTE.txt"
MEDIA = "media"
# Files being written by the media storage start with this and are not photos yet.
_MEDIA_TEMP_MARK = ".tmp-"
# Only the owner (the app's user) may read a backup: it holds password hashes and addresses.
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


class BackupRefused(RuntimeError):
    """A backup cannot be written or restored; the message says why and what to do."""


@dataclass(frozen=True)
class Written:
    """A finished backup: where it is, how big, how many media files."""

    path: Path
    total_bytes: int
    media_files: int


def backup_root(app: Flask, chosen: str | os.PathLike[str] | None = None) -> Path:
    """Where backups go: --to, else BACKUP_DIR, else instance/backups."""
    return Path(chosen or app.config.get("BACKUP_DIR") or Path(app.instance_path, "backups"))


def media_root(app: Flask) -> Path | None:
    """The media directory of a directory storage; None when photos live in S3."""
    if app.config.get("MEDIA_S3_BUCKET"):
        return None
    return Path(app.config.get("MEDIA_DIR") or Path(app.instance_path, "media"))


def sha256(path: Path) -> str:
    """The file's SHA-256, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_backup(app: Flask, root: Path, now: datetime | None = None) -> Written:
    """Write a complete backup directory under root and return it.

    Everything goes into a hidden `.…partial` directory that is renamed at the end: a backup
    that crashed half-way never has the name (or the manifest) of a complete one.
    """
    with private_umask():
        return _write_backup(app, root, now or datetime.now(UTC))


@contextmanager
def private_umask() -> Iterator[None]:
    """Umask 077 while inside: what is created (by us or pg_dump) is the owner's alone."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _write_backup(app: Flask, root: Path, now: datetime) -> Written:
    """write_backup's work, under the private umask."""
    if not root.exists():
        root.mkdir(parents=True, mode=PRIVATE_DIR)
    name = _free_name(root, PREFIX + now.strftime("%Y%m%dT%H%M%SZ"))
    partial = root / f".{name}.partial"
    partial.mkdir(mode=PRIVATE_DIR)
    try:
        where = pg.target(app.config["SQLALCHEMY_DATABASE_URI"])
        pg.dump(where, partial / DUMP)
        media = _copy_media(app, partial / MEDIA)
        (partial / NOTE).write_text(secret_key_note(app), encoding="utf-8")
        files = _describe(partial)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created": now.isoformat(timespec="seconds"),
            "database": {
                "name": where.name,
                "alembic_revision": pg.alembic_revision(where),
                "dump": DUMP,
                "dump_format": "pg_dump custom (-Fc)",
            },
            "media": media,
            "secret_key": f"not in the backup: see {NOTE}",
            "files": files,
        }
        _write_json(partial / MANIFEST, manifest)
        # copy2 copies each photo's own mode (0640): the umask alone does not cover them.
        make_private(partial)
        final = root / name
        os.replace(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    total = sum(entry["size"] for entry in files) + (final / MANIFEST).stat().st_size
    return Written(final, total, int(media.get("files", 0)))


def make_private(folder: Path) -> None:
    """Make the folder and everything under it the owner's alone (0700 folders, 0600 files)."""
    folder.chmod(PRIVATE_DIR)
    for path in folder.rglob("*"):
        if path.is_symlink():
            continue
        path.chmod(PRIVATE_DIR if path.is_dir() else PRIVATE_FILE)


def _free_name(root: Path, name: str) -> str:
    """The name, or name-2, name-3… when a backup of the same second exists."""
    candidate, n = name, 1
    while (root / candidate).exists() or (root / f".{candidate}.partial").exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _copy_media(app: Flask, target: Path) -> dict[str, Any]:
    """Copy the media directory (files only, not the storage's half-written temp files)."""
    source = media_root(app)
    if source is None:
        return {
            "storage": "s3",
            "bucket": app.config.get("MEDIA_S3_BUCKET"),
            "endpoint": app.config.get("MEDIA_S3_ENDPOINT") or "AWS",
            "files": 0,
            "note": "Photos live in object storage and are not in this backup: the bucket is "
            "protected by the object store's own versioning and replication "
            "(docs/operations.md).",
        }
    target.mkdir()
    count = 0
    if source.is_dir():
        for folder, dirs, names in os.walk(source):
            dirs.sort()
            relative = Path(folder).relative_to(source)
            for name in sorted(names):
                if name.startswith(_MEDIA_TEMP_MARK):
                    continue
                (target / relative).mkdir(parents=True, exist_ok=True)
                shutil.copy2(Path(folder, name), target / relative / name)
                count += 1
    return {"storage": "directory", "source": str(source), "files": count}


def secret_key_note(app: Flask) -> str:
    """The text of SECRET-KEY-NOTE.txt: where the key is set, and what breaks without it."""
    if os.environ.get("SECRET_KEY"):
        where = "the SECRET_KEY environment variable (for example in the service's .env file)"
    elif os.environ.get("HERITAGE_SECRET_KEY"):
        where = "the HERITAGE_SECRET_KEY environment variable (for example in .env)"
    elif Path(app.instance_path, "secret_key").exists():
        where = f"the file {Path(app.instance_path, 'secret_key')} (development default)"
    else:
        where = "the application's configuration (SECRET_KEY)"
    return (
        "Kulturspor backup: the secret key\n"
        "=================================\n\n"
        f"This installation's secret key is set in {where}.\n\n"
        "The key is NOT in this backup, on purpose: whoever holds it can forge session\n"
        "cookies. Keep a copy of it (and of .env) separately, for example in the\n"
        "municipality's password safe, never next to the backups.\n\n"
        "Restoring with the same key: everything works as before.\n\n"
        "Restoring with a new key:\n"
        "- everyone is logged out (session and remember-me cookies no longer verify),\n"
        "  and forms open in a browser must be reloaded (their CSRF tokens are signed);\n"
        "- password-reset links sent before are void;\n"
        "- rate-limit counters keyed on a digest of the e-mail address start afresh.\n"
        "Logging in still works: passwords are stored as argon2 hashes, which do not\n"
        "depend on the secret key.\n"
    )


def _describe(folder: Path) -> list[dict[str, Any]]:
    """Every file under folder with its relative path, size and SHA-256, in path order."""
    files = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        files.append(
            {
                "path": path.relative_to(folder).as_posix(),
                "size": path.stat().st_size,
                "sha256": sha256(path),
            }
        )
    return files


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_manifest(backup: Path) -> dict[str, Any]:
    """The backup's manifest, or BackupRefused when there is none or it is not ours."""
    path = backup / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupRefused(
            f"{path} is missing: {backup} is not a complete backup written by flask backup."
        ) from None
    except (OSError, ValueError) as error:
        raise BackupRefused(f"{path} cannot be read: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused(f"{path} is not a manifest written by flask backup.")
    return manifest


def verify(backup: Path, manifest: dict[str, Any]) -> None:
    """Check every file the manifest lists: present, same size, same SHA-256.

    BackupRefused names the first file that differs, before anything is restored.
    """
    root = backup.resolve()
    for entry in manifest.get("files", []):
        relative = str(entry.get("path", ""))
        path = (root / relative).resolve()
        if not path.is_relative_to(root) or relative.startswith("/"):
            raise BackupRefused(f"The manifest names a file outside the backup: {relative!r}.")
        if not path.is_file():
            raise BackupRefused(f"{relative} is missing from the backup: it cannot be restored.")
        if path.stat().st_size != entry.get("size") or sha256(path) != entry.get("sha256"):
            raise BackupRefused(
                f"{relative} does not match its checksum in the manifest: the backup is damaged "
                "or was changed. Nothing was restored."
            )


def backup_created(path: Path) -> datetime | None:
    """When flask backup wrote this directory (from its manifest), or None if it is not one."""
    if not path.is_dir() or not path.name.startswith(PREFIX):
        return None
    try:
        manifest = read_manifest(path)
        created = datetime.fromisoformat(str(manifest["created"]))
    except (BackupRefused, KeyError, ValueError):
        return None
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def named_time(path: Path) -> datetime | None:
    """When a complete backup was written, read from its name (cheap: for every scrape)."""
    if not path.name.startswith(PREFIX) or not (path / MANIFEST).is_file():
        return None
    stamp = path.name[len(PREFIX) :].split("-")[0]
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
