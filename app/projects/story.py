"""The project's story in numbers, for the public page, its print and its CSV (docs/story.md).

Only what the public may see is counted as output: approved traces, protected sites at their
public point, names only of people who consented. Every count is made in PostgreSQL over the
project's traces (the index on project_id and status), so the page stays quick at a million.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import orjson
from flask_babel import force_locale, gettext
from sqlalchemy import text

from app.db import db
from app.export.cells import neutralise
from app.models import Project, Term
from geo.svgmap import CELL_PX, Dot, Frame, Ring, frame_for

MONTHS = 24
# One pass over the project's decided traces gives every count (GROUPING SETS): per type, per
# period, per month, per contributor, per map cell, and the totals with the median wait.
# A contributor is the informant for an assisted registration, else the author; the key counts
# each person once, and the name is there only with consent (users.show_name_publicly,
# traces.informant_consent), so a name without consent never leaves the database. Consent is
# part of an informant's key and a name counts only the rows that carry it: "kari n." told
# without consent is never added to the consenting "Kari N." (a name is all there is of an
# informant, so two people who consented under one name stay one). The map
# takes a protected site only at its public point, never its shape. A decision is the current
# approval, rejection or request for changes; imported records are approved in the instant
# they are loaded (decided = submitted) and would only pull the median to zero, so a decision
# must come after its submission.
_AGGREGATE = """
WITH t AS (
    SELECT t.status = 'approved' AS ok, t.trace_type_id, t.period_id,
           CASE WHEN t.status = 'approved' AND t.approved_at >= :since
                THEN date_trunc('month', t.approved_at AT TIME ZONE 'UTC')::date END AS month,
           CASE WHEN t.informant_name IS NOT NULL
                THEN CASE WHEN t.informant_consent THEN 'i:' ELSE 'n:' END
                     || lower(btrim(t.informant_name))
                WHEN t.author_id IS NOT NULL THEN 'u:' || t.author_id END AS key,
           CASE WHEN t.informant_name IS NOT NULL
                THEN CASE WHEN t.informant_consent THEN btrim(t.informant_name) END
                WHEN u.show_name_publicly AND u.is_enabled THEN u.display_name END AS name,
           extract(epoch FROM CASE WHEN t.status = 'approved' THEN t.approved_at
                                   ELSE t.decided_at END - t.submitted_at) AS wait,
           p AS shown
    FROM traces t LEFT JOIN users u ON u.id = t.author_id
    CROSS JOIN LATERAL (SELECT CASE WHEN t.status <> 'approved' THEN NULL
                                    WHEN t.is_sensitive THEN t.public_geom
                                    ELSE ST_PointOnSurface(t.geom) END AS p) s
    WHERE t.project_id = :project AND t.status IN ('approved', 'rejected', 'needs_changes')
), c AS MATERIALIZED (
    SELECT *, floor(((ST_X(shown) - :west) * :kx + :pad) / :cell)::int AS col,
              floor(((:north - ST_Y(shown)) * :ky + :pad) / :cell)::int AS row
    FROM t
)
SELECT GROUPING(trace_type_id) AS no_type, GROUPING(period_id) AS no_period,
       GROUPING(month) AS no_month, GROUPING(key) AS no_key, GROUPING(col) AS no_cell,
       trace_type_id, period_id, month, key, col, row,
       CASE WHEN GROUPING(key) = 0 THEN count(*) FILTER (WHERE ok AND name IS NOT NULL)
            ELSE count(*) FILTER (WHERE ok) END AS n,
       min(name) FILTER (WHERE ok) AS name,
       NULL::bigint AS people, NULL::float8 AS median, NULL::bigint AS decisions
FROM c
GROUP BY GROUPING SETS ((trace_type_id), (period_id), (month), (key), (col, row))
HAVING min(name) FILTER (WHERE ok) IS NOT NULL OR GROUPING(key) = 1
UNION ALL
SELECT 1, 1, 1, 1, 1, NULL, NULL, NULL, NULL, NULL, NULL,
       count(*) FILTER (WHERE ok), NULL, count(DISTINCT key) FILTER (WHERE ok),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) FILTER (WHERE wait > 0),
       count(*) FILTER (WHERE wait > 0)
