"""Importing known sites: the confirmed candidates become approved traces in one transaction.

Operations flush and never commit: the request commits once, so an import is stored whole or
not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask_babel import gettext
from geoalchemy2.shape import from_shape

from app import audit
from app.access import can_manage_project
from app.db import db
from app.errors import DomainError, Forbidden
from app.imports import holding, queries
from app.imports.candidates import (
    GENERALISED,
    TERM_FIELDS,
    Candidate,
    Vocabulary,
)
from app.imports.parse import FileRefused, parse_upload
from app.imports.seal import SealBroken, Sealed, unseal
from app.models import Project, Trace, TraceStatus, User
from app.traces.operations import record_revision

log = logging.getLogger(__name__)

SEAL_MAX_AGE = 6 * 3600  # seconds a dry-run report may be confirmed


class ReportInvalid(DomainError):
    """The confirmation did not carry a report we signed for this person and project."""

    status = 400
    code = "import_report_invalid"


@dataclass
class ImportResult:
    """What a confirmation did: traces imported, duplicates left out, candidates refused."""

    imported: int
    duplicates_skipped: int
    refused: int


def confirm_import(
    librarian: User,
    project: Project,
    token: str,
    include_duplicates: bool,
    secret_key: str,
    max_vertices: int,
    hold_dir: Path,
) -> ImportResult:
    """Read the held file of a signed report again, check everything again, import what passes."""
    sealed = _unseal(token, secret_key, librarian, project)
    try:
        file = holding.claim(hold_dir, sealed.held)
    except holding.HeldMissing:
        raise ReportInvalid(
            gettext("The import report was confirmed already or is too old. Upload the file again.")
        ) from None
    vocabulary = queries.load_vocabulary()
    try:
        with file:
            parsed = parse_upload(
                file, sealed.filename, vocabulary, project.default_licence, sealed.system,
                max_vertices,
            )  # fmt: skip
    except FileRefused:
        raise ReportInvalid(
            gettext("The import report cannot be read. Upload the file again.")
        ) from None
    queries.mark_duplicates(project.id, parsed.candidates)
    result = import_candidates(
        librarian, project, parsed.candidates, sealed.filename, include_duplicates, vocabulary
    )
    return result


def import_candidates(
    librarian: User,
    project: Project,
    candidates: list[Candidate],
    filename: str,
    include_duplicates: bool,
    vocabulary: Vocabulary,
) -> ImportResult:
    """Store the importable candidates as approved traces, each with its first revision."""
    if not can_manage_project(librarian, project):
        raise Forbidden(gettext("Only the librarians of this project may import."))
    importable = [c for c in candidates if c.importable]
    skipped = [] if include_duplicates else [c for c in importable if c.duplicate is not None]
    chosen = [c for c in importable if include_duplicates or c.duplicate is None]
    now = datetime.now(UTC)
    # The file is named in each trace's history and in the audit log, not in its sources:
    # the sources stay the source's own, so an export of the import equals the original.
    traces = [_trace(librarian, project, c, vocabulary, now) for c in chosen]
    db.session.add_all(traces)
    db.session.flush()
    for trace, candidate in zip(traces, chosen, strict=True):
        generalised = candidate.fields.get("location") == GENERALISED
        event = {"kind": "imported", "file": filename, "generalised": generalised}
        record_revision(trace, librarian, event=event)
    result = ImportResult(len(traces), len(skipped), len(candidates) - len(importable))
    if traces:
        audit.record(
            librarian, "traces.imported", "project", project.id, project_id=project.id,
            to_state=TraceStatus.APPROVED.value, count=result.imported, filename=filename,
            duplicates_skipped=result.duplicates_skipped, refused=result.refused,
            first_trace_id=traces[0].id, last_trace_id=traces[-1].id,
        )  # fmt: skip
    log.info(
        "import: project=%s librarian=%s imported=%s skipped=%s refused=%s",
        project.id, librarian.id, result.imported, result.duplicates_skipped, result.refused,
    )  # fmt: skip
    return result


def _unseal(token: str, secret_key: str, librarian: User, project: Project) -> Sealed:
    try:
        sealed = unseal(token, secret_key, SEAL_MAX_AGE)
    except SealBroken:
        raise ReportInvalid(
            gettext("The import report was changed or is too old. Upload the file again.")
        ) from None
    if sealed.project_id != project.id or sealed.user_id != librarian.id:
        raise ReportInvalid(
            gettext(
                "This import report belongs to another project or person. Upload the file again."
            )
        )
    return sealed


def _trace(
    librarian: User,
    project: Project,
    candidate: Candidate,
    vocabulary: Vocabulary,
    now: datetime,
) -> Trace:
    fields = candidate.fields
    term_ids = {
        name: vocabulary.ids.get((name, fields[name])) if fields.get(name) else None
        for name in TERM_FIELDS
    }
    assert candidate.shape is not None
    recorded_at = fields.get("recorded_at")
    trace = Trace(
        project_id=project.id,
        author_id=librarian.id,
        title=fields["title"],
        description=fields["description"],
        sources=fields["sources"],
        licence=fields["licence"],
        tags=fields["tags"],
        geom=from_shape(candidate.shape, srid=4326),
        trace_type_id=term_ids["trace_type"],
        period_id=term_ids["period"],
        condition_id=term_ids["condition"],
        dating_method_id=term_ids["dating_method"],
        # A file may protect a site, never expose one: otherwise our rules decide.
        sensitivity_override=True if candidate.protected else None,
        source_attribution=fields.get("attribution"),
        source_uri=fields.get("source_uri"),
        source_id=fields.get("source_id"),
        recorded_at=datetime.fromisoformat(recorded_at) if recorded_at else None,
        status=TraceStatus.APPROVED,
        submitted_at=now,
        approved_by_id=librarian.id,
        approved_at=now,
        decided_by_id=librarian.id,
        decided_at=now,
    )
    if fields.get("photo_references"):
        # Links to the source's photos, kept as given (validated, never fetched); without
        # any the column stays SQL NULL rather than JSON null.
        trace.photo_references = fields["photo_references"]
    return trace
