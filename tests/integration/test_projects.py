"""Projects and the rights people hold in them: who may start, edit and share curation."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Point, box, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import access
from app.models import (
    AuditEvent,
    Membership,
    MembershipRole,
    Notification,
    Project,
    TraceStatus,
    User,
    UserRole,
)
from tests.conftest import PASSWORD, csrf_from

# Around Alta; the curator's area covers INSIDE but not OUTSIDE.
INSIDE = Point(23.27, 69.97)
OUTSIDE = Point(24.6, 70.4)
CURATOR_BOX = "23.0, 69.9, 23.5, 70.1"
MAP_QUERY = "/api/map?bbox=22.0,69.0,26.0,71.0&zoom=14"
DRAWN_AREA = {
    "type": "Polygon",
    "coordinates": [[[23.0, 69.9], [23.5, 69.9], [23.5, 70.1], [23.0, 70.1], [23.0, 69.9]]],
}
TABLES = (Project, Membership, AuditEvent, Notification)


# --- helpers --------------------------------------------------------------------------------


def counts(session: Session) -> dict[str, int]:
    """Rows in every table a projects request may write."""
    session.expire_all()
    return {
        model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in TABLES
    }


def sign_in(client: FlaskClient, user: User) -> str:
    """Log a user in on any test client (English pages); returns a CSRF token."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return csrf_from(client.get("/projects/").get_data(as_text=True))


def new_project_form(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "name": "Kulturspor i Alta",
        "slug": "",
        "library_name": "Alta bibliotek",
        "description": "Vi finner **spor** sammen.",
        "default_licence": "CC-BY-4.0",
        "is_open": "y",
        "area": "",
        "area_bbox": "",
        **fields,
    }


def grant(client: FlaskClient, token: str, slug: str, **fields: str) -> Any:
    data = {"csrf_token": token, "email": "", "role": "curator", "area": "", "area_bbox": ""}
    data.update(fields)
    return client.post(f"/projects/{slug}/members/grant", data=data)


def live_membership(session: Session, project: Project, user: User) -> Membership | None:
    session.expire_all()
    return session.execute(
        select(Membership).where(
            Membership.project_id == project.id,
            Membership.user_id == user.id,
            Membership.revoked_at.is_(None),
        )
    ).scalar_one_or_none()


def map_ids(client: FlaskClient) -> set[int]:
    response = client.get(MAP_QUERY)
    assert response.status_code == 200
    return {feature["id"] for feature in response.get_json()["features"]}


