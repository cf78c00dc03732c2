"""Search for the map: traces by full text and title trigrams, places by name trigrams.

Traces: `websearch_to_tsquery('norwegian', q)` against traces.search (title A, tags B,
description and sources C), OR word similarity of q to the title (`title %> q`, the trigram
index ix_traces_title_trgm): "fangstg" and "fangsgrop" find "Fangstgroper ved Komsa". The
visibility rule (app.access) applies, and protected sites are shown, tested against the view
and ranked at their public point only, so neither the list nor its order says where they are.

A given view (bbox) is preferred, not required: the traces shown in it come first, then the
best matches elsewhere. Someone looking at Alta who types "Raufoss" should still get there,
and a search box that found nothing outside the view would look broken.

Places: word similarity of q to places.name (ix_places_name_trgm); the exact name first, then
names that start with q, then by similarity, and among equals the nearest to the view's centre.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Float,
    and_,
    case,
    func,
    literal,
    literal_column,
    not_,
    select,
    text,
    union,
)
from sqlalchemy.orm import aliased

from app.access import located_in, precise_allowed, visible_traces
from app.bbox import in_box
from app.db import db
from app.models import Place, Term, Trace, TraceStatus, User
from app.validation import BIDI_CONTROLS

# Word similarity needed for a trigram match: 0.5 lets "fangsgrop" (0.54) find "Fangstgroper"
# and keeps "kullgrop" from matching every "grop" (pg_trgm's default is 0.6).
WORD_SIMILARITY = 0.5
# At most this many matching traces are ranked: a word in 100,000 traces would otherwise be
# ranked 100,000 times per keystroke. The cap keeps the answer within the time budget; the
# view's own matches are ranked separately, so what is on screen is never lost to the cap.
RANK_CANDIDATES = 500
PLACE_CANDIDATES = 300
# Shorter texts have too few trigrams to be selective, and as a prefix they would match a
# large part of the lexicon.
TRIGRAM_MIN_CHARS = 3
# Views larger than this (about 4 x 2.5 degrees, a county) are not preferred: at the country
# view everything is "in view", and the extra statements would only cost time.
LOCAL_VIEW_SQUARE_DEGREES = 10.0

NORWEGIAN = literal_column("'norwegian'::regconfig")
SIMPLE = literal_column("'simple'::regconfig")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Query:
    """A search text made safe to send: cleaned, cut, and whether it was cut."""

    text: str
    cut: bool

    @property
    def empty(self) -> bool:
        """Nothing in it that can be searched for (no letter or digit)."""
        return not any(unicodedata.category(c)[0] in "LN" for c in self.text)


def clean_query(raw: str | None, max_chars: int) -> Query:
    """The text to search for: controls and bidi marks out, spaces collapsed, cut to max_chars.

    The request filter already refuses NUL and other C0 controls in query strings (400,
    app.params); what it lets through (tabs, line breaks) becomes spaces here, and the rest
    that PostgreSQL cannot take (lone surrogates) is dropped.
    """
    kept = []
    for char in unicodedata.normalize("NFC", raw or ""):
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp") or char.isspace():
            kept.append(" ")
        elif category in ("Cs", "Co", "Cn") or char in BIDI_CONTROLS:
            continue
        else:
            kept.append(char)
    cleaned = _SPACES.sub(" ", "".join(kept)).strip()
    if len(cleaned) > max_chars:
        return Query(cleaned[:max_chars].rstrip(), True)
    return Query(cleaned, False)


def prepare() -> None:
    """Set up the search transaction (once, before search_traces and search_places)."""
    # SET LOCAL, for this transaction only (a pooled connection does not keep it).
    # Sequential and plain index scans off: each stage stops after a capped number of
    # candidates, and under a LIMIT the planner picks a "fast start" plan (a sequential scan,
    # or a walk of ix_traces_author on status) that evaluates the trigram operator on every
    # row it passes, whose cost it underestimates: 140-400 ms at 1M traces, against a few
    # ms through the GIN and GiST indexes with bitmap scans, which these statements always
    # have. The settings end with the request's transaction.
    db.session.execute(
        text(
            "SELECT set_config('pg_trgm.word_similarity_threshold', :value, true),"
            " set_config('enable_seqscan', 'off', true),"
            " set_config('enable_indexscan', 'off', true)"
        ),
        {"value": str(WORD_SIMILARITY)},
    )


def _local(box: tuple[float, float, float, float]) -> bool:
    """A view small enough to prefer: a county, not the country (where all is in view)."""
    west, south, east, north = box
    width = east - west if east >= west else east + 360 - west
    return width * (north - south) <= LOCAL_VIEW_SQUARE_DEGREES


def search_traces(
    query: Query,
    viewer: User | None,
    box: tuple[float, float, float, float] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The visible traces matching the query, best first, those in the view before others."""
    if query.empty:
        return []
    q = literal(query.text)
    tsquery = func.websearch_to_tsquery(NORWEGIAN, q)
    words = Trace.search.bool_op("@@")(tsquery)
    typed = _typing_query(query.text)
    partial = Trace.search.bool_op("@@")(typed) if typed is not None else None
    similar = Trace.title.bool_op("%>")(q) if len(query.text) >= TRIGRAM_MIN_CHARS else None
    precise = precise_allowed(viewer)

    def candidates(match: Any, *where: Any) -> Any:
        return (
            select(
                Trace.id,
                and_(Trace.is_sensitive, not_(precise)).label("approximate"),
                (
                    func.ts_rank(Trace.search, tsquery)
                    + func.word_similarity(q, Trace.title).cast(Float)
                ).label("score"),
            )
            .where(visible_traces(viewer), Trace.status != TraceStatus.DELETED, match, *where)
            .limit(RANK_CANDIDATES)
        )

    def best(*where: Any) -> list[dict[str, Any]]:
        # Whole words first; then the last word as a prefix ("fangstg" as typed: a GIN prefix
        # match over the lexemes); the title trigrams (misspelt words) only when neither fills
        # the list, as their index scan and recheck are the dearest. All are then ranked
        # together by the same score.
        found: list[dict[str, Any]] = []
        for match in (words, partial, similar):
            if match is None or len(found) >= limit:
                continue
            seen = {row["id"] for row in found}
            more = _ranked(candidates(match, *where), limit)
            found += [row for row in more if row["id"] not in seen]
        found.sort(key=lambda row: (-row["score"], row["id"]))
        return found[:limit]

    found: list[dict[str, Any]] = []
    if box is not None and _local(box):
        # The view's own matches, ranked among themselves: the GiST index finds them.
        found = best(in_box(box, lambda e: located_in(precise, e)))
    if len(found) < limit:
        seen = {row["id"] for row in found}
        found += [row for row in best() if row["id"] not in seen][: limit - len(found)]
    for row in found:
        del row["score"]
    return found


