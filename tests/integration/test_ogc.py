"""OGC API - Features under /ogc: conformance paths, paging, filters, errors, protected sites."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from shapely.geometry import Point
from sqlalchemy import select

from app.db import db
from app.models import ExportLog, TraceStatus, UserRole
from app.publication.tokens import create_token
from tests.conftest import csrf_from

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
PRECISE = (23.2716, 69.9690)


def _json(response) -> dict:  # noqa: ANN001
    return json.loads(response.get_data(as_text=True))


def _link(body: dict, rel: str, media_type: str | None = None) -> str | None:
    for link in body["links"]:
        if link["rel"] == rel and (media_type is None or link["type"] == media_type):
            return link["href"]
    return None


def _get(client, url: str, **kwargs):  # noqa: ANN001, ANN202
    """GET an absolute link the API gave, through the test client."""
    parts = urlsplit(url)
    return client.get(parts.path + (f"?{parts.query}" if parts.query else ""), **kwargs)


def _approve_at(session, trace, when: str) -> None:  # noqa: ANN001
    trace.approved_at = datetime.fromisoformat(when)
    session.commit()


@pytest.fixture
def five(session, make_user, make_project, make_trace):  # noqa: ANN001, ANN201
    """Five approved traces in two projects, approved on five different days."""
    author = make_user()
    north, south = make_project("nord"), make_project("sor")
    traces = []
    for n in range(5):
        project = north if n < 3 else south
        trace = make_trace(Point(23.0 + n * 0.1, 69.9 + n * 0.01), author=author,
                           project=project, title=f"Spor {n}")  # fmt: skip
        _approve_at(session, trace, f"2026-10-0{n + 1}T12:00:00+00:00")
        traces.append(trace)
    return {"traces": traces, "north": north, "south": south, "author": author}


def test_landing_page_links_to_everything(client):
    response = client.get("/ogc")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Content-Security-Policy" in response.headers
    body = _json(response)
    assert body["title"] and body["description"]
    assert _link(body, "self", "application/json").endswith("/ogc?f=json")
    assert _link(body, "alternate", "text/html")
    assert _link(body, "conformance").endswith("/ogc/conformance")
    assert _link(body, "data").endswith("/ogc/collections")
    service_desc = _link(body, "service-desc", "application/vnd.oai.openapi+json;version=3.0")
    assert service_desc and _link(body, "service-doc", "text/html")
    api = _get(client, service_desc)
    assert api.status_code == 200
    assert api.mimetype == "application/vnd.oai.openapi+json"
    document = _json(api)
    assert document["openapi"].startswith("3.0")
    assert "/collections/{collectionId}/items" in document["paths"]
    assert client.get("/ogc/").status_code == 200
    doc = client.get("/ogc/api?f=html").get_data(as_text=True)
    assert "<h2><code>GET /collections/{collectionId}/items" in doc
    assert "A page of features" in doc and "<code>bbox-crs</code>" in doc


def test_conformance_lists_the_four_classes(client):
    body = _json(client.get("/ogc/conformance"))
    for name in ("core", "geojson", "html", "oas30"):
        assert CORE + name in body["conformsTo"]


def test_collections_are_the_projects_plus_traces_with_extents(client, five):
    body = _json(client.get("/ogc/collections"))
    by_id = {c["id"]: c for c in body["collections"]}
    assert {"traces", "nord", "sor"} <= set(by_id)
    assert body["collections"][0]["id"] == "traces"
    everything = by_id["traces"]
    assert everything["extent"]["spatial"]["bbox"] == [[23.0, 69.9, 23.4, 69.94]]
    assert everything["extent"]["spatial"]["crs"].endswith("/CRS84")
    assert everything["extent"]["temporal"]["interval"] == [["2026-10-01T12:00:00Z", None]]
    assert everything["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    assert everything["itemType"] == "feature"
    south = by_id["sor"]
    assert south["extent"]["spatial"]["bbox"] == [[23.3, 69.93, 23.4, 69.94]]
    assert south["extent"]["temporal"]["interval"][0][0] == "2026-10-04T12:00:00Z"
    assert _link(south, "items", "application/geo+json").endswith("/ogc/collections/sor/items")
    assert _link(south, "items", "text/html")
    assert _link(south, "self").endswith("/ogc/collections/sor")

    one = client.get("/ogc/collections/nord")
    assert one.status_code == 200 and _json(one)["id"] == "nord"
    assert _json(one)["extent"]["spatial"]["bbox"] == [[23.0, 69.9, 23.2, 69.92]]


def test_unknown_collection_and_feature_are_404_problems(client, five):
    for url in ("/ogc/collections/nowhere", "/ogc/collections/nowhere/items",
                "/ogc/collections/nord/items/999999", "/ogc/collections/nord/items/abc",
                f"/ogc/collections/nord/items/{five['traces'][4].id}"):  # fmt: skip
        response = client.get(url)
        assert response.status_code == 404, url
        assert response.mimetype == "application/problem+json", url
    feature = five["traces"][4].id
    assert client.get(f"/ogc/collections/sor/items/{feature}").status_code == 200
    assert client.get(f"/ogc/collections/traces/items/{feature}").status_code == 200


@pytest.mark.parametrize(
    "feature_id", ["2147483648", "99999999999", "0000000000000000002147483648", "1e3", "-1", "١"]
)
def test_feature_ids_beyond_an_integer_are_404(client, five, feature_id):
    response = client.get(f"/ogc/collections/traces/items/{feature_id}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_items_page_with_next_and_prev_links(client, five):
    response = client.get("/ogc/collections/traces/items?limit=2")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = _json(response)
    assert body["type"] == "FeatureCollection"
    assert (body["numberMatched"], body["numberReturned"]) == (5, 2)
    assert datetime.fromisoformat(body["timeStamp"]).tzinfo is not None
    assert _link(body, "self", "application/geo+json")
    assert _link(body, "alternate", "text/html")
    assert _link(body, "prev") is None
    query = parse_qs(urlsplit(_link(body, "next")).query)
    assert query["offset"] == ["2"] and query["limit"] == ["2"]

    seen = [f["id"] for f in body["features"]]
    pages = 1
    while _link(body, "next"):
        body = _json(_get(client, _link(body, "next")))
        seen += [f["id"] for f in body["features"]]
        pages += 1
        assert _link(body, "prev")
    assert pages == 3 and body["numberReturned"] == 1
    assert seen == sorted(t.id for t in five["traces"])
    feature = body["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    assert feature["properties"]["title"] == "Spor 4"

    project = _json(client.get("/ogc/collections/nord/items"))
    assert project["numberMatched"] == 3 and _link(project, "next") is None
    beyond = _json(client.get("/ogc/collections/traces/items?offset=10"))
    assert beyond["numberReturned"] == 0 and beyond["features"] == []


def test_bbox_filter(client, five):
    body = _json(client.get("/ogc/collections/traces/items?bbox=22.95,69.89,23.15,69.915"))
    assert [f["properties"]["title"] for f in body["features"]] == ["Spor 0", "Spor 1"]
    assert body["numberMatched"] == 2
    crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    same = client.get(
        f"/ogc/collections/traces/items?bbox=22.95,69.89,23.15,69.915&bbox-crs={crs84}"
    )
    assert _json(same)["numberMatched"] == 2
    nothing = _json(client.get("/ogc/collections/sor/items?bbox=22.95,69.89,23.15,69.915"))
    assert nothing["numberMatched"] == 0


@pytest.mark.parametrize(
    ("value", "titles"),
    [
        ("2026-10-02T12:00:00Z", ["Spor 1"]),
        ("2026-10-02T14:00:00+02:00", ["Spor 1"]),
        ("2026-10-03", ["Spor 2"]),
        ("2026-10-02T00:00:00Z/2026-10-04T12:00:00Z", ["Spor 1", "Spor 2", "Spor 3"]),
        ("2026-10-02/2026-10-03", ["Spor 1", "Spor 2"]),
        ("2026-10-04T00:00:00Z/..", ["Spor 3", "Spor 4"]),
        ("../2026-10-01T23:00:00Z", ["Spor 0"]),
        ("/2026-10-01", ["Spor 0"]),
        ("2026-10-02T12:00:00.5Z", []),
    ],
)
def test_datetime_filter(client, five, value, titles):
    response = client.get("/ogc/collections/traces/items", query_string={"datetime": value})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [f["properties"]["title"] for f in _json(response)["features"]] == titles


@pytest.mark.parametrize(
    "query",
    [
        "limit=0", "limit=ten", "limit=-1", "limit=", "offset=-1", "offset=x",
        "bbox=1,2,3", "bbox=1,2,3,4,5", "bbox=a,b,c,d", "bbox=10,61,11,60", "bbox=1,nan,2,3",
        "bbox=181,60,182,61", "bbox=1,2,3,4,inf,6",
        "bbox=23,69,24,70&bbox-crs=http://www.opengis.net/def/crs/EPSG/0/3857",
        "crs=http://www.opengis.net/def/crs/EPSG/0/25833",
        "datetime=yesterday", "datetime=2026-13-01", "datetime=2026-10-01T12:00:00",
        "datetime=2026-10-05/2026-10-01", "datetime=2026-10-01/2026-10-02/2026-10-03",
        "datetime=", "f=xml", "colour=red",
    ],
)  # fmt: skip
def test_invalid_parameters_are_400_problems(client, five, query):
    response = client.get(f"/ogc/collections/traces/items?{query}")
    assert response.status_code == 400, query
    assert response.mimetype == "application/problem+json"
    problem = _json(response)
    assert problem["status"] == 400
    # One stable title for every bad parameter; the detail names the parameter and the fault.
    assert problem["title"] == _json(client.get("/ogc?f=xml"))["title"]
    name = query.split("=")[0] if "&" not in query else "bbox-crs"
    assert problem["detail"].startswith(f"{name}: ") and len(problem["detail"]) > len(name) + 5
    assert problem["parameter"] == name


def test_only_approved_traces_are_served(client, session, make_trace, five):
    hidden = [
        make_trace(project=five["north"], status=status, title=f"Skjult {status.value}")
        for status in (TraceStatus.PENDING, TraceStatus.REJECTED, TraceStatus.DRAFT,
                       TraceStatus.DELETED)
    ]  # fmt: skip
    for collection in ("traces", "nord"):
        text = client.get(f"/ogc/collections/{collection}/items?limit=1000").get_data(as_text=True)
        assert "Skjult" not in text
        assert _json(client.get(f"/ogc/collections/{collection}"))["id"] == collection
        for trace in hidden:
            assert client.get(f"/ogc/collections/{collection}/items/{trace.id}").status_code == 404
    assert _json(client.get("/ogc/collections/traces/items"))["numberMatched"] == 5


@pytest.fixture
def site(session, make_user, make_project, make_trace):  # noqa: ANN001, ANN201
    """A protected site in one project and an admin to hand out tokens."""
    project, other = make_project("vern"), make_project("annet")
    trace = make_trace(Point(*PRECISE), project=project, title="Helleristning",
                       sensitivity_override=True)  # fmt: skip
    return {"trace": trace, "project": project, "other": other,
            "admin": make_user(UserRole.ADMIN)}  # fmt: skip


def _token(app: Flask, creator, project_ids: list[int]) -> str:  # noqa: ANN001
    with app.app_context():
        _, plain = create_token(creator, "Fylkesmuseet", project_ids)
        db.session.commit()
    return plain


def _coordinates(client, url: str, **kwargs) -> list[float]:  # noqa: ANN001
    response = client.get(url, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = _json(response)
    feature = body["features"][0] if "features" in body else body
    return feature["geometry"]["coordinates"], feature["properties"]["location"]


def test_protected_site_is_generalised_for_the_public_and_stable(client, session, site):
    item = f"/ogc/collections/vern/items/{site['trace'].id}"
    answers = [_coordinates(client, item) for _ in range(3)]
    answers += [_coordinates(client, "/ogc/collections/traces/items") for _ in range(3)]
    assert all(answer == answers[0] for answer in answers)
    point, location = answers[0]
    assert location == "generalised"
    assert point != list(PRECISE)
    assert abs(point[0] - PRECISE[0]) > 1e-4 or abs(point[1] - PRECISE[1]) > 1e-4
    assert str(PRECISE[0]) not in client.get("/ogc/collections").get_data(as_text=True)
    # A tiny box around the precise spot finds nothing; one around the cell centre finds it.
    west, south = PRECISE[0] - 0.001, PRECISE[1] - 0.001
    tiny = f"{west},{south},{PRECISE[0] + 0.001},{PRECISE[1] + 0.001}"
    assert _json(client.get(f"/ogc/collections/vern/items?bbox={tiny}"))["numberMatched"] == 0
    around = f"{point[0] - 0.001},{point[1] - 0.001},{point[0] + 0.001},{point[1] + 0.001}"
    assert _json(client.get(f"/ogc/collections/vern/items?bbox={around}"))["numberMatched"] == 1
    assert session.execute(select(ExportLog)).scalars().all() == []  # the public is not logged


def test_partner_token_sees_its_projects_precisely_and_is_logged(app, client, session, site):
    item = f"/ogc/collections/vern/items/{site['trace'].id}"
    scoped = {"Authorization": "Bearer " + _token(app, site["admin"], [site["project"].id])}
    point, location = _coordinates(client, item, headers=scoped)
    assert location == "precise" and point == list(PRECISE)
    point, _ = _coordinates(client, "/ogc/collections/traces/items?limit=5", headers=scoped)
    assert point == list(PRECISE)
    response = client.get(item, headers=scoped)
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Authorization" in response.headers["Vary"]

    elsewhere = {"Authorization": "Bearer " + _token(app, site["admin"], [site["other"].id])}
    point, location = _coordinates(client, item, headers=elsewhere)
    assert location == "generalised" and point != list(PRECISE)

    everywhere = {"Authorization": "Bearer " + _token(app, site["admin"], [])}
    assert _coordinates(client, item, headers=everywhere)[1] == "precise"

    logs = session.execute(select(ExportLog).order_by(ExportLog.id)).scalars().all()
    assert [log.channel for log in logs] == ["ogc"] * 5
    assert [log.precise for log in logs] == [True, True, True, False, True]
    page = logs[1]
    assert page.format == "json" and page.feature_count == 1
    assert page.query == {"collection": "traces", "limit": "5", "offset": "0"}
    assert logs[0].query == {"collection": "vern", "feature": str(site["trace"].id)}
    assert all(log.partner_token_id for log in logs)


def test_a_wrong_token_is_refused(client, site):
    response = client.get("/ogc/collections", headers={"Authorization": "Bearer hp_nonsense"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_moderator_in_a_browser_sees_precisely(client, login, session, site):
    from app.models import Membership, MembershipRole

    librarian = site["admin"]
    librarian.role = UserRole.RESIDENT
    session.add(Membership(project_id=site["project"].id, user_id=librarian.id,
                           role=MembershipRole.LIBRARIAN))  # fmt: skip
    session.commit()
    login(librarian)
    item = f"/ogc/collections/vern/items/{site['trace'].id}"
    assert _coordinates(client, item)[1] == "precise"
    extent = _json(client.get("/ogc/collections/vern"))["extent"]["spatial"]["bbox"]
    assert extent == [[*PRECISE, *PRECISE]]
    assert session.execute(select(ExportLog)).scalars().all() == []
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    extent = _json(client.get("/ogc/collections/vern"))["extent"]["spatial"]["bbox"]
    assert extent != [[*PRECISE, *PRECISE]]


def test_html_pages_escape_user_text(client, make_trace, make_project):
    hostile = '<script>alert("x")</script>'
    trace = make_trace(project=make_project("html"), title=hostile)
    for url in (
        "/ogc/collections/html/items?f=html",
        f"/ogc/collections/html/items/{trace.id}?f=html",
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        text = response.get_data(as_text=True)
        assert hostile not in text
        assert "&lt;script&gt;alert(" in text
        assert "f=json" in text  # the JSON alternate
    browser = client.get("/ogc/collections", headers={"Accept": "text/html,*/*;q=0.8"})
    assert browser.mimetype == "text/html"
    assert "/ogc/collections/html?f=html" in browser.get_data(as_text=True)
    for accept in ("application/json", "application/geo+json", "*/*"):
        assert client.get("/ogc/collections/html/items", headers={"Accept": accept}).mimetype == (
            "application/geo+json"
        )
    for url in ("/ogc?f=html", "/ogc/conformance?f=html", "/ogc/collections/html?f=html"):
        assert client.get(url).mimetype == "text/html", url


def test_time_stamp_is_now(client):
    body = _json(client.get("/ogc/collections/traces/items"))
    stamp = datetime.fromisoformat(body["timeStamp"])
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert body["features"] == [] and body["numberMatched"] == 0


def test_cors_preflight_and_cache_headers(app, client, make_project):
    make_project("tom")
    preflight = client.options(
        "/ogc/collections/tom/items",
        headers={"Origin": "https://kart.example", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"},
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    head = client.head("/ogc/collections/tom/items")
    assert head.status_code == 200 and head.headers["Access-Control-Allow-Origin"] == "*"
    # A cookieless client (GDAL, QGIS) may be cached; pages and cookie holders may not.
    cookieless = app.test_client(use_cookies=False)
    assert cookieless.get("/ogc/collections").headers["Cache-Control"] == "public, max-age=60"
    page = cookieless.get("/ogc/collections?f=html")
    assert page.headers["Cache-Control"] == "private, no-store"
    client.get("/ogc/collections?f=html")  # now the client holds a session cookie
    assert client.get("/ogc/collections").headers["Cache-Control"] == "private, no-store"


def test_empty_collection_and_plus_decoded_as_space(client, five, make_project):
    make_project("tom")
    page = client.get("/ogc/collections?f=html")
    assert page.status_code == 200 and "/ogc/collections/tom/items?f=html" in page.get_data(
        as_text=True
    )
    assert "extent" not in _json(client.get("/ogc/collections/tom"))
    assert _json(client.get("/ogc/collections/tom/items"))["numberMatched"] == 0
    # An unencoded "+" in the offset arrives as a space; it still means "+".
    raw = client.get("/ogc/collections/traces/items?datetime=2026-10-02T14:00:00+02:00")
    assert [f["properties"]["title"] for f in _json(raw)["features"]] == ["Spor 1"]
