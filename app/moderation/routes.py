"""Moderation pages: the queue per project, decisions, bulk decisions and duplicates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.access import can_moderate, can_view, moderated_projects, viewer_of
from app.comments.queries import pending_comments_with_traces
from app.db import db
from app.errors import Conflict, DomainError, ValidationFailed
from app.maps import tile_sources
from app.models import Project, Trace
from app.moderation import backlog, entries, groups, operations, photo_queries, queries
from app.moderation.forms import BulkForm, DecisionForm, DuplicateForm, SensitivityForm
from app.moderation.states import TRANSITIONS, Action, Actor, available
from app.params import db_int, int_arg
from app.traces.queries import terms_by_scheme
from app.web import safe_target
from geo.bbox import BBoxError, parse_bbox

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
REFUSALS_NAMED = 5  # after a bulk decision, the refusals named one by one


@bp.get("/")
@login_required
def index() -> str:
    """The projects this user moderates, with how many entries wait in each."""
    projects = moderated_projects(current_user)
    counts = {p.id: queries.pending_count(current_user, p) for p in projects}  # (n, capped)
    photo_counts = {p.id: photo_queries.new_photo_count(current_user, p) for p in projects}
    backlogs = {p.id: backlog.project_backlog(current_user, p) for p in projects}
    return render_template(
        "moderation/index.html",
        projects=projects,
        counts=counts,
        photo_counts=photo_counts,
        backlogs=backlogs,
    )


@bp.get("/<slug>")
@login_required
def queue(slug: str) -> str:
    """Pending entries in the user's scope, oldest first, as compact rows with filters."""
    project = _moderated_project(slug)
    filters = _filters()
    page = int_arg("page", 1, min=1) or 1
    found = queries.queue(current_user, project, filters, page)
    built = entries.build(current_user, project, found.traces, found.geometries, compact=True)
    return render_template(
        "moderation/queue.html",
        project=project,
        entries=built,
        rows=groups.group_entries(built, current_user),
        total=found.total,
        capped=found.capped,
        matching=found.matching,
        # One string, not 500 template iterations: the ids and versions "all matching" takes.
        matching_value=" ".join(f"{i}:{v}" for i, v in found.matching),
        page=page,
        pages=max(1, -(-found.total // queries.PAGE_SIZE)),
        filters=filters,
        terms=terms_by_scheme(),
        contributors=queries.queue_contributors(current_user, project),
        pending_comments=pending_comments_with_traces(current_user, project.id),
        new_photos=photo_queries.new_photos(current_user, project),
        map_config=_map_config(),
        bulk_form=BulkForm(),
    )


@bp.get("/<slug>/entry/<int:trace_id>")
@login_required
def entry(slug: str, trace_id: int) -> str:
    """One queue entry in full: preview map, description, nearby traces, photos, decision.

    The queue fetches it when a row is opened (?part=1: the expanded part alone); without
    script the row's link leads here, a page of its own.
    """
    project = _moderated_project(slug)
    found = queries.pending_entry(current_user, project, trace_id)
    if not found.traces:
        abort(404)
    item = entries.build(current_user, project, found.traces, found.geometries)[0]
    back = safe_target(request.args.get("next")) or url_for("moderation.queue", slug=slug)
    template = (
        "moderation/_entry_part.html" if request.args.get("part") else "moderation/entry.html"
    )
    return render_template(
        template, project=project, entry=item, next_url=back, map_config=_map_config()
    )


def _moderated_project(slug: str) -> Project:
    # Found among the user's moderated projects: one query, not one more for the slug.
    for project in moderated_projects(current_user):
        if project.slug == slug:
            return project
    _project_or_404(slug)
    abort(403)


@bp.post("/decision/<int:trace_id>")
@login_required
def decision(trace_id: int) -> Response | tuple[str, int]:
    """Take one action on one trace (from the queue or the trace page)."""
    trace = db.session.get(Trace, trace_id) or abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    action = _action(form.action.data)
    try:
        outcome = operations.decide(
            current_user, trace, action, form.version.data, form.reason.data or ""
        )
    except Conflict as error:
        return _conflict(trace, error)
    except ValidationFailed as error:
        flash(" ".join(m for ms in error.errors.values() for m in ms), "error")
        return redirect(_back(form.next.data, trace))
    flash(outcome.message, "success" if outcome.changed else "info")
    return redirect(_back(form.next.data, trace))


@bp.post("/<slug>/bulk")
@login_required
def bulk(slug: str) -> Response:
    """Approve or reject the selected entries, each as its own decision."""
    project = _project_or_404(slug)
    form = BulkForm()
    if not form.validate_on_submit():
        abort(400)
    action = _action(form.action.data)
    if action not in (Action.APPROVE, Action.REJECT):
        abort(400)
    back = safe_target(request.form.get("next")) or url_for("moderation.queue", slug=project.slug)
    if request.form.get("all_matching"):
        # The ids and versions the page was rendered with: nothing that came later is decided.
        items = _selection(request.form.get("matching", "").split())[: queries.MATCHING_MAX]
    else:
        items = _selection(request.form.getlist("selection"))
    if not items:
        flash(gettext("Select at least one entry."), "error")
        return redirect(back)
    result = operations.decide_many(current_user, items, action, form.reason.data or "")
    flash(
        gettext(
            "%(changed)s decided, %(unchanged)s already so, %(refused)s not possible.",
            changed=len(result.changed),
            unchanged=len(result.unchanged),
            refused=len(result.refused),
        ),
        "success" if not result.refused else "error",
    )
    refused = list(result.refused.items())
    # "All matching" may refuse hundreds (edited since the page was shown): name a few.
    for trace_id, message in refused[:REFUSALS_NAMED]:
        flash(f"#{trace_id}: {message}", "error")
    if len(refused) > REFUSALS_NAMED:
        flash(gettext("And %(num)s more not possible.", num=len(refused) - REFUSALS_NAMED), "error")
    return redirect(back)


@bp.post("/duplicate/<int:trace_id>")
@login_required
def duplicate(trace_id: int) -> Response | tuple[str, int]:
    """Close an entry as a duplicate of an existing trace, keeping its text there."""
    trace = db.session.get(Trace, trace_id) or abort(404)
    form = DuplicateForm()
    if not form.validate_on_submit():
        abort(400)
    original = db.session.get(Trace, form.original_id.data) or abort(404)
    try:
        outcome = operations.mark_duplicate(current_user, trace, original, form.version.data)
    except Conflict as error:
        return _conflict(trace, error)
    flash(outcome.message, "success" if outcome.changed else "info")
    return redirect(_back(form.next.data, trace))


@bp.post("/sensitivity/<int:trace_id>")
@login_required
def sensitivity(trace_id: int) -> Response | tuple[str, int]:
    """Protect a location (or hand the choice back to the rules)."""
    trace = db.session.get(Trace, trace_id) or abort(404)
    if not can_view(current_user, trace):
        abort(404)
    form = SensitivityForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        outcome = operations.set_sensitivity(
            current_user, trace, form.choice.data or "", form.version.data
        )
    except Conflict as error:
        return _conflict(trace, error)
    flash(outcome.message, "success" if outcome.changed else "info")
    return redirect(url_for("traces.show", trace_id=trace.id))


@bp.app_template_global("may_moderate")
def may_moderate(trace: Trace) -> bool:
    """Whether the current user moderates this trace (for the trace page)."""
    return can_moderate(viewer_of(current_user), trace)


@bp.app_template_global("trace_actions")
def trace_actions(trace: Trace) -> list[Action]:
    """The status actions the current user may take on this trace (for the trace page)."""
    user = viewer_of(current_user)
    if user is None:
        return []
    actors = {actor for actor in Actor if operations.may_act(user, trace, _first_action_of(actor))}
    return available(trace.status, actors)


@bp.app_template_global("action_needs_reason")
def action_needs_reason(action: Action) -> bool:
    """Whether the action needs a message (reject, ask for changes, delete)."""
    return TRANSITIONS[action].needs_reason


def _first_action_of(actor: Actor) -> Action:
    return next(a for a, t in TRANSITIONS.items() if t.actor is actor)


def _conflict(trace: Trace, error: DomainError) -> tuple[str, int]:
    db.session.rollback()
    current = db.session.get(Trace, trace.id)
    return render_template("moderation/conflict.html", trace=current, message=error.message), 409


def _project_or_404(slug: str) -> Project:
    project = db.session.query(Project).filter_by(slug=slug).one_or_none()
    if project is None:
        abort(404)
    return project


def _action(value: Any) -> Action:
    try:
        return Action(value)
    except ValueError:
        abort(400)


def _selection(values: list[str]) -> list[tuple[int, int]]:
    items = []
    for value in values:
        trace_text, _, version_text = value.partition(":")
        trace_id, version = db_int(trace_text), db_int(version_text)
        if trace_id is not None and version is not None:
            items.append((trace_id, version))
    return items


def _filters() -> queries.QueueFilters:
    bbox = None
    raw = request.args.get("bbox", "")
    if raw.strip():
        try:
            bbox = parse_bbox(raw)
        except BBoxError:
            bbox = None  # a half-typed area does not narrow the queue
    return queries.QueueFilters(
        trace_type=request.args.get("type", ""),
        period=request.args.get("period", ""),
        author_id=int_arg("author"),
        bbox=bbox,
    )


def _map_config() -> dict[str, Any]:
    tiles = tile_sources()[0]
    return {"tileUrl": tiles.url, "attribution": tiles.attribution, "maxZoom": tiles.max_zoom}


def _back(target: str | None, trace: Trace) -> str:
    return safe_target(target) or url_for("traces.show", trace_id=trace.id)