FROM c
"""
# A grouping column that is not part of a row's set reads as 1 in GROUPING().
_SET = {"type": 0b01111, "period": 0b10111, "month": 0b11011, "key": 0b11101, "cell": 0b11110}


@dataclass(frozen=True)
class Row:
    """One bar of a chart and one line of its table."""

    label: str
    count: int


@dataclass(frozen=True)
class Coverage:
    """What the map draws: its frame, the area's outline and the counted dots."""

    frame: Frame
    polygons: list[list[Ring]]
    dots: list[Dot]
    protected: int


@dataclass
class Story:
    """Everything the story page, its print and its CSV show."""

    approved: int = 0
    by_type: list[Row] = field(default_factory=list)
    by_period: list[Row] = field(default_factory=list)
    by_month: list[tuple[date, int]] = field(default_factory=list)
    contributors: int = 0
    named: list[Row] = field(default_factory=list)
    median_seconds: float | None = None
    decisions: int = 0
    coverage: Coverage | None = None


def project_story(project: Project, locale: str, today: date | None = None) -> Story:
    """The story of one project: counts per type, period and month, people, pace and map.

    Two passes over the project's traces (the map's extent, then every count at once) and a
    look at the project's area, all through the index on project and status.
    """
    story = Story()
    starts = month_starts(today or datetime.now(UTC).date())
    extent, protected = _extent(project)
    outline = _outline(project)
    box = _union(extent, outline[0] if outline else None)
    frame = frame_for(box) if box is not None else frame_for((10.0, 59.0, 11.0, 60.0))
    rows = db.session.execute(
        text(_AGGREGATE),
        {
            "project": project.id,
            "since": datetime(*starts[0].timetuple()[:3], tzinfo=UTC),
            "west": frame.west,
            "north": frame.north,
            "kx": frame.kx,
            "ky": frame.ky,
            "pad": frame.pad,
            "cell": CELL_PX,
        },  # fmt: skip
    ).mappings()
    types: list[tuple[int | None, int]] = []
    periods: list[tuple[int | None, int]] = []
    months: dict[date, int] = {}
    dots: list[Dot] = []
    for row in rows:
        kind = _kind(row)
        if kind == "total":
            story.approved, story.contributors = row["n"], row["people"]
            story.decisions = row["decisions"]
            story.median_seconds = float(row["median"]) if row["median"] is not None else None
        elif not row["n"]:
            continue  # a group of rejected entries only: not public output
        elif kind == "type":
            types.append((row["trace_type_id"], row["n"]))
        elif kind == "period":
            periods.append((row["period_id"], row["n"]))
        elif kind == "month" and row["month"] is not None:
            months[row["month"]] = row["n"]
        elif kind == "key" and row["key"] is not None:
            story.named.append(Row(row["name"], row["n"]))
        elif kind == "cell" and row["col"] is not None:
            dots.append(Dot(row["col"], row["row"], row["n"]))
    story.by_type, story.by_period = _labelled(types, periods, locale)
    story.by_month = [(start, months.get(start, 0)) for start in starts]
    story.named.sort(key=lambda row: (row.label.lower(), row.label))
    if box is not None:
        story.coverage = Coverage(frame, outline[1] if outline else [], dots, protected)
    return story


def _kind(row: Mapping[str, Any]) -> str:
    flags = (
        row["no_type"] << 4 | row["no_period"] << 3 | row["no_month"] << 2
        | row["no_key"] << 1 | row["no_cell"]
    )  # fmt: skip
    return next((name for name, mask in _SET.items() if mask == flags), "total")


