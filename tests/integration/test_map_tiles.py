"""GET /api/map/tiles/<z>/<x>/<y>: clusters from the precomputed cells, cacheable when public,
the viewer's own extras when logged in, filters, and the nearest place name."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from shapely.geometry import Point
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.models import Membership, MembershipRole, Scheme, Term, TraceStatus, UserRole
from geo.cells import tile_xy
from tests.conftest import csrf_from, log_in

# Finnmark, away from other tests' points. Tile 6/36/13 holds 24-30 E, 69.6-71.0 N or so.
A = Point(24.50, 70.25)
B = Point(24.51, 70.26)  # the same z6 cell as A
FAR = Point(10.75, 59.91)  # Oslo: another tile


def tile_of(point: Point, z: int) -> tuple[int, int]:
    """The x, y of the tile that holds a point."""
    return tile_xy(point.x, point.y, z)


def tile_url(point: Point, z: int, query: str = "") -> str:
    """The address of the tile holding the point, with an optional query string."""
    x, y = tile_of(point, z)
    return f"/api/map/tiles/{z}/{x}/{y}" + (f"?{query}" if query else "")


def get_tile(client: FlaskClient, point: Point, z: int, query: str = "") -> dict[str, Any]:
    """The tile holding the point (asserting a 200 GeoJSON answer)."""
    response = client.get(tile_url(point, z, query))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/geo+json"
    return json.loads(response.get_data())


def counts(body: dict[str, Any]) -> list[tuple[int, int | None]]:
    """(count, id of a singleton) of each cluster, sorted."""
    return sorted((f["properties"]["count"], f["properties"]["id"]) for f in body["features"])


# --- the contract -------------------------------------------------------------------------


def test_tile_holds_the_clusters_of_its_cells(anonymous: FlaskClient, make_trace) -> None:
    a = make_trace(A, title="Tuft")
    b = make_trace(B)
    lone = make_trace(Point(27.0, 69.5), title="Alene")
    make_trace(FAR)
    body = get_tile(anonymous, A, 6)
    assert body["type"] == "FeatureCollection"
    assert body["clustered"] is True
    assert body["count"] == 3
    assert counts(body) == [(1, lone.id), (2, None)]
    by_count = {f["properties"]["count"]: f for f in body["features"]}
    pair = by_count[2]
    assert pair["geometry"]["type"] == "Point"
    lon, lat = pair["geometry"]["coordinates"]
    assert lon == pytest.approx((A.x + B.x) / 2, abs=1e-6)
    assert lat == pytest.approx((A.y + B.y) / 2, abs=1e-6)
    assert pair["properties"]["title"] is None
    assert by_count[1]["properties"]["title"] == "Alene"
    assert by_count[1]["geometry"]["coordinates"] == [27.0, 69.5]
    assert {a.id, b.id}.isdisjoint({f["properties"]["id"] for f in body["features"]})


def test_empty_tile(anonymous: FlaskClient, make_trace) -> None:
    make_trace(FAR)
    body = get_tile(anonymous, A, 8)
    assert body["features"] == [] and body["count"] == 0


def test_every_zoom_counts_the_same_traces(anonymous: FlaskClient, make_trace) -> None:
    for i in range(4):
        make_trace(Point(24.5 + i * 0.002, 70.25))
    for z in (0, 3, 5, 9, 11):
        assert get_tile(anonymous, A, z)["count"] == 4, z


@pytest.mark.parametrize("path", ["3/8/0", "3/0/8", "23/0/0", "2/4/1", "0/1/0"])
def test_bad_tile_is_400_problem(anonymous: FlaskClient, path: str) -> None:
    response = anonymous.get(f"/api/map/tiles/{path}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "bad_tile"


def test_negative_or_huge_numbers_are_no_tile(anonymous: FlaskClient) -> None:
    assert anonymous.get("/api/map/tiles/3/-1/0").status_code == 404
    assert anonymous.get("/api/map/tiles/3/0/99999999999999999999").status_code == 404


# --- caching ------------------------------------------------------------------------------


def test_anonymous_tile_is_public_with_validators(
    app: Flask, anonymous: FlaskClient, make_trace
) -> None:
    make_trace(A)
    url = tile_url(A, 7)
    first = anonymous.get(url)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == f"public, max-age={app.config['MAP_TILE_MAX_AGE']}"
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["Last-Modified"]
    assert "Set-Cookie" not in first.headers
    assert "Cookie" not in first.headers.get("Vary", "")

    again = anonymous.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag

    # A change in the tile changes the ETag: the old one no longer validates.
    make_trace(Point(24.6, 70.3))
    changed = anonymous.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert json.loads(changed.get_data())["count"] == 2


def test_tile_sets_no_cookie_for_a_visitor_who_chose_a_language(
    app: Flask, anonymous: FlaskClient, make_trace
) -> None:
    """A visitor who chose a language carries cookies; a shared answer must set none."""
    make_trace(A)
    token = csrf_from(anonymous.get("/projects/").get_data(as_text=True))
    anonymous.post("/language", data={"lang": "en", "csrf_token": token})
    assert anonymous.get_cookie("lang").value == "en"  # the choice is a cookie now
    tile = anonymous.get(tile_url(A, 7))
    assert tile.headers["Cache-Control"].startswith("public")
    assert "Set-Cookie" not in tile.headers


def test_last_modified_follows_the_cells(
    anonymous: FlaskClient, session: Session, make_trace
) -> None:
    make_trace(A)
    stamp = session.execute(
        text("SELECT max(updated_at) FROM map_cells WHERE zoom = 7 AND n > 0")
    ).scalar_one()
    response = anonymous.get(tile_url(A, 7))
    assert response.last_modified is not None
    assert response.last_modified.replace(microsecond=0) == stamp.replace(microsecond=0)


def test_no_cookie_even_with_an_error_free_fresh_client(app: Flask, session: Session) -> None:
    fresh = app.test_client()
    response = fresh.get("/api/map/tiles/5/17/8")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert fresh.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None


def test_logged_in_answer_is_private(app: Flask, session: Session, make_user, make_trace) -> None:
    make_trace(A)
    user = make_user()
    client = app.test_client()
    log_in(client, user.email)
    response = client.get(tile_url(A, 7))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in response.headers


# --- what each viewer sees ----------------------------------------------------------------


def test_pending_trace_only_for_its_author(
    app: Flask, session: Session, make_user, make_trace
) -> None:
    author, neighbour = make_user(), make_user()
    approved = make_trace(A)
    pending = make_trace(Point(27.0, 69.5), status=TraceStatus.PENDING, author=author)
    make_trace(B, status=TraceStatus.DELETED, author=author)
    make_trace(B, status=TraceStatus.REJECTED, author=neighbour)

    assert counts(get_tile(app.test_client(), A, 6)) == [(1, approved.id)]
    other = app.test_client()
    log_in(other, neighbour.email)
    # The neighbour's own rejected trace is theirs to see: B shares A's cell, one cluster of 2.
    assert counts(get_tile(other, A, 6)) == [(2, None)]

    own = app.test_client()
    log_in(own, author.email)
    body = get_tile(own, A, 6)
    assert counts(body) == sorted([(1, approved.id), (1, pending.id)])
    assert body["count"] == 2


def test_moderator_sees_the_queue_of_their_project_only(
    app: Flask, session: Session, make_user, make_project, make_trace
) -> None:
    curator = make_user()
    project, other = make_project(), make_project()
    session.add(Membership(project_id=project.id, user_id=curator.id,
                           role=MembershipRole.CURATOR))  # fmt: skip
    session.commit()
    queued = make_trace(A, status=TraceStatus.PENDING, project=project)
    make_trace(Point(27.0, 69.5), status=TraceStatus.PENDING, project=other)
    client = app.test_client()
    log_in(client, curator.email)
    assert counts(get_tile(client, A, 6)) == [(1, queued.id)]


def test_admin_sees_every_hidden_trace_but_deleted(
    app: Flask, session: Session, make_user, make_trace
) -> None:
    admin = make_user(UserRole.ADMIN)
    make_trace(A, status=TraceStatus.PENDING)
    make_trace(B, status=TraceStatus.REJECTED)
    make_trace(B, status=TraceStatus.DELETED)
    client = app.test_client()
    log_in(client, admin.email)
    assert get_tile(client, A, 6)["count"] == 2


def test_protected_site_counted_at_its_public_point(
    anonymous: FlaskClient, session: Session, make_trace
) -> None:
    trace = make_trace(A, sensitivity_override=True)
    session.refresh(trace)
    assert trace.is_sensitive
    public = to_shape(trace.public_geom).coords[0]  # as the database stored it
    body = get_tile(anonymous, A, 11)  # a tile of about 40 km: the public point is in it or not
    shown = [f["geometry"]["coordinates"] for f in body["features"]]
    assert [A.x, A.y] not in shown
    in_tile = tile_of(Point(*public), 11) == tile_of(A, 11)
    assert shown == ([[round(public[0], 6), round(public[1], 6)]] if in_tile else [])


# --- filters ------------------------------------------------------------------------------


def test_filters_narrow_the_counts(
    anonymous: FlaskClient, session: Session, make_project, make_trace
) -> None:
    project = make_project(slug="finnmark-filter")
    types = _two_codes(session, Scheme.TRACE_TYPE)
    periods = _two_codes(session, Scheme.PERIOD)
    make_trace(A, trace_type_id=types[0].id, period_id=periods[0].id, project=project)
    make_trace(B, trace_type_id=types[0].id, period_id=periods[1].id)
    make_trace(Point(27.0, 69.5), trace_type_id=types[1].id, period_id=periods[1].id)
    make_trace(A, trace_type_id=types[0].id, status=TraceStatus.PENDING)  # never public

    assert get_tile(anonymous, A, 6)["count"] == 3
    assert get_tile(anonymous, A, 6, f"type={types[0].code}")["count"] == 2
    assert get_tile(anonymous, A, 6, f"type={types[1].code}")["count"] == 1
    assert get_tile(anonymous, A, 6, f"period={periods[1].code}")["count"] == 2
    both = get_tile(anonymous, A, 6, f"type={types[0].code}&period={periods[1].code}")
    assert counts(both)[0][0] == 1 and both["count"] == 1
    assert get_tile(anonymous, A, 6, "project=finnmark-filter")["count"] == 1
    # The same filters on /api/map, at a cluster zoom and at a shape zoom.
    for zoom in (6, 14):
        response = anonymous.get(f"/api/map?bbox=24,70,28,71&zoom={zoom}&type={types[0].code}")
        assert json.loads(response.get_data())["count"] == 2


def _two_codes(session: Session, scheme: Scheme) -> list[Term]:
    terms = list(
        session.execute(
            select(Term).where(Term.scheme == scheme).order_by(Term.sort_order).limit(2)
        ).scalars()
    )
    assert len(terms) == 2
    return terms


@pytest.mark.parametrize("query", ["type=no-such-type", "period=nope", "project=nowhere"])
def test_unknown_filter_is_400(anonymous: FlaskClient, query: str) -> None:
    for url in (f"/api/map/tiles/6/36/13?{query}", f"/api/map?bbox=24,70,28,71&zoom=6&{query}"):
        response = anonymous.get(url)
        assert response.status_code == 400, url
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["code"] == "unknown_filter"
        assert query.split("=")[1] in response.get_json()["detail"]


# --- names of places ----------------------------------------------------------------------


def test_clusters_name_the_nearest_place(
    anonymous: FlaskClient, session: Session, make_trace
) -> None:
    session.execute(
        text(
            "INSERT INTO places (name, geom, source, source_id) VALUES"
            " ('Nærby', ST_SetSRID(ST_MakePoint(24.52, 70.24), 4326), 'test', 'near'),"
            " ('Lenger unna', ST_SetSRID(ST_MakePoint(24.70, 70.30), 4326), 'test', 'farther')"
        )
    )
    session.commit()
    make_trace(A)
    make_trace(Point(27.5, 69.0))  # no place within a cell
    body = get_tile(anonymous, A, 6)
    names = {
        tuple(f["geometry"]["coordinates"]): f["properties"]["place"] for f in body["features"]
    }
    assert names == {(A.x, A.y): "Nærby", (27.5, 69.0): None}
    # At zoom 11 a cell is ~2 km wide: the place 1 km away still names it, at zoom 14... none.
    z11 = get_tile(anonymous, A, 11)
    assert [f["properties"]["place"] for f in z11["features"]] == ["Nærby"]


# --- the fixed statements of anonymous answers agree with the built ones ------------------


def test_anonymous_and_plain_logged_in_answers_agree(
    app: Flask, session: Session, make_user, make_trace
) -> None:
    """Anonymous answers run fixed SQL, logged-in ones a built query: with nothing private
    to add, both must give the same features (protected sites at their public point)."""
    make_trace(A, title="Tuft")
    make_trace(B, sensitivity_override=True)
    make_trace(Point(27.0, 69.5), title="Alene")
    make_trace(Point(24.52, 70.255), sensitivity_override=True, title="Vern")
    make_trace(Point(24.53, 70.25), status=TraceStatus.PENDING)  # someone else's
    viewer = app.test_client()
    log_in(viewer, make_user().email)
    anonymous = app.test_client()
    for z in (6, 9, 11):
        assert get_tile(viewer, A, z) == get_tile(anonymous, A, z), z
    view = "/api/map?bbox=24.4,70.2,24.6,70.3&zoom=14"
    shapes = [json.loads(c.get(view).get_data()) for c in (viewer, anonymous)]
    assert shapes[0] == shapes[1]
    assert shapes[0]["count"] == 3
    approximate = [f["properties"]["approximate"] for f in shapes[0]["features"]]
    assert sorted(approximate) == [False, True, True]


# --- zooms without cells ------------------------------------------------------------------


def test_from_the_cluster_zoom_on_a_tile_holds_shapes(
    app: Flask, anonymous: FlaskClient, make_trace
) -> None:
    trace = make_trace(A, title="Tuft")
    z = app.config["MAP_CLUSTER_BELOW_ZOOM"]
    body = get_tile(anonymous, A, z)
    assert body["clustered"] is False
    assert [f["id"] for f in body["features"]] == [trace.id]
    assert body["features"][0]["properties"]["title"] == "Tuft"


def test_above_the_cell_zooms_clusters_are_computed_on_the_same_grid(
    app: Flask, anonymous: FlaskClient, make_trace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAP_CLUSTER_BELOW_ZOOM", 15)
    near = make_trace(A)
    make_trace(Point(A.x + 0.0001, A.y))  # the same 64-px cell at zoom 13 (~5 m apart)
    make_trace(A, status=TraceStatus.PENDING)
    body = get_tile(anonymous, A, 13)
    assert body["clustered"] is True
    assert counts(body) == [(2, None)]
    assert near.id not in {f["properties"]["id"] for f in body["features"]}
    assert get_tile(anonymous, A, 14)["count"] == 2
