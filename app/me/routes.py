"""A contributor's own page: my traces with their status and messages, and notifications."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from app import events
from app.access import can_edit_vocabulary, visible_traces
from app.db import db
from app.me import operations, queries
from app.me.forms import MarkReadForm
from app.models import Trace, TraceStatus
from app.photos.queries import first_thumbnails

bp = Blueprint("me", __name__, url_prefix="/me")

# A moderator's message matters to the author when it asks for something or explains a refusal.
NOTE_SHOWN_FOR = (TraceStatus.NEEDS_CHANGES, TraceStatus.REJECTED)


@bp.get("/traces")
@login_required
def traces() -> str:
    """The user's traces and notifications (reading the page marks nothing)."""
    notifications = queries.my_notifications(current_user)
    may_see = events.may_see_for(current_user)
    lines = {
        n.id: events.notification_line(n.kind, n.params, n.message, may_see) for n in notifications
    }  # in this reader's language, whoever caused them
    traces = queries.my_traces(current_user)
    merged = [t for t in traces if t.status == TraceStatus.REJECTED and t.duplicate_of_id]
    originals = _originals_seen(merged)
    return render_template(
        "me/traces.html",
        traces=traces,
        # "Merged with «…»" per merged trace, read by templates/traces/_status.html.
        merged_lines={t.id: events.merged_status(t, current_user, originals) for t in merged},
        thumbnails=first_thumbnails([t.id for t in traces], current_user),
        waiting_photos=queries.waiting_photos(traces),
        notifications=notifications,
        lines=lines,
        unread=sum(1 for n in notifications if n.read_at is None),
        up_to=max((n.id for n in notifications), default=None),
        note_shown_for=NOTE_SHOWN_FOR,
        form=MarkReadForm(),
        can_edit_vocabulary=can_edit_vocabulary(current_user),
    )


def _originals_seen(merged: list[Trace]) -> events.MaySee:
    """Whether the user may see a merged trace's original: one query for all of them.

    The originals it finds are loaded, so merged_status reads their titles without a query.
    """
    ids = {t.duplicate_of_id for t in merged if t.duplicate_of_id is not None}
    if not ids:
        return lambda _trace_id: False
    # Whole rows, held by the dict (the identity map holds them only weakly): merged_status's
    # get of the title then finds them without a query.
    found = db.session.execute(
        select(Trace).where(Trace.id.in_(ids), visible_traces(current_user))
    ).scalars()
    seen = {t.id: t for t in found}
    return seen.__contains__


@bp.post("/notifications/read")
@login_required
def mark_read() -> Response:
    """Mark the notifications shown on the page as read."""
    form = MarkReadForm()
    if not form.validate_on_submit():
        abort(400)
    count = operations.mark_read(current_user, form.up_to.data)
    if count:
        flash(gettext("Notifications marked as read."), "success")
    else:
        flash(gettext("There were no unread notifications."), "info")
    return redirect(url_for("me.traces", _anchor="notifications"))
