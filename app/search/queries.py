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

from sqlalchemy import Float, and_, case, func, literal, literal_column, not_, or_, select, text
from sqlalchemy.orm import aliased

from app.access import display_geometry, located_in, precise_allowed, visible_traces
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
RANK_CANDIDATES = 2000
TRIGRAM_MIN_CHARS = 3  # shorter queries have too few trigrams to be selective

NORWEGIAN = literal_column("'norwegian'::regconfig")
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


def _similarity_threshold() -> None:
    # SET LOCAL: for this transaction only (a pooled connection does not keep it).
    db.session.execute(
        text("SELECT set_config('pg_trgm.word_similarity_threshold', :value, true)"),
        {"value": str(WORD_SIMILARITY)},
    )


def _envelope_test(box: tuple[float, float, float, float] | None, test: Any) -> Any:
    return in_box(box, test) if box is not None else literal(False)


def search_traces(
    query: Query,
    viewer: User | None,
    box: tuple[float, float, float, float] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The visible traces matching the query, best first, those in the view before others."""
    if query.empty:
        return []
    _similarity_threshold()
    q = literal(query.text)
    tsquery = func.websearch_to_tsquery(NORWEGIAN, q)
    matches = [Trace.search.op("@@")(tsquery)]
    if len(query.text) >= TRIGRAM_MIN_CHARS:
        matches.append(Trace.title.op("%>")(q))
    precise = precise_allowed(viewer)
    shown = display_geometry(precise)
    candidates = (
        select(
            Trace.id,
            Trace.title,
            Trace.trace_type_id,
            Trace.is_sensitive,
            and_(Trace.is_sensitive, not_(precise)).label("approximate"),
            func.ST_PointOnSurface(shown).label("point"),
            (
                func.ts_rank(Trace.search, tsquery)
                + func.word_similarity(q, Trace.title).cast(Float)
            ).label("score"),
        )
        .where(visible_traces(viewer), Trace.status != TraceStatus.DELETED, or_(*matches))
        .limit(RANK_CANDIDATES)
    )
    found: list[dict[str, Any]] = []
    if box is not None:
        # The view's own matches, ranked among themselves: the GiST index finds them.
        found = _ranked(candidates.where(in_box(box, lambda e: located_in(precise, e))), limit)
    if len(found) < limit:
        seen = {row["id"] for row in found}
        for row in _ranked(candidates, limit + len(found)):
            if row["id"] not in seen and len(found) < limit:
                found.append(row)
    return found


def _ranked(candidates: Any, limit: int) -> list[dict[str, Any]]:
    sub = candidates.subquery()
    ttype = aliased(Term)
    rows = db.session.execute(
        select(
            sub.c.id,
            sub.c.title,
            ttype.code.label("type"),
            sub.c.approximate,
            func.ST_X(sub.c.point).label("lon"),
            func.ST_Y(sub.c.point).label("lat"),
        )
        .outerjoin(ttype, ttype.id == sub.c.trace_type_id)
        .order_by(sub.c.score.desc(), sub.c.id)
        .limit(limit)
    )
    return [
        {
            "id": row.id,
            "title": row.title,
            "type": row.type,
            "lon": round(row.lon, 7),
            "lat": round(row.lat, 7),
            "approximate": bool(row.approximate),
        }
        for row in rows
    ]


def search_places(
    query: Query, box: tuple[float, float, float, float] | None, limit: int
) -> list[dict[str, Any]]:
    """Places whose name is like the query: exact, then prefix, then similar; nearest first."""
    if query.empty or len(query.text) > Place.name.type.length:
        return []
    _similarity_threshold()
    q = literal(query.text)
    if len(query.text) < 2:
        return []
    pattern = re.sub(r"([\\%_])", r"\\\1", query.text) + "%"
    # ILIKE 'q%' uses the same trigram index; it keeps two-letter names ("Å", "Ås") findable.
    prefix = Place.name.ilike(pattern, escape="\\")
    condition = prefix
    if len(query.text) >= TRIGRAM_MIN_CHARS:
        condition = or_(Place.name.op("%>")(q), prefix)
    order: list[Any] = [
        case((func.lower(Place.name) == func.lower(q), 0), else_=1),
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
