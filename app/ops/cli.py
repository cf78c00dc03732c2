"""The `flask backup` and `flask restore` commands."""

from __future__ import annotations

import click


@click.command("backup")
def backup_command() -> None:
    """Write a backup: the database (pg_dump custom format), media and a checksum manifest."""
    raise click.ClickException("not built yet")


@click.command("restore")
def restore_command() -> None:
    """Restore a backup written by flask backup into a database and media directory."""
    raise click.ClickException("not built yet")
