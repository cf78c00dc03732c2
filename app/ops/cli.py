"""The `flask backup` and `flask restore` commands (docs/operations.md).

Messages are in English without gettext: they are for the operator at a shell, like the other
commands' output, and there is no visitor whose language could be chosen.
"""

from __future__ import annotations

from pathlib import Path

import click
import psycopg
from flask import current_app
from flask.cli import with_appcontext

from app.ops.backup import BackupRefused, backup_root, media_root, write_backup
from app.ops.pg import ToolFailed
from app.ops.restore import restore_backup


def _size(n: int) -> str:
    """Bytes for people: 1.4 MB."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} bytes"


@click.command("backup")
@click.option(
    "--to",
    "to",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write into (default: BACKUP_DIR, else instance/backups).",
)
@with_appcontext
def backup_command(to: Path | None) -> None:
    """Write a backup: the database (pg_dump custom format), media and a checksum manifest."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        written = write_backup(app, backup_root(app, to))
    except ToolFailed as error:
        raise click.ClickException(f"Backup failed, nothing was written: {error}") from None
    except (OSError, psycopg.Error) as error:
        raise click.ClickException(f"Backup failed, nothing was written: {error}") from None
    media = (
        f"{written.media_files} media files"
        if media_root(app) is not None
        else "media in S3 (not copied: see the manifest)"
    )
    click.echo(f"Wrote {written.path} ({_size(written.total_bytes)}; database dump, {media}).")


@click.command("restore")
@click.argument("backup", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--database-url",
    required=True,
    help="The database to restore into; it must exist and be empty (see --force).",
)
@click.option(
    "--media-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the photo files go (default: this installation's MEDIA_DIR).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Restore over a database that has tables and a media directory that has files.",
)
@with_appcontext
def restore_command(backup: Path, database_url: str, media_dir: Path | None, force: bool) -> None:
    """Restore a backup written by flask backup into a database and media directory."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    target_media = media_dir or media_root(app)
    try:
        restored = restore_backup(backup, database_url, target_media, force=force)
    except BackupRefused as error:
        raise click.ClickException(f"Not restored: {error}") from None
    except ToolFailed as error:
        raise click.ClickException(
            f"The database restore failed and was rolled back: {error}"
        ) from None
    except psycopg.Error as error:
        raise click.ClickException(f"Not restored: cannot reach the database: {error}") from None
    click.echo(
        f"Checked every file against {backup / 'manifest.json'}: all match."
        f"\nRestored the database into {restored.database!r} "
        f"(schema revision {restored.revision or 'unknown'})."
    )
    if restored.note:
        click.echo(restored.note)
    else:
        click.echo(f"Copied {restored.media_files} media files into {restored.media_dir}.")
    click.echo(
        "The secret key is not in the backup: set the installation's SECRET_KEY as before "
        "(SECRET-KEY-NOTE.txt says what a new one changes)."
    )