def error_text(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">(.*?)</p>', page, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


@pytest.fixture
def member(session: Session) -> Callable[..., Membership]:
    """Factory: a live membership, optionally limited to an area."""

    def make(
        project: Project,
        user: User,
        role: MembershipRole,
        area: Any = None,
        granted_by: User | None = None,
    ) -> Membership:
        membership = Membership(
            project_id=project.id,
            user_id=user.id,
            role=role,
            area=from_shape(MultiPolygon([area]), srid=4326) if area is not None else None,
            granted_by_id=(granted_by or user).id,
        )
        session.add(membership)
        session.commit()
        return membership

    return make


@pytest.fixture
def alta(make_project, make_user, member) -> dict[str, Any]:
    """A project with a librarian, a resident, and another project with its own librarian."""
    project = make_project(slug="alta")
    librarian = make_user(name="Liv Bibliotekar")
    member(project, librarian, MembershipRole.LIBRARIAN)
    other_project = make_project(slug="gjesdal")
    other_librarian = make_user(name="Ola Annen")
    member(other_project, other_librarian, MembershipRole.LIBRARIAN)
    resident = make_user(name="Randi Beboer")
    return {
        "project": project,
        "librarian": librarian,
        "resident": resident,
        "other_project": other_project,
        "other_librarian": other_librarian,
    }


# --- starting a project -----------------------------------------------------------------------


def test_installation_librarian_creates_a_project_and_becomes_its_librarian(
    client: FlaskClient, session: Session, make_user
) -> None:
    librarian = make_user(role=UserRole.LIBRARIAN)
    token = sign_in(client, librarian)
    index = client.get("/projects/").get_data(as_text=True)
    assert 'href="/projects/new"' in index
    assert client.get("/projects/new").status_code == 200

    response = client.post(
        "/projects/new", data=new_project_form(token, area=json.dumps(DRAWN_AREA))
    )

    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert urlsplit(response.headers["Location"]).path == "/projects/kulturspor-i-alta"
    session.expire_all()
    project = session.execute(
        select(Project).where(Project.slug == "kulturspor-i-alta")
    ).scalar_one()
    assert (project.name, project.library_name, project.is_open) == (
        "Kulturspor i Alta",
        "Alta bibliotek",
        True,
    )
    assert project.created_by_id == librarian.id
    area = to_shape(project.area)
    assert area.geom_type == "MultiPolygon"
    assert area.equals(MultiPolygon([shape(DRAWN_AREA)]))
    membership = live_membership(session, project, librarian)
    assert membership is not None
    assert membership.role == MembershipRole.LIBRARIAN
    assert membership.granted_by_id == librarian.id
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "project.created")
    ).scalar_one()
    assert (event.actor_id, event.target_id, event.project_id) == (
        librarian.id,
        project.id,
        project.id,
    )
    page = client.get("/projects/kulturspor-i-alta").get_data(as_text=True)
    assert "<strong>spor</strong>" in page  # Markdown rendered
    assert "/projects/kulturspor-i-alta/members" in page
    assert "/traces/new?project=kulturspor-i-alta" in page


def test_typed_box_is_the_keyboard_way_to_give_an_area(
    client: FlaskClient, session: Session, make_user
) -> None:
    token = sign_in(client, make_user(role=UserRole.LIBRARIAN))
    response = client.post(
        "/projects/new",
        data=new_project_form(
            token, name="Øvre Eiker kulturspor", area_bbox=CURATOR_BOX, is_open=""
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    session.expire_all()
    project = session.execute(
        select(Project).where(Project.slug == "ovre-eiker-kulturspor")
    ).scalar_one()
    assert project.is_open is False
    assert to_shape(project.area).equals(MultiPolygon([box(23.0, 69.9, 23.5, 70.1)]))


@pytest.mark.parametrize("method", ["get", "post"])
def test_residents_may_not_start_projects(
    client: FlaskClient, session: Session, make_user, method: str
) -> None:
    token = sign_in(client, make_user())
    assert 'href="/projects/new"' not in client.get("/projects/").get_data(as_text=True)
    before = counts(session)
    response = getattr(client, method)("/projects/new", data=new_project_form(token))
    assert response.status_code == 403
    assert counts(session) == before


def test_anonymous_visitors_are_sent_to_login(client: FlaskClient, session: Session, alta) -> None:
    for path in ("/projects/new", "/projects/alta/edit", "/projects/alta/members"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert urlsplit(response.headers["Location"]).path == "/login"
    token = csrf_from(client.get("/projects/").get_data(as_text=True))
    before = counts(session)
    for response in (
        grant(client, token, "alta", email=alta["resident"].email),
        client.post("/projects/alta/members/1/revoke", data={"csrf_token": token}),
        client.post("/projects/new", data=new_project_form(token)),
    ):
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/login"
    assert counts(session) == before


def test_a_taken_slug_is_refused_with_422_and_the_input_kept(
    client: FlaskClient, session: Session, make_user, make_project
) -> None:
    make_project(slug="kulturspor-i-alta")
    token = sign_in(client, make_user(role=UserRole.LIBRARIAN))
    before = counts(session)
    for slug in ("", "kulturspor-i-alta", "KULTURSPOR-I-ALTA"):
        response = client.post("/projects/new", data=new_project_form(token, slug=slug))
        assert response.status_code == 422, slug
        page = response.get_data(as_text=True)
        assert "already used" in error_text(page, "slug")
        assert "kulturspor-i-alta-2" in error_text(page, "slug")
        assert 'value="Alta bibliotek"' in page  # the rest of the input is kept
    assert counts(session) == before


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"slug": "alta_bibliotek"}, "slug", "letters a-z"),
        ({"slug": "new"}, "slug", "already used"),
        ({"name": "", "slug": "x-y"}, "name", "required"),
        ({"area_bbox": "23, 69"}, "area_bbox", "four numbers"),
        ({"area_bbox": "69.9, 23.0, 70.1, 23.5"}, "area_bbox", "swapped"),
        ({"area_bbox": "2.0, 48.0, 3.0, 49.0"}, "area_bbox", "outside Norway"),
        ({"area": json.dumps({"type": "Point", "coordinates": [23.27, 69.97]})}, "area", "polygon"),
        (
            {
                "area": json.dumps(
                    {
                        "type": "Polygon",
                        "coordinates": [
                            [[23.0, 69.0], [23.1, 69.1], [23.1, 69.0], [23.0, 69.1], [23.0, 69.0]]
                        ],
                    }
                )
            },
            "area",
            "crosses itself",
        ),
        ({"default_licence": "all-rights-reserved"}, "default_licence", "Not a valid choice"),
    ],
)
def test_bad_project_input_is_refused_with_the_reason(
    client: FlaskClient, session: Session, make_user, fields, field, message
) -> None:
    token = sign_in(client, make_user(role=UserRole.LIBRARIAN))
    before = counts(session)
    response = client.post("/projects/new", data=new_project_form(token, **fields))
    assert response.status_code == 422
    assert message in error_text(response.get_data(as_text=True), field)
    assert counts(session) == before


