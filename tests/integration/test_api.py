"""POST /api/traces and GET /api/traces/<id>: GeoJSON in, problem details out."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Trace, TraceStatus, User
from tests.conftest import csrf_from, log_in

PROBLEM = "application/problem+json"
ALTA = {"type": "Point", "coordinates": [23.2715, 69.9689]}
POLYGON = {
    "type": "Polygon",
    "coordinates": [
        [[23.27, 69.96], [23.28, 69.96], [23.28, 69.97], [23.27, 69.97], [23.27, 69.96]]
    ],
}


def feature(geometry: Any = ALTA, **properties: Any) -> dict[str, Any]:
    props = {"title": "Fangstgrop ved Storvatnet", **properties}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def trace_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Trace)).scalar_one()


def english(client: FlaskClient) -> None:
    """Messages in English whether or not the Norwegian catalogue is compiled."""
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"


def post_trace(client: FlaskClient, token: str | None, body: Any, **kwargs: Any) -> Any:
    headers = {"X-CSRFToken": token} if token else {}
    if "data" not in kwargs:
        kwargs["json"] = body
    return client.post("/api/traces", headers=headers, **kwargs)


@pytest.fixture
def resident(client: FlaskClient, make_user, make_project, login) -> tuple[User, str]:
    """A logged-in resident (English messages), an open project, and the CSRF token."""
    make_project(slug="alta")
    user = make_user()
    token = login(user)
    english(client)
    return user, token


# --- authentication and CSRF -------------------------------------------------------------


def test_anonymous_gets_401_problem(client: FlaskClient, session: Session, make_project) -> None:
    make_project()
    token = csrf_from(client.get("/").get_data(as_text=True))
    before = trace_count(session)
    response = post_trace(client, token, feature())
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == 401
    assert trace_count(session) == before


def test_csrf_header_is_required(client: FlaskClient, session: Session, resident) -> None:
    before = trace_count(session)
    response = post_trace(client, None, feature())
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "csrf"
    wrong = post_trace(client, "not-the-token", feature())
    assert wrong.status_code == 400
    assert trace_count(session) == before


# --- a good submission --------------------------------------------------------------------


@pytest.mark.parametrize("geometry", [ALTA, POLYGON], ids=["point", "polygon"])
def test_created_pending_with_location(
    client: FlaskClient, session: Session, resident, geometry: dict[str, Any]
) -> None:
    user, token = resident
    response = post_trace(client, token, feature(geometry, trace_type="fangstanlegg"))
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "pending"
    assert isinstance(body["id"], int)
    assert body["url"].endswith(f"/traces/{body['id']}")
    assert response.headers["Location"] == body["url"]

    session.expire_all()
    trace = session.get(Trace, body["id"])
    assert trace is not None
    assert trace.status == TraceStatus.PENDING
    assert trace.author_id == user.id
    assert trace.trace_type is not None and trace.trace_type.code == "fangstanlegg"
    assert to_shape(trace.geom).equals(shape(geometry))
    wkt = session.execute(select(func.ST_AsText(Trace.geom)).where(Trace.id == trace.id))
    assert shape(geometry).equals(shapely.from_wkt(wkt.scalar_one()))


def test_geo_json_media_type_is_accepted(client: FlaskClient, resident) -> None:
    _, token = resident
    response = post_trace(
        client, token, None, data=json.dumps(feature()), content_type="application/geo+json"
    )
    assert response.status_code == 201


def test_status_and_author_cannot_be_set(
    client: FlaskClient, session: Session, resident, make_user
) -> None:
    user, token = resident
    other = make_user()
    body = feature(status="approved", author_id=other.id, approved_by_id=other.id, id=999_999)
    response = post_trace(client, token, body)
    assert response.status_code == 201
    assert response.get_json()["status"] == "pending"
    session.expire_all()
    trace = session.get(Trace, response.get_json()["id"])
    assert trace.status == TraceStatus.PENDING
    assert trace.author_id == user.id
    assert trace.approved_by_id is None
    assert trace.id != 999_999


# --- refusals -----------------------------------------------------------------------------

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[23.0, 69.0], [23.1, 69.1], [23.1, 69.0], [23.0, 69.1], [23.0, 69.0]]],
}
LONG_LINE = {
    "type": "LineString",
    "coordinates": [[20.0 + i * 0.001, 69.0] for i in range(5001)],
}

INVALID = {
    "empty title": (feature(title="   "), "title", "required"),
    "missing title": ({"type": "Feature", "geometry": ALTA, "properties": {}}, "title", ""),
    "bowtie polygon": (feature(BOWTIE), "geometry", "cross"),
    "swapped lat/lon": (feature({"type": "Point", "coordinates": [69.9689, 23.2715]}),
                        "geometry", "swapped"),
    "outside Norway": (feature({"type": "Point", "coordinates": [10.0, 50.0]}),
                       "geometry", "outside Norway"),
    "MultiPoint": (feature({"type": "MultiPoint", "coordinates": [[23.27, 69.97]]}),
                   "geometry", "MultiPoint"),
    "5001 vertices": (feature(LONG_LINE), "geometry", "5000"),
    "no geometry": (feature(None), "geometry", ""),
    "unknown trace_type": (feature(trace_type="ufo-landing"), "trace_type", "ufo-landing"),
    "unknown licence": (feature(licence="all-rights-reserved"), "licence", ""),
    "closed project": (feature(project="no-such-project"), "project", ""),
    "not a Feature": ({"type": "Point", "coordinates": [23.27, 69.97]}, "type", ""),
    "string coordinate": (feature({"type": "Point", "coordinates": ["23.27", 69.97]}),
                          "geometry", ""),
}  # fmt: skip


@pytest.mark.parametrize(("body", "field", "needle"), INVALID.values(), ids=INVALID.keys())
def test_invalid_submission_is_422_problem(
    client: FlaskClient, session: Session, resident, body: Any, field: str, needle: str
) -> None:
    _, token = resident
    before = trace_count(session)
    response = post_trace(client, token, body)
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == 422
    assert problem["code"] == "validation_failed"
    errors = problem["errors"]
    assert all(set(e) == {"field", "detail"} for e in errors)
    details = [e["detail"] for e in errors if e["field"] == field]
    assert details, errors
    assert any(needle.lower() in d.lower() for d in details), details
    assert trace_count(session) == before


def test_every_bad_field_is_reported_at_once(
    client: FlaskClient, session: Session, resident
) -> None:
    _, token = resident
    response = post_trace(client, token, feature(BOWTIE, title="", period="stone-age-ish"))
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert {"title", "geometry", "period"} <= fields


def test_nul_in_free_text_is_dropped(client: FlaskClient, session: Session, resident) -> None:
    _, token = resident
    body = feature(title="Tuft\u0000", description="Ei\u0000 tuft", sources="\u0000Bok")
    response = post_trace(client, token, body)
    assert response.status_code == 201
    session.expire_all()
    trace = session.get(Trace, response.get_json()["id"])
    assert (trace.title, trace.description, trace.sources) == ("Tuft", "Ei tuft", "Bok")


@pytest.mark.parametrize(
    "properties",
    [{"trace_type": "fangst\u0000anlegg"}, {"period": "\u0000"}, {"project": "alta\u0000"}],
    ids=["trace_type", "period", "project"],
)
def test_nul_in_a_code_is_422(
    client: FlaskClient, session: Session, resident, properties: dict[str, str]
) -> None:
    _, token = resident
    before = trace_count(session)
    response = post_trace(client, token, feature(**properties))
    assert trace_count(session) == before
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert [e["field"] for e in response.get_json()["errors"]] == list(properties)


RAW = {
    "NaN literal": (
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 69.97]},'
        ' "properties": {"title": "x"}}',
        "application/json", 422,
    ),
    "Infinity literal": (
        '{"type": "Feature", "geometry": {"type": "Point", "coordinates": [Infinity, 69.97]},'
        ' "properties": {"title": "x"}}',
        "application/json", 422,
    ),
    "truncated JSON": ('{"type": "Feature", "geometry": ', "application/json", 422),
    "not JSON at all": ("title=Fangstgrop", "application/json", 422),
    "form content type": ("title=Fangstgrop", "application/x-www-form-urlencoded", 415),
    "text/plain JSON": (json.dumps(feature()), "text/plain", 415),
}  # fmt: skip


@pytest.mark.parametrize(("data", "content_type", "status"), RAW.values(), ids=RAW.keys())
def test_unparseable_body_is_refused(
    client: FlaskClient, session: Session, resident, data: str, content_type: str, status: int
) -> None:
    _, token = resident
    before = trace_count(session)
    response = post_trace(client, token, None, data=data, content_type=content_type)
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    if status == 422:
        assert [e["field"] for e in response.get_json()["errors"]] == ["body"]
    assert trace_count(session) == before


def test_oversized_body_is_413(app: Flask, client: FlaskClient, session: Session, resident) -> None:
    _, token = resident
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = json.dumps(feature(description="x" * limit))
    assert len(body) > limit
    before = trace_count(session)
    response = post_trace(client, token, None, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert trace_count(session) == before


# --- reading one trace --------------------------------------------------------------------


def test_pending_trace_only_for_its_author(
    app: Flask, client: FlaskClient, resident, make_user
) -> None:
    _, token = resident
    created = post_trace(client, token, feature()).get_json()
    url = f"/api/traces/{created['id']}"

    own = client.get(url)
    assert own.status_code == 200
    assert own.mimetype == "application/geo+json"
    assert own.get_json()["properties"]["status"] == "pending"
    assert own.get_json()["geometry"] == ALTA

    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 404
    assert anonymous.mimetype == PROBLEM

    neighbour = app.test_client()
    log_in(neighbour, make_user().email)
    assert neighbour.get(url).status_code == 404


def test_missing_trace_is_404_problem(client: FlaskClient, session: Session) -> None:
    response = client.get("/api/traces/987654321")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM


def test_openapi_document(client: FlaskClient, session: Session) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    doc = response.get_json()
    assert doc["openapi"].startswith(("3.0.", "3.1."))
    assert doc["info"]["title"] and doc["info"]["version"]
    assert {"/api/traces", "/api/map"} <= set(doc["paths"])
    assert "post" in doc["paths"]["/api/traces"]
    assert "get" in doc["paths"]["/api/map"]
    for path in doc["paths"].values():
        for operation in path.values():
            assert operation["responses"]
    assert doc["servers"][0]["url"].startswith("http")
