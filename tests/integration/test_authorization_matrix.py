"""Every object-level route x every kind of person x every trace state (docs/security.md item 9).

The expected answers come from a small oracle written out here, independently of app.access;
each refused write is checked to leave the trace (and its comments) unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import func, select

from app.models import Comment, Membership, MembershipRole, Trace, TraceStatus, UserRole
from tests.conftest import PASSWORD, csrf_from

ROLES = ["anonymous", "author", "other", "curator_in", "curator_out", "librarian",
         "other_librarian", "admin"]  # fmt: skip
STATES = list(TraceStatus)
HERE = Point(23.27, 69.97)
MODERATORS = {"curator_in", "librarian", "admin"}


def sees(role: str, status: TraceStatus) -> bool:
    """Who may see a trace in this state."""
    if status == TraceStatus.APPROVED:
        return True
    if status == TraceStatus.DELETED:
        return role in ("librarian", "admin")
    return role in ("author", *MODERATORS)


def edits(role: str, status: TraceStatus) -> bool:
    """Who may open the edit form."""
    if status == TraceStatus.DELETED:
        return False
    if role == "author" and status in (
        TraceStatus.DRAFT, TraceStatus.PENDING, TraceStatus.NEEDS_CHANGES
    ):  # fmt: skip
        return True
    return role in MODERATORS


APPROVABLE = {TraceStatus.PENDING, TraceStatus.NEEDS_CHANGES, TraceStatus.REJECTED}


def approve_answer(role: str, status: TraceStatus) -> int:
    """The HTTP status for POSTing an approval."""
    if role == "anonymous":
        return 302  # to the login page
    if not sees(role, status):
        return 404
    if role not in MODERATORS:
        return 403
    if status in APPROVABLE or status == TraceStatus.APPROVED:
        return 302  # approved, or "nothing changed"
    return 409  # draft, withdrawn, deleted: not from here


@pytest.fixture
def world(session, make_user, make_project):
    """A project with every kind of person in it (and one other project)."""
    project, other_project = make_project(), make_project()
    people = {
        "author": make_user(),
        "other": make_user(),
        "curator_in": make_user(),
        "curator_out": make_user(),
        "librarian": make_user(UserRole.LIBRARIAN),
        "other_librarian": make_user(UserRole.LIBRARIAN),
        "admin": make_user(UserRole.ADMIN),
    }
    area_in = MultiPolygon([box(23.0, 69.8, 23.5, 70.1)])
    area_out = MultiPolygon([box(25.0, 70.5, 25.5, 70.8)])
    session.add_all([
        Membership(project_id=project.id, user_id=people["curator_in"].id,
                   role=MembershipRole.CURATOR, area=from_shape(area_in, srid=4326)),
        Membership(project_id=project.id, user_id=people["curator_out"].id,
                   role=MembershipRole.CURATOR, area=from_shape(area_out, srid=4326)),
        Membership(project_id=project.id, user_id=people["librarian"].id,
                   role=MembershipRole.LIBRARIAN),
        Membership(project_id=other_project.id, user_id=people["other_librarian"].id,
                   role=MembershipRole.LIBRARIAN),
    ])  # fmt: skip
    session.commit()
    return project, people


def _client(app, people: dict[str, Any], role: str):
    client = app.test_client()
    if role == "anonymous":
        return client, csrf_from(client.get("/login").get_data(as_text=True))
    user = people[role]
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": token})  # fmt: skip
    assert response.status_code == 302
    return client, csrf_from(client.get("/").get_data(as_text=True))


def _state(session, trace_id: int) -> tuple[Any, ...]:
    session.expire_all()
    trace = session.get(Trace, trace_id)
    comments = session.execute(
        select(func.count()).select_from(Comment).where(Comment.trace_id == trace_id)
    ).scalar_one()
    return trace.status, trace.version, trace.title, comments


@pytest.mark.parametrize("status", STATES, ids=[s.value for s in STATES])
@pytest.mark.parametrize("role", ROLES)
def test_trace_routes(app, session, world, make_trace, role, status):
    project, people = world
    trace = make_trace(HERE, status=status, author=people["author"], project=project,
                       title="Matrix")  # fmt: skip
    client, token = _client(app, people, role)
    visible = sees(role, status)

    # Reads: page, JSON API, history, map data.
    assert client.get(f"/traces/{trace.id}").status_code == (200 if visible else 404)
    assert client.get(f"/api/traces/{trace.id}").status_code == (200 if visible else 404)
    assert client.get(f"/traces/{trace.id}/history").status_code == (200 if visible else 404)
    on_map = client.get("/api/map?bbox=23.0,69.8,23.5,70.1&zoom=14").get_json()
    assert (trace.id in {f["id"] for f in on_map["features"]}) == (
        visible and status != TraceStatus.DELETED
    )

    # The edit form.
    edit_page = client.get(f"/traces/{trace.id}/edit").status_code
    if role == "anonymous":
        assert edit_page == 302
    else:
        assert edit_page == (200 if edits(role, status) else 403 if visible else 404)

    # Writes: a decision, a comment, an edit. Refused ones leave everything as it was.
    before = _state(session, trace.id)
    response = client.post(
        f"/moderation/decision/{trace.id}",
        data={"csrf_token": token, "action": "approve", "version": trace.version, "next": "/"},
    )
    assert response.status_code == approve_answer(role, status)
    if response.status_code != 302 or role == "anonymous":
        assert _state(session, trace.id) == before

    before = _state(session, trace.id)
    response = client.post(
        f"/traces/{trace.id}/comments", data={"csrf_token": token, "body": "Et spørsmål"}
    )
    if role == "anonymous":
        assert response.status_code == 302 and _state(session, trace.id) == before
    elif not visible:
        assert response.status_code == 404 and _state(session, trace.id) == before
    else:
        assert response.status_code == 302

    before = _state(session, trace.id)
    response = client.post(
        f"/traces/{trace.id}/edit",
        data={"csrf_token": token, "title": "Overtatt", "version": before[1],
              "geometry": '{"type": "Point", "coordinates": [23.27, 69.97]}'},
    )  # fmt: skip
    if role == "anonymous" or not edits(role, status):
        assert response.status_code in (302, 403, 404)
        assert _state(session, trace.id)[:3] == before[:3]
    if role != "anonymous" and not edits(role, status):
        assert response.status_code == (403 if visible else 404)


@pytest.mark.parametrize("role", ROLES)
def test_project_routes(app, session, world, role):
    project, people = world
    client, token = _client(app, people, role)
    queue = client.get(f"/moderation/{project.slug}").status_code
    members = client.get(f"/projects/{project.slug}/members").status_code
    edit = client.get(f"/projects/{project.slug}/edit").status_code
    if role == "anonymous":
        assert (queue, members, edit) == (302, 302, 302)
        return
    assert queue == (200 if role in ("curator_in", "curator_out", "librarian", "admin") else 403)
    manages = role in ("librarian", "admin")
    assert members == (200 if manages else 403)
    assert edit == (200 if manages else 403)

    memberships = session.execute(select(func.count()).select_from(Membership)).scalar_one()
    response = client.post(
        f"/projects/{project.slug}/members/grant",
        data={"csrf_token": token, "email": people["other"].email, "role": "curator"},
    )
    after = session.execute(select(func.count()).select_from(Membership)).scalar_one()
    if manages:
        assert response.status_code == 302 and after == memberships + 1
    else:
        assert response.status_code == 403 and after == memberships
