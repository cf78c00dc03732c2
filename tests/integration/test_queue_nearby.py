"""The queue's nearby traces: measured in a local plane, they must agree with PostGIS's
distance on the spheroid, and a protected neighbour is measured at its public point."""

from __future__ import annotations

import math
import random

import pytest
from flask import Flask
from geoalchemy2 import Geography
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import cast, func, select
from sqlalchemy.orm import Session, aliased

from app.models import Membership, MembershipRole, Trace, TraceStatus
from app.moderation import queries
from app.moderation.geodesy import metres_per_degree


def offset(origin: tuple[float, float], east: float, north: float) -> tuple[float, float]:
    """A lon/lat `east` and `north` metres from `origin` (local plane; exact enough here)."""
    kx, ky = metres_per_degree(origin[1])
    return origin[0] + east / kx, origin[1] + north / ky


def shape_at(
    kind: str, origin: tuple[float, float], rng: random.Random
) -> Point | LineString | Polygon:
    """A point, a 40 m line or a 20 m square with one corner near `origin`."""
    if kind == "point":
        return Point(origin)
    angle = rng.uniform(0, math.tau)
    if kind == "line":
        return LineString([origin, offset(origin, 40 * math.cos(angle), 40 * math.sin(angle))])
    corners = [(0, 0), (20, 0), (20, 20), (0, 20), (0, 0)]
    return Polygon([offset(origin, dx, dy) for dx, dy in corners])


@pytest.fixture
def pairs(session: Session, make_user, make_project, make_trace) -> dict:
    """60 pending entries from Lindesnes to the North Cape, each with one approved trace
    0-140 m away (points, lines, squares, in any direction), every pair 20 km from the next."""
    rng = random.Random(20261130)
    project = make_project()
    librarian = make_user()
    session.add(Membership(project_id=project.id, user_id=librarian.id,
                           role=MembershipRole.LIBRARIAN))  # fmt: skip
    session.commit()
    found = []
    for i in range(60):
        base = (5.0 + (i % 10) * 2.6, 58.0 + (i // 10) * 2.2 + rng.uniform(0, 0.5))
        entry = make_trace(shape_at(rng.choice(["point", "line", "square"]), base, rng),
                           status=TraceStatus.PENDING, project=project)  # fmt: skip
        angle, distance = rng.uniform(0, math.tau), rng.uniform(0, 140)
        there = offset(base, distance * math.cos(angle), distance * math.sin(angle))
        other = make_trace(shape_at(rng.choice(["point", "line", "square"]), there, rng),
                           project=project)  # fmt: skip
        found.append((entry, other))
    return {"pairs": found, "librarian": librarian}


def test_nearby_agrees_with_the_spheroid_to_a_centimetre(
    app: Flask, session: Session, pairs: dict
) -> None:
    a, b = aliased(Trace), aliased(Trace)
    geodesic = dict(
        session.execute(
            select(a.id, func.ST_Distance(cast(a.geom, Geography), cast(b.geom, Geography)))
            .join(b, b.id.in_([o.id for _, o in pairs["pairs"]]))
            .where(a.id.in_([e.id for e, _ in pairs["pairs"]]))
            .where(func.ST_DWithin(a.geom, b.geom, 0.01))  # each entry with its own pair
        ).all()
    )
    with app.test_request_context():
        found = queries.nearby([e for e, _ in pairs["pairs"]], pairs["librarian"])
    inside = 0
    for entry, other in pairs["pairs"]:
        truth = geodesic[entry.id]
        listed = {n.trace.id: n.metres for n in found[entry.id]}
        if truth <= 99.99:
            inside += 1
            assert abs(listed[other.id] - truth) < 0.01, (entry.id, listed, truth)
        elif truth > 100.01:
            assert other.id not in listed, (entry.id, listed, truth)
    assert 20 < inside < 60  # the premise: both sides of 100 m are tried


def _geometry(session: Session, trace: Trace) -> tuple[float, float]:
    point = session.execute(select(func.ST_X(trace.public_geom), func.ST_Y(trace.public_geom)))
    return tuple(point.one())  # type: ignore[return-value]


def test_a_protected_neighbour_is_measured_and_drawn_at_its_public_point(
    app: Flask, session: Session, make_user, make_project, make_trace
) -> None:
    mine, theirs = make_project(), make_project()
    curator = make_user()
    session.add(Membership(project_id=mine.id, user_id=curator.id, role=MembershipRole.CURATOR))
    session.commit()
    entry = make_trace(Point(23.2716, 69.9690), status=TraceStatus.PENDING, project=mine)
    # 30 m away, but protected in a project the curator does not moderate.
    protected = make_trace(Point(*offset((23.2716, 69.9690), 30, 0)), project=theirs,
                           sensitivity_override=True)  # fmt: skip
    session.refresh(protected)
    assert protected.is_sensitive and protected.public_geom is not None
    public = Point(_geometry(session, protected))
    near_public = make_trace(Point(*offset((public.x, public.y), 0, 50)),
                             status=TraceStatus.PENDING, project=mine)  # fmt: skip
    with app.test_request_context():
        found = queries.nearby([entry, near_public], curator)
    assert protected.id not in {n.trace.id for n in found[entry.id]}  # its public point is far
    (seen,) = [n for n in found[near_public.id] if n.trace.id == protected.id]
    assert abs(seen.metres - 50) < 0.5 and not seen.may_link
    assert str(round(public.x, 4)) in seen.geometry_json  # drawn there, not where it is
    assert "23.272" not in seen.geometry_json
    # Its moderators see and measure it precisely.
    session.add(Membership(project_id=theirs.id, user_id=curator.id, role=MembershipRole.CURATOR))
    session.commit()
    with app.test_request_context():
        found = queries.nearby([entry], curator)
    (seen,) = [n for n in found[entry.id] if n.trace.id == protected.id]
    assert abs(seen.metres - 30) < 0.5 and seen.may_link
    assert seen.trace.project.name == theirs.name