# --- the project page and list ----------------------------------------------------------------


def test_counts_show_only_what_the_viewer_may_see(
    client: FlaskClient, alta, make_trace, make_user
) -> None:
    project = alta["project"]
    make_trace(project=project, status=TraceStatus.APPROVED)
    make_trace(project=project, status=TraceStatus.APPROVED)
    make_trace(project=project, status=TraceStatus.PENDING, title="Hemmelig ventende")
    make_trace(project=project, status=TraceStatus.REJECTED)

    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    public = client.get("/projects/alta").get_data(as_text=True)
    assert "Approved: 2" in public
    assert "Waiting for approval" not in public and "Rejected" not in public
    assert "/projects/alta/members" not in public
    assert "/projects/alta/edit" not in public
    index = client.get("/projects/").get_data(as_text=True)
    assert "2 approved traces" in index
    assert "0 approved traces" in index  # the other project

    sign_in(client, alta["librarian"])
    page = client.get("/projects/alta").get_data(as_text=True)
    assert "Approved: 2" in page
    assert "Waiting for approval: 1" in page
    assert "Rejected: 1" in page
    assert "/projects/alta/members" in page
    assert "/projects/alta/edit" in page


def test_description_markdown_is_sanitised(client: FlaskClient, session: Session, alta) -> None:
    project = session.get(Project, alta["project"].id)
    project.description = "[x](javascript:alert(1)) <script>alert(2)</script> **fet**"
    session.commit()
    page = client.get("/projects/alta").get_data(as_text=True)
    assert "<strong>fet</strong>" in page
    assert 'href="javascript' not in page
    assert "<script>alert(2)" not in page


def test_unknown_project_is_404(client: FlaskClient) -> None:
    assert client.get("/projects/finnes-ikke").status_code == 404


# --- editing ----------------------------------------------------------------------------------


