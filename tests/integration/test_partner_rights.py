"""Who may make, see and revoke a partner token: an admin, or a librarian of all it covers.

A token reads its projects' protected sites precisely, so each person below is tried against
each token scope: allowed or refused, a refusal stores nothing, and the form offers exactly the
projects the person may give.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import db
from app.errors import Forbidden
from app.models import Membership, MembershipRole, PartnerToken, Project, User, UserRole
from app.publication.tokens import create_token, may_cover, revoke_token

PEOPLE = (
    "installation_librarian",  # an installation librarian without any membership
    "installation_librarian_of_a",  # the same role, and librarian of A
    "librarian_of_a",
    "librarian_of_a_and_b",
    "former_librarian_of_a_and_b",  # memberships revoked
    "curator_of_a_and_b",
    "admin",
)
SCOPES = ("a", "ab", "all")
# Which scopes each person may give a token; everything else is refused.
ALLOWED = {
    "installation_librarian": set(),
    "installation_librarian_of_a": {"a"},
    "librarian_of_a": {"a"},
    "librarian_of_a_and_b": {"a", "ab"},
    "former_librarian_of_a_and_b": set(),
    "curator_of_a_and_b": set(),
    "admin": {"a", "ab", "all"},
}
# The single projects each person's form offers.
OFFERED = {
    "installation_librarian": set(),
    "installation_librarian_of_a": {"a"},
    "librarian_of_a": {"a"},
    "librarian_of_a_and_b": {"a", "b"},
    "former_librarian_of_a_and_b": set(),
    "curator_of_a_and_b": set(),
    "admin": {"a", "b", "c"},
}


@pytest.fixture
def world(
    session: Session,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
) -> dict[str, Any]:
    """Projects A, B and C (nobody's), and one user per person in PEOPLE."""
    projects = {key: make_project(slug=f"rights-{key}") for key in ("a", "b", "c")}
    roles = {"installation_librarian": UserRole.LIBRARIAN, "admin": UserRole.ADMIN,
             "installation_librarian_of_a": UserRole.LIBRARIAN}  # fmt: skip
    users = {who: make_user(roles.get(who, UserRole.RESIDENT), name=who) for who in PEOPLE}
    grants = {
        "installation_librarian_of_a": ("a", MembershipRole.LIBRARIAN),
        "librarian_of_a": ("a", MembershipRole.LIBRARIAN),
        "librarian_of_a_and_b": ("ab", MembershipRole.LIBRARIAN),
        "former_librarian_of_a_and_b": ("ab", MembershipRole.LIBRARIAN),
        "curator_of_a_and_b": ("ab", MembershipRole.CURATOR),
    }
    for who, (keys, role) in grants.items():
        for key in keys:
            membership = Membership(project_id=projects[key].id, user_id=users[who].id, role=role)
            if who.startswith("former"):
                membership.revoked_at = func.now()
            session.add(membership)
    session.commit()
    return {"projects": projects, "users": users}


def _ids(world: dict[str, Any], scope: str) -> list[int]:
    return [] if scope == "all" else [world["projects"][key].id for key in scope]


def _count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(PartnerToken)).scalar_one()


def _admin_token(app: Flask, world: dict[str, Any], scope: str, name: str) -> int:
    with app.app_context():
        token, _ = create_token(world["users"]["admin"], name, _ids(world, scope))
        db.session.commit()
        return token.id


def _form(csrf: str, world: dict[str, Any], scope: str) -> dict[str, Any]:
    form: dict[str, Any] = {"csrf_token": csrf, "name": f"Museum-{scope}"}
    if scope == "all":
        form["all_projects"] = "y"
    else:
        form["projects"] = [str(i) for i in _ids(world, scope)]
    return form


