"""The weekly digest: an e-mail to each librarian and curator who asked for it, of what waits."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group("digest")
def digest_group() -> None:
    """The weekly digest of what waits for moderators."""


@digest_group.command("send")
@with_appcontext
def send_command() -> None:
    """Send the weekly digest to everyone who asked for it and has not had it this week."""
