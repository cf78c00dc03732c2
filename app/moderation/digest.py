"""The weekly digest: an e-mail to each librarian and curator who asked for it, of what waits.

`flask digest send` (cron, docs/story.md) queues one mail per person who ticked "Send me a
weekly summary" on the account page, still moderates a project, and has had no digest in the
last DIGEST_EVERY. People with nothing waiting get no mail and keep their turn, so a daily cron
sends the summary on the first day something waits. Each person is locked, written to the
outbox and stamped (users.digest_sent_at) in one transaction: running it twice, or on two
machines at once, sends one mail. Mails are in the moderator's language (the account's choice, else
the installation's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import or_, select

from app.access import moderated_projects
from app.db import db
from app.i18n import mail_locale
from app.mail import send_mail
from app.models import Project, User
from app.moderation.backlog import age_text, project_backlog
from app.moderation.queries import pending_count
from app.web import absolute_url

DIGEST_EVERY = timedelta(days=6)


@dataclass(frozen=True)
class ProjectWaiting:
    """One project's line in the digest."""

    project: Project
    count: int
    capped: bool
    oldest_age: timedelta | None


def waiting_for(user: User, now: datetime) -> list[ProjectWaiting]:
    """The projects in which something waits for this user, with counts and oldest ages."""
    lines = []
    for project in moderated_projects(user):
        count, capped = pending_count(user, project)
        if not count:
            continue
        backlog = project_backlog(user, project, now, with_areas=False)
        oldest = backlog.oldest_age if backlog is not None else None
        lines.append(ProjectWaiting(project, count, capped, oldest))
    return lines


def digest_text(user: User, lines: list[ProjectWaiting]) -> tuple[str, str]:
    """The subject and plain-text body of one person's digest (in the current locale)."""
    total = sum(line.count for line in lines)
    name = current_app.config["INSTALLATION_NAME"]
    subject = ngettext(
        "%(site)s: %(num)s entry waits for you",
        "%(site)s: %(num)s entries wait for you",
        total,
        site=name,
    )
    body = [gettext("Hello %(name)s,", name=user.display_name), ""]
    body.append(gettext("This is your weekly summary of what waits for moderation."))
    body.append("")
    for line in lines:
        count = (
            gettext("more than %(num)s entries wait", num=line.count)
            if line.capped
            else ngettext("%(num)s entry waits", "%(num)s entries wait", line.count)
        )
        text = f"{line.project.name}: {count}"
        if line.oldest_age is not None:
            text += " " + gettext("(the oldest for %(age)s)", age=age_text(line.oldest_age))
        body += [text, f"  {absolute_url('moderation.queue', slug=line.project.slug)}", ""]
    body.append(
        gettext(
            "You get this e-mail because you asked for a weekly summary on your account "
            "page. To stop it, untick the box there: %(link)s",
            link=absolute_url("auth.account"),
        )
    )
    return subject, "\n".join(body)


def send_digests(now: datetime | None = None) -> tuple[int, int]:
    """Queue the digests that are due; returns (sent, nothing waiting). Commits per person."""
    now = now or datetime.now(UTC)
    sent = idle = 0
    for user_id in _due_ids(now):
        user = db.session.execute(
            select(User).where(User.id == user_id, *_due(now)).with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if user is None:  # another run has it, or it changed since the list was read
            db.session.rollback()
            continue
        with force_locale(mail_locale(user)):  # the moderator's language, else the default
            lines = waiting_for(user, now)
            if lines:
                subject, body = digest_text(user, lines)
                send_mail(user.email, subject, body, user_id=user.id)
                user.digest_sent_at = now
                sent += 1
            else:
                idle += 1
        db.session.commit()
    return sent, idle


def _due(now: datetime) -> list:
    return [
        User.weekly_digest.is_(True),
        User.is_enabled.is_(True),
        or_(User.digest_sent_at.is_(None), User.digest_sent_at <= now - DIGEST_EVERY),
    ]


def _due_ids(now: datetime) -> list[int]:
    ids = list(db.session.execute(select(User.id).where(*_due(now)).order_by(User.id)).scalars())
    db.session.rollback()  # each person is then read and locked in a transaction of their own
    return ids


@click.group("digest")
def digest_group() -> None:
    """The weekly digest of what waits for moderators."""


@digest_group.command("send")
@with_appcontext
def send_command() -> None:
    """Send the weekly digest to everyone who asked for it and has not had it this week."""
    from app.mail import send_due

    sent, idle = send_digests()
    delivered, failed = send_due(seconds=float("inf"))
    click.echo(
        f"Digests queued: {sent}; nothing waiting for {idle}. "
        f"Mail sent {delivered}, failed {failed}."
    )
