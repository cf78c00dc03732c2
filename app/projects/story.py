"""The project's story in numbers, for the public page, its print and its CSV (docs/story.md).

Only what the public may see is counted as output: approved traces, protected sites at their
public point, names only of people who consented. Every count is made in PostgreSQL over the
project's traces (the index on project_id and status), so the page stays quick at a million.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import orjson
from flask_babel import gettext
from sqlalchemy import text

from app.db import db
from app.export.cells import neutralise
from app.models import Project, Term
from geo.svgmap import CELL_PX, Dot, Frame, Ring, frame_for

MONTHS = 24
# What a contributor is: the informant for an assisted registration, else the author. The key
# counts each person once; the name is there only with consent (users.show_name_publicly,
# traces.informant_consent), so a name without consent never leaves the database.
_CONTRIBUTIONS = """
    SELECT CASE WHEN t.informant_name IS NOT NULL
                THEN 'i:' || lower(btrim(t.informant_name)) ELSE 'u:' || t.author_id END AS key,
           CASE WHEN t.informant_name IS NOT NULL
                THEN CASE WHEN t.informant_consent THEN btrim(t.informant_name) END
                WHEN u.show_name_publicly AND u.is_enabled THEN u.display_name END AS name
    FROM traces t LEFT JOIN users u ON u.id = t.author_id
    WHERE t.project_id = :project AND t.status = 'approved'
      AND (t.informant_name IS NOT NULL OR t.author_id IS NOT NULL)
