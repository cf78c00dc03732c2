"""map_cells stays exact: after any sequence of writes to traces, every zoom's cells equal an
aggregation from scratch; and a moderator's decision shows on the very next tile request."""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Flask
from geoalchemy2.shape import to_shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.models import Membership, MembershipRole, TraceStatus
from app.models.maps import MAX_CELL_ZOOM
from geo.cells import cell_x, cell_y, tile_xy
from tests.conftest import log_in

STATUSES = ["approved", "pending", "rejected", "deleted", "draft", "withdrawn"]
# Approved rows are what the cells hold: draw them as often as all the others together.
statuses = st.one_of(st.just("approved"), st.sampled_from(STATUSES))
# Around Alta: close enough that traces share cells at low zooms, apart at high ones.
lons = st.floats(23.0, 23.6, allow_nan=False)
lats = st.floats(69.8, 70.1, allow_nan=False)
shapes = st.one_of(
    st.tuples(st.just("point"), lons, lats),
    st.tuples(st.just("line"), lons, lats),
    st.tuples(st.just("polygon"), lons, lats),
)
overrides = st.sampled_from([None, True, False])

# One step: what it does and to which of the traces so far (an index, taken modulo their count).
steps = st.one_of(
    st.tuples(st.just("insert"), st.lists(st.tuples(shapes, statuses,
                                                    overrides), min_size=1, max_size=3)),
    st.tuples(st.just("status"), st.integers(0, 50), statuses),
    st.tuples(st.just("approve_all"), st.integers(0, 50)),
    st.tuples(st.just("move"), st.integers(0, 50), shapes),
    st.tuples(st.just("sensitivity"), st.integers(0, 50), overrides),
    st.tuples(st.just("retitle"), st.integers(0, 50)),
    st.tuples(st.just("delete_row"), st.integers(0, 50)),
)  # fmt: skip


def wkt(shape: tuple[str, float, float]) -> str:
    """A point, a short line or a small square at (x, y), as WKT."""
    kind, x, y = shape
    if kind == "point":
        return f"POINT({x} {y})"
    if kind == "line":
        return f"LINESTRING({x} {y}, {x + 0.01} {y + 0.004})"
    return f"POLYGON(({x} {y}, {x + 0.02} {y}, {x + 0.02} {y + 0.01}, {x} {y}))"


def apply(session: Session, step: tuple[Any, ...], ids: list[int], who: dict[str, int]) -> None:
    """Run one step as SQL statements on traces, as the app's writes reach the table."""
    kind = step[0]
    if kind == "insert":
        # One INSERT for all rows: the statement trigger sees them together.
        values, params = [], dict(who)
        for i, (shape, status, override) in enumerate(step[1]):
            values.append(
                f"(:project, :user, 'Spor', ST_GeomFromText(:g{i}, 4326), 'CC-BY-4.0',"
                f" CAST(:s{i} AS trace_status), 1, :user, now(), :user, now(), :o{i})"
            )
            params |= {f"g{i}": wkt(shape), f"s{i}": status, f"o{i}": override}
        new = session.execute(
            text(
                "INSERT INTO traces (project_id, author_id, title, geom, licence, status, version,"
                " approved_by_id, approved_at, decided_by_id, decided_at, sensitivity_override)"
                f" VALUES {', '.join(values)} RETURNING id"
            ),
            params,
        ).scalars()
        ids.extend(new)
        return
    if not ids:
        return
    target = ids[step[1] % len(ids)]
    if kind == "status":
        session.execute(
            text("UPDATE traces SET status = CAST(:s AS trace_status) WHERE id = :id"),
            {"s": step[2], "id": target},
        )
    elif kind == "approve_all":  # a bulk decision: many rows in one statement
        chosen = [trace_id for i, trace_id in enumerate(ids) if i % 2 == step[1] % 2]
        session.execute(
            text("UPDATE traces SET status = 'approved' WHERE id = ANY(:ids)"), {"ids": chosen}
        )
    elif kind == "move":
        session.execute(
            text("UPDATE traces SET geom = ST_GeomFromText(:g, 4326) WHERE id = :id"),
            {"g": wkt(step[2]), "id": target},
        )
    elif kind == "sensitivity":
        session.execute(
            text("UPDATE traces SET sensitivity_override = :o WHERE id = :id"),
            {"o": step[2], "id": target},
        )
    elif kind == "retitle":
        session.execute(text("UPDATE traces SET title = title || '!' WHERE id = :id"),
                        {"id": target})  # fmt: skip
    elif kind == "delete_row":
        session.execute(text("DELETE FROM traces WHERE id = :id"), {"id": target})
        ids.remove(target)