def test_project_librarian_edits_the_project(client: FlaskClient, session: Session, alta) -> None:
    token = sign_in(client, alta["librarian"])
    page = client.get("/projects/alta/edit")
    assert page.status_code == 200
    response = client.post(
        "/projects/alta/edit",
        data={
            "csrf_token": token,
            "name": "Alta kulturspor",
            "library_name": "Alta folkebibliotek",
            "description": "Ny tekst",
            "default_licence": "CC0-1.0",
            "is_open": "",
            "area": "",
            "area_bbox": CURATOR_BOX,
            "slug": "forsok-pa-ny-slug",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    session.expire_all()
    project = session.get(Project, alta["project"].id)
    assert project.slug == "alta"  # the slug is not editable
    assert (project.name, project.library_name, project.default_licence) == (
        "Alta kulturspor",
        "Alta folkebibliotek",
        "CC0-1.0",
    )
    assert project.is_open is False
    assert to_shape(project.area).equals(MultiPolygon([box(23.0, 69.9, 23.5, 70.1)]))
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "project.updated")
    ).scalar_one()
    assert event.actor_id == alta["librarian"].id
    assert "area" in event.details["changed"]

    # The stored area comes back on the form, and "No area" removes it.
    assert "23.5" in client.get("/projects/alta/edit").get_data(as_text=True)
    response = client.post(
        "/projects/alta/edit",
        data={
            "csrf_token": token,
            "name": "Alta kulturspor",
            "library_name": "Alta folkebibliotek",
            "default_licence": "CC0-1.0",
            "remove_area": "y",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Project, alta["project"].id).area is None


@pytest.mark.parametrize("who", ["other_librarian", "curator", "resident"])
def test_others_may_not_edit(
    client: FlaskClient, session: Session, alta, member, make_user, who: str
) -> None:
    if who == "curator":
        user = make_user()
        member(alta["project"], user, MembershipRole.CURATOR)
    else:
        user = alta[who]
    token = sign_in(client, user)
    assert client.get("/projects/alta/edit").status_code == 403
    before = counts(session)
    response = client.post(
        "/projects/alta/edit",
        data={"csrf_token": token, "name": "Kapret", "library_name": "X", "is_open": ""},
    )
    assert response.status_code == 403
    assert counts(session) == before
    session.expire_all()
    assert session.get(Project, alta["project"].id).name != "Kapret"


# --- members and rights -----------------------------------------------------------------------


def test_only_project_librarians_see_the_members_page(
    client: FlaskClient, alta, member, make_user
) -> None:
    curator = make_user()
    member(alta["project"], curator, MembershipRole.CURATOR)
    for user, status in (
        (alta["librarian"], 200),
        (curator, 403),
        (alta["other_librarian"], 403),
        (alta["resident"], 403),
    ):
        sign_in(client, user)
        assert client.get("/projects/alta/members").status_code == status


def test_librarian_grants_curator_by_email_ignoring_case(
    client: FlaskClient, session: Session, alta
) -> None:
    resident = alta["resident"]
    token = sign_in(client, alta["librarian"])
    response = grant(client, token, "alta", email=f"  {resident.email.upper()} ")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    membership = live_membership(session, alta["project"], resident)
    assert membership is not None
    assert membership.role == MembershipRole.CURATOR
    assert membership.area is None
    assert membership.granted_by_id == alta["librarian"].id
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "membership.granted")
    ).scalar_one()
    assert event.actor_id == alta["librarian"].id
    assert event.created_at is not None
    assert (event.target_type, event.target_id) == ("membership", membership.id)
    assert (event.project_id, event.to_state) == (alta["project"].id, "curator")
    assert event.details == {"user_id": resident.id, "has_area": False}
    note = session.execute(
        select(Notification).where(Notification.user_id == resident.id)
    ).scalar_one()
    assert note.kind == "rights"
    assert note.params == {
        "change": "granted", "role": "curator", "project": alta["project"].name
    }  # fmt: skip

    page = client.get("/projects/alta/members").get_data(as_text=True)
    assert "Randi Beboer" in page
    assert resident.email not in page  # display names only


def test_librarian_grants_curator_with_an_area(client: FlaskClient, session: Session, alta) -> None:
    token = sign_in(client, alta["librarian"])
    response = grant(client, token, "alta", email=alta["resident"].email, area_bbox=CURATOR_BOX)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    membership = live_membership(session, alta["project"], alta["resident"])
    assert membership is not None
    assert to_shape(membership.area).equals(MultiPolygon([box(23.0, 69.9, 23.5, 70.1)]))
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "membership.granted")
    ).scalar_one()
    assert event.details["has_area"] is True


