"""Telling people what happened to their traces: on the page, and by e-mail when set up.

Both are written in the request's transaction, so they exist exactly when the decision does.
A notification is stored as a kind with parameters (no language): "My traces" renders it in the
reader's language (app/events.py). The mail itself goes out after the commit (app.mail); its
subject comes from a fixed template per kind, never from the message, which may hold several
lines of a moderator's text.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext

from app import events
from app.db import db
from app.i18n import mail_locale
from app.mail import clean_body, one_line, send_mail
from app.models import Notification, Trace, User
from app.web import absolute_url

log = logging.getLogger(__name__)

TITLE_LIMIT = 60


def subject_for(kind: str, trace: Trace | None = None) -> str:
    """The one-line mail subject for a kind of notification."""
    title = one_line(trace.title, TITLE_LIMIT) if trace is not None else ""
    subjects = {
        "trace.approved": gettext("Your trace «%(title)s» is approved", title=title),
        "trace.needs_changes": gettext(
            "Your trace «%(title)s» was returned for changes", title=title
        ),
        "trace.rejected": gettext("Your trace «%(title)s» was not approved", title=title),
        "trace.deleted": gettext("Your trace «%(title)s» was removed", title=title),
        "trace.merged": gettext(
            "Your trace «%(title)s» was merged with another trace", title=title
        ),
        "comment_approved": gettext("A new comment on your trace «%(title)s»", title=title),
        "comment_rejected": gettext("Your comment on «%(title)s» was not published", title=title),
        "rights": gettext("Your rights in a project have changed"),
    }
    subject = subjects.get(kind)
    if subject is None:
        subject = (
            gettext("News about your trace «%(title)s»", title=title)
            if trace is not None
            else gettext("News for you")
        )
    return one_line(f"{current_app.config['INSTALLATION_NAME']}: {subject}")


def notify(user: User | None, kind: str, trace: Trace | None = None, **params: Any) -> None:
    """Store a notification (kind and parameters) for the user and queue a mail if wanted.

    ``params`` are what the sentence needs (titles, a moderator's message as typed); text is
    cleaned of control characters (a NUL cannot be stored in JSON) and otherwise kept. A kind
    that names another person carries that person's id as ``actor_id``: deleting their account
    finds the notification and its mail by that id, never by the name.
    """
    if user is None or user.deleted_at is not None:
        return  # a deleted account (kept as «Tidligere bidragsyter») hears of nothing more
    params = {k: clean_body(v) if isinstance(v, str) else v for k, v in params.items()}
    db.session.add(
        Notification(
            user_id=user.id,
            trace_id=trace.id if trace else None,
            kind=kind,
            params=params,
            message="",
        )
    )
    if user.notify_by_email and user.is_enabled:
        # In the recipient's language (their account's choice, else the installation's), not
        # in the language of whoever caused the notification.
        with force_locale(mail_locale(user)):
            body = events.notification_line(kind, params, "", events.may_see_for(user)).text()
            subject = subject_for(kind, trace)
        link = _trace_link(trace) if trace is not None else ""
        # The mail goes with the recipient's account and with the person it names (the actor
        # of a vocab_suggestion), so deleting either account deletes it (app/me/deletion.py).
        actor = params.get("actor_id")
        send_mail(
            user.email, subject, f"{body}\n\n{link}".strip(),
            user_id=user.id, about_user_id=actor if isinstance(actor, int) else None,
        )  # fmt: skip


def _trace_link(trace: Trace) -> str:
    """The trace's page, on the configured base URL (never the Host header of the request)."""
    if trace.id is None:
        db.session.flush()
    return absolute_url("traces.show", trace_id=trace.id)
