"""Reads for the history page: revisions newest first, what each changed, labels in the locale."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext, lazy_gettext
from geoalchemy2.shape import to_shape
from markupsafe import Markup
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select

from app.db import db
from app.models import Revision, Term, TraceStatus, User
from app.revisions.diff import TERM_FIELDS, Change, diff_snapshots, term_ids
from app.text import render_markdown
from app.traces.messages import status_label

HISTORY_LIMIT = 50
REVERTED = re.compile(r"Reverted to version (\d+)")
FIELD_LABELS = {
    "title": lazy_gettext("Title"),
    "trace_type_id": lazy_gettext("Type of trace"),
    "period_id": lazy_gettext("Period"),
    "condition_id": lazy_gettext("Condition"),
    "dating_method_id": lazy_gettext("Dating method"),
    "description": lazy_gettext("Description"),
    "sources": lazy_gettext("Sources"),
    "licence": lazy_gettext("Licence"),
    "status": lazy_gettext("Status"),
    "tags": lazy_gettext("Tags"),
    "geometry": lazy_gettext("Place on the map"),
}


@dataclass(frozen=True)
class ChangeView:
    """One changed field as the page shows it; descriptions also as sanitised HTML."""

    field: str
    label: str
    before: str
    after: str
    before_html: Markup | None = None
    after_html: Markup | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One revision in the list: who, when, why, and which fields it changed."""

    version: int
    created_at: datetime
    editor_name: str
    comment: str
    changes: list[ChangeView]
    first: bool  # no earlier revision to compare with


@dataclass(frozen=True)
class RevisionDetail:
    """A selected revision: its entry, the shapes before and after, the description then."""

    entry: HistoryEntry
    previous_version: int | None
    geometry: BaseGeometry
    previous_geometry: BaseGeometry | None
    description_html: Markup


@dataclass(frozen=True)
class History:
    """The newest revisions of a trace; ``more`` when older ones were left off."""

    entries: list[HistoryEntry] = field(default_factory=list)
    more: bool = False


def get_revision(trace_id: int, version: int) -> Revision | None:
    """One revision of a trace by its version number."""
    return db.session.execute(
        select(Revision).where(Revision.trace_id == trace_id, Revision.version == version)
    ).scalar_one_or_none()


def history(trace_id: int, locale: str, limit: int = HISTORY_LIMIT) -> History:
    """The newest ``limit`` revisions, newest first, each compared with the one before it."""
    rows = db.session.execute(
        select(
            Revision.version,
            Revision.created_at,
            Revision.comment,
            Revision.snapshot,
            User.display_name,
        )
        .outerjoin(User, User.id == Revision.editor_id)
        .where(Revision.trace_id == trace_id)
        .order_by(Revision.version.desc())
        .limit(limit + 1)  # one more: the baseline for the oldest one shown
    ).all()
    diffs = [
        diff_snapshots(rows[i + 1].snapshot if i + 1 < len(rows) else None, row.snapshot)
        for i, row in enumerate(rows[:limit])
    ]
    labels = term_labels(set().union(*(term_ids(d) for d in diffs)), locale)
    entries = [
        _entry(row, changes, labels, first=i + 1 >= len(rows), with_html=False)
        for i, (row, changes) in enumerate(zip(rows, diffs, strict=False))
    ]
    return History(entries, more=len(rows) > limit)


def revision_detail(trace_id: int, version: int, locale: str) -> RevisionDetail | None:
    """A selected revision with the revision before it, for the comparison map."""
    current = _revision_row(trace_id, version=version)
    if current is None:
        return None
    previous = _revision_row(trace_id, before=version)
    changes = diff_snapshots(previous.snapshot if previous else None, current.snapshot)
    labels = term_labels(term_ids(changes), locale)
    return RevisionDetail(
        entry=_entry(current, changes, labels, first=previous is None, with_html=True),
        previous_version=previous.version if previous else None,
        geometry=to_shape(current.geom),
        previous_geometry=to_shape(previous.geom) if previous else None,
        description_html=render_markdown(current.snapshot.get("description") or ""),
    )


def term_labels(ids: Iterable[int], locale: str) -> dict[int, str]:
    """Vocabulary labels in the locale for the given term ids (inactive terms too)."""
    wanted = set(ids)
    if not wanted:
        return {}
    terms = db.session.execute(select(Term).where(Term.id.in_(wanted))).scalars()
    return {term.id: term.label(locale) for term in terms}


def _revision_row(trace_id: int, version: int | None = None, before: int | None = None) -> Any:
    query = (
        select(
            Revision.version,
            Revision.created_at,
            Revision.comment,
            Revision.snapshot,
            Revision.geom,
            User.display_name,
        )
        .outerjoin(User, User.id == Revision.editor_id)
        .where(Revision.trace_id == trace_id)
    )
    if version is not None:
        query = query.where(Revision.version == version)
    if before is not None:
        # Versions can skip numbers (a change without a revision), so "previous" is the max below.
        query = query.where(Revision.version < before).order_by(Revision.version.desc())
    return db.session.execute(query.limit(1)).first()


def _entry(
    row: Any, changes: list[Change], labels: dict[int, str], *, first: bool, with_html: bool
) -> HistoryEntry:
    return HistoryEntry(
        version=row.version,
        created_at=row.created_at,
        editor_name=row.display_name or gettext("Deleted account"),
        comment=_comment(row.comment or ""),
        changes=[_view(change, labels, with_html) for change in changes],
        first=first,
    )


def _comment(raw: str) -> str:
    """Comments the application writes itself are stored in English; show them translated."""
    if raw == "submitted":
        return gettext("Submitted for approval")
    match = REVERTED.fullmatch(raw)
    if match:
        return gettext("Reverted to version %(version)s", version=match.group(1))
    return raw


def _view(change: Change, labels: dict[int, str], with_html: bool) -> ChangeView:
    before, after = (_text(change.field, v, labels) for v in (change.before, change.after))
    html: tuple[Markup | None, Markup | None] = (None, None)
    if with_html and change.field == "description":
        html = (render_markdown(before), render_markdown(after))
    return ChangeView(change.field, str(FIELD_LABELS[change.field]), before, after, *html)


def _text(name: str, value: Any, labels: dict[int, str]) -> str:
    if name == "geometry":
        return ""
    if name in TERM_FIELDS:
        return labels.get(value, gettext("Not known")) if value else gettext("Not known")
    if name == "status":
        try:
            return status_label(TraceStatus(value))
        except ValueError:
            return str(value)
    if name == "tags":
        return ", ".join(value or []) or gettext("No tags")
    return "" if value is None else str(value)
