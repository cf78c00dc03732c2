"""Editing and reverting traces: optimistic locking, allow-listed fields, a revision per change.

Operations flush and never commit (the request commits once); every refusal is a DomainError.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.access import AUTHOR_EDITABLE, can_edit, can_moderate, can_revert, is_admin
from app.db import db
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import Revision, Trace, TraceStatus, User
from app.moderation.operations import decide
from app.moderation.states import Action
from app.params import PG_INT_MAX
from app.photos.operations import PhotoSpec, attach_photos
from app.traces import informants
from app.traces.compare import same_geometry, same_tags
from app.traces.operations import record_revision, recorded_photos
from app.traces.validation import Submission
from app.validation import FieldErrors, clean_text, strip_controls

log = logging.getLogger(__name__)

TAG_MAX = 64
MAX_TAGS = 30
COMMENT_MAX = 1000
# The only trace columns an edit or a revert may write (no mass assignment, docs/security.md 10).
# Status, author, project, sensitivity and moderation fields are never among them.
WRITABLE = (
    "title",
    "description",
    "sources",
    "licence",
    "trace_type_id",
    "period_id",
    "condition_id",
    "dating_method_id",
    "tags",
)


def normalise_tags(values: Iterable[str]) -> list[str]:
    """Trimmed, lower-case, de-duplicated tags of 1-64 characters, at most 30; else refused."""
    tags: list[str] = []
    errors: list[str] = []
    for value in values:
        clean = strip_controls(value, multiline=False)
        tag = " ".join(unicodedata.normalize("NFKC", clean).split()).lower()
        if not tag or tag in tags:
            continue
        if len(tag) > TAG_MAX:
            errors.append(
                gettext(
                    "The tag “%(tag)s…” is too long: at most %(limit)s characters.",
                    tag=tag[:20],
                    limit=TAG_MAX,
                )
            )
            continue
        tags.append(tag)
    if len(tags) > MAX_TAGS:
        errors.append(gettext("At most %(limit)s tags.", limit=MAX_TAGS))
    if errors:
        raise ValidationFailed({"tags": errors})
    return tags


@dataclass(frozen=True)
class Edited:
    """What saving an edit did: the edit's revision (None: nothing changed) and whether the
    trace went back to the moderators' queue with it."""

    revision: Revision | None
    resubmitted: bool


def update_trace(
    editor: User,
    trace: Trace,
    submission: Submission,
    expected_version: int | None,
    comment: str,
    tags: list[str] | None = None,
    photos: list[PhotoSpec] | None = None,
    *,
    informant: bool = False,
) -> Edited:
    """Apply a checked edit as a new revision; the author's save answers a request for changes.

    ``tags`` None leaves the tags alone; only moderators may pass a list. The project never
    changes here, whatever the submission names. ``photos`` are staged uploads of the editor
    to attach (app.photos.operations.attach_photos), recorded in the same revision.
    ``informant`` True writes submission.informant (None removes the informant): only the
    trace's moderators, on a trace registered for an informant; False leaves it alone.
    When the author saves a trace the moderators asked to change, it goes back to their queue
    (see answers_request), as a second revision after the edit's own.
    """
    if not can_edit(editor, trace):
        raise Forbidden(gettext("You may not edit this trace."))
    if tags is not None and not can_moderate(editor, trace):
        raise Forbidden(gettext("Only curators and librarians may tag traces."))
    if informant and not (trace.recorder_id is not None and can_moderate(editor, trace)):
        raise informants.InformantNotAllowed(
            gettext("Only the project's librarians and curators can change the informant.")
        )
    _check_version(trace, expected_version)
    terms = submission.terms
    values: dict[str, Any] = {
        "title": submission.title,
        "description": submission.description,
        "sources": submission.sources,
        "licence": submission.licence,
        "trace_type_id": _id(terms.get("trace_type")),
        "period_id": _id(terms.get("period")),
        "condition_id": _id(terms.get("condition")),
        "dating_method_id": _id(terms.get("dating_method")),
    }
    if tags is not None:
        values["tags"] = normalise_tags(tags)
    resubmit = answers_request(editor, trace)
    before = {name: getattr(trace, name) for name in informants.COLUMNS}
    told = informants.columns(submission.informant) if informant else {}
    revision = _apply(
        editor,
        trace,
        values,
        submission.geometry,
        comment,
        "trace.edited",
        check_scope=True,
        photos=photos or [],
        unrecorded=told,
    )
    if revision is not None and told and told != before:
        # The revision's snapshot (public history) has no informant: the audit log says
        # what changed, without the name or year.
        audit.record(
            editor,
            "trace.informant_changed",
            "trace",
            trace.id,
            project_id=trace.project_id,
            version=trace.version,
            **informants.change_summary(before, told),
        )
    if resubmit:
        # The edit has bumped the version (or left it, when nothing changed): the decision
        # expects the version the author's own edit just wrote, never the one the form sent.
        decide(editor, trace, Action.RESUBMIT, trace.version)
    return Edited(revision, resubmit)


def answers_request(editor: User, trace: Trace) -> bool:
    """Whether this editor's save sends the trace back to the queue: its author, answering
    a request for changes.

    Saving is the answer even when no field changed: the form's one button says it sends the
    trace again. A librarian or curator fixing the trace does not resubmit for the author:
    resubmitting is the author's word that they are done, and a moderator who finds the trace
    good now approves it (allowed from "needs changes") instead of queueing it for themselves.
    """
    return trace.status == TraceStatus.NEEDS_CHANGES and trace.author_id == editor.id


