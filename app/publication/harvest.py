"""The harvest feed: what a museum that mirrors us needs besides `updated_since`.

The database keeps the two halves true on every write path (migration 20261130a1b2):
traces.updated_at moves whenever anything a harvester receives changes (text, terms and their
labels, sensitivity and so the shown location, status, project, licence, and its photos: one
added, approved, rejected, edited or removed, by the photos trigger of migration
20261202a1b2, so the next harvest fetches the new photo links), and a trace
that leaves the public set (withdrawn, deleted, rejected after approval, merged as a duplicate,
erased, moved to another project) leaves a tombstone in publication_removals.

An incremental harvest, from the moment `since` of the previous one:

1. read the deletions feed (`/ogc/collections/{id}/deletions?since=...` or
   `/export/deletions?since=...`) and delete those ids from the mirror;
2. then read the features with `updated_since=...` and insert or replace them.

In that order: a trace removed and approved again later appears in both, and the upsert must
win. Take `since` a few minutes before the previous harvest began (HARVEST_OVERLAP): updated_at
and removed_at are stamped when a change is made, but its transaction commits a moment later,
so without the overlap a change can land just behind the previous harvest. Applying a change
twice does no harm. Use the server's `timeStamp` of the first answer as the next harvest's
start, so clocks need not agree.

The feed announces leaving the whole collection. A harvest filtered further (bbox, type, ...)
is not told when a trace stops matching its filter; mirror a collection unfiltered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select

from app.db import db
from app.errors import InvalidParameter, NotFound
from app.models import Project
from app.models.removals import PublicationRemoval
from app.params import clamped_whole_number
from app.timeparse import TimeError, parse_instant, time_message

# How far before the previous harvest the next one should start (see the module docstring).
HARVEST_OVERLAP = timedelta(minutes=5)
# A trace moved between projects stays in the collection of every trace.
MOVED = "moved"
DELETIONS_LIMIT = 1000  # tombstones per page unless the harvester asks for fewer


class UnknownProject(NotFound):
    """The deletions of a project that does not exist."""


@dataclass(frozen=True)
class DeletionsQuery:
    """One page of tombstones: of one project (or every project), since a moment."""

    project_id: int | None  # None: the collection of every trace
    since: datetime | None
    limit: int
    offset: int = 0


@dataclass(frozen=True)
class DeletionsPage:
    """Tombstones as plain JSON-ready dicts, and how many match in all."""

    deletions: list[dict[str, Any]]
    matched: int


def parse_since(text: str) -> datetime:
    """A date or date-time in UTC (without a zone: UTC); TimeError (a ValueError) otherwise."""
    return parse_instant(text, assume_utc=True)


def query_from_args(args: Mapping[str, str]) -> DeletionsQuery:
    """The export's deletions query: since, project (a short name), limit and offset."""
    unknown = sorted(set(args) - {"since", "project", "limit", "offset"})
    if unknown:
        raise InvalidParameter(
            gettext("Unknown query parameter: %(names)s.", names=", ".join(unknown))
        )
    project_id = None
    if args.get("project"):
        project_id = project_id_of(args["project"])
        if project_id is None:
            raise UnknownProject(gettext("No such project."))
    since = None
    if args.get("since") is not None:
        try:
            since = parse_since(args["since"])
        except TimeError as error:
            raise InvalidParameter("since: " + time_message(error, interval=False)) from None
    limit = _whole(args.get("limit"), "limit", DELETIONS_LIMIT)
    if limit < 1:
        raise InvalidParameter("limit: " + gettext("give a whole number, 1 or more."))
    return DeletionsQuery(project_id, since, min(limit, DELETIONS_LIMIT),
                          _whole(args.get("offset"), "offset", 0))  # fmt: skip


def _whole(raw: str | None, name: str, default: int) -> int:
    if raw is None:
        return default
    value = clamped_whole_number(raw)
    if value is None:
        raise InvalidParameter(name + ": " + gettext("give a whole number, 0 or more."))
    return value


def project_id_of(slug: str) -> int | None:
    """The id of the project with this short name, or None."""
    if "\x00" in slug:  # PostgreSQL text cannot hold NUL: no project has it
        return None
    return db.session.execute(select(Project.id).where(Project.slug == slug)).scalar()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def deletions_page(query: DeletionsQuery) -> DeletionsPage:
    """The traces that left the collection since `since`, oldest first (id breaks ties)."""
    found = select(PublicationRemoval)
    if query.project_id is None:
        found = found.where(PublicationRemoval.reason != MOVED)
    else:
        found = found.where(PublicationRemoval.project_id == query.project_id)
    if query.since is not None:
        found = found.where(PublicationRemoval.removed_at >= query.since)
    matched = db.session.execute(select(func.count()).select_from(found.subquery())).scalar_one()
    rows = db.session.execute(
        found.order_by(PublicationRemoval.removed_at, PublicationRemoval.id)
        .limit(query.limit)
        .offset(query.offset)
    ).scalars()
    deletions = [
        {"id": row.trace_id, "removed_at": _utc(row.removed_at), "reason": row.reason}
        for row in rows
    ]
    return DeletionsPage(deletions, matched)


def deletions_body(
    page: DeletionsPage, query: DeletionsQuery, links: list[dict[str, str]]
) -> dict[str, Any]:
    """The JSON answer both channels give."""
    return {
        "deletions": page.deletions,
        "numberMatched": page.matched,
        "numberReturned": len(page.deletions),
        "since": _utc(query.since) if query.since is not None else None,
        "timeStamp": _utc(datetime.now(UTC)),
        "links": links,
    }


def has_next(page: DeletionsPage, query: DeletionsQuery) -> bool:
    """Whether another page follows this one."""
    return query.offset + len(page.deletions) < page.matched
