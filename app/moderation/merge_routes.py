"""Merging a group of near-duplicates: keep one, the others become its observations."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.access import moderated_projects
from app.db import db
from app.errors import DomainError
from app.models import Project, Trace
from app.moderation.group_map import GroupMap, group_map
from app.moderation.groups import Group
from app.moderation.merge import MergeForm, MergeResult, merge_group
from app.moderation.queries import PAGE_SIZE
from app.moderation.routes import bp
from app.params import db_int
from app.web import safe_target

# A group is at most a page of entries: more ids than that are not from the page, and each
# costs a savepoint and two rights checks.
MERGE_MAX = PAGE_SIZE

__all__ = ["bp"]


@bp.post("/<slug>/merge")
@login_required
def merge(slug: str) -> Response:
    """Keep the chosen trace of a group and merge the ticked others into it (one submit)."""
    project = db.session.query(Project).filter_by(slug=slug).one_or_none() or abort(404)
    if project not in moderated_projects(current_user):
        abort(403)
    form = MergeForm()
    if not form.validate_on_submit():
        abort(400)
    back = safe_target(form.next.data) or url_for("moderation.queue", slug=project.slug)
    versions = _versions(request.form)
    keep = db.session.get(Trace, form.keep.data)
    if keep is None:
        flash(gettext("No such trace to keep."), "error")
        return redirect(back)
    others = [
        (trace_id, versions.get(trace_id, -1))  # no version seen: refused as changed
        for trace_id in _ids(request.form.getlist("merge"))[:MERGE_MAX]
        if trace_id != keep.id
    ]
    if not others:
        flash(gettext("Tick at least one entry to merge into the one you keep."), "error")
        return redirect(back)
    try:
        result = merge_group(
            current_user,
            keep,
            others,
            keep_version=versions.get(keep.id, -1),
            approve=form.approve.data,
        )
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back)
    _tell(result)
    return redirect(back)


def _tell(result: MergeResult) -> None:
    """Flash what was merged, approved and refused, one line each."""
    title = result.kept.title
    if result.merged:
        flash(
            ngettext(
                "Merged %(num)s entry into “%(title)s”.",
                "Merged %(num)s entries into “%(title)s”.",
                len(result.merged),
                title=title,
            ),
            "success",
        )
    if result.approved:
        flash(gettext("“%(title)s” is approved and on the map.", title=title), "success")
    if result.approval_refused:
        flash(
            gettext(
                "“%(title)s” was not approved: %(reason)s",
                title=title,
                reason=result.approval_refused,
            ),
            "error",
        )
    for trace in result.already:
        flash(gettext("“%(title)s” was already merged into it.", title=trace.title), "info")
    for trace_id, other_title, why in result.refused:
        flash(
            gettext("Not merged: “%(title)s”: %(reason)s", title=other_title or f"#{trace_id}",
                    reason=why),
            "error",
        )  # fmt: skip


def _versions(form: MultiDict[str, str]) -> dict[int, int]:
    """The version the moderator saw of each member, from the `version-<id>` fields."""
    found: dict[int, int] = {}
    for name, value in form.items():
        if name.startswith("version-"):
            trace_id, version = db_int(name.removeprefix("version-")), db_int(value)
            if trace_id is not None and version is not None:
                found[trace_id] = version
    return found


def _ids(values: list[str]) -> list[int]:
    """Trace ids from form values, in order, once each; anything else is left out."""
    seen: dict[int, None] = {}
    for value in values:
        trace_id = db_int(value)
        if trace_id is not None:
            seen.setdefault(trace_id, None)
    return list(seen)


@bp.app_template_test("queue_group")
def is_queue_group(row: Any) -> bool:
    """Whether a queue row is a near-duplicate group (`{% if row is queue_group %}`)."""
    return isinstance(row, Group)


@bp.app_template_global("queue_group_map")
def queue_group_map(group: Group) -> GroupMap:
    """The group's small map, for templates/moderation/_group.html."""
    return group_map(group)