def revert_trace(
    editor: User, trace: Trace, version: int, expected_version: int | None
) -> Revision | None:
    """Make revision ``version``'s content current again, as a new revision (status stays)."""
    if not can_revert(editor, trace):
        raise Forbidden(gettext("Only the project's librarians may revert a trace."))
    _check_version(trace, expected_version)
    target = _revision(trace.id, version)
    if target is None:
        raise NotFound(gettext("No such version of this trace."))
    # Snapshots written before tags were recorded have no "tags": those stay as they are.
    values = {name: target.snapshot[name] for name in WRITABLE if name in target.snapshot}
    revision = _apply(
        editor,
        trace,
        values,
        to_shape(target.geom),
        "",  # nobody typed anything: the event says what happened, in the reader's language
        "trace.reverted",
        check_scope=False,  # librarians revert anywhere in their project
        event={"kind": "revert", "to": version},
        reverted_to=version,
    )
    gone = photos_not_restored(trace, target)
    if revision is not None and gone:
        # The history says so on this revision: a revert restores fields, never deleted photos
        # (their files are gone, and a removal may have been deliberate).
        revision.snapshot = {**revision.snapshot, "photos_not_restored": gone}
        db.session.flush()
    return revision


def photos_not_restored(trace: Trace, target: Revision) -> list[dict[str, Any]]:
    """The photos ``target`` recorded that the trace no longer has ([{"id", "caption"}])."""
    now = {photo["id"] for photo in recorded_photos(trace)}
    return [p for p in target.snapshot.get("photos") or [] if p.get("id") not in now]


def revision_of(trace: Trace, version: int) -> Revision | None:
    """One revision of the trace by its version number (None: no such version)."""
    return _revision(trace.id, version)


def _revision(trace_id: int, version: int) -> Revision | None:
    """One revision of a trace by its version number (a number past `integer` is none)."""
    if not 0 < version <= PG_INT_MAX:
        return None
    return db.session.execute(
        select(Revision).where(Revision.trace_id == trace_id, Revision.version == version)
    ).scalar_one_or_none()


def _check_version(trace: Trace, expected_version: int | None) -> None:
    if expected_version is None or trace.version != expected_version:
        raise Conflict(
            gettext("Someone else changed this trace while you were editing."),
            current_version=trace.version,
        )


def _apply(
    editor: User,
    trace: Trace,
    values: dict[str, Any],
    geometry: BaseGeometry,
    comment: str,
    action: str,
    *,
    check_scope: bool,
    photos: list[PhotoSpec] | None = None,
    event: dict[str, Any] | None = None,
    unrecorded: dict[str, Any] | None = None,
    **details: Any,
) -> Revision | None:
    """Write the allow-listed values that differ, attach photos, bump the version, record
    the revision and the audit event.

    ``unrecorded``: the informant's columns (informants.COLUMNS) to write; a change there is a
    revision too, though its snapshot does not hold them (the public history shows snapshots).
    """
    changed = [name for name in WRITABLE if name in values and _differs(trace, name, values[name])]
    told = unrecorded or {}
    changed += [
        name for name in informants.COLUMNS if name in told and _differs(trace, name, told[name])
    ]
    moved = not same_geometry(to_shape(trace.geom), geometry)
    if not changed and not moved and not photos:
        return None
    for name in changed:
        value = values[name] if name in values else told[name]
        setattr(trace, name, list(value) if name == "tags" else value)
    if moved:
        trace.geom = from_shape(geometry, srid=4326)
    trace.updated_at = func.now()
    try:
        db.session.flush()  # version_id_col: UPDATE ... WHERE version = <loaded version>
    except StaleDataError:
        raise Conflict(gettext("Someone else changed this trace while you were editing.")) from None
    if moved and check_scope:
        _check_still_in_scope(editor, trace)
    if photos:
        attach_photos(trace, editor, photos)  # before the revision, which records them
    revision = record_revision(trace, editor, _clean_comment(comment), event=event)
    fields = changed + (["geometry"] if moved else []) + (["photos"] if photos else [])
    audit.record(
        editor,
        action,
        "trace",
        trace.id,
        project_id=trace.project_id,
        version=trace.version,
        fields=fields,
        **details,
    )
    log.info("%s: trace=%s version=%s fields=%s", action, trace.id, trace.version, fields)
    return revision


def _differs(trace: Trace, name: str, value: Any) -> bool:
    current = getattr(trace, name)
    if name == "tags":
        return not same_tags(current, value)
    return current != value


def _check_still_in_scope(editor: User, trace: Trace) -> None:
    """A curator limited to an area may not move a trace out of it (and lose sight of it)."""
    if is_admin(editor):
        return
    if trace.author_id == editor.id and trace.status in AUTHOR_EDITABLE:
        return
    if not can_moderate(editor, trace):  # evaluated in SQL on the flushed, new geometry
        raise ValidationFailed(
            {
                "geometry": [
                    gettext(
                        "The new place is outside the area you curate. Ask a librarian of "
                        "the project to move it."
                    )
                ]
            }
        )


def _clean_comment(comment: str | None) -> str:
    return clean_text(comment, field="comment", errors=FieldErrors(), max_len=COMMENT_MAX)[
        :COMMENT_MAX
    ]


def _id(term: Any) -> int | None:
    return term.id if term is not None else None
