"""State changes of traces: flush, never commit (the request commits once)."""

from __future__ import annotations

import logging
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func

from app.db import db
from app.models import Revision, Trace, TraceStatus, User
from app.traces.placement import place
from app.traces.validation import Submission
from geo.geojson import geometry_to_geojson

log = logging.getLogger(__name__)


def submit_trace(author: User, submission: Submission) -> Trace:
    """Store a resident's new trace as pending, with its first revision.

    The place and the project must agree (placement.place): the same rule for form and API.
    """
    project = place(submission.project, submission.geometry, submission.confirm_outside_area)
    terms = submission.terms
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
    )
    db.session.add(trace)
    db.session.flush()
    record_revision(trace, author, comment="submitted")
    log.info(
        "trace submitted: trace=%s project=%s author=%s", trace.id, trace.project_id, author.id
    )
    return trace


def record_revision(trace: Trace, editor: User | None, comment: str = "") -> Revision:
    """Append a full snapshot of the trace as it is now (nothing is ever overwritten)."""
    db.session.refresh(trace)
    revision = Revision(
        trace_id=trace.id,
        version=trace.version,
        editor_id=editor.id if editor else None,
        comment=comment,
        snapshot=snapshot(trace),
        geom=trace.geom,
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def snapshot(trace: Trace) -> dict[str, Any]:
    """Every field of a trace as plain JSON, geometry included."""
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
    }


def _id(term: Any) -> int | None:
    return term.id if term is not None else None
