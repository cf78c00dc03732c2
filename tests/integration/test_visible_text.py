"""Titles and names must contain visible letters or digits, and no bidi control reorders what a
moderator reads: refused or removed on input, isolated (<bdi>, dir="auto") on the pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.imports.candidates import build_vocabulary, clean_feature
from app.models import (
    Membership,
    MembershipRole,
    Project,
    Term,
    Trace,
    TraceStatus,
    User,
    UserRole,
)  # fmt: skip
from app.validation import BIDI_CONTROLS
from tests.conftest import csrf_from

INVISIBLE = {
    "zero-width": "\u200b\u200c\u200d\u2060",
    "combining": "\u0301\u0308\u20dd",
    "filler": "\u3164 \u3164",
    "bidi-only": "\u202e\u202c\u2066",
    "mixed": " \u200b\u0301\ufeff ",
}
ALTA = {"type": "Point", "coordinates": [23.2715, 69.9689]}


def count(session: Session, model: Any) -> int:
    session.expire_all()
    return session.execute(select(func.count()).select_from(model)).scalar_one()


@pytest.fixture
def librarian(
    client: FlaskClient, session: Session, make_user: Callable[..., User],
    make_project: Callable[..., Project], login: Callable[[User], str],
) -> dict[str, Any]:  # fmt: skip
    """An installation librarian of an open project, logged in with English messages."""
    user = make_user(UserRole.LIBRARIAN)
    project = make_project(slug="alta")
    session.add(Membership(project_id=project.id, user_id=user.id, role=MembershipRole.LIBRARIAN))
    session.commit()
    token = login(user)
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return {"user": user, "project": project, "token": token}


@pytest.mark.parametrize("title", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_trace_title_is_refused_by_form_and_api(
    client: FlaskClient, session: Session, librarian: dict[str, Any], title: str
) -> None:
    before = count(session, Trace)
    token = csrf_from(client.get("/traces/new").get_data(as_text=True))
    form = {
        "csrf_token": token, "project": "alta", "title": title, "licence": "CC-BY-4.0",
        "geometry": "", "coord_system": "wgs84", "coord_shape": "point",
        "coordinates": "69.9689, 23.2715",
    }  # fmt: skip
    response = client.post("/traces/new", data=form)
    assert response.status_code == 422
    assert "letters or digits" in response.get_data(as_text=True)

    body = {"type": "Feature", "geometry": ALTA, "properties": {"title": title}}
    response = client.post("/api/traces", json=body, headers={"X-CSRFToken": librarian["token"]})
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert [e["field"] for e in errors] == ["title"] and "letters or digits" in errors[0]["detail"]
    assert count(session, Trace) == before


@pytest.mark.parametrize("name", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_project_and_display_names_are_refused(
    app: Any, client: FlaskClient, session: Session, librarian: dict[str, Any], name: str
) -> None:
    before = count(session, Project)
    token = csrf_from(client.get("/projects/new").get_data(as_text=True))
    response = client.post("/projects/new", data={
        "csrf_token": token, "name": name, "slug": "usynlig", "library_name": "Alta bibliotek",
        "description": "", "default_licence": "CC-BY-4.0", "is_open": "y", "area": "",
        "area_bbox": "",
    })  # fmt: skip
    assert response.status_code == 422
    assert "letters or digits" in response.get_data(as_text=True)
    assert count(session, Project) == before

    visitor = app.test_client()
    users = count(session, User)
    token = csrf_from(visitor.get("/register").get_data(as_text=True))
    response = visitor.post("/register", data={
        "email": "usynlig@example.no", "display_name": name, "password": "correct horse battery",
        "password_confirm": "correct horse battery", "csrf_token": token,
    })  # fmt: skip
    assert response.status_code == 422
    assert count(session, User) == users


def test_bidi_controls_are_removed_from_what_is_stored(
    client: FlaskClient, session: Session, librarian: dict[str, Any]
) -> None:
    title = "Gammel \u202egpj.exe\u202c tuft \u2067ق\u2069"
    body = {"type": "Feature", "geometry": ALTA,
            "properties": {"title": title, "description": "Linje 1\n\u202eLinje 2"}}  # fmt: skip
    response = client.post("/api/traces", json=body, headers={"X-CSRFToken": librarian["token"]})
    assert response.status_code == 201, response.get_data(as_text=True)
    session.expire_all()
    trace = session.get(Trace, response.get_json()["id"])
    assert trace.title == "Gammel gpj.exe tuft ق"
    assert trace.description == "Linje 1\nLinje 2"
    assert not BIDI_CONTROLS & set(trace.title + trace.description)


def test_older_titles_with_bidi_controls_are_shown_isolated(
    client: FlaskClient, librarian: dict[str, Any], make_trace: Callable[..., Trace],
    make_user: Callable[..., User],
) -> None:  # fmt: skip
    """A record stored before controls were refused: the queue and its page isolate it."""
    author = make_user(name="\u202eamiR")
    trace = make_trace(status=TraceStatus.PENDING, project=librarian["project"], author=author,
                       title="Fangst\u202egrop")  # fmt: skip
    queue = client.get("/moderation/alta").get_data(as_text=True)
    page = client.get(f"/traces/{trace.id}").get_data(as_text=True)
    for html in (queue, page):
        assert not BIDI_CONTROLS & set(html)
    assert re.search(
        r'<h2 id="entry-title-\d+" dir="auto"><a [^>]*><bdi>Fangstgrop</bdi></a>', queue
    )
    assert "<bdi>amiR</bdi>" in queue
    assert '<h1 dir="auto">Fangstgrop</h1>' in page


@pytest.mark.parametrize("label", ["\u200b\u200d", "\u0301\u0301", "\u202e"])
def test_invisible_term_label_is_refused(
    client: FlaskClient, session: Session, librarian: dict[str, Any], label: str
) -> None:
    token = csrf_from(client.get("/vocab/new?scheme=period").get_data(as_text=True))
    response = client.post("/vocab/new?scheme=period", data={
        "csrf_token": token, "code": "usynlig", "label_nb": label, "label_en": "Invisible",
        "is_active": "y", "sort_order": "0",
    })  # fmt: skip
    assert response.status_code == 422
    assert "letters or digits" in response.get_data(as_text=True)
    session.expire_all()
    assert session.execute(select(Term).where(Term.code == "usynlig")).first() is None


@pytest.mark.parametrize("title", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_import_title_is_refused(app: Any, title: str) -> None:
    with app.test_request_context():
        candidate = clean_feature(
            {"title": title, "geometry": ALTA}, 1, build_vocabulary([]), "CC-BY-4.0"
        )
    assert not candidate.importable
    # Refused for having nothing visible, in the page's language (Bokmål by default).
    assert any(
        "letters or digits" in error or "synlige bokstaver eller sifre" in error
        for error in candidate.errors
    ), candidate.errors


def test_import_titles_and_text_lose_their_bidi_controls(app: Any) -> None:
    with app.test_request_context():
        candidate = clean_feature(
            {"title": "Tuft \u202eved\u202c vatnet", "description": "a\u2066b", "geometry": ALTA},
            1, build_vocabulary([]), "CC-BY-4.0",
        )  # fmt: skip
    assert candidate.importable, candidate.errors
    assert candidate.title == "Tuft ved vatnet" and candidate.fields["description"] == "ab"