def test_a_drawn_area_works_too(client: FlaskClient, session: Session, alta) -> None:
    token = sign_in(client, alta["librarian"])
    response = grant(
        client, token, "alta", email=alta["resident"].email, area=json.dumps(DRAWN_AREA)
    )
    assert response.status_code == 302
    membership = live_membership(session, alta["project"], alta["resident"])
    assert to_shape(membership.area).equals(MultiPolygon([shape(DRAWN_AREA)]))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"email": "nobody@example.org"},
            "email",
            "No account with this e-mail address; ask them to register first",
        ),
        ({"role": "contributor", "area_bbox": CURATOR_BOX}, "role", "Only curators"),
        ({"role": "owner"}, "role", "Not a valid choice"),
        ({"area_bbox": "1, 2, 3"}, "area_bbox", "four numbers"),
    ],
)
def test_refused_grants_store_nothing(
    client: FlaskClient, session: Session, alta, fields, field, message
) -> None:
    token = sign_in(client, alta["librarian"])
    before = counts(session)
    response = grant(client, token, "alta", **{"email": alta["resident"].email, **fields})
    assert response.status_code == 422
    assert message in error_text(response.get_data(as_text=True), field)
    assert counts(session) == before


def test_regranting_revokes_the_old_row_and_keeps_history(
    client: FlaskClient, session: Session, alta
) -> None:
    resident = alta["resident"]
    token = sign_in(client, alta["librarian"])
    assert grant(client, token, "alta", email=resident.email, role="contributor").status_code == 302
    first = live_membership(session, alta["project"], resident)
    assert grant(client, token, "alta", email=resident.email, role="curator").status_code == 302
    second = live_membership(session, alta["project"], resident)
    assert second.id != first.id and second.role == MembershipRole.CURATOR
    session.refresh(first)
    assert first.revoked_at is not None and first.revoked_by_id == alta["librarian"].id

    # The same grant again changes nothing and says so.
    before = counts(session)
    response = grant(client, token, "alta", email=resident.email, role="curator")
    assert response.status_code == 302
    assert counts(session) == before
    page = client.get("/projects/alta/members").get_data(as_text=True)
    assert "nothing changed" in page
    assert "Earlier rights" in page and "withdrawn by" in page
    events = session.execute(
        select(AuditEvent.action, AuditEvent.target_id, AuditEvent.reason, AuditEvent.to_state)
        .where(AuditEvent.target_type == "membership")
        .order_by(AuditEvent.id)
    ).all()
    assert [tuple(e) for e in events] == [
        ("membership.granted", first.id, "", "contributor"),
        ("membership.revoked", first.id, "replaced", "revoked"),
        ("membership.granted", second.id, "", "curator"),
    ]


def test_curator_with_an_area_sees_pending_traces_inside_only(
    client: FlaskClient, alta, make_trace
) -> None:
    project = alta["project"]
    inside = make_trace(project=project, geometry=INSIDE, status=TraceStatus.PENDING)
    outside = make_trace(project=project, geometry=OUTSIDE, status=TraceStatus.PENDING)
    token = sign_in(client, alta["librarian"])
    assert {inside.id, outside.id} <= map_ids(client)  # the librarian sees the whole project
    grant(client, token, "alta", email=alta["resident"].email, area_bbox=CURATOR_BOX)

    sign_in(client, alta["resident"])
    seen = map_ids(client)
    assert inside.id in seen
    assert outside.id not in seen


def test_curators_cannot_grant(
    client: FlaskClient, session: Session, alta, member, make_user
) -> None:
    curator = make_user()
    member(alta["project"], curator, MembershipRole.CURATOR)
    token = sign_in(client, curator)
    before = counts(session)
    for role in ("curator", "librarian"):
        email = curator.email if role == "librarian" else alta["resident"].email
        assert grant(client, token, "alta", email=email, role=role).status_code == 403
    assert counts(session) == before


