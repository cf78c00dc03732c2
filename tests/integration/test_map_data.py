"""GET /api/map: visible traces in a bounding box, clusters when zoomed out, the spatial index."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.models import Membership, MembershipRole, TraceStatus, UserRole
from tests.conftest import log_in

# A corner of Finnmark that no other test uses; Oslo is far outside it.
BBOX = "24.0,70.0,25.0,70.5"
INSIDE = Point(24.5, 70.25)
OUTSIDE = Point(10.75, 59.91)
ZOOMED_IN = 14
ZOOMED_OUT = 6


def map_data(client: FlaskClient, bbox: str = BBOX, zoom: int = ZOOMED_IN) -> dict[str, Any]:
    """The /api/map answer for the view (asserting a 200 GeoJSON FeatureCollection)."""
    response = client.get(f"/api/map?bbox={bbox}&zoom={zoom}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    body = json.loads(response.get_data())
    assert body["type"] == "FeatureCollection"
    return body


def ids(body: dict[str, Any]) -> set[int]:
    """The ids of the features shown."""
    return {f["id"] for f in body["features"]}


# --- which traces ---------------------------------------------------------------------------


def test_approved_traces_inside_the_bbox(anonymous: FlaskClient, make_trace) -> None:
    point = make_trace(INSIDE, title="Inne")
    line = make_trace(LineString([(24.1, 70.1), (24.2, 70.2)]), title="Sti")
    area = make_trace(
        Polygon([(24.3, 70.3), (24.4, 70.3), (24.4, 70.4), (24.3, 70.3)]), title="Tuft"
    )
    # A line crossing the edge of the view is shown too.
    crossing = make_trace(LineString([(23.5, 70.25), (24.5, 70.25)]), title="Over kanten")
    outside = make_trace(OUTSIDE, title="Ute")

    body = map_data(anonymous)
    assert ids(body) == {point.id, line.id, area.id, crossing.id}
    assert outside.id not in ids(body)
    assert body["clustered"] is False
    assert body["truncated"] is False
    assert body["count"] == 4
    by_id = {f["id"]: f for f in body["features"]}
    assert by_id[point.id]["geometry"] == {"type": "Point", "coordinates": [24.5, 70.25]}
    assert by_id[point.id]["properties"] == {
        "title": "Inne",
        "status": "approved",
        "type": None,
        "approximate": False,
        "photo": None,  # no public photo (tests/integration/test_photos_display.py)
    }
    assert by_id[area.id]["geometry"]["type"] == "Polygon"


def test_map_properties_leak_no_description(anonymous: FlaskClient, make_trace) -> None:
    make_trace(INSIDE, description="Hemmelig beskrivelse", sources="Bestefar")
    text_ = json.dumps(map_data(anonymous))
    assert "Hemmelig" not in text_
    assert "Bestefar" not in text_
    assert "author" not in text_


def test_empty_view(anonymous: FlaskClient, make_trace) -> None:
    make_trace(OUTSIDE)
    body = map_data(anonymous)
    assert body["features"] == []
    assert body["count"] == 0


@pytest.mark.parametrize(
    "status",
    [TraceStatus.PENDING, TraceStatus.REJECTED, TraceStatus.DELETED, TraceStatus.DRAFT,
     TraceStatus.NEEDS_CHANGES, TraceStatus.WITHDRAWN],
)  # fmt: skip
def test_unapproved_never_shown_to_anonymous(
    anonymous: FlaskClient, make_trace, status: TraceStatus
) -> None:
    approved = make_trace(INSIDE)
    hidden = make_trace(INSIDE, status=status)
    assert ids(map_data(anonymous)) == {approved.id}
    clusters = map_data(anonymous, zoom=ZOOMED_OUT)["features"]
    assert [(f["properties"]["count"], f["properties"]["id"]) for f in clusters] == [
        (1, approved.id)
    ]
    assert hidden.id != approved.id


def test_pending_only_for_the_author(app: Flask, session: Session, make_user, make_trace) -> None:
    author, neighbour = make_user(), make_user()
    approved = make_trace(INSIDE)
    pending = make_trace(INSIDE, status=TraceStatus.PENDING, author=author, title="Min")
    deleted = make_trace(INSIDE, status=TraceStatus.DELETED, author=author)

    assert ids(map_data(app.test_client())) == {approved.id}

    other = app.test_client()
    log_in(other, neighbour.email)
    assert ids(map_data(other)) == {approved.id}

    own = app.test_client()
    log_in(own, author.email)
    response = own.get(f"/api/map?bbox={BBOX}&zoom={ZOOMED_IN}")
    assert "no-store" in response.headers["Cache-Control"]
    body = json.loads(response.get_data())
    assert ids(body) == {approved.id, pending.id}
    assert deleted.id not in ids(body)
    statuses = {f["id"]: f["properties"]["status"] for f in body["features"]}
    assert statuses[pending.id] == "pending"


def test_low_zoom_clusters_add_the_viewers_own_pending(
    app: Flask, session: Session, make_user, make_trace
) -> None:
    author = make_user()
    approved = make_trace(INSIDE)
    make_trace(Point(24.9, 70.45), status=TraceStatus.PENDING, author=author)
    clusters = map_data(app.test_client(), zoom=ZOOMED_OUT)
    assert clusters["count"] == 1
    assert clusters["features"][0]["properties"]["id"] == approved.id
    own = app.test_client()
    log_in(own, author.email)
    assert map_data(own, zoom=ZOOMED_OUT)["count"] == 2
    assert map_data(own, zoom=2)["count"] == 2


def test_project_librarian_sees_pending_but_not_deleted(
    app: Flask, session, make_user, make_project, make_trace
) -> None:
    librarian = make_user(role=UserRole.LIBRARIAN)
    project, other_project = make_project(), make_project()
    session.add(Membership(project_id=project.id, user_id=librarian.id,
                           role=MembershipRole.LIBRARIAN))  # fmt: skip
    session.commit()
    pending = make_trace(INSIDE, status=TraceStatus.PENDING, project=project)
    make_trace(INSIDE, status=TraceStatus.PENDING, project=other_project)  # not theirs
    make_trace(INSIDE, status=TraceStatus.DELETED, project=project)
    client = app.test_client()
    log_in(client, librarian.email)
    assert ids(map_data(client)) == {pending.id}


def test_anonymous_answer_is_cacheable_and_varies_on_cookie(anonymous: FlaskClient) -> None:
    response = anonymous.get(f"/api/map?bbox={BBOX}&zoom={ZOOMED_IN}")
    assert response.headers["Cache-Control"].startswith("public")
    assert "Cookie" in response.headers["Vary"]


# --- clusters and truncation --------------------------------------------------------------


def test_low_zoom_answers_with_clusters(app: Flask, anonymous: FlaskClient, make_trace) -> None:
    for i in range(5):
        make_trace(Point(24.1 + i * 0.01, 70.1))
    make_trace(Point(24.9, 70.45))
    make_trace(INSIDE, status=TraceStatus.PENDING)
    make_trace(OUTSIDE)

    zoom = app.config["MAP_CLUSTER_BELOW_ZOOM"] - 1
    body = map_data(anonymous, zoom=zoom)
    assert body["clustered"] is True
    assert body["count"] == 6
    counts = [f["properties"]["count"] for f in body["features"]]
    assert sum(counts) == 6
    assert all(f["geometry"]["type"] == "Point" for f in body["features"])
    # At the cluster threshold itself the shapes come back.
    shapes = map_data(anonymous, zoom=app.config["MAP_CLUSTER_BELOW_ZOOM"])
    assert shapes["clustered"] is False
    assert len(shapes["features"]) == 6


def test_far_out_everything_visible_is_one_cluster(anonymous: FlaskClient, make_trace) -> None:
    for i in range(3):
        make_trace(Point(24.1 + i * 0.001, 70.1))
    body = map_data(anonymous, zoom=2)
    assert [f["properties"]["count"] for f in body["features"]] == [3]
    assert body["features"][0]["properties"]["id"] is None


def test_truncated_at_the_limit(app: Flask, anonymous: FlaskClient, make_trace) -> None:
    for _ in range(4):
        make_trace(INSIDE)
    saved = app.config["MAP_MAX_FEATURES"]
    app.config["MAP_MAX_FEATURES"] = 3
    try:
        body = map_data(anonymous)
    finally:
        app.config["MAP_MAX_FEATURES"] = saved
    assert body["truncated"] is True
    assert len(body["features"]) == 3
    assert body["count"] == 3
    exact = map_data(anonymous)
    assert exact["truncated"] is False
    assert len(exact["features"]) == 4


# --- bad queries ----------------------------------------------------------------------------

BAD = {
    "missing bbox": "zoom=14",
    "empty bbox": "bbox=&zoom=14",
    "three numbers": "bbox=24,70,25&zoom=14",
    "five numbers": "bbox=24,70,25,71,3&zoom=14",
    "NaN": "bbox=NaN,70,25,71&zoom=14",
    "Infinity": "bbox=24,70,inf,71&zoom=14",
    "west > east": "bbox=25,70,24,71&zoom=14",
    "south > north": "bbox=24,71,25,70&zoom=14",
    "zero width": "bbox=24,70,24,71&zoom=14",
    "letters": "bbox=a,b,c,d&zoom=14",
    "entirely east of 180": "bbox=200,70,210,71&zoom=14",
    "zoom not a number": "bbox=24,70,25,71&zoom=far",
}


@pytest.mark.parametrize("query", BAD.values(), ids=BAD.keys())
def test_bad_viewport_is_400_problem(anonymous: FlaskClient, query: str) -> None:
    response = anonymous.get(f"/api/map?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400
    assert problem["code"] == "bad_viewport"
    assert problem["detail"]


# --- the spatial index ----------------------------------------------------------------------

ROWS = 2_000


def test_viewport_query_uses_the_gist_index(
    app: Flask, anonymous: FlaskClient, session: Session, make_user, make_project
) -> None:
    user, project = make_user(), make_project()
    # A grid of approved points over Norway: 50 columns (5..25 E) x 40 rows (58..68 N).
    session.execute(
        text(
            """
            INSERT INTO traces (project_id, author_id, title, geom, licence, status, version,
                                approved_by_id, approved_at, submitted_at)
            SELECT :project, :user, 'Spor ' || i,
                   ST_SetSRID(ST_MakePoint(5 + (i % 50) * 0.4, 58 + (i / 50) * 0.25), 4326),
                   'CC-BY-4.0', 'approved', 1, :user, now(), now()
            FROM generate_series(0, :rows - 1) AS i
            """
        ),
        {"project": project.id, "user": user.id, "rows": ROWS},
    )
    session.execute(text("ANALYZE traces"))

    # Capture the statement the endpoint really runs, then ask the planner about it.
    captured: list[tuple[str, Any]] = []

    def remember(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "ST_MakeEnvelope" in statement:
            captured.append((statement, parameters))

    connection = session.connection()
    event.listen(connection, "before_cursor_execute", remember)
    try:
        body = map_data(anonymous, bbox="10.1,60.1,11.7,61.1", zoom=ZOOMED_IN)
    finally:
        event.remove(connection, "before_cursor_execute", remember)
    assert body["count"] == 16  # 4 x 4 grid points inside the view
    assert len(captured) == 1

    statement, parameters = captured[0]
    plan = (
        session.connection()
        .exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
        .scalar_one()
    )
    plan_text = json.dumps(plan)
    nodes = list(plan_nodes(plan[0]["Plan"]))
    assert any(node.get("Index Name") == "idx_traces_geom" for node in nodes), plan_text
    assert not any(
        node["Node Type"] == "Seq Scan" and node.get("Relation Name") == "traces" for node in nodes
    ), plan_text


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of an EXPLAIN (FORMAT JSON) plan tree."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)
