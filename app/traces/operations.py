"""State changes of traces: flush, never commit (the request commits once)."""

from __future__ import annotations

import logging
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import object_session

from app.access import can_moderate
from app.db import db
from app.models import Photo, PhotoStatus, Revision, Trace, TraceStatus, User
from app.traces.informants import not_allowed
from app.traces.placement import place
from app.traces.validation import Submission
from geo.geojson import geometry_to_geojson

log = logging.getLogger(__name__)


# The photos a revision records: those on the trace that anyone may ever see (staged ones are
# nobody's yet, rejected ones are gone for the history); a comment's photo is the comment's.
RECORDED_PHOTO_STATES = (PhotoStatus.PENDING, PhotoStatus.APPROVED)


def submit_trace(author: User, submission: Submission) -> Trace:
    """Store a resident's new trace as pending, with its first revision.

    The place and the project must agree (placement.place): the same rule for form and API.
    With photos or an idempotency key, app.traces.submissions.submit does the same in steps.
    """
    trace = new_trace(author, submission)
    record_revision(trace, author, event=submitted_event(submission))
    return trace


def submitted_event(submission: Submission) -> dict[str, Any]:
    """The first revision's event: submitted, and whether for an informant (on behalf)."""
    if submission.informant is not None:
        return {"kind": "submitted", "on_behalf": True}
    return {"kind": "submitted"}


def new_trace(author: User, submission: Submission, submission_key: str | None = None) -> Trace:
    """Insert a new pending trace (flushed, no revision yet: the caller records it).

    ``submission_key`` is unique per author (uq_traces_submission_key): a second insert with
    the same key raises IntegrityError at this flush.
    A trace told by an informant names the author as its recorder; only a moderator of the
    placed trace may record one (InformantNotAllowed, 403), and then nothing is stored.
    """
    project = place(submission.project, submission.geometry, submission.confirm_outside_area)
    terms = submission.terms
    informant = submission.informant
    trace = Trace(
        project_id=project.id,
        author_id=author.id,
        title=submission.title,
        description=submission.description,
        sources=submission.sources,
        licence=submission.licence or project.default_licence,
        geom=from_shape(submission.geometry, srid=4326),
        trace_type_id=_id(terms.get("trace_type")),
        period_id=_id(terms.get("period")),
        condition_id=_id(terms.get("condition")),
        dating_method_id=_id(terms.get("dating_method")),
        status=TraceStatus.PENDING,
        submitted_at=func.now(),
        submission_key=submission_key,
    )
    if informant is not None:
        trace.recorder_id = author.id
        trace.informant_name = informant.name
        trace.informant_birth_year = informant.birth_year
        trace.informant_consent = informant.consent
        trace.knowledge_source = informant.knowledge_source
    # A savepoint: a refused informant takes the row back out (never half-stored).
    with db.session.begin_nested():
        db.session.add(trace)
        db.session.flush()
        # Asked of the inserted row, so a curator's area is checked against the shape itself.
        if informant is not None and not can_moderate(author, trace):
            raise not_allowed()
    log.info(
        "trace submitted: trace=%s project=%s author=%s on_behalf=%s",
        trace.id, trace.project_id, author.id, informant is not None,
    )  # fmt: skip
    return trace


def record_revision(
    trace: Trace, editor: User | None, comment: str = "", *, event: dict[str, Any] | None = None
) -> Revision:
    """Append a full snapshot of the trace as it is now (nothing is ever overwritten).

    ``comment`` is what a person typed about the change, kept as typed; ``event`` is what
    the system did, as a kind with parameters (app/events.py renders it per reader).
    """
    db.session.refresh(trace)
    revision = Revision(
        trace_id=trace.id,
        version=trace.version,
        editor_id=editor.id if editor else None,
        comment=comment,
        event=event,
        snapshot=snapshot(trace),
        geom=trace.geom,
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def snapshot(trace: Trace) -> dict[str, Any]:
    """Every field of a trace as plain JSON, geometry and photos (id and caption) included."""
    return {
        "title": trace.title,
        "description": trace.description,
        "sources": trace.sources,
        "licence": trace.licence,
        "status": trace.status.value,
        "project_id": trace.project_id,
        "author_id": trace.author_id,
        "trace_type_id": trace.trace_type_id,
        "period_id": trace.period_id,
        "condition_id": trace.condition_id,
        "dating_method_id": trace.dating_method_id,
        "is_sensitive": trace.is_sensitive,
        "tags": list(trace.tags or []),
        "geometry": geometry_to_geojson(to_shape(trace.geom)),
        "photos": recorded_photos(trace),
    }


def recorded_photos(trace: Trace) -> list[dict[str, Any]]:
    """The trace's photos as a revision records them: [{"id", "caption"}] in their order."""
    # The trace's own session: a snapshot taken outside a request (CLI, tests) reads there.
    session = object_session(trace) or db.session
    rows = session.execute(
        select(Photo.id, Photo.caption)
        .where(
            Photo.trace_id == trace.id,
            Photo.comment_id.is_(None),
            Photo.status.in_(RECORDED_PHOTO_STATES),
        )
        .order_by(Photo.position, Photo.id)
    )
    return [{"id": row.id, "caption": row.caption} for row in rows]


def _id(term: Any) -> int | None:
    return term.id if term is not None else None
