"""Editing a trace and reverting it to an earlier revision (on the traces blueprint)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.access import can_edit, can_moderate, can_revert, can_view, viewer_of
from app.db import db
from app.errors import Conflict, ValidationFailed
from app.maps import drawing_map
from app.models import Trace, TraceStatus, User
from app.photos.queries import visible_photos
from app.traces import edit_operations, queries
from app.traces.blueprint import bp
from app.traces.forms import (
    EditTraceForm,
    expected_version,
    initial_data,
    knowledge_suggestions,
    show_errors,
    split_tags,
    submitted_geometry,
    typed_place,
)
from app.traces.informants import FIRST_BIRTH_YEAR, last_birth_year
from app.traces.submissions import clean_with_photos


@bp.route("/<int:trace_id>/edit", methods=["GET", "POST"])
@login_required
def edit(trace_id: int) -> str | Response | tuple[str, int]:
    """Change a trace's place and description; each saved change becomes a revision."""
    editor: User = current_user
    trace = visible_trace(trace_id, editor)
    if not can_edit(editor, trace):
        abort(403)
    moderator = can_moderate(editor, trace)
    # On POST only what was sent counts: defaults from the trace would hide a missing version.
    form = EditTraceForm(data=None if request.method == "POST" else initial_data(trace))
    if not moderator:
        del form.tags  # residents cannot tag: a posted "tags" is never read
    # The informant is the moderators' to correct, and only on a trace recorded for one; for
    # everyone else (the author included) the fields are gone and posted ones never read.
    edits_informant = moderator and trace.recorder_id is not None
    if not edits_informant:
        form.remove_informant()
    form.fill_choices([trace.project], queries.terms_by_scheme(), str(get_locale()))
    form.project.data = trace.project.slug
    if form.validate_on_submit():
        typed = typed_place(form, typed_wins=True)
        try:
            submission, photos = clean_with_photos(
                form.submitted_fields(),
                submitted_geometry(form, typed_wins=True),
                form.photos.data,
                project=trace.project,  # an edit never moves a trace to another project
            )
            edited = edit_operations.update_trace(
                editor,
                trace,
                submission,
                expected_version(form.version.data),
                form.comment.data or "",
                tags=split_tags(form.tags.data) if moderator else None,
                photos=photos,
                informant=edits_informant,
            )
        except ValidationFailed as error:
            db.session.rollback()  # a refused edit may have been flushed already
            show_errors(form, form.informant_errors(error.errors), typed=typed)
        except Conflict:
            return _conflict(trace_id, form)
        else:
            flash(*_saved_message(edited, trace))
            return redirect(url_for("traces.show", trace_id=trace_id))
    status = 422 if form.errors else 200
    page_map = drawing_map("geometry", form.geometry.data or "")
    return render_template(
        "traces/edit.html",
        form=form,
        trace=trace,
        page_map=page_map,
        existing_photos=visible_photos(trace, editor),
        resubmits=edit_operations.answers_request(editor, trace),
        # For the informant's fieldset (templates/traces/_informant_fields.html).
        recording_in=[trace.project],
        knowledge_suggestions=knowledge_suggestions() if edits_informant else [],
        birth_years=(FIRST_BIRTH_YEAR, last_birth_year()),
    ), status


def _saved_message(edited: edit_operations.Edited, trace: Trace) -> tuple[str, str]:
    """The flash after a save: what was saved, and where the trace goes now."""
    if edited.resubmitted:
        if edited.revision is None:
            return gettext("Nothing changed; sent back to the librarians as it is."), "success"
        return gettext("Saved and sent back to the librarians."), "success"
    if edited.revision is None:
        return gettext("Nothing changed."), "info"
    if trace.status == TraceStatus.NEEDS_CHANGES:
        # A moderator's fix: the author was asked, so it does not go back to the queue alone.
        return gettext(
            "Your changes are saved. The trace still waits for changes from its author; "
            "approve it when it is ready."
        ), "success"
    return gettext("Your changes are saved."), "success"


@bp.post("/<int:trace_id>/revert/<int:version>")
@login_required
def revert(trace_id: int, version: int) -> Response | tuple[str, int]:
    """Make an earlier revision current again, as a new revision (librarians only)."""
    editor: User = current_user
    trace = visible_trace(trace_id, editor)
    if not can_revert(editor, trace):
        abort(403)
    try:
        revision = edit_operations.revert_trace(
            editor, trace, version, expected_version(request.form.get("expected_version"))
        )
    except Conflict:
        return _conflict(trace_id, None)
    if revision is None:
        flash(gettext("Version %(version)s is the same as now; nothing changed.", version=version))
    else:
        flash(gettext("Reverted to version %(version)s.", version=version), "success")
    target = edit_operations.revision_of(trace, version)
    if target is not None and edit_operations.photos_not_restored(trace, target):
        flash(
            gettext(
                "Photos that version %(version)s had and that were removed since are not "
                "brought back: reverting restores the text and the place only.",
                version=version,
            ),
            "info",
        )
    return redirect(url_for("revisions.history", trace_id=trace_id))


def visible_trace(trace_id: int, viewer: User | None) -> Trace:
    """The trace, or 404 when it does not exist or the viewer may not see it (same answer)."""
    trace = queries.get_trace(trace_id)
    if trace is None or not can_view(viewer, trace):
        abort(404)
    return trace


def _conflict(trace_id: int, form: EditTraceForm | None) -> tuple[str, int]:
    """409: show the trace as it is now, and what the user typed so that nothing is lost."""
    db.session.rollback()  # the stale edit is dropped; read the trace as others saved it
    trace = visible_trace(trace_id, viewer_of(current_user))
    return render_template("traces/conflict.html", trace=trace, form=form), 409
