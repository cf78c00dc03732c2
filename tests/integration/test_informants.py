"""Assisted registration: a librarian or curator records a trace for a resident who told it.

Who may (the project's moderators, a curator only in their area), what is stored (all or
nothing), the revision event, and what each viewer of the trace page reads. What leaves in
exports and the OGC API: test_informant_exports.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from shapely.geometry import MultiPolygon, box
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Membership, MembershipRole, Revision, Trace, User, UserRole
from tests.conftest import csrf_from

ALTA = {"type": "Point", "coordinates": [23.2715, 69.9689]}
FAR = {"type": "Point", "coordinates": [25.3, 70.6]}  # outside the curator's area
THIS_YEAR = datetime.now(UTC).year


@pytest.fixture
def people(session: Session, make_user, make_project) -> dict[str, Any]:
    """A project with a librarian and an area-limited curator, a resident, another project's
    librarian (all with English messages on their pages)."""
    project = make_project(slug="alta")
    other = make_project(slug="karasjok")
    who = {
        "librarian": make_user(name="Librarian Lise"),
        "curator": make_user(name="Curator Cato"),
        "resident": make_user(name="Resident Rita"),
        "other_librarian": make_user(UserRole.LIBRARIAN, name="Other Olga"),
        "admin": make_user(UserRole.ADMIN, name="Admin Ada"),
    }
    area = MultiPolygon([box(23.0, 69.8, 23.5, 70.1)])
    session.add_all([
        Membership(project_id=project.id, user_id=who["librarian"].id,
                   role=MembershipRole.LIBRARIAN),
        Membership(project_id=project.id, user_id=who["curator"].id,
                   role=MembershipRole.CURATOR, area=from_shape(area, srid=4326)),
        Membership(project_id=other.id, user_id=who["other_librarian"].id,
                   role=MembershipRole.LIBRARIAN),
    ])  # fmt: skip
    session.commit()
    return {"project": project, "other": other, **who}


def _as(client: FlaskClient, login, user: User) -> str:
    token = login(user)
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return token


def _count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Trace)).scalar_one()


def _form(client: FlaskClient, **fields: Any) -> Any:
    token = csrf_from(client.get("/traces/new").get_data(as_text=True))
    data = {
        "csrf_token": token, "project": "alta", "title": "Kullgrop ved elva",
        "licence": "CC-BY-4.0", "geometry": json.dumps(ALTA), "coord_system": "wgs84",
        "coord_shape": "point", **fields,
    }  # fmt: skip
    return client.post("/traces/new", data=data)


def _api(client: FlaskClient, token: str, informant: Any, geometry: Any = ALTA) -> Any:
    properties = {"title": "Kullgrop", "project": "alta", "informant": informant}
    body = {"type": "Feature", "geometry": geometry, "properties": properties}
    return client.post("/api/traces", json=body, headers={"X-CSRFToken": token})


def _only(session: Session) -> Trace:
    (trace,) = session.execute(select(Trace)).scalars().all()
    session.refresh(trace)
    return trace


def _event(session: Session, trace: Trace) -> Any:
    return session.execute(select(Revision.event).where(Revision.trace_id == trace.id)).scalar_one()


# --- Who may record for an informant, and what is stored -----------------------------------


def test_librarian_registers_for_an_informant_in_the_form(client, session, people, login):
    _as(client, login, people["librarian"])
    page = client.get("/traces/new").get_data(as_text=True)
    assert "Registered for someone else (an informant)" in page
    assert '<details class="typed informant" id="informant-section">' in page  # closed
    assert '<datalist id="knowledge-sources">' in page and "told by father" in page

    response = _form(client, informant_name="Kari Nordmann", informant_birth_year="1948",
                     informant_consent="y", knowledge_source="fortalt av far")  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    trace = _only(session)
    librarian = people["librarian"]
    assert (trace.author_id, trace.recorder_id) == (librarian.id, librarian.id)
    assert (trace.informant_name, trace.informant_birth_year) == ("Kari Nordmann", 1948)
    assert trace.informant_consent is True and trace.knowledge_source == "fortalt av far"
    assert _event(session, trace) == {"kind": "submitted", "on_behalf": True}


def test_an_empty_fieldset_is_an_ordinary_trace(client, session, people, login):
    _as(client, login, people["librarian"])
    response = _form(client, informant_name="  ", informant_birth_year="", knowledge_source="")
    assert response.status_code == 302
    trace = _only(session)
    assert trace.recorder_id is None and trace.informant_name is None
    assert trace.informant_consent is False
    assert _event(session, trace) == {"kind": "submitted"}


def test_curator_registers_in_their_area_over_the_api(client, session, people, login):
    token = _as(client, login, people["curator"])
    informant = {"name": "O. H.", "birth_year": 1931, "consent": False,
                 "knowledge_source": "egen observasjon"}  # fmt: skip
    response = _api(client, token, informant)
    assert response.status_code == 201, response.get_data(as_text=True)
    trace = _only(session)
    assert trace.recorder_id == people["curator"].id == trace.author_id
    assert (trace.informant_name, trace.informant_birth_year) == ("O. H.", 1931)
    assert trace.informant_consent is False
    assert _event(session, trace) == {"kind": "submitted", "on_behalf": True}


@pytest.mark.parametrize(
    ("who", "geometry"),
    [("resident", ALTA), ("other_librarian", ALTA), ("curator", FAR)],
    ids=["resident", "another-projects-librarian", "curator-outside-their-area"],
)
def test_api_refuses_an_informant_from_a_non_moderator_and_stores_nothing(
    client, session, people, login, who, geometry
):
    token = _as(client, login, people[who])
    response = _api(client, token, {"name": "Kari", "consent": True}, geometry)
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["code"] == "informant_not_allowed"
    assert _count(session) == 0
    # The same trace without an informant is theirs to send (the refusal is only about it).
    response = _api(client, token, None, geometry)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _only(session).informant_name is None


def test_resident_never_sees_the_fieldset_and_posted_fields_are_ignored(
    client, session, people, login
):
    _as(client, login, people["resident"])
    page = client.get("/traces/new").get_data(as_text=True)
    assert "informant" not in page.lower()
    response = _form(client, informant_name="Kari", informant_birth_year="1948",
                     informant_consent="y", knowledge_source="fortalt av far")  # fmt: skip
    assert response.status_code == 302
    trace = _only(session)
    assert trace.informant_name is None and trace.recorder_id is None
    assert trace.informant_birth_year is None and trace.knowledge_source is None
    assert trace.informant_consent is False
    assert _event(session, trace) == {"kind": "submitted"}


def test_librarian_of_another_project_gets_the_error_on_the_name(client, session, people, login):
    _as(client, login, people["other_librarian"])  # moderates karasjok, sends to alta
    response = _form(client, informant_name="Kari")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Only the project" in page and 'id="informant_name-error"' in page
    assert '<details class="typed informant" id="informant-section" open>' in page
    assert _count(session) == 0


@pytest.mark.parametrize("year", ["1849", "abc", str(THIS_YEAR + 1), "19481", "-1948", "１９４８"])
def test_a_bad_year_of_birth_is_refused_with_a_clear_message(client, session, people, login, year):
    _as(client, login, people["librarian"])
    response = _form(client, informant_name="Kari", informant_birth_year=year)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f"between 1850 and {THIS_YEAR}" in page and 'id="informant_birth_year-error"' in page
    assert 'aria-invalid="true"' in page
    assert _count(session) == 0


@pytest.mark.parametrize("year", [1850, THIS_YEAR, "1948", None])
def test_years_of_birth_in_range_are_kept(client, session, people, login, year):
    token = _as(client, login, people["librarian"])
    response = _api(client, token, {"name": "Kari", "birth_year": year})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _only(session).informant_birth_year == (int(year) if year else None)


@pytest.mark.parametrize(
    "informant",
    [
        {"birth_year": 1948},
        {"consent": True},
        {"knowledge_source": "fortalt av far"},
        {"name": "\u200b\u200b"},
        {"name": "x" * 121},
        {"name": "Kari", "knowledge_source": "x" * 201},
        {"name": "Kari", "birth_year": True},
        {"name": "Kari", "birth_year": 1948.5},
        {"name": "Kari", "consent": 1},
        "Kari",
    ],
)
def test_an_incomplete_or_bad_informant_is_refused_whole(client, session, people, login, informant):
    token = _as(client, login, people["librarian"])
    response = _api(client, token, informant)
    assert response.status_code == 422, response.get_data(as_text=True)
    fields = {error["field"] for error in response.get_json()["errors"]}
    assert fields and all(field.startswith("informant") for field in fields)
    assert _count(session) == 0


def test_form_asks_for_the_name_when_only_consent_is_ticked(client, session, people, login):
    _as(client, login, people["librarian"])
    response = _form(client, informant_consent="y")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="informant_name-error"' in page and "This field is required." in page
    assert '<a href="#informant_name">Name or initials' in page  # the error summary links it
    assert _count(session) == 0


# --- The trace page: who reads what -----------------------------------------------------------


@pytest.fixture
def told(session, people, make_trace) -> Any:
    """An approved trace recorded by the librarian for an informant; consent set per test."""

    def make(consent: bool, recorder_public: bool = False, name: str = "Kari Nordmann") -> Trace:
        librarian = people["librarian"]
        librarian.show_name_publicly = recorder_public
        trace = make_trace(
            project=people["project"], author=librarian, recorder_id=librarian.id,
            informant_name=name, informant_birth_year=1948, informant_consent=consent,
            knowledge_source="fortalt av far",
        )  # fmt: skip
        return trace

    return make


def _page(client: FlaskClient, trace: Trace) -> str:
    response = client.get(f"/traces/{trace.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _english(client: FlaskClient) -> None:
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"


def test_without_consent_the_public_reads_a_local_informant(client, people, told):
    trace = told(consent=False)
    _english(client)
    page = _page(client, trace)
    assert "Told by a local informant." in page
    # How it was passed on can name people ("fortalt av far Ola"): only with consent.
    assert "Kari" not in page and "1948" not in page and "fortalt av far" not in page
    assert "Librarian Lise" not in page  # the recorder has not chosen to show their name
    assert "Recorded for Test bibliotek." in page
    assert "Not public" not in page


def test_with_consent_the_public_reads_the_name_and_year(client, people, told):
    trace = told(consent=True, recorder_public=True)
    _english(client)
    page = _page(client, trace)
    assert "Told by Kari Nordmann (born 1948) — fortalt av far." in page
    assert "Recorded by Librarian Lise for Test bibliotek." in page


@pytest.mark.parametrize("who", ["librarian", "curator", "admin"])
def test_staff_see_everything_with_a_note_that_it_is_not_public(client, people, told, login, who):
    trace = told(consent=False)
    _as(client, login, people[who])
    page = _page(client, trace)
    assert "Told by Kari Nordmann (born 1948) — fortalt av far." in page
    assert "Recorded by Librarian Lise for Test bibliotek." in page
    assert "Not public: the informant did not agree to be named" in page
    assert "Not public: the recorder’s name" in page


def test_a_resident_logged_in_reads_what_the_public_reads(client, people, told, login):
    trace = told(consent=False)
    _as(client, login, people["resident"])
    page = _page(client, trace)
    assert "Told by a local informant" in page and "Kari" not in page
    assert "fortalt av far" not in page


def test_a_trace_without_an_informant_has_no_provenance_section(client, make_trace):
    trace = make_trace()
    _english(client)
    assert 'class="provenance"' not in _page(client, trace)


# Names as people type them, and as attackers do: markup, quotes, scripts of every kind.
_names = st.one_of(
    st.text(st.characters(exclude_categories=("Cs", "Cc")), min_size=1, max_size=120),
    st.sampled_from(["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>",
                     "Ánne Márjá Somby", "O'Brien & Sønn", "{{ 7*7 }}", "</p><h1>x"]),
).filter(lambda name: name.strip())  # fmt: skip


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(name=_names, consent=st.booleans())
def test_any_informant_name_is_escaped_on_the_trace_page(client, people, told, name, consent):
    trace = told(consent=consent, name=name)
    _english(client)
    page = _page(client, trace)
    section = page[page.index('<section class="provenance"') :]
    section = section[: section.index("</section>")]
    if consent:
        assert str(escape(name)) in section
    # Whatever the name, it adds no markup: the section's tags are the template's own.
    assert set(re.findall(r"<\s*/?\s*([A-Za-z][A-Za-z0-9]*)", section)) <= {"section", "h2", "p"}
    assert section.count("<p") == 1