# The public set from scratch: approved traces at their public point (protected ones at
# public_geom), one row per zoom and cell.
FROM_SCRATCH = text(
    """
    WITH p AS (
      SELECT id, ST_X(pt) AS x, ST_Y(pt) AS y FROM (
        SELECT id, CASE WHEN is_sensitive THEN public_geom ELSE ST_PointOnSurface(geom) END AS pt
          FROM traces WHERE status = 'approved') s
       WHERE pt IS NOT NULL)
    SELECT z, heritage_cell_x(x, z) AS cx, heritage_cell_y(y, z) AS cy,
           count(*) AS n, avg(x) AS x, avg(y) AS y, sum(id) AS sid
      FROM p CROSS JOIN generate_series(0, :max_zoom) AS z
     GROUP BY 1, 2, 3
    """
)
STORED = text("SELECT zoom, cx, cy, n, sum_x / n, sum_y / n, sum_id FROM map_cells WHERE n <> 0")


def cells(
    session: Session, query: Any
) -> dict[tuple[int, int, int], tuple[int, float, float, int]]:
    """The cells a query gives, by (zoom, cx, cy): (n, sum_x, sum_y, sum_id)."""
    rows = session.execute(query, {"max_zoom": MAX_CELL_ZOOM}).all()
    return {(z, cx, cy): (int(n), float(x), float(y), int(sid)) for z, cx, cy, n, x, y, sid in rows}


def assert_cells_exact(session: Session) -> None:
    """The stored cells equal an aggregation from scratch, and emptied cells hold nothing."""
    expected, stored = cells(session, FROM_SCRATCH), cells(session, STORED)
    assert stored.keys() == expected.keys()
    for key, (n, x, y, sid) in expected.items():
        got = stored[key]
        assert got[0] == n, key
        assert got[3] == sid, key  # when n is 1, the trace's id
        assert math.isclose(got[1], x, abs_tol=1e-9) and math.isclose(got[2], y, abs_tol=1e-9)
    # Emptied cells hold nothing that could leak into a centre or an id later.
    leftovers = session.execute(
        text("SELECT count(*) FROM map_cells WHERE n = 0 AND (sum_id <> 0 OR sum_x <> 0)")
    ).scalar_one()
    assert leftovers == 0


def test_cells_equal_a_fresh_aggregation_after_any_writes(
    session: Session, make_user, make_project
) -> None:
    who = {"user": make_user().id, "project": make_project().id}
    # Whatever other data the database holds, it starts consistent.
    assert_cells_exact(session)

    @settings(max_examples=50, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(steps, min_size=1, max_size=8))
    def writes(sequence: list[tuple[Any, ...]]) -> None:
        savepoint = session.begin_nested()
        try:
            ids: list[int] = []
            for step in sequence:
                apply(session, step, ids, who)
            assert_cells_exact(session)
        finally:
            savepoint.rollback()

    writes()


def test_a_move_within_its_cell_moves_the_centre(session: Session, make_trace) -> None:
    """Count and id stay, the sums change: the cell must still be written."""
    trace = make_trace(Point(23.3, 69.9))
    session.execute(
        text("UPDATE traces SET geom = ST_SetSRID(ST_MakePoint(23.31, 69.9), 4326) WHERE id = :id"),
        {"id": trace.id},
    )
    centres = session.execute(
        text("SELECT DISTINCT sum_x / n FROM map_cells WHERE n > 0 AND zoom <= 5")
    ).scalars()
    assert list(centres) == [23.31]
    assert_cells_exact(session)


