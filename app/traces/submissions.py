"""Submitting a new trace with its photos, at most once per idempotency key.

An offline outbox, a double tap or a retried request may send the same trace twice. The client
sends a key with it (the form's hidden ``submission_key``, the API's ``Idempotency-Key`` header
or ``properties.submission_key``); the same author with the same key gets the trace already
made, never a second one. The key is stored on the trace (uq_traces_submission_key), so two
requests racing each other are decided by the unique index, not by luck.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.db import db
from app.errors import DomainError, ValidationFailed
from app.models import Project, Trace, User
from app.photos.operations import PhotoSpec, attach_photos, parse_photo_specs
from app.traces.operations import new_trace, record_revision, submitted_event
from app.traces.validation import Submission, clean_submission

log = logging.getLogger(__name__)

KEY_MAX = 64  # traces.submission_key is String(64)
KEY_INDEX = "uq_traces_submission_key"


class BadSubmissionKey(DomainError):
    """The idempotency key is not one this server can keep (400 for the API)."""

    status = 400
    code = "bad_submission_key"


@dataclass(frozen=True)
class Submitted:
    """The trace a submission stands for, and whether this request made it."""

    trace: Trace
    created: bool


def clean_key(raw: Any) -> str | None:
    """A stripped key of 1-64 printable ASCII characters; None when absent or empty.

    Raises BadSubmissionKey naming what is wrong: the key is written by a program (a UUID
    from the browser, or an API client's), so a bad one is a bug to fix, not a typo.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise BadSubmissionKey(gettext("The submission key must be a text, such as a UUID."))
    key = raw.strip()
    if not key:
        return None
    if len(key) > KEY_MAX:
        raise BadSubmissionKey(
            gettext("The submission key is too long: at most %(limit)s characters.", limit=KEY_MAX)
        )
    if not all(" " <= ch <= "~" for ch in key):
        raise BadSubmissionKey(
            gettext(
                "The submission key may hold only printable ASCII characters (a UUID such as "
                "3f2b8c1e-9d4a-4e57-8b1f-2a6c5d7e9f01 is best)."
            )
        )
    return key


def already_submitted(author: User, key: str | None) -> Trace | None:
    """The trace this author already submitted with this key, if any."""
    if key is None:
        return None
    return db.session.execute(
        select(Trace).where(Trace.author_id == author.id, Trace.submission_key == key)
    ).scalar_one_or_none()


def clean_with_photos(
    raw: dict[str, Any], geometry: Any, photos: Any, project: Project | None = None
) -> tuple[Submission, list[PhotoSpec]]:
    """clean_submission and parse_photo_specs together: every field's problems at once."""
    errors: dict[str, list[str]] = {}
    submission: Submission | None = None
    specs: list[PhotoSpec] = []
    try:
        submission = clean_submission(raw, geometry, project=project)
    except ValidationFailed as error:
        errors.update(error.errors)
    try:
        specs = parse_photo_specs(photos)
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    assert submission is not None
    return submission, specs


def submit(
    author: User, submission: Submission, photos: list[PhotoSpec], key: str | None = None
) -> Submitted:
    """Store a new pending trace with its photos and first revision, once per key.

    Everything happens in one savepoint: a refused photo leaves no trace behind, and a lost
    race on the key (another request of the same author committed it first) gives back the
    winner's trace instead of an error.
    """
    existing = already_submitted(author, key)
    if existing is not None:
        return Submitted(existing, created=False)
    try:
        with db.session.begin_nested():
            trace = new_trace(author, submission, submission_key=key)
            attach_photos(trace, author, photos)
            # After the photos, so that the first revision records them.
            record_revision(trace, author, event=submitted_event(submission))
    except IntegrityError as error:
        if key is None or KEY_INDEX not in str(error.orig):
            raise
        winner = already_submitted(author, key)
        if winner is None:  # the other request rolled back after all: nothing to give back
            raise
        log.info("submission key already used: trace=%s author=%s", winner.id, author.id)
        return Submitted(winner, created=False)
    return Submitted(trace, created=True)
