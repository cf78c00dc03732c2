"""OGC API - Features where clients and the standard expect more than the basics.

Bounding boxes across the antimeridian and with heights, limits above the maximum, unknown
parameters on every path, queryables (Part 3) with equality filters, problem details, one
charset per Content-Type, and datetimes at the ends of the calendar.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from sqlalchemy import func, select

from app.bbox import in_box
from app.models import Scheme
from app.ogc import MAX_LIMIT
from app.ogc.openapi import openapi_document
from geo.bbox import parse_bbox

QUERYABLES_CLASS = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables"
PARAMS_CLASS = QUERYABLES_CLASS + "-query-parameters"


def _json(response) -> dict:  # noqa: ANN001
    return json.loads(response.get_data(as_text=True))


def _titles(response) -> list[str]:  # noqa: ANN001
    assert response.status_code == 200, response.get_data(as_text=True)
    return sorted(f["properties"]["title"] for f in _json(response)["features"])


def _link(body: dict, rel: str) -> str | None:
    return next((link["href"] for link in body["links"] if link["rel"] == rel), None)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _english(client: FlaskClient) -> None:
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"


@pytest.fixture
def dateline(make_project, make_trace):  # noqa: ANN001, ANN201
    """Three approved traces: either side of the antimeridian and one at Greenwich."""
    project = make_project("dateline")
    for title, lon in (("East", 179.9), ("West", -179.9), ("Greenwich", 0.0)):
        make_trace(Point(lon, 70.0), project=project, title=title)
    return project


# --- bbox ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bbox", "titles"),
    [
        ("179,60,-179,80", ["East", "West"]),
        ("179,60,-1000,-179,80,1000", ["East", "West"]),  # six numbers: heights ignored
        ("-1,60,179,80", ["Greenwich"]),
        ("-180,60,180,80", ["East", "Greenwich", "West"]),
        ("-1,60,1,80,", None),  # five numbers after all
        ("179.95,60,-179.95,80", []),
    ],
)
def test_bbox_across_the_antimeridian_and_with_heights(client, dateline, bbox, titles) -> None:  # noqa: ANN001
    response = client.get(f"/ogc/collections/dateline/items?bbox={bbox}")
    if titles is None:
        assert response.status_code == 400
        return
    assert _titles(response) == titles
    assert _json(response)["numberMatched"] == len(titles)


def test_envelope_across_the_antimeridian_in_sql(session) -> None:  # noqa: ANN001
    box = parse_bbox("179,-10,-179,10")
    for lon, inside in ((179.9, True), (-179.9, True), (0.0, False), (178.9, False)):
        point = func.ST_SetSRID(func.ST_MakePoint(lon, 0.0), 4326)
        for test in (func.ST_Intersects, lambda a, b: a.op("&&")(b)):
            condition = in_box(box, lambda shape: test(point, shape))  # noqa: B023
            assert session.execute(select(condition)).scalar() is inside, lon


def test_export_and_map_take_the_same_boxes(client, dateline) -> None:  # noqa: ANN001
    # The export download reads bbox with the same rules (across 180°, six numbers).
    for bbox in ("179,60,-179,80", "179,60,0,-179,80,0"):
        response = client.get("/export/download", query_string={"format": "geojson",
                                                                 "bbox": bbox})  # fmt: skip
        assert response.status_code == 200, bbox
        response.close()
    assert client.get("/export/download?format=geojson&bbox=1,2,3").status_code == 422
    # The web map cuts a zoomed-out view to the globe.
    view = client.get("/api/map?bbox=-200,60,200,80&zoom=16")
    assert sorted(f["properties"]["title"] for f in _json(view)["features"]) == [
        "East", "Greenwich", "West"
    ]  # fmt: skip


def test_bbox_problem_names_the_parameter_and_the_fault(client, dateline) -> None:  # noqa: ANN001
    _english(client)
    cases = {
        "bbox=200,60,10,70": "bbox: west must be a number between -180 and 180.",
        "bbox=10,60,11,95": "bbox: north must be a number between -90 and 90.",
        "bbox=1,2,3": "bbox: Give four numbers (west, south, east, north) or six (with "
        "heights), not 3.",
        "limit=0": "limit: give a whole number, 1 or more.",
        "datetime=tomorrow": "datetime: Give a date (2026-01-31) or an RFC 3339 date-time "
        "(2026-01-31T12:00:00Z), or an interval start/end with .. for an open end.",
    }
    for query, detail in cases.items():
        response = client.get(f"/ogc/collections/dateline/items?{query}")
        assert response.status_code == 400
        assert response.mimetype == "application/problem+json"
        problem = _json(response)
        assert problem["title"] == "Bad request parameter", query
        assert problem["detail"] == detail


# --- limit -----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["1001", "5000", "99999999999999999999999"])
def test_limit_above_the_maximum_is_served_as_the_maximum(client, dateline, limit) -> None:  # noqa: ANN001
    response = client.get(f"/ogc/collections/dateline/items?limit={limit}")
    assert response.status_code == 200
    body = _json(response)
    assert body["numberReturned"] == 3
    assert parse_qs(urlsplit(_link(body, "self")).query)["limit"] == [str(MAX_LIMIT)]


@pytest.mark.parametrize("limit", ["0", "-5", "ten", "", "1.5", "%2B3", "1e3"])
def test_limit_below_one_or_not_a_number_is_400(client, dateline, limit) -> None:  # noqa: ANN001
    response = client.get(f"/ogc/collections/dateline/items?limit={limit}")
    assert response.status_code == 400
    assert _json(response)["detail"].startswith("limit: ")


def test_a_huge_offset_is_an_empty_page(client, dateline) -> None:  # noqa: ANN001
    body = _json(client.get("/ogc/collections/dateline/items?offset=9999999999999999999999"))
    assert body["numberReturned"] == 0 and body["numberMatched"] == 3


# --- unknown parameters ----------------------------------------------------------------------


def _every_path(feature_id: int) -> list[str]:
    document = openapi_document("", "")
    return [
        "/ogc" + path.replace("{collectionId}", "dateline").replace("{featureId}", str(feature_id))
        for path in document["paths"]
    ]


def test_every_ogc_route_is_in_the_api_document(app) -> None:  # noqa: ANN001
    declared = {re.sub(r"\{[^}]*\}", "{}", path) for path in openapi_document("", "")["paths"]}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("ogc."):
            path = re.sub(r"<[^>]*>", "{}", rule.rule.removeprefix("/ogc")).rstrip("/") or "/"
            assert path in declared, rule.rule


def test_unknown_parameters_are_400_on_every_path(client, dateline) -> None:  # noqa: ANN001
    feature = _json(client.get("/ogc/collections/dateline/items"))["features"][0]["id"]
    paths = _every_path(feature)
    assert len(paths) >= 8
    for path in paths:
        assert client.get(path).status_code == 200, path
        for query in ("colour=red", "f=json&limits=5", "BBOX=1,2,3,4"):
            response = client.get(f"{path}?{query}")
            assert response.status_code == 400, (path, query)
            assert response.mimetype == "application/problem+json"
            assert _json(response)["title"] == _json(client.get("/ogc?f=xml"))["title"]


# --- queryables ------------------------------------------------------------------------------


@pytest.fixture
def typed(session, make_project, make_trace, term):  # noqa: ANN001, ANN201
    """Traces in two projects with different types, periods and licences."""
    alta, other = make_project("alta"), make_project("annet")
    grave, pit = term(Scheme.TRACE_TYPE, "gravminne"), term(Scheme.TRACE_TYPE, "kullgrop")
    iron, modern = term(Scheme.PERIOD, "jernalder"), term(Scheme.PERIOD, "nyere-tid")
    rows = [
        ("Grav 1", alta, grave, iron, "CC0-1.0"),
        ("Grav 2", alta, grave, iron, "CC0-1.0"),
        ("Grav 3", alta, grave, iron, "CC-BY-4.0"),
        ("Grav 4", other, grave, iron, "CC0-1.0"),
        ("Kullgrop", alta, pit, modern, "CC0-1.0"),
        ("Uten type", alta, None, None, "CC0-1.0"),
    ]
    for n, (title, project, ttype, period, licence) in enumerate(rows):
        trace = make_trace(Point(23.0 + n * 0.01, 69.9), project=project, title=title,
                           trace_type_id=ttype.id if ttype else None,
                           period_id=period.id if period else None)  # fmt: skip
        trace.licence = licence
    session.commit()
    return alta


def test_queryables_is_a_json_schema_with_the_codes(client, typed) -> None:  # noqa: ANN001
    response = client.get("/ogc/collections/traces/queryables")
    assert response.status_code == 200
    assert response.mimetype == "application/schema+json"
    schema = _json(response)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["$id"].endswith("/ogc/collections/traces/queryables")
    assert schema["type"] == "object"
    properties = schema["properties"]
    assert set(properties) == {"type", "period", "licence", "project"}
    assert {"gravminne", "kullgrop"} <= set(properties["type"]["enum"])
    assert "jernalder" in properties["period"]["enum"]
    assert {"CC0-1.0", "CC-BY-4.0"} <= set(properties["licence"]["enum"])
    assert {"alta", "annet"} <= set(properties["project"]["enum"])
    one = _json(client.get("/ogc/collections/alta/queryables"))
    assert one["properties"]["project"]["enum"] == ["alta"]
    assert client.get("/ogc/collections/nowhere/queryables").status_code == 404
    page = client.get("/ogc/collections/alta/queryables?f=html")
    assert page.mimetype == "text/html" and "gravminne" in page.get_data(as_text=True)
    # Found from the collection, declared in /conformance and in the API document.
    collection = _json(client.get("/ogc/collections/alta"))
    rel = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
    assert any(link["rel"] == rel and link["type"] == "application/schema+json"
               and link["href"].endswith("/collections/alta/queryables")
               for link in collection["links"])  # fmt: skip
    conformance = _json(client.get("/ogc/conformance"))["conformsTo"]
    assert QUERYABLES_CLASS in conformance and PARAMS_CLASS in conformance
    document = _json(client.get("/ogc/api"))
    assert "/collections/{collectionId}/queryables" in document["paths"]
    items = document["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    names = {p["$ref"].rsplit("/", 1)[1] for p in items}
    assert {"type", "period", "licence", "project", "bbox", "datetime"} <= names


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("type=gravminne", ["Grav 1", "Grav 2", "Grav 3", "Grav 4"]),
        ("type=gravminne&period=jernalder&licence=CC0-1.0&project=alta", ["Grav 1", "Grav 2"]),
        ("period=nyere-tid", ["Kullgrop"]),
        ("licence=CC-BY-4.0", ["Grav 3"]),
        ("project=annet", ["Grav 4"]),
        ("period=nyere-tid&bbox=23.035,69.8,23.045,70", ["Kullgrop"]),
        ("period=nyere-tid&bbox=23.045,69.8,23.055,70", []),
        ("licence=CC0-1.0&bbox=23.045,69.8,23.055,70&limit=5000", ["Uten type"]),
        ("type=no-such-type", []),
        ("type=gravminne&datetime=2000-01-01/2001-01-01", []),
    ],
)
def test_equality_filters_on_the_queryables(client, typed, query, titles) -> None:  # noqa: ANN001
    assert _titles(client.get(f"/ogc/collections/traces/items?{query}")) == titles


def test_filters_stay_on_the_next_links(client, typed) -> None:  # noqa: ANN001
    url = "/ogc/collections/alta/items?type=gravminne&licence=CC0-1.0&limit=1"
    seen = []
    while url:
        body = _json(client.get(url))
        seen += [f["properties"]["title"] for f in body["features"]]
        assert body["numberMatched"] == 2
        following = _link(body, "next")
        if following:
            query = parse_qs(urlsplit(following).query)
            assert query["type"] == ["gravminne"] and query["licence"] == ["CC0-1.0"]
        url = following and _path(following)
    assert seen == ["Grav 1", "Grav 2"]
    assert client.get("/ogc/collections/traces/items?type=").status_code == 400


# --- media types and datetimes ---------------------------------------------------------------


def test_every_content_type_has_at_most_one_charset(client, dateline) -> None:  # noqa: ANN001
    feature = _json(client.get("/ogc/collections/dateline/items"))["features"][0]["id"]
    urls = [p + suffix for p in _every_path(feature) for suffix in ("?f=json", "?f=html")]
    urls += ["/ogc/collections/dateline/items?limit=0", "/ogc/collections/nowhere",
             "/export/download?format=csv", "/export/download?format=geojson",
             "/export/download?format=csv&bbox=1,2,3"]  # fmt: skip
    for url in urls:
        response = client.get(url)
        content_type = response.headers["Content-Type"]
        assert content_type.lower().count("charset") <= 1, (url, content_type)
        response.close()
    csv = client.get("/export/download?format=csv")
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    csv.close()


@pytest.mark.parametrize(
    "value",
    ["9999-12-31T23:59:59-23:59/..", "../0001-01-01T00:00:00+23:59", "9999-12-31",
     "9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00+23:59/9999-12-31T23:59:59-23:59"],
)  # fmt: skip
def test_datetimes_at_the_ends_of_the_calendar(client, dateline, value) -> None:  # noqa: ANN001
    response = client.get("/ogc/collections/dateline/items", query_string={"datetime": value})
    assert response.status_code == 200, response.get_data(as_text=True)
    single = value.split("/")[0] if value.startswith("9") else "9999-12-31T23:59:59-23:59"
    export = client.get("/export/download", query_string={"format": "geojson",
                                                           "updated_since": single})  # fmt: skip
    assert export.status_code == 200
    export.close()


_DATE_PART = st.one_of(
    st.builds(
        "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{:02d}:{:02d}".format,
        st.integers(0, 9999), st.integers(1, 12), st.integers(1, 28), st.integers(0, 23),
        st.integers(0, 59), st.integers(0, 59), st.sampled_from("+- "), st.integers(0, 23),
        st.integers(0, 59),
    ),
    st.builds("{:04d}-{:02d}-{:02d}".format, st.integers(0, 9999), st.integers(0, 13),
              st.integers(0, 32)),
    st.sampled_from(["..", "", "x", "2026-10-01T12:00:00"]),
)  # fmt: skip


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.one_of(_DATE_PART, st.builds("{}/{}".format, _DATE_PART, _DATE_PART)))
def test_no_datetime_gives_a_server_error(client, value: str) -> None:  # noqa: ANN001
    response = client.get("/ogc/collections/traces/items", query_string={"datetime": value})
    assert response.status_code in (200, 400), (value, response.get_data(as_text=True))
    export = client.get("/export/download", query_string={"format": "csv",
                                                           "updated_since": value})  # fmt: skip
    assert export.status_code in (200, 422), value
    export.close()