@pytest.mark.parametrize("who", PEOPLE)
def test_who_may_make_see_and_revoke_which_token(
    app: Flask, client: FlaskClient, session: Session, login: Callable[[User], str],
    world: dict[str, Any], who: str,
) -> None:  # fmt: skip
    """One login per person (logins are slow), then every scope: make, list, revoke."""
    csrf = login(world["users"][who])

    # The form offers exactly the projects the person may give, "every project" to admins only.
    page = client.get("/partners/new")
    if not OFFERED[who]:
        assert page.status_code == 403
        assert client.get("/partners").status_code == 403
    else:
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        offered = {int(v) for v in re.findall(r'name="projects" type="checkbox" value="(\d+)"',
                                              html)}  # fmt: skip
        expected = {world["projects"][key].id for key in OFFERED[who]}
        if who == "admin":
            expected = set(session.execute(select(Project.id)).scalars())
        assert offered == expected
        assert ('name="all_projects"' in html) == (who == "admin")

    # Making: allowed scopes give one token; a refusal shows no token and stores nothing.
    for scope in SCOPES:
        before = _count(session)
        response = client.post("/partners/new", data=_form(csrf, world, scope))
        made = (
            session.execute(select(PartnerToken).where(PartnerToken.name == f"Museum-{scope}"))
            .scalars()
            .all()
        )
        if scope in ALLOWED[who]:
            assert response.status_code == 200, (scope, response.get_data(as_text=True)[:300])
            assert [sorted(t.project_ids) for t in made] == [sorted(_ids(world, scope))]
        else:
            assert response.status_code in (403, 422), scope
            assert 'id="token-value"' not in response.get_data(as_text=True)
            assert made == [] and _count(session) == before

    # Listing: only the tokens the person could manage (made by an admin, every scope).
    for scope in (*SCOPES, "b", "c"):
        _admin_token(app, world, scope, f"Admin-{scope}")
    listing = client.get("/partners")
    if OFFERED[who]:
        listed = set(re.findall(r"<strong>Admin-(\w+)</strong>", listing.get_data(as_text=True)))
        manageable = ALLOWED[who] | ({"b"} if "ab" in ALLOWED[who] else set())
        manageable |= {"c"} if who == "admin" else set()
        assert listed == manageable

    # Revoking: the same rule as making.
    for scope in SCOPES:
        token_id = session.execute(
            select(PartnerToken.id).where(PartnerToken.name == f"Admin-{scope}")
        ).scalar_one()
        response = client.post(f"/partners/{token_id}/revoke", data={"csrf_token": csrf})
        revoked = session.execute(
            select(PartnerToken.revoked_at).where(PartnerToken.id == token_id)
        ).scalar_one()
        if scope in ALLOWED[who]:
            assert response.status_code == 302, scope
            assert revoked is not None
        else:
            assert response.status_code == 403, scope
            assert revoked is None


def test_the_operations_check_too(app: Flask, session: Session, world: dict[str, Any]) -> None:
    """create_token and revoke_token check themselves, whatever route or command calls them."""
    token_ids = {scope: _admin_token(app, world, scope, f"Admin-{scope}") for scope in SCOPES}
    with app.test_request_context():
        for who in PEOPLE:
            user = world["users"][who]
            for scope in SCOPES:
                allowed = scope in ALLOWED[who]
                assert may_cover(user, _ids(world, scope)) == allowed, (who, scope)
                if allowed:
                    continue
                with pytest.raises(Forbidden):
                    create_token(user, "X", _ids(world, scope))
                with pytest.raises(Forbidden):
                    revoke_token(user, db.session.get(PartnerToken, token_ids[scope]))
        db.session.rollback()
    assert _count(session) == len(SCOPES)
    revoked = session.execute(select(PartnerToken.revoked_at)).scalars().all()
    assert revoked == [None] * len(SCOPES)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("\u200b\u200d", None),  # zero-width only: nothing a moderator could read
        ("\u0301\u0301", None),  # combining marks only
        ("Alta \u202emuseum", "Alta museum"),  # a right-to-left override is removed
    ],
)
def test_an_institution_name_must_be_visible_text(
    client: FlaskClient, session: Session, login: Callable[[User], str], world: dict[str, Any],
    typed: str, stored: str | None,
) -> None:  # fmt: skip
    csrf = login(world["users"]["admin"])
    before = _count(session)
    form = _form(csrf, world, "a") | {"name": typed}
    response = client.post("/partners/new", data=form)
    names = session.execute(select(PartnerToken.name)).scalars().all()
    if stored is None:
        assert response.status_code == 422
        assert _count(session) == before
    else:
        assert response.status_code == 200
        assert stored in names and typed not in names
