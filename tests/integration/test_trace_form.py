"""The form for a new trace (drawn or typed) and the page of one trace."""

from __future__ import annotations

import json
import re
import warnings
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from shapely.geometry import Point, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Project, Trace, TraceStatus, User
from tests.conftest import csrf_from

DRAWN = {
    "type": "Polygon",
    "coordinates": [
        [[23.27, 69.96], [23.28, 69.96], [23.28, 69.97], [23.27, 69.97], [23.27, 69.96]]
    ],
}


@pytest.fixture
def resident(client: FlaskClient, make_user, make_project, login) -> tuple[User, Project]:
    """A logged-in resident with English messages, and an open project."""
    project = make_project(slug="alta-bibliotek")
    user = make_user()
    login(user)
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return user, project


def trace_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Trace)).scalar_one()


def submit(client: FlaskClient, **fields: str) -> Any:
    token = csrf_from(client.get("/traces/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "project": "alta-bibliotek",
        "title": "Fangstgrop ved Storvatnet",
        "description": "",
        "trace_type": "",
        "period": "",
        "condition": "",
        "dating_method": "",
        "sources": "",
        "licence": "CC-BY-4.0",
        "geometry": "",
        "coord_system": "wgs84",
        "coord_shape": "point",
        "coordinates": "",
        **fields,
    }
    return client.post("/traces/new", data=data)


def stored(session: Session, response: Any) -> Trace:
    """The trace a successful submission redirected to."""
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    match = re.fullmatch(r"/traces/(\d+)", urlsplit(response.headers["Location"]).path)
    assert match, response.headers["Location"]
    session.expire_all()
    trace = session.get(Trace, int(match.group(1)))
    assert trace is not None
    return trace


def error_text(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


# --- the form page ------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/traces/new")
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert "next=" in location.query


def test_form_offers_projects_and_vocabularies(client: FlaskClient, resident) -> None:
    response = client.get("/traces/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<option value="alta-bibliotek"' in page
    for code in ("fangstanlegg", "jernalder", "intakt", "c14"):
        assert f'<option value="{code}"' in page
    assert 'name="geometry"' in page
    assert 'name="coordinates"' in page
    assert 'name="csrf_token"' in page


def test_closed_projects_are_not_offered(client: FlaskClient, resident, make_project) -> None:
    make_project(slug="stengt", is_open=False)
    page = client.get("/traces/new").get_data(as_text=True)
    assert '<option value="stengt"' not in page


def test_form_uses_no_deprecated_wtforms_api(client: FlaskClient, resident) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        response = client.get("/traces/new")
    assert response.status_code == 200
    assert [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)] == []


# --- storing --------------------------------------------------------------------------------


def test_drawn_shape_is_stored_pending(client: FlaskClient, session: Session, resident) -> None:
    user, project = resident
    response = submit(client, geometry=json.dumps(DRAWN), trace_type="fangstanlegg")
    trace = stored(session, response)
    assert trace.status == TraceStatus.PENDING
    assert trace.author_id == user.id
    assert trace.project_id == project.id
    assert trace.title == "Fangstgrop ved Storvatnet"
    assert trace.trace_type.code == "fangstanlegg"
    assert to_shape(trace.geom).equals(shape(DRAWN))
    # The author sees the new trace, with its state.
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Fangstgrop ved Storvatnet" in page.get_data(as_text=True)


def test_drawn_shape_wins_over_typed_coordinates(
    client: FlaskClient, session: Session, resident
) -> None:
    response = submit(client, geometry=json.dumps(DRAWN), coordinates="59.9139, 10.7522")
    assert to_shape(stored(session, response).geom).equals(shape(DRAWN))


TYPED = {
    "wgs84 lat, lon": ("wgs84", "69.9689, 23.2715", (23.2715, 69.9689)),
    "wgs84 decimal commas": ("wgs84", "69,9689 23,2715", (23.2715, 69.9689)),
    "utm33 easting northing": ("utm33", "815362.40 7783837.51", (23.2715, 69.9689)),
    "utm33 Oslo": ("utm33", "262560.48 6649443.58", (10.7522, 59.9139)),
}


@pytest.mark.parametrize(("system", "typed", "lon_lat"), TYPED.values(), ids=TYPED.keys())
def test_typed_point_is_stored(
    client: FlaskClient,
    session: Session,
    resident,
    system: str,
    typed: str,
    lon_lat: tuple[float, float],
) -> None:
    response = submit(client, coord_system=system, coord_shape="point", coordinates=typed)
    point = to_shape(stored(session, response).geom)
    assert isinstance(point, Point)
    assert point.x == pytest.approx(lon_lat[0], abs=1e-6)
    assert point.y == pytest.approx(lon_lat[1], abs=1e-6)


def test_typed_polygon_is_closed_for_the_user(
    client: FlaskClient, session: Session, resident
) -> None:
    typed = "69.96, 23.27\n69.96, 23.28\n69.97, 23.28\n69.97, 23.27"
    response = submit(client, coord_shape="polygon", coordinates=typed)
    polygon = to_shape(stored(session, response).geom)
    assert polygon.geom_type == "Polygon"
    assert polygon.equals(shape(DRAWN))


# --- refusals ---------------------------------------------------------------------------------

REFUSED = {
    "swapped typed coordinates": (
        {"coordinates": "23.2715, 69.9689"}, "coordinates", "swapped"),
    "typed outside Norway": (
        {"coordinates": "48.8566, 2.3522"}, "coordinates", "outside Norway"),
    "typed nonsense": ({"coordinates": "nord for fjellet"}, "coordinates", "Line 1"),
    "two positions for a point": (
        {"coordinates": "69.96, 23.27\n69.97, 23.28"}, "coordinates", "exactly one"),
    "swapped UTM": (
        {"coord_system": "utm33", "coordinates": "7783837 815362"}, "coordinates", "swapped"),
    "no geometry at all": ({}, "geometry", "Mark the place"),
    "drawn bowtie": (
        {"geometry": json.dumps({"type": "Polygon", "coordinates": [
            [[23.0, 69.0], [23.1, 69.1], [23.1, 69.0], [23.0, 69.1], [23.0, 69.0]]]})},
        "geometry", "crosses itself"),
    "drawn garbage": ({"geometry": "{not json"}, "geometry", "could not be read"),
    "drawn MultiPoint": (
        {"geometry": json.dumps({"type": "MultiPoint", "coordinates": [[23.27, 69.97]]})},
        "geometry", "not supported"),
    "empty title": ({"title": "", "coordinates": "69.9689, 23.2715"}, "title", ""),
    "unknown period": (
        {"period": "steinalder-ish", "coordinates": "69.9689, 23.2715"}, "period", ""),
}  # fmt: skip


@pytest.mark.parametrize(("fields", "field", "needle"), REFUSED.values(), ids=REFUSED.keys())
def test_refusal_rerenders_the_form(
    client: FlaskClient,
    session: Session,
    resident,
    fields: dict[str, str],
    field: str,
    needle: str,
) -> None:
    before = trace_count(session)
    title = fields.get("title", "Min tittel & <b>mer</b>")
    response = submit(client, **{"title": title, **fields})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert needle in error_text(page, field)
    assert 'class="error-summary"' in page
    if title:
        # The entered title comes back, escaped.
        assert 'value="Min tittel &amp; &lt;b&gt;mer&lt;/b&gt;"' in page
    if "coordinates" in fields and field == "coordinates":
        assert fields["coordinates"].split("\n")[0] in page  # typed text kept
        assert 'id="geometry-error"' not in page
    assert trace_count(session) == before


def test_refused_without_csrf(client: FlaskClient, session: Session, resident) -> None:
    before = trace_count(session)
    response = client.post(
        "/traces/new",
        data={"project": "alta-bibliotek", "title": "x", "coordinates": "69.9689, 23.2715",
              "coord_system": "wgs84", "coord_shape": "point", "licence": "CC-BY-4.0"},
    )  # fmt: skip
    assert response.status_code == 400
    assert trace_count(session) == before


def test_oversized_form_is_413(app: Flask, client: FlaskClient, session: Session, resident) -> None:
    before = trace_count(session)
    description = "x" * app.config["MAX_CONTENT_LENGTH"]
    response = submit(client, description=description, coordinates="69.9689, 23.2715")
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert trace_count(session) == before


# --- the page of one trace -----------------------------------------------------------------

HOSTILE = (
    "Innledning\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n"
    "[y](JaVaScRiPt:alert(2))\n\n<img src=x onerror=alert(3)>\n\n"
    "[kilde](https://example.org/kilde) and **bold**"
)


def test_markdown_description_is_sanitised(client: FlaskClient, make_trace) -> None:
    trace = make_trace(description=HOSTILE)
    response = client.get(f"/traces/{trace.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    markdown = re.search(r'<div class="markdown"[^>]*>(.*?)</div>', page, re.S)
    assert markdown, page
    html = markdown.group(1)
    assert "<script" not in html
    assert "<img" not in html
    assert "onerror" not in html.replace("onerror=alert(3)&gt;", "")
    assert not re.search(r"href\s*=\s*[\"']?\s*javascript:", html, re.I)
    assert '<a href="https://example.org/kilde"' in html
    assert 'rel="nofollow noopener noreferrer ugc"' in html
    assert "<strong>bold</strong>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as text
    # The only <script> on the whole page is the map's own, with a nonce.
    assert "<script>alert" not in page
    assert all("nonce=" in tag for tag in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page))


def test_title_and_sources_are_escaped(client: FlaskClient, make_trace) -> None:
    trace = make_trace(title="<b>Tuft</b>", sources="<script>alert(4)</script>")
    page = client.get(f"/traces/{trace.id}").get_data(as_text=True)
    assert "<b>Tuft</b>" not in page
    assert "&lt;b&gt;Tuft&lt;/b&gt;" in page
    assert "<script>alert(4)" not in page


def test_pending_trace_page(app: Flask, client: FlaskClient, make_trace, make_user, login) -> None:
    author = make_user()
    trace = make_trace(status=TraceStatus.PENDING, author=author, title="Ventende")
    assert client.get(f"/traces/{trace.id}").status_code == 404
    stranger = app.test_client()
    assert stranger.get("/traces/987654321").status_code == 404
    login(author)
    page = client.get(f"/traces/{trace.id}")
    assert page.status_code == 200
    assert "status-pending" in page.get_data(as_text=True)


@pytest.mark.parametrize("status", [TraceStatus.REJECTED, TraceStatus.DELETED])
def test_hidden_states_are_404_for_anonymous(
    client: FlaskClient, make_trace, status: TraceStatus
) -> None:
    trace = make_trace(status=status)
    assert client.get(f"/traces/{trace.id}").status_code == 404