"""
# The point the public sees: a protected site only at its public point, never its shape.
_SHOWN = "CASE WHEN t.is_sensitive THEN t.public_geom ELSE ST_PointOnSurface(t.geom) END"


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
    """The story of one project: counts per type, period and month, people, pace and map."""
    story = Story()
    story.by_type, story.by_period = _per_term(project, locale)
    story.approved = sum(row.count for row in story.by_type)
    story.by_month = _per_month(project, today or datetime.now(UTC).date())
    story.contributors, story.named = _contributors(project)
    story.median_seconds, story.decisions = _decision_time(project)
    story.coverage = _coverage(project)
    return story


def _per_term(project: Project, locale: str) -> tuple[list[Row], list[Row]]:
    """Approved traces per type and per period, in one pass (GROUPING SETS)."""
    rows = db.session.execute(
        text(
            "SELECT trace_type_id, period_id, GROUPING(trace_type_id) AS by_period, count(*) "
            "FROM traces WHERE project_id = :project AND status = 'approved' "
            "GROUP BY GROUPING SETS ((trace_type_id), (period_id))"
        ),
        {"project": project.id},
    ).all()
    ids = {i for row in rows for i in row[:2] if i is not None}
    terms = {t.id: t for t in db.session.query(Term).filter(Term.id.in_(ids))} if ids else {}
    by_type = [(row[0], row[3]) for row in rows if not row[2]]
    by_period = [(row[1], row[3]) for row in rows if row[2]]
    # Types by how many, periods in the vocabulary's (chronological) order; "not given" last.
    by_type.sort(key=lambda pair: (pair[0] is None, -pair[1], _label(terms, pair[0], locale)))
    by_period.sort(key=lambda pair: (pair[0] is None, _order(terms, pair[0])))
    return (
        [Row(_label(terms, i, locale), n) for i, n in by_type],
        [Row(_label(terms, i, locale), n) for i, n in by_period],
    )


def _label(terms: dict[int, Term], term_id: int | None, locale: str) -> str:
    if term_id is None or term_id not in terms:
        return gettext("Not given")
    return terms[term_id].label(locale)


def _order(terms: dict[int, Term], term_id: int | None) -> int:
    return terms[term_id].sort_order if term_id in terms else 0


def month_starts(today: date, months: int = MONTHS) -> list[date]:
    """The first days of the last `months` months, oldest first, this month included."""
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - months + 1, index + 1)]


def _per_month(project: Project, today: date) -> list[tuple[date, int]]:
    """Traces approved per month (UTC) over the last MONTHS months, empty months as 0."""
    starts = month_starts(today)
    rows = db.session.execute(
        text(
            "SELECT date_trunc('month', approved_at AT TIME ZONE 'UTC')::date, count(*) "
            "FROM traces WHERE project_id = :project AND status = 'approved' "
            "AND approved_at >= :since GROUP BY 1"
        ),
        {"project": project.id, "since": datetime(*starts[0].timetuple()[:3], tzinfo=UTC)},
    ).all()
    counts = dict(rows)
    return [(start, counts.get(start, 0)) for start in starts]


def _contributors(project: Project) -> tuple[int, list[Row]]:
    """How many people contributed approved traces, and the consenting ones by name."""
    total = db.session.execute(
        text(f"SELECT count(DISTINCT key) FROM ({_CONTRIBUTIONS}) c"),  # noqa: S608 - fixed SQL
        {"project": project.id},
    ).scalar_one()
    named = db.session.execute(
        text(
            f"SELECT min(name), count(*) FROM ({_CONTRIBUTIONS}) c "  # noqa: S608 - fixed SQL
            "WHERE name IS NOT NULL GROUP BY key ORDER BY lower(min(name)), min(name)"
        ),
        {"project": project.id},
    ).all()
    return total, [Row(name, count) for name, count in named]


def _decision_time(project: Project) -> tuple[float | None, int]:
    """The median time from submission to decision, in seconds, and over how many decisions.

    A decision is the trace's current approval, rejection or request for changes. Imported
    records are approved in the instant they are loaded (decided_at = submitted_at) and would
    only pull the median to zero, so a decision must come after its submission.
    """
    row = db.session.execute(
        text(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d - s)), "
            "count(*) FROM (SELECT submitted_at AS s, CASE WHEN status = 'approved' "
            "THEN approved_at ELSE decided_at END AS d FROM traces "
            "WHERE project_id = :project AND status IN ('approved', 'rejected', 'needs_changes')"
            ") decided WHERE d > s"
        ),
        {"project": project.id},
    ).one()
    return (float(row[0]) if row[0] is not None else None), row[1]


def _coverage(project: Project) -> Coverage | None:
    """The map: bounds of the area and of what is shown, the outline, dots per grid cell."""
    bounds = db.session.execute(
        text(
            "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b), count FROM ("
            "SELECT ST_Extent(CASE WHEN t.is_sensitive THEN t.public_geom ELSE t.geom END)"
            "::geometry AS b, count(*) FILTER (WHERE t.is_sensitive) AS count FROM traces t "
            "WHERE t.project_id = :project AND t.status = 'approved') e"
        ),
        {"project": project.id},
    ).one()
    outline = _outline(project)
    extent = _union(bounds[:4] if bounds[0] is not None else None, outline[0] if outline else None)
    if extent is None:
        return None
    frame = frame_for(extent)
    dots = db.session.execute(
        text(
            "SELECT floor(((ST_X(p) - :west) * :kx + :pad) / :cell)::int AS col, "  # noqa: S608
            "floor(((:north - ST_Y(p)) * :ky + :pad) / :cell)::int AS row, count(*) "
            f"FROM (SELECT {_SHOWN} AS p FROM traces t "  # a fixed expression of ours
            "WHERE t.project_id = :project AND t.status = 'approved') shown "
            "WHERE p IS NOT NULL GROUP BY 1, 2"
        ),
        {
            "project": project.id,
            "west": frame.west,
            "north": frame.north,
            "kx": frame.kx,
            "ky": frame.ky,
            "pad": frame.pad,
            "cell": CELL_PX,
        },  # fmt: skip
    ).all()
    return Coverage(frame, outline[1] if outline else [], [Dot(*row) for row in dots], bounds[4])


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