def test_librarian_of_another_project_cannot_grant_edit_or_revoke_here(
    client: FlaskClient, session: Session, alta
) -> None:
    own = live_membership(session, alta["project"], alta["librarian"])
    token = sign_in(client, alta["other_librarian"])
    before = counts(session)
    responses = [
        grant(client, token, "alta", email=alta["resident"].email),
        grant(client, token, "alta", email=alta["other_librarian"].email, role="librarian"),
        client.post(f"/projects/alta/members/{own.id}/revoke", data={"csrf_token": token}),
        client.post(
            "/projects/alta/edit",
            data={"csrf_token": token, "name": "Kapret", "library_name": "X"},
        ),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert counts(session) == before
    assert live_membership(session, alta["project"], alta["librarian"]) is not None

    # Nor can they reach this project's membership through their own project's address.
    response = client.post(f"/projects/gjesdal/members/{own.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 404
    assert counts(session) == before


def test_revoking_takes_effect_on_the_very_next_request(
    app: Flask, client: FlaskClient, session: Session, alta, make_trace
) -> None:
    project = alta["project"]
    pending = make_trace(project=project, geometry=INSIDE, status=TraceStatus.PENDING)
    token = sign_in(client, alta["librarian"])
    assert grant(client, token, "alta", email=alta["resident"].email).status_code == 302
    membership = live_membership(session, project, alta["resident"])

    curator_client = app.test_client()
    sign_in(curator_client, alta["resident"])
    assert pending.id in map_ids(curator_client)
    with app.app_context():
        assert access.can_moderate(alta["resident"], pending)

    response = client.post(
        f"/projects/alta/members/{membership.id}/revoke", data={"csrf_token": token}
    )
    assert response.status_code == 302

    assert pending.id not in map_ids(curator_client)  # the very next request
    assert curator_client.get(f"/traces/{pending.id}").status_code == 404
    with app.app_context():
        assert not access.can_moderate(alta["resident"], pending)
    session.expire_all()
    revoked = session.get(Membership, membership.id)
    assert revoked.revoked_at is not None
    assert revoked.revoked_by_id == alta["librarian"].id
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "membership.revoked")
    ).scalar_one()
    assert (event.actor_id, event.target_id, event.from_state) == (
        alta["librarian"].id,
        membership.id,
        "curator",
    )
    assert event.created_at is not None
    assert event.details == {"user_id": alta["resident"].id, "has_area": False}
    changes = session.execute(
        select(Notification.params["change"].astext)
        .where(Notification.user_id == alta["resident"].id, Notification.kind == "rights")
        .order_by(Notification.id)
    ).scalars()
    assert list(changes) == ["granted", "withdrawn"]

    # Revoking again changes nothing and says so.
    before = counts(session)
    response = client.post(
        f"/projects/alta/members/{membership.id}/revoke", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert counts(session) == before


def test_the_last_librarian_cannot_be_removed(client: FlaskClient, session: Session, alta) -> None:
    own = live_membership(session, alta["project"], alta["librarian"])
    token = sign_in(client, alta["librarian"])
    before = counts(session)
    response = client.post(f"/projects/alta/members/{own.id}/revoke", data={"csrf_token": token})
    assert response.status_code == 409
    assert "at least one librarian" in response.get_data(as_text=True)
    response = grant(client, token, "alta", email=alta["librarian"].email, role="curator")
    assert response.status_code == 409
    assert counts(session) == before
    assert live_membership(session, alta["project"], alta["librarian"]).id == own.id


def test_state_changes_need_post_and_csrf(client: FlaskClient, session: Session, alta) -> None:
    sign_in(client, alta["librarian"])
    before = counts(session)
    assert client.get("/projects/alta/members/grant").status_code == 405
    response = grant(client, "", "alta", email=alta["resident"].email)
    assert response.status_code == 400
    assert counts(session) == before
