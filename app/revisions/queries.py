"""Reads for the history page: revisions newest first, what each changed, labels in the locale.

How each change reads on the page (labels, photos) is app/revisions/views.py; what the system
did (a revision's event) reads as app/events.py renders it, in the reader's language.
Every version is shown as the viewer may see the trace (docs/security.md, protected sites):
who may not see a protected trace precisely sees each version's generalised point only, an
editor's name only with their consent, and never a moderator's message to the author.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext
from geoalchemy2 import Geometry
from geoalchemy2.shape import to_shape
from markupsafe import Markup
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Boolean, ColumnElement, Integer, exists, func, literal_column, or_, select

from app import events
from app.access import can_moderate, precise_allowed
from app.db import db
from app.models import Photo, Revision, Term, Trace, User
from app.params import PG_INT_MAX
from app.revisions import views
from app.revisions.diff import Change, diff_snapshots, photo_ids, term_ids
from app.text import render_markdown

HISTORY_LIMIT = 50
# Revision.version is a PostgreSQL integer: a larger number is no version, not a query.
VERSION_MAX = PG_INT_MAX
# The cell size of the generalised point, read as the database trigger reads it.
CELL_METRES = literal_column(
    "coalesce(nullif(current_setting('heritage.cell_metres', true), '')::double precision, 1500)"
)


@dataclass(frozen=True)
class Audience:
    """What one viewer may see of a trace's history."""

    viewer_id: int | None
    precise: bool  # the recorded shapes; otherwise each version's generalised point only
    staff: bool  # moderators in scope and admins: every editor's name
    messages: bool  # moderators' messages to the author: for the author and the moderators
    viewer: User | None = field(default=None, compare=False, repr=False)  # for photo access
    # Other traces an event names (a merge's original): titled only if the viewer sees them.
    may_see: events.MaySee = field(default=lambda _id: False, compare=False, repr=False)

    def may_name(self, editor_id: int | None, consents: bool) -> bool:
        """An editor's name only with their consent, to themselves, or to the moderators."""
        return consents or self.staff or (editor_id is not None and editor_id == self.viewer_id)


@dataclass(frozen=True)
class HistoryEntry:
    """One revision in the list: who, when, what the system did, why, what it changed.

    ``event`` is the system's line in the reader's language; ``comment`` what the editor
    typed, as typed.
    """

    version: int
    created_at: datetime
    editor_name: str
    comment: str
    changes: list[views.ChangeView]
    first: bool  # no earlier revision to compare with
    message: str = ""  # a moderator's message to the author, only for those who may read it
    event: events.Rendered | None = None
    message_by_author: bool = False  # the message was typed by the author (resubmit, withdraw)
    # A revert: photos the reverted-to version had that were removed since (not brought back).
    photos_not_restored: list[views.PhotoView] = field(default_factory=list)


@dataclass(frozen=True)
class RevisionDetail:
    """A selected revision: its entry, the shapes before and after, the description then.

    With ``approximate`` both shapes are generalised points, never the recorded shapes.
    """

    entry: HistoryEntry
    previous_version: int | None
    geometry: BaseGeometry
    previous_geometry: BaseGeometry | None
    description_html: Markup
    approximate: bool = False


@dataclass(frozen=True)
class History:
    """The newest revisions of a trace; ``more`` when older ones were left off."""

    entries: list[HistoryEntry] = field(default_factory=list)
    more: bool = False


def audience(viewer: User | None, trace: Trace) -> Audience:
    """What this viewer may see of the trace's history: the one policy of app.access.

    Precise shapes only for those who may see the trace precisely, unless no version of it
    was ever protected: an old place stays protected after the trace is moved or opened.
    """
    staff = can_moderate(viewer, trace)
    allowed = db.session.execute(
        select(exists().where(Trace.id == trace.id, precise_allowed(viewer)))
    ).scalar()
    own = viewer is not None and viewer.id == trace.author_id
    return Audience(
        viewer_id=viewer.id if viewer is not None else None,
        precise=bool(allowed) or not ever_sensitive(trace),
        staff=staff,
        messages=staff or own,
        viewer=viewer,
        may_see=events.may_see_for(viewer),
    )


def ever_sensitive(trace: Trace) -> bool:
    """Whether the trace is protected now or any of its versions was."""
    if trace.is_sensitive:
        return True
    return bool(
        db.session.execute(
            select(exists().where(Revision.trace_id == trace.id, _was_sensitive()))
        ).scalar()
    )


def history(trace_id: int, locale: str, audience: Audience, limit: int = HISTORY_LIMIT) -> History:
    """The newest ``limit`` revisions, newest first, each compared with the one before it."""
    rows = db.session.execute(
        _revisions(trace_id, audience).order_by(Revision.version.desc()).limit(limit + 1)
    ).all()  # one more than shown: the baseline for the oldest one shown
    snapshots = [_snapshot(row, audience) for row in rows]
    diffs = [
        diff_snapshots(snapshots[i + 1] if i + 1 < len(rows) else None, snapshots[i])
        for i in range(min(limit, len(rows)))
    ]
    labels = term_labels(set().union(*(term_ids(d) for d in diffs)), locale)
    shown = rows[: len(diffs)]
    photos = _photos(set().union(*(photo_ids(d) for d in diffs), *map(_gone_ids, shown)))
    entries = [
        _entry(row, changes, labels, audience, photos, first=i + 1 >= len(rows), with_html=False)
        for i, (row, changes) in enumerate(zip(rows, diffs, strict=False))
    ]
    return History(entries, more=len(rows) > limit)


