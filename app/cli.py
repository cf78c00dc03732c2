"""flask commands: create-user, seed-demo, mail send-pending, media sweep, digest send."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import with_appcontext

from app.db import db


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice(["admin", "librarian", "resident"]), default="resident")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user(email: str, display_name: str, role: str, password_stdin: bool) -> None:
    """Create an account (the first admin and librarians)."""
    from app.auth.operations import register_user
    from app.errors import ValidationFailed
    from app.models import UserRole

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = register_user(email, display_name, password, role=UserRole(role))
    except ValidationFailed as error:
        db.session.rollback()
        for field, messages in error.errors.items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
        raise SystemExit(1) from None
    db.session.commit()
    click.echo(f"Created {role} {user.display_name} (id {user.id}).")


@click.command("seed-demo")
@click.option(
    "--force", is_flag=True, help="Allow in production (demo accounts have known passwords)."
)
@with_appcontext
def seed_demo(force: bool) -> None:
    """Load the demo projects, accounts and traces; running it again changes nothing."""
    from flask import current_app

    from app.demo import load_demo

    if current_app.config["ENV"] == "production" and not force:
        click.echo("Refusing to load demo data in production without --force.", err=True)
        raise SystemExit(1)
    summary = load_demo()
    db.session.commit()
    click.echo(summary)


@click.group("mail")
def mail_group() -> None:
    """Outgoing mail (the outbox)."""


@mail_group.command("send-pending")
@click.option("--limit", default=1000, show_default=True, help="Send at most this many.")
@with_appcontext
def send_pending(limit: int) -> None:
    """Send the queued mail that is due (run it from cron, e.g. every five minutes)."""
    from app.mail import send_due

    sent, failed = send_due(limit, seconds=float("inf"))
    click.echo(f"Sent {sent}, failed {failed}.")
    if failed:
        raise SystemExit(1)


@click.group("media")
def media_group() -> None:
    """Photo files (app/photos)."""


@media_group.command("sweep")
@with_appcontext
def media_sweep() -> None:
    """Remove photo files that are due: deleted, rejected past the grace period, forgotten
    uploads and files without a photo (run it from cron, e.g. every hour)."""
    from app.photos.operations import remove_due_files

    removed = remove_due_files()
    db.session.commit()
    click.echo(f"Removed the files of {removed} photos.")


def init_app(app: Flask) -> None:
    """Register the commands on the app's CLI."""
    from app.export.cli import export_command
    from app.moderation.digest import digest_group
    from app.observability.purge import purge_command
    from app.ops.cli import backup_command, restore_command
    from app.places.cli import places_group

    app.cli.add_command(create_user)
    app.cli.add_command(seed_demo)
    app.cli.add_command(mail_group)
    app.cli.add_command(export_command)
    app.cli.add_command(places_group)
    app.cli.add_command(media_group)  # photos: flask media sweep
    app.cli.add_command(digest_group)  # flask digest send (weekly, from cron)
    app.cli.add_command(purge_command)  # flask purge (daily, from cron): retention
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
