"""Retention: `flask purge` removes what the privacy statement says is kept only for a while."""

from __future__ import annotations

import click


@click.command("purge")
def purge_command() -> None:
    """Remove request logs, ended sessions and sent mail older than their retention periods."""
    raise click.ClickException("not built yet")