def revision_detail(
    trace_id: int, version: int, locale: str, audience: Audience
) -> RevisionDetail | None:
    """A selected revision with the revision before it, for the comparison map."""
    if not 0 < version <= VERSION_MAX:
        return None
    query = _revisions(trace_id, audience)
    current = db.session.execute(query.where(Revision.version == version)).first()
    if current is None:
        return None
    # Versions can skip numbers (a change without a revision), so "previous" is the max below.
    previous = db.session.execute(
        query.where(Revision.version < version).order_by(Revision.version.desc()).limit(1)
    ).first()
    changes = diff_snapshots(
        _snapshot(previous, audience) if previous else None, _snapshot(current, audience)
    )
    labels = term_labels(term_ids(changes), locale)
    photos = _photos(photo_ids(changes) | _gone_ids(current))
    return RevisionDetail(
        entry=_entry(
            current, changes, labels, audience, photos, first=previous is None, with_html=True
        ),
        previous_version=previous.version if previous else None,
        geometry=to_shape(current.geom),
        previous_geometry=to_shape(previous.geom) if previous else None,
        description_html=render_markdown(current.snapshot.get("description") or ""),
        approximate=not audience.precise,
    )


def term_labels(ids: Iterable[int], locale: str) -> dict[int, str]:
    """Vocabulary labels in the locale for the given term ids (inactive terms too)."""
    wanted = set(ids)
    if not wanted:
        return {}
    terms = db.session.execute(select(Term).where(Term.id.in_(wanted))).scalars()
    return {term.id: term.label(locale) for term in terms}


def _was_sensitive() -> ColumnElement[bool]:
    """SQL: the revision's snapshot was protected (by its recorded flag, else by its terms)."""
    recorded = Revision.snapshot["is_sensitive"].astext.cast(Boolean)
    term_ids_then = [
        Revision.snapshot[name].astext.cast(Integer) for name in ("trace_type_id", "period_id")
    ]
    # Snapshots older than protection carry no flag: their type and period decide.
    by_terms = exists().where(Term.sensitive, or_(*(Term.id == t for t in term_ids_then)))
    return func.coalesce(recorded, by_terms)


def _revisions(trace_id: int, audience: Audience) -> Any:
    """The columns the page needs; the geometry as this audience may see it, made in SQL."""
    shown = (
        Revision.geom
        if audience.precise
        else func.heritage_public_point(Revision.geom, CELL_METRES, type_=Geometry(srid=4326))
    )
    return (
        select(
            Revision.version,
            Revision.created_at,
            Revision.comment,
            Revision.event,
            Revision.snapshot,
            Revision.editor_id,
            shown.label("geom"),
            User.display_name,
            User.show_name_publicly,
        )
        .outerjoin(User, User.id == Revision.editor_id)
        .where(Revision.trace_id == trace_id)
    )


def _snapshot(row: Any, audience: Audience) -> Mapping[str, Any]:
    """The snapshot to compare: with the generalised point as its place for the public."""
    if audience.precise:
        return row.snapshot
    return {**row.snapshot, "geometry": mapping(to_shape(row.geom))}


def _photos(ids: set[int]) -> dict[int, Photo]:
    """The photos that still exist among these ids (one query for the whole page)."""
    if not ids:
        return {}
    return {p.id: p for p in db.session.execute(select(Photo).where(Photo.id.in_(ids))).scalars()}


def _gone_ids(row: Any) -> set[int]:
    """The ids a revert recorded as not brought back (see edit_operations.revert_trace)."""
    return {p["id"] for p in _not_restored(row) if isinstance(p.get("id"), int)}


def _not_restored(row: Any) -> list[dict[str, Any]]:
    value = (row.snapshot or {}).get("photos_not_restored")
    return [p for p in value if isinstance(p, dict)] if isinstance(value, list) else []


def _entry(
    row: Any,
    changes: list[Change],
    labels: dict[int, str],
    audience: Audience,
    photos: dict[int, Photo],
    *,
    first: bool,
    with_html: bool,
) -> HistoryEntry:
    message, by_author = events.decision_message(row.event)
    if row.display_name is None:
        name = gettext("Deleted account")
    elif audience.may_name(row.editor_id, bool(row.show_name_publicly)):
        name = row.display_name
    else:
        name = gettext("A contributor")
    return HistoryEntry(
        version=row.version,
        created_at=row.created_at,
        editor_name=name,
        comment=row.comment or "",
        event=events.revision_line(row.event, audience.may_see),
        changes=[
            views.change_view(change, labels, with_html, photos, audience.viewer, audience.messages)
            for change in changes
        ],
        first=first,
        message=message if audience.messages else "",
        message_by_author=by_author,
        photos_not_restored=[
            views.photo_view(p, photos, audience.viewer, audience.messages)
            for p in _not_restored(row)
        ],
    )
