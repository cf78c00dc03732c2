"""Reads for imports: the vocabulary to match against, and possible duplicates.

A candidate is a possible duplicate of an existing (not deleted) trace of the project, or of
an earlier feature of the same file, when the two lie within 50 m of each other, or within
1 km with the same title (lower case, trimmed, spaces collapsed). Distances are measured on
the spheroid (geography); a box around each candidate lets the GiST indexes do the searching.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import Integer, Text

from app.db import db
from app.imports.candidates import Candidate, Duplicate, Vocabulary, build_vocabulary
from app.imports.parse import ParsedFile, parse_upload
from app.models import Project, Term
from app.traces.validation import TERM_FIELDS

NEAR_METRES = 50
SAME_TITLE_METRES = 1000
# Half a box side in degrees of latitude: a little more than 1 km anywhere on the spheroid.
BOX_DEGREES = 0.0095
# How titles compare, the same expression on both sides so the database's locale decides both.
_NORM = "lower(regexp_replace(btrim({0}), '\\s+', ' ', 'g'))"
_CLOSE = (
    "(ST_DWithin({a}::geography, {b}::geography, :near) OR ("
    + _NORM.format("{ta}")
    + " = "
    + _NORM.format("{tb}")
    + " AND ST_DWithin({a}::geography, {b}::geography, :same_title)))"
)

_CREATE = text(
    """
    CREATE TEMPORARY TABLE IF NOT EXISTS import_candidates (
        number integer PRIMARY KEY,
        title text NOT NULL,
        geom geometry(Geometry, 4326) NOT NULL,
        box geometry(Polygon, 4326)
    ) ON COMMIT DROP
    """
)
_FILL = text(
    """
    INSERT INTO import_candidates (number, title, geom)
    SELECT n, t, ST_GeomFromWKB(decode(w, 'hex'), 4326)
    FROM unnest(:numbers, :titles, :wkbs) AS c(n, t, w)
    """
).bindparams(
    bindparam("numbers", type_=ARRAY(Integer)),
    bindparam("titles", type_=ARRAY(Text)),
    bindparam("wkbs", type_=ARRAY(Text)),
)
# Longitude degrees shrink towards the pole: widen the box by the cosine of its northern edge.
_BOXES = text(
    """
    UPDATE import_candidates SET box = ST_Expand(
        geom,
        :deg / cos(radians(least(greatest(abs(ST_YMin(geom)), abs(ST_YMax(geom))) + :deg, 89))),
        :deg
    )
    """
)
_EXISTING = text(
    f"""
    SELECT c.number, d.id, d.title, d.metres
    FROM import_candidates c
    CROSS JOIN LATERAL (
        SELECT t.id, t.title, ST_Distance(t.geom::geography, c.geom::geography) AS metres
        FROM traces t
        WHERE t.project_id = :project_id AND t.status <> 'deleted' AND t.geom && c.box
          AND {_CLOSE.format(a="t.geom", b="c.geom", ta="t.title", tb="c.title")}
        ORDER BY metres, t.id
        LIMIT 1
    ) d
    """  # noqa: S608 - the only interpolation is the fixed expression above
)
_IN_FILE = text(
    f"""
    SELECT c.number, d.number, d.title, d.metres
    FROM import_candidates c
    CROSS JOIN LATERAL (
        SELECT o.number, o.title, ST_Distance(o.geom::geography, c.geom::geography) AS metres
        FROM import_candidates o
        WHERE o.number < c.number AND o.box && c.geom
          AND {_CLOSE.format(a="o.geom", b="c.geom", ta="o.title", tb="c.title")}
        ORDER BY metres, o.number
        LIMIT 1
    ) d
    """  # noqa: S608 - the only interpolation is the fixed expression above
)


def load_vocabulary() -> Vocabulary:
    """Every active term with its code and labels, for matching an import's values."""
    field_of = {scheme: name for name, scheme in TERM_FIELDS.items()}
    rows = db.session.execute(
        select(Term.scheme, Term.id, Term.code, Term.label_nb, Term.label_nn, Term.label_en)
        .where(Term.is_active.is_(True))
        .order_by(Term.scheme, Term.sort_order, Term.id)
    )
    return build_vocabulary(
        (field_of[scheme], term_id, code, (nb, nn, en))
        for scheme, term_id, code, nb, nn, en in rows
    )


def review_upload(
    project: Project, data: bytes | IO[bytes], filename: str, system: str, max_vertices: int
) -> ParsedFile:
    """The dry run: read the file, check every feature, and mark possible duplicates.

    Stores nothing; raises parse.FileRefused when the file as a whole cannot be read.
    """
    parsed = parse_upload(
        data, filename, load_vocabulary(), project.default_licence, system, max_vertices
    )
    mark_duplicates(project.id, parsed.candidates)
    return parsed


def mark_duplicates(project_id: int, candidates: Sequence[Candidate]) -> None:
    """Set `duplicate` on importable candidates near an existing trace or an earlier feature.

    An existing trace counts first: it is what the librarian most needs to know about.
    """
    usable = [c for c in candidates if c.importable]  # importable means it has a shape
    for candidate in candidates:
        candidate.duplicate = None
    if not usable:
        return
    by_number = {c.number: c for c in usable}
    session = db.session
    # A scratch table with a GiST index keeps both searches indexed for 5,000 candidates.
    session.execute(text("DROP TABLE IF EXISTS import_candidates"))
    session.execute(_CREATE)
    session.execute(
        _FILL,
        {
            "numbers": [c.number for c in usable],
            "titles": [c.title for c in usable],
            "wkbs": [c.shape.wkb_hex for c in usable],  # type: ignore[union-attr]
        },
    )
    session.execute(_BOXES, {"deg": BOX_DEGREES})
    session.execute(text("CREATE INDEX ON import_candidates USING gist (box)"))
    session.execute(text("ANALYZE import_candidates"))
    limits = {"near": NEAR_METRES, "same_title": SAME_TITLE_METRES}
    for number, trace_id, title, metres in session.execute(
        _EXISTING, {"project_id": project_id, **limits}
    ):
        by_number[number].duplicate = Duplicate(title, round(metres), trace_id=trace_id)
    for number, other, title, metres in session.execute(_IN_FILE, limits):
        if by_number[number].duplicate is None:
            by_number[number].duplicate = Duplicate(title, round(metres), number=other)
    session.execute(text("DROP TABLE import_candidates"))