def test_rebuild_gives_the_same_cells(session: Session, make_trace) -> None:
    make_trace(Point(23.3, 69.9))
    make_trace(Point(23.31, 69.91), sensitivity_override=True)
    make_trace(Point(23.5, 70.0), status=TraceStatus.PENDING)
    before = cells(session, STORED)
    session.execute(text("SELECT heritage_map_cells_rebuild()"))
    assert cells(session, STORED) == before
    assert_cells_exact(session)


def test_python_grid_matches_the_sql_grid(session: Session) -> None:
    """app.traces.tiles computes tile ranges in Python; they must be the trigger's cells."""
    for lon, lat in [(-180, -85.1), (0, 0), (23.27, 69.97), (10.75, 59.91), (179.999, 85.06)]:
        for z in (0, 5, 11, 17):
            sql = session.execute(
                text("SELECT heritage_cell_x(:x, :z), heritage_cell_y(:y, :z)"),
                {"x": lon, "y": lat, "z": z},
            ).one()
            assert tuple(sql) == (cell_x(lon, z), cell_y(lat, z)), (lon, lat, z)


# --- a moderator's decision shows on the next request ---------------------------------------


def tile_count(client: Any, lon: float, lat: float, z: int = 7) -> list[dict[str, Any]]:
    """The features of the tile holding the point."""
    x, y = tile_xy(lon, lat, z)
    response = client.get(f"/api/map/tiles/{z}/{x}/{y}")
    assert response.status_code == 200
    return json.loads(response.get_data())["features"]


def test_decisions_show_on_the_next_tile_request(
    app: Flask, session: Session, make_user, make_project, make_trace
) -> None:
    librarian, project = make_user(), make_project()
    session.add(Membership(project_id=project.id, user_id=librarian.id,
                           role=MembershipRole.LIBRARIAN))  # fmt: skip
    session.commit()
    trace = make_trace(Point(23.3, 69.9), status=TraceStatus.PENDING, project=project)
    public = app.test_client()
    assert tile_count(public, 23.3, 69.9) == []

    moderator = app.test_client()
    token = log_in(moderator, librarian.email)

    def act(path: str, **data: Any) -> None:
        session.refresh(trace)
        response = moderator.post(
            path, data={"csrf_token": token, "version": trace.version, "next": "/", **data}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:300]

    act(f"/moderation/decision/{trace.id}", action="approve", reason="")
    shown = tile_count(public, 23.3, 69.9)
    assert [(f["properties"]["count"], f["properties"]["id"]) for f in shown] == [(1, trace.id)]
    assert shown[0]["geometry"]["coordinates"] == [23.3, 69.9]

    # Protected: still counted, but at its public point.
    act(f"/moderation/sensitivity/{trace.id}", choice="sensitive")
    session.refresh(trace)
    assert trace.is_sensitive
    public_point = to_shape(trace.public_geom).coords[0]  # as the database stored it
    z3 = tile_count(public, 23.3, 69.9, z=3)  # the public point lies within a few km
    assert [f["properties"]["count"] for f in z3] == [1]
    assert z3[0]["geometry"]["coordinates"] == [
        round(public_point[0], 6),
        round(public_point[1], 6),
    ]
    assert z3[0]["geometry"]["coordinates"] != [23.3, 69.9]

    act(f"/moderation/decision/{trace.id}", action="delete", reason="Feil")
    assert tile_count(public, 23.3, 69.9, z=3) == []


def test_rejection_takes_a_trace_off_the_map(app: Flask, session: Session, make_trace) -> None:
    trace = make_trace(Point(23.3, 69.9))
    public = app.test_client()
    assert len(tile_count(public, 23.3, 69.9)) == 1
    session.execute(
        text("UPDATE traces SET status = 'rejected', decided_by_id = author_id WHERE id = :id"),
        {"id": trace.id},
    )
    session.commit()
    assert tile_count(public, 23.3, 69.9) == []
