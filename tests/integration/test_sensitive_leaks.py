"""A sensitive site's precise location reaches no public channel (docs/security.md items 12, 36).

The public sees the centre of a 1.5 km cell, the same on every request and every channel;
bounding-box queries can only ever find it there. The author and moderators see it precisely.
"""

from __future__ import annotations

import re

import pytest
from pyproj import Geod
from shapely.geometry import Point

from app.models import Membership, MembershipRole, Revision, TraceStatus
from geo.privacy import generalise_location

PRECISE = (23.2716, 69.9690)  # 417 m from its cell centre
GEOD = Geod(ellps="WGS84")


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def bbox(west: float, south: float, east: float, north: float) -> str:
    return f"{west},{south},{east},{north}"


@pytest.fixture
def site(session, make_user, make_project, make_trace):
    project = make_project()
    author = make_user()
    trace = make_trace(
        Point(*PRECISE), status=TraceStatus.APPROVED, author=author, project=project,
        title="Helleristning", sensitivity_override=True,
    )  # fmt: skip
    session.add(Revision(trace_id=trace.id, version=1, event={"kind": "submitted"}, geom=trace.geom,
                         snapshot={"title": trace.title, "status": "approved"}))  # fmt: skip
    session.commit()
    public = generalise_location(Point(*PRECISE))
    return {"trace": trace, "author": author, "project": project,
            "public": (public.x, public.y)}  # fmt: skip


def _points_in(text: str) -> list[tuple[float, float]]:
    """Every lon/lat-looking number pair near the site in a response body."""
    pairs = re.findall(r"(2[0-9]\.\d+)\s*,\s*(6[0-9]\.\d+)", text)
    latlon = re.findall(r"(6[0-9]\.\d+)\s*,\s*(2[0-9]\.\d+)", text)
    return [(float(a), float(b)) for a, b in pairs] + [(float(b), float(a)) for a, b in latlon]


def _assert_no_precise(text: str) -> None:
    for point in _points_in(text):
        assert metres(point, PRECISE) > 150, f"{point} is {metres(point, PRECISE):.0f} m away"


def test_database_and_python_agree_on_the_public_point(session, site):
    session.refresh(site["trace"])
    from geoalchemy2.shape import to_shape

    stored = to_shape(site["trace"].public_geom)
    assert site["trace"].is_sensitive
    assert metres((stored.x, stored.y), site["public"]) < 0.5
    assert metres(site["public"], PRECISE) > 300


def test_map_data_shows_only_the_cell_centre_every_time(client, site):
    seen = set()
    for _ in range(3):
        body = client.get(f"/api/map?bbox={bbox(23.1, 69.9, 23.4, 70.05)}&zoom=14").get_json()
        (feature,) = body["features"]
        seen.add(tuple(feature["geometry"]["coordinates"]))
        assert feature["properties"]["approximate"] is True
    (point,) = seen
    assert metres(point, site["public"]) < 0.5


def test_bounding_boxes_cannot_bisect_below_the_cell(client, site):
    px, py = PRECISE
    qx, qy = site["public"]
    # A tiny box around the precise spot finds nothing...
    tiny = bbox(px - 0.0005, py - 0.0002, px + 0.0005, py + 0.0002)
    assert client.get(f"/api/map?bbox={tiny}&zoom=18").get_json()["features"] == []
    # ...and any box around the cell centre finds the centre, never more.
    box = bbox(qx - 0.0005, qy - 0.0002, qx + 0.0005, qy + 0.0002)
    (feature,) = client.get(f"/api/map?bbox={box}&zoom=18").get_json()["features"]
    assert metres(tuple(feature["geometry"]["coordinates"]), site["public"]) < 0.5
    # Halving boxes around the precise point, as an attacker would, never yields it.
    west, south, east, north = 23.0, 69.8, 23.6, 70.1
    for _ in range(12):
        mid_x, mid_y = (west + east) / 2, (south + north) / 2
        west, east = (west, mid_x) if px < mid_x else (mid_x, east)
        south, north = (south, mid_y) if py < mid_y else (mid_y, north)
        body = client.get(f"/api/map?bbox={bbox(west, south, east, north)}&zoom=16").get_json()
        for f in body["features"]:
            assert metres(tuple(f["geometry"]["coordinates"]), site["public"]) < 0.5


def test_clusters_are_counted_at_the_public_point(client, site):
    body = client.get(f"/api/map?bbox={bbox(20, 68, 26, 71)}&zoom=7").get_json()
    (cluster,) = body["features"]
    assert cluster["properties"]["count"] == 1
    assert metres(tuple(cluster["geometry"]["coordinates"]), PRECISE) > 150


@pytest.mark.parametrize(
    "path", ["/traces/{id}", "/api/traces/{id}", "/traces/{id}/history?version=1"]
)
def test_pages_and_api_carry_no_precise_coordinates(client, site, path):
    response = client.get(path.format(id=site["trace"].id))
    assert response.status_code == 200
    _assert_no_precise(response.get_data(as_text=True))


def test_api_says_the_location_is_generalised(client, site):
    body = client.get(f"/api/traces/{site['trace'].id}").get_json()
    assert body["properties"]["location"] == "generalised"
    assert metres(tuple(body["geometry"]["coordinates"]), site["public"]) < 0.5


def test_a_plain_resident_sees_it_generalised_too(app, client, login, make_user, site):
    login(make_user())
    body = client.get(f"/api/map?bbox={bbox(23.1, 69.9, 23.4, 70.05)}&zoom=14").get_json()
    (feature,) = body["features"]
    assert metres(tuple(feature["geometry"]["coordinates"]), site["public"]) < 0.5


def test_author_and_curators_see_it_precisely(client, login, session, make_user, site):
    login(site["author"])
    (feature,) = client.get(f"/api/map?bbox={bbox(23.1, 69.9, 23.4, 70.05)}&zoom=14").get_json()[
        "features"
    ]
    assert metres(tuple(feature["geometry"]["coordinates"]), PRECISE) < 0.5
    client.post("/logout", data={"csrf_token": _token(client)})

    curator = make_user()
    session.add(Membership(project_id=site["project"].id, user_id=curator.id,
                           role=MembershipRole.CURATOR))  # fmt: skip
    session.commit()
    login(curator)
    body = client.get(f"/api/traces/{site['trace'].id}").get_json()
    assert body["properties"]["location"] == "precise"
    assert metres(tuple(body["geometry"]["coordinates"]), PRECISE) < 0.5


def _token(client) -> str:
    from tests.conftest import csrf_from

    return csrf_from(client.get("/").get_data(as_text=True))


def test_the_page_check_would_catch_a_precise_location(client, login, site):
    """Guards the guard: the author's own page does carry the precise spot, and it is found."""
    login(site["author"])
    page = client.get(f"/traces/{site['trace'].id}").get_data(as_text=True)
    assert any(metres(p, PRECISE) < 1 for p in _points_in(page))


def test_the_trace_page_map_seen_precisely_first_is_not_reused_for_the_public(
    client, app, site, login
) -> None:
    """The page's map is cached per shape: the author's precise map must never be the one an
    anonymous visitor gets next, in either order."""
    path = f"/traces/{site['trace'].id}"
    login(site["author"])
    precise_page = client.get(path).get_data(as_text=True)
    assert any(metres(p, PRECISE) < 5 for p in _points_in(precise_page)), "the premise"
    client.post("/logout", data={"csrf_token": _token(client)})
    _assert_no_precise(client.get(path).get_data(as_text=True))
    with app.test_client() as stranger:
        _assert_no_precise(stranger.get(path).get_data(as_text=True))