def _labelled(
    types: list[tuple[int | None, int]], periods: list[tuple[int | None, int]], locale: str
) -> tuple[list[Row], list[Row]]:
    """Types by how many, periods in the vocabulary's (chronological) order; "not given" last."""
    ids = {i for i, _ in types + periods if i is not None}
    terms = {t.id: t for t in db.session.query(Term).filter(Term.id.in_(ids))} if ids else {}
    types.sort(key=lambda pair: (pair[0] is None, -pair[1], _label(terms, pair[0], locale)))
    periods.sort(key=lambda pair: (pair[0] is None, _order(terms, pair[0])))
    return (
        [Row(_label(terms, i, locale), n) for i, n in types],
        [Row(_label(terms, i, locale), n) for i, n in periods],
    )


def _label(terms: dict[int, Term], term_id: int | None, locale: str) -> str:
    if term_id is None or term_id not in terms:
        with force_locale(locale):  # the story's language, not the request's: one language
            return gettext("Not given")
    return terms[term_id].label(locale)


def _order(terms: dict[int, Term], term_id: int | None) -> int:
    return terms[term_id].sort_order if term_id in terms else 0


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """The first days of the last `months` months, oldest first, this month included."""
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


def _extent(project: Project) -> tuple[tuple[float, float, float, float] | None, int]:
    """The bounds of what the map shows of the approved traces, and how many are protected."""
    row = db.session.execute(
        text(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b), protected FROM ("
            "SELECT ST_Extent(CASE WHEN t.is_sensitive THEN t.public_geom ELSE t.geom END)"
            "::geometry AS b, count(*) FILTER (WHERE t.is_sensitive) AS protected "
            "FROM traces t WHERE t.project_id = :project AND t.status = 'approved') e"
        ),
        {"project": project.id},
    ).one()
    return (tuple(row[:4]) if row[0] is not None else None), row[4]  # type: ignore[return-value]


def _outline(
    project: Project,
) -> tuple[tuple[float, float, float, float], list[list[Ring]]] | None:
    """The area's bounds and its outline, simplified to about a pixel of the printed map."""
    if project.area is None:
        return None
    row = db.session.execute(
        text(
            "SELECT ST_XMin(area), ST_YMin(area), ST_XMax(area), ST_YMax(area), "
            "ST_AsGeoJSON(ST_SimplifyPreserveTopology(area, "
            "greatest(ST_XMax(area) - ST_XMin(area), ST_YMax(area) - ST_YMin(area)) / 800)) "
            "FROM projects WHERE id = :project"
        ),
        {"project": project.id},
    ).one()
    shape = orjson.loads(row[4])
    polygons = shape["coordinates"] if shape["type"] == "MultiPolygon" else [shape["coordinates"]]
    rings = [[[(float(x), float(y)) for x, y, *_ in ring] for ring in poly] for poly in polygons]
    return (row[0], row[1], row[2], row[3]), rings


def _union(
    first: tuple[float, ...] | None, second: tuple[float, ...] | None
) -> tuple[float, float, float, float] | None:
    boxes = [box for box in (first, second) if box is not None]
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes), min(b[1] for b in boxes),
        max(b[2] for b in boxes), max(b[3] for b in boxes),
    )  # fmt: skip


def story_csv(story: Story) -> str:
    """The story as one tidy CSV: section, label, count (cells safe from formulas).

    Section and summary names are fixed English keys, months ISO (2026-03), so a script can
    read the file whatever language the page was in; labels of terms follow the page.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["section", "label", "count"])
    rows: list[tuple[str, str, object]] = [
        ("summary", "approved_traces", story.approved),
        ("summary", "contributors", story.contributors),
        ("summary", "named_contributors", len(story.named)),
        ("summary", "decisions_counted", story.decisions),
        (
            "summary",
            "median_days_to_decision",
            "" if story.median_seconds is None else f"{story.median_seconds / 86400:.2f}",
        ),
    ]
    rows += [("type", row.label, row.count) for row in story.by_type]
    rows += [("period", row.label, row.count) for row in story.by_period]
    rows += [("month", start.strftime("%Y-%m"), count) for start, count in story.by_month]
    rows += [("contributor", row.label, row.count) for row in story.named]
    for section, label, value in rows:
        writer.writerow([section, neutralise(label), value])
    return out.getvalue()