def _typing_query(text: str) -> Any:
    """The query as being typed: its whole words, and its last word as a prefix (or None).

    The prefix is matched as written ('simple' configuration: lower case, no stemming), since
    a stem of a half-typed word means nothing; only letters and digits reach to_tsquery.
    """
    words = re.findall(r"[^\W_]+", text.lower())
    if not words or len(words[-1]) < TRIGRAM_MIN_CHARS:
        return None
    last = func.to_tsquery(SIMPLE, literal(f"'{words[-1][:60]}':*"))
    if len(words) == 1:
        return last
    return func.websearch_to_tsquery(NORWEGIAN, literal(" ".join(words[:-1]))).op("&&")(last)


def _ranked(candidates: Any, limit: int) -> list[dict[str, Any]]:
    """The best `limit` candidates, with their title, type and shown point."""
    sub = candidates.subquery()
    top = select(sub).order_by(sub.c.score.desc(), sub.c.id).limit(limit).subquery()
    ttype = aliased(Term)
    point = func.ST_PointOnSurface(case((top.c.approximate, Trace.public_geom), else_=Trace.geom))
    rows = db.session.execute(
        select(
            Trace.id,
            Trace.title,
            ttype.code.label("type"),
            top.c.approximate,
            top.c.score,
            func.ST_X(point).label("lon"),
            func.ST_Y(point).label("lat"),
        )
        .join(top, top.c.id == Trace.id)
        .outerjoin(ttype, ttype.id == Trace.trace_type_id)
        .order_by(top.c.score.desc(), Trace.id)
    )
    return [
        {
            "id": row.id,
            "title": row.title,
            "type": row.type,
            "lon": round(row.lon, 7),
            "lat": round(row.lat, 7),
            "approximate": bool(row.approximate),
            "score": row.score,
        }
        for row in rows
    ]


def search_places(
    query: Query, box: tuple[float, float, float, float] | None, limit: int
) -> list[dict[str, Any]]:
    """Places whose name is like the query: exact, then prefix, then similar; nearest first."""
    # One letter is no name to look up, and a text longer than the name column is no place name.
    if query.empty or not 2 <= len(query.text) <= Place.name.type.length:
        return []
    q = literal(query.text)
    escaped = re.sub(r"([\\%_])", r"\\\1", query.text)
    # ILIKE uses the same trigram index; it keeps two-letter names ("Ås", "Bø") findable.
    exact = Place.name.ilike(escaped, escape="\\")
    prefix = Place.name.ilike(escaped + "%", escape="\\")
    stages = [exact, prefix]
    if len(query.text) >= TRIGRAM_MIN_CHARS:
        stages.append(Place.name.bool_op("%>")(q))
    # A common word ("vatnet", "st") matches tens of thousands of names: each stage hands on
    # at most PLACE_CANDIDATES, the view's own matches separately so the nearest are kept.
    views: list[Any] = [None]
    if box is not None and _local(box):
        views.append(in_box(box, lambda e: Place.geom.intersects(e)))
    candidates = union(
        *(
            select(Place.id)
            .where(stage, *([view] if view is not None else []))
            .limit(PLACE_CANDIDATES)
            for stage in stages
            for view in views
        )
    ).subquery()
    condition = Place.id.in_(select(candidates.c.id))
    order: list[Any] = [
        case((exact, 0), else_=1),
        case((prefix, 0), else_=1),
        func.word_similarity(q, Place.name).desc(),
        # Then the whole name: "raufos" means "Raufoss" before "Raufoss kirke".
        func.similarity(q, Place.name).desc(),
    ]
    if box is not None:
        west, south, east, north = box
        if west > east:  # across the antimeridian: the middle of the wrapped box
            east += 360
        centre = func.ST_SetSRID(
            func.ST_MakePoint(((west + east) / 2 + 180) % 360 - 180, (south + north) / 2), 4326
        )
        order.append(Place.geom.op("<->")(centre))
    order.append(Place.name)
    rows = db.session.execute(
        select(
            Place.name,
            Place.kind,
            Place.municipality,
            func.ST_X(Place.geom).label("lon"),
            func.ST_Y(Place.geom).label("lat"),
        )
        .where(condition)
        .order_by(*order)
        .limit(limit)
    )
    return [
        {
            "name": row.name,
            "kind": row.kind,
            "municipality": row.municipality,
            "lon": round(row.lon, 7),
            "lat": round(row.lat, 7),
        }
        for row in rows
    ]
