"""Partner tokens: the token shown once, revoking, and the audit trail.

Who may make, see and revoke which token is tried person by person in test_partner_rights.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.db import db, engine_of
from app.models import AuditEvent, Membership, MembershipRole, PartnerToken, Project, UserRole
from tests.conftest import csrf_from
from tests.integration.test_export import add_user, empty_tables, login, make_export_app


@pytest.fixture(scope="module")
def partners_app(database_url: str) -> Iterator[Flask]:
    """The app with the partner pages (see make_export_app)."""
    app = make_export_app(database_url)
    yield app
    engine_of(app).dispose()


@pytest.fixture
def people(partners_app: Flask) -> Iterator[dict[str, Any]]:
    """Two projects and one person per role, committed; emptied after the test."""
    with partners_app.app_context():
        alta = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        kara = Project(slug="karasjok", name="Karasjok", library_name="Karasjok bibliotek")
        db.session.add_all([alta, kara])
        users = {
            "admin": add_user("admin@example.org", UserRole.ADMIN),
            "librarian": add_user("librarian@example.org", UserRole.LIBRARIAN),
            "resident": add_user("resident@example.org"),
            "project_librarian": add_user("projlib@example.org"),
        }
        db.session.flush()
        db.session.add(Membership(project_id=alta.id, user_id=users["project_librarian"].id,
                                  role=MembershipRole.LIBRARIAN))  # fmt: skip
        data = {"alta": alta.id, "kara": kara.id} | {k: u.email for k, u in users.items()}
        db.session.commit()
        db.session.remove()
    yield data
    with partners_app.app_context():
        empty_tables()


@pytest.fixture
def web(partners_app: Flask, people: dict[str, Any]) -> FlaskClient:
    """A browser-like client."""
    return partners_app.test_client()


def _create(web: FlaskClient, **form: Any) -> Any:
    token = csrf_from(web.get("/partners/new").get_data(as_text=True))
    return web.post("/partners/new", data={"csrf_token": token, **form})


def _tokens(app: Flask) -> list[PartnerToken]:
    with app.app_context():
        return list(db.session.execute(select(PartnerToken).order_by(PartnerToken.id)).scalars())


def _audit(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.target_id).order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]


def test_anonymous_is_sent_to_the_login(web: FlaskClient) -> None:
    response = web.get("/partners")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# An installation librarian runs no project by that role alone: no tokens for them either.
@pytest.mark.parametrize("who", ["resident", "librarian"])
def test_residents_and_librarians_without_a_project_may_not(
    partners_app: Flask, web: FlaskClient, people: dict[str, Any], who: str
) -> None:
    login(web, people[who])
    assert web.get("/partners").status_code == 403
    assert web.get("/partners/new").status_code == 403
    page = web.get("/").get_data(as_text=True)
    response = web.post("/partners/new", data={"csrf_token": csrf_from(page), "name": "X",
                                               "projects": [str(people["alta"])]})  # fmt: skip
    assert response.status_code == 403
    assert _tokens(partners_app) == []


def test_project_librarian_creates_a_token_shown_once(
    partners_app: Flask, web: FlaskClient, people: dict[str, Any]
) -> None:
    login(web, people["project_librarian"])
    response = _create(web, name="Alta museum", projects=[str(people["alta"])])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    plain = html.split('id="token-value" value="', 1)[1].split('"', 1)[0]
    assert plain.startswith("hp_") and len(plain) > 40
    (token,) = _tokens(partners_app)
    assert (token.name, token.project_ids) == ("Alta museum", [people["alta"]])
    assert token.token_hash == hashlib.sha256(plain.encode()).hexdigest()
    listing = web.get("/partners").get_data(as_text=True)
    assert "Alta museum" in listing and "Kulturspor i Alta" in listing
    assert plain not in listing
    assert ("partner_token.created", token.id) in _audit(partners_app)
    # The token works: a download with it is precise for its project, and marks it used.
    download = web.get("/export/download?format=csv&project=alta",
                       headers={"Authorization": f"Bearer {plain}"})  # fmt: skip
    download.get_data()
    assert download.status_code == 200
    assert _tokens(partners_app)[0].last_used_at is not None


@pytest.mark.parametrize(
    ("who", "form", "error"),
    [
        ("project_librarian", {"name": "Museum"}, "projects"),
        ("project_librarian", {"name": "", "projects": ["alta"]}, "name"),
        ("project_librarian", {"name": "Museum", "all_projects": "y"}, "all_projects"),
        ("project_librarian", {"name": "Museum", "projects": ["kara"]}, "projects"),
        ("admin", {"name": "Museum", "projects": ["9999"]}, "projects"),
    ],
)
def test_bad_token_forms_are_shown_again(
    partners_app: Flask, web: FlaskClient, people: dict[str, Any], who: str, form: dict,
    error: str,
) -> None:  # fmt: skip
    login(web, people[who])
    form = {k: [str(people.get(v, v)) for v in val] if isinstance(val, list) else val
            for k, val in form.items()}  # fmt: skip
    response = _create(web, **form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    # The summary links to the field in error (messages are translated, ids are not).
    assert f'<li><a href="#{error}">' in html and 'class="error-summary"' in html
    assert 'value="Museum"' in html or not form.get("name")
    assert _tokens(partners_app) == []


def test_admin_may_give_every_project(
    partners_app: Flask, web: FlaskClient, people: dict[str, Any]
) -> None:
    login(web, people["admin"])
    response = _create(web, name="Riksantikvaren", all_projects="y")
    assert response.status_code == 200
    assert _tokens(partners_app)[0].project_ids == []


def test_creating_needs_the_csrf_token(
    partners_app: Flask, web: FlaskClient, people: dict[str, Any]
) -> None:
    login(web, people["project_librarian"])
    response = web.post("/partners/new", data={"name": "X", "projects": [str(people["alta"])]})
    assert response.status_code == 400
    assert _tokens(partners_app) == []


def test_revoking_stops_the_token(
    partners_app: Flask, web: FlaskClient, people: dict[str, Any]
) -> None:
    login(web, people["project_librarian"])
    html = _create(web, name="Alta museum", projects=[str(people["alta"])]).get_data(as_text=True)
    plain = html.split('id="token-value" value="', 1)[1].split('"', 1)[0]
    (token,) = _tokens(partners_app)
    listing = web.get("/partners").get_data(as_text=True)
    assert web.get(f"/partners/{token.id}/revoke").status_code == 405
    response = web.post(f"/partners/{token.id}/revoke", data={"csrf_token": csrf_from(listing)})
    assert response.status_code == 302
    assert _tokens(partners_app)[0].revoked_at is not None
    assert ("partner_token.revoked", token.id) in _audit(partners_app)
    assert "token-revoked" in web.get("/partners").get_data(as_text=True)
    refused = web.get("/export/download", headers={"Authorization": f"Bearer {plain}"})
    assert refused.status_code == 401
    again = web.post(f"/partners/{token.id}/revoke", data={"csrf_token": csrf_from(listing)})
    assert again.status_code == 302
    assert [a for a, _ in _audit(partners_app)].count("partner_token.revoked") == 1
    missing = web.post("/partners/9999/revoke", data={"csrf_token": csrf_from(listing)})
    assert missing.status_code == 404


def test_resident_cannot_revoke(
    partners_app: Flask, web: FlaskClient, people: dict[str, Any]
) -> None:
    admin = partners_app.test_client()
    login(admin, people["admin"])
    _create(admin, name="Museum", projects=[str(people["kara"])])
    (token,) = _tokens(partners_app)
    login(web, people["resident"])
    page = web.get("/").get_data(as_text=True)
    response = web.post(f"/partners/{token.id}/revoke", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 403
    assert _tokens(partners_app)[0].revoked_at is None
