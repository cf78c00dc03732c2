"""Vocabulary rules hold in every project, so only installation librarians and admins change
them; everyone curating somewhere may read them and suggest a change. A change that exposes
protected traces says how many, and is saved only once that count is confirmed."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    Membership,
    MembershipRole,
    Notification,
    Project,
    Scheme,
    Term,
    Trace,
    User,
    UserRole,
)
from tests.conftest import PASSWORD, csrf_from
from tests.integration.test_vocab import fields_of

ALTA = Point(23.27, 69.97)
GJESDAL = Point(6.05, 58.77)
PEOPLE = (
    "anonymous",
    "resident",
    "area_curator",
    "project_curator",
    "project_librarian",
    "installation_librarian",
    "admin",
)
EDITORS = ("installation_librarian", "admin")
READERS = ("area_curator", "project_curator", "project_librarian", *EDITORS)
ACTIONS = ("view", "suggest", "edit", "create", "sensitive")


@pytest.fixture
def world(session: Session, make_user, make_project, make_trace, term) -> dict[str, Any]:
    """A sensitive type of our own used by traces in two projects, and one person of each kind."""
    grav = Term(scheme=Scheme.TRACE_TYPE, code="testgrav", label_nb="Testgrav",
                label_en="Test grave", sensitive=True, is_active=True, sort_order=99)  # fmt: skip
    session.add(grav)
    session.commit()
    alta, gjesdal = make_project("alta-v"), make_project("gjesdal-v")
    open_period = term(Scheme.PERIOD, "nyere-tid")
    people: dict[str, Any] = {"anonymous": None, "resident": make_user()}
    people["installation_librarian"] = make_user(UserRole.LIBRARIAN, name="Inga Installation")
    people["admin"] = make_user(UserRole.ADMIN, name="Adam Admin")
    area = from_shape(MultiPolygon([box(6.0, 58.7, 6.1, 58.8)]), srid=4326)
    for kind, role, project, limit in (
        ("area_curator", MembershipRole.CURATOR, gjesdal, area),
        ("project_curator", MembershipRole.CURATOR, gjesdal, None),
        ("project_librarian", MembershipRole.LIBRARIAN, gjesdal, None),
    ):
        people[kind] = make_user(name=kind.replace("_", " ").title())
        session.add(Membership(project_id=project.id, user_id=people[kind].id, role=role,
                               area=limit))  # fmt: skip
    session.commit()
    traces = [
        make_trace(ALTA, project=alta, trace_type_id=grav.id, period_id=open_period.id),
        make_trace(GJESDAL, project=gjesdal, trace_type_id=grav.id),
    ]
    return {"grav": grav, "people": people, "traces": traces, "projects": [alta, gjesdal]}


@pytest.fixture
def browser(app: Flask, session: Session) -> Callable[[User | None], tuple[FlaskClient, str]]:
    """Factory: a separate client (logged in unless None) with English pages, and a CSRF token."""

    def make(user: User | None) -> tuple[FlaskClient, str]:
        client = app.test_client()
        with client.session_transaction() as cookie_session:
            cookie_session["lang"] = "en"
        token = csrf_from(client.get("/login").get_data(as_text=True))
        if user is not None:
            response = client.post(
                "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
            )
            assert response.status_code == 302
            token = csrf_from(client.get("/login").get_data(as_text=True))
        return client, token

    return make


def snapshot(session: Session, world: dict[str, Any]) -> tuple[Any, ...]:
    """Everything a refused attempt must leave as it was."""
    session.expire_all()
    grav = session.get(Term, world["grav"].id)
    traces = tuple(session.get(Trace, t.id).is_sensitive for t in world["traces"])
    terms = session.execute(select(func.count()).select_from(Term)).scalar_one()
    audits = session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("vocab.%"))
    ).scalar_one()
    return (grav.label_en, grav.sensitive, grav.is_active, traces, terms, audits)


def attempt(client: FlaskClient, token: str, action: str, grav: Term) -> Any:
    """One person's try at one action on the vocabularies."""
    if action == "view":
        return client.get("/vocab/")
    if action == "edit":
        return client.post(
            f"/vocab/{grav.id}/edit", data=fields_of(grav, label_en="Changed", csrf_token=token)
        )
    if action == "create":
        data = {"code": "ny-type", "label_nb": "Ny", "label_en": "New", "is_active": "y",
                "csrf_token": token}  # fmt: skip
        return client.post("/vocab/new?scheme=trace_type", data=data)
    if action == "sensitive":
        # Unticking "sensitive", confirming the two traces it exposes.
        data = fields_of(grav, sensitive=None, csrf_token=token, confirm_exposure="2")
        return client.post(f"/vocab/{grav.id}/edit", data=data)
    return client.post(
        f"/vocab/{grav.id}/suggest",
        data={"text": "Split into grave and cairn", "csrf_token": token},
    )


@pytest.mark.parametrize("person", PEOPLE)
def test_only_installation_librarians_and_admins_change_the_vocabularies(
    session: Session, browser, world, person: str
) -> None:
    """Each kind of person tries each action; a refused one leaves everything as it was."""
    client, token = browser(world["people"][person])
    grav = world["grav"]
    for action in ACTIONS:
        before = snapshot(session, world)
        response = attempt(client, token, action, grav)
        status = response.status_code
        if person == "anonymous":
            assert status == 302, action
            assert urlsplit(response.headers["Location"]).path == "/login"
        elif person == "resident":
            assert status == 403, action
        elif action == "view":
            assert status == 200
            page = response.get_data(as_text=True)
            assert "testgrav" in page
            may_edit = person in EDITORS
            assert (f'/vocab/{grav.id}/edit"' in page) is may_edit
            assert (f'/vocab/{grav.id}/suggest"' in page) is not may_edit
            assert ("/vocab/new?scheme=" in page) is may_edit
        elif action == "suggest":
            assert status == 302
        elif person in EDITORS:
            assert status == 302, (action, response.get_data(as_text=True)[:1500])
            continue
        else:
            assert status == 403, action
            page = response.get_data(as_text=True)
            assert "Only installation librarians and admins may change" in page
        after = snapshot(session, world)
        if action == "suggest" and person in READERS:
            assert after[:-1] == before[:-1] and after[-1] == before[-1] + 1  # audited
        else:
            assert after == before, action
    if person in EDITORS:  # and the editors' changes all took effect
        session.expire_all()
        changed = session.get(Term, grav.id)
        assert changed.label_en == "Changed" and changed.sensitive is False
        assert sensitivity_of(session, world["traces"]) == [False, False]
        assert session.execute(
            select(Term).where(Term.scheme == Scheme.TRACE_TYPE, Term.code == "ny-type")
        ).scalar_one()


@pytest.mark.parametrize("person", ("area_curator", "project_curator", "project_librarian"))
def test_project_roles_cannot_open_the_edit_pages(browser, world, person: str) -> None:
    client, _token = browser(world["people"][person])
    grav = world["grav"]
    for path in (f"/vocab/{grav.id}/edit", "/vocab/new?scheme=period"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You may suggest a change instead." in response.get_data(as_text=True)
    assert client.get(f"/vocab/{grav.id}/suggest").status_code == 200


def test_a_curators_suggestion_reaches_the_installation_librarians(
    session: Session, browser, world
) -> None:
    people = world["people"]
    grav = world["grav"]
    client, token = browser(people["area_curator"])
    text = "Graves from\nthe Second World War should not be protected."
    response = client.post(f"/vocab/{grav.id}/suggest", data={"text": text, "csrf_token": token})
    assert response.status_code == 302
    assert "sent to the installation librarians" in client.get("/vocab/").get_data(as_text=True)
    told = dict(
        session.execute(
            select(Notification.user_id, Notification.params).where(
                Notification.kind == "vocab_suggestion"
            )
        ).all()
    )
    # Every installation librarian and admin of the installation, and nobody else.
    expected = set(
        session.execute(
            select(User.id).where(User.role.in_((UserRole.LIBRARIAN, UserRole.ADMIN)))
        ).scalars()
    )
    assert set(told) == expected
    assert {people["installation_librarian"].id, people["admin"].id} <= set(told)
    params = told[people["installation_librarian"].id]
    assert (params["code"], params["name"]) == ("testgrav", "Area Curator")
    assert params["text"] == " ".join(text.split())
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "vocab.change_suggested")
    ).scalar_one()
    assert event.actor_id == people["area_curator"].id and event.target_id == grav.id
    assert event.reason == text
    # The librarian also sees it where the decision is taken: on the term's edit page.
    librarian, _token = browser(people["installation_librarian"])
    page = librarian.get(f"/vocab/{grav.id}/edit").get_data(as_text=True)
    assert "Suggested changes" in page and "should not be protected." in page
    assert session.get(Term, grav.id).sensitive is True  # a suggestion changes nothing


@pytest.mark.parametrize("text", ["", "   \n ", "\x00", "x" * 2001])
def test_empty_or_overlong_suggestion_is_refused(
    session: Session, browser, world, text: str
) -> None:
    client, token = browser(world["people"]["project_curator"])
    response = client.post(
        f"/vocab/{world['grav'].id}/suggest", data={"text": text, "csrf_token": token}
    )
    # A NUL byte may already be refused for the whole request (400); else next to the field.
    assert response.status_code in (400, 422)
    if response.status_code == 422:
        assert 'id="text-error"' in response.get_data(as_text=True)
    assert session.execute(select(func.count()).select_from(Notification)).scalar_one() == 0


def sensitivity_of(session: Session, traces: list[Trace]) -> list[bool]:
    session.expire_all()
    return [session.get(Trace, t.id).is_sensitive for t in traces]


def test_exposing_asks_for_the_count_and_changes_nothing_until_confirmed(
    session: Session, browser, world, make_trace, term
) -> None:
    grav, (alta, gjesdal) = world["grav"], world["projects"]
    # Kept protected whatever the type says: by the period's rule, or by a moderator.
    by_period = make_trace(GJESDAL, project=gjesdal, trace_type_id=grav.id,
                           period_id=term(Scheme.PERIOD, "jernalder").id)  # fmt: skip
    by_override = make_trace(ALTA, project=alta, trace_type_id=grav.id, sensitivity_override=True)
    opened = make_trace(ALTA, project=alta, trace_type_id=grav.id, sensitivity_override=False)
    traces = [*world["traces"], by_period, by_override, opened]
    assert sensitivity_of(session, traces) == [True, True, True, True, False]
    stamps_before = [session.get(Trace, t.id).updated_at for t in traces]
    client, token = browser(world["people"]["installation_librarian"])
    page = client.get(f"/vocab/{grav.id}/edit").get_data(as_text=True)
    assert "Unticking “sensitive” would make 2 traces in 2 projects visible" in page

    data = fields_of(grav, sensitive=None, csrf_token=token)
    for confirm in (None, "", "1", "3", "yes"):
        attempt_data = dict(data) if confirm is None else {**data, "confirm_exposure": confirm}
        response = client.post(f"/vocab/{grav.id}/edit", data=attempt_data)
        assert response.status_code == 409
        page = response.get_data(as_text=True)
        assert (
            "This makes 2 traces in 2 projects visible at their exact position to everyone." in page
        )
        assert re.search(r'name="confirm_exposure" value="2"', page)
        assert sensitivity_of(session, traces) == [True, True, True, True, False]
        assert session.get(Term, grav.id).sensitive is True
        assert not session.execute(
            select(AuditEvent).where(AuditEvent.action == "vocab.term_updated")
        ).first()

    response = client.post(f"/vocab/{grav.id}/edit", data={**data, "confirm_exposure": "2"})
    assert response.status_code == 302
    assert sensitivity_of(session, traces) == [False, False, True, True, False]
    assert session.get(Term, grav.id).sensitive is False
    stamps_after = [session.get(Trace, t.id).updated_at for t in traces]
    assert stamps_after[0] > stamps_before[0] and stamps_after[1] > stamps_before[1]
    flashed = client.get("/vocab/").get_data(as_text=True)
    assert "2 traces in 2 projects are now shown at their exact position to everyone." in flashed
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "vocab.term_updated")
    ).scalar_one()
    assert event.details["changes"]["sensitive"] == [True, False]
    assert event.details["exposed"] == 2 and event.details["protected"] == 0
    assert event.details["projects"] == 2

    # Protecting them again needs no confirmation; the flash and the audit say how many.
    response = client.post(
        f"/vocab/{grav.id}/edit", data={**fields_of(grav, csrf_token=token), "sensitive": "y"}
    )
    assert response.status_code == 302
    assert sensitivity_of(session, traces) == [True, True, True, True, False]
    assert "2 traces in 2 projects are now protected." in client.get("/vocab/").get_data(
        as_text=True
    )
    events = session.execute(
        select(AuditEvent)
        .where(AuditEvent.action == "vocab.term_updated")
        .order_by(AuditEvent.id.desc())
    ).scalars()
    latest = next(iter(events))
    assert latest.details["protected"] == 2 and latest.details["exposed"] == 0


def test_a_change_exposing_nothing_needs_no_confirmation(
    session: Session, browser, make_user, term
) -> None:
    """Unticking a rule no trace depends on saves at once, and says so in the audit."""
    lone = Term(scheme=Scheme.PERIOD, code="testperiode", label_nb="Test", label_en="Test",
                sensitive=True, is_active=True)  # fmt: skip
    session.add(lone)
    session.commit()
    client, token = browser(make_user(UserRole.ADMIN))
    response = client.post(
        f"/vocab/{lone.id}/edit", data=fields_of(lone, sensitive=None, csrf_token=token)
    )
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Term, lone.id).sensitive is False
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "vocab.term_updated")
    ).scalar_one()
    assert event.details["exposed"] == 0 and event.details["protected"] == 0


def test_the_count_matches_what_the_database_then_does(
    app: Flask, session: Session, make_user, make_project, make_trace, term
) -> None:
    """The SQL count and the trigger agree for every combination of the other term's rule
    and a moderator's override, whichever way the flag goes."""
    from app.db import db
    from app.vocab.operations import update_term
    from app.vocab.queries import sensitivity_impact

    grav = Term(scheme=Scheme.TRACE_TYPE, code="testgrav2", label_nb="Testgrav",
                label_en="Test grave", sensitive=True, is_active=True)  # fmt: skip
    session.add(grav)
    session.commit()
    periods = [None, term(Scheme.PERIOD, "nyere-tid").id, term(Scheme.PERIOD, "jernalder").id]
    projects: list[Project] = [make_project(), make_project()]
    author = make_user()
    traces = [
        make_trace(
            ALTA,
            author=author,
            project=projects[(i + j) % 2],
            trace_type_id=grav.id,
            period_id=period,
            sensitivity_override=override,
        )  # fmt: skip
        for i, period in enumerate(periods)
        for j, override in enumerate((None, True, False))
    ]
    admin = make_user(UserRole.ADMIN)
    for new_flag in (False, True):
        with app.test_request_context():
            scoped = db.session.get(Term, grav.id)
            before = sensitivity_of(db.session, traces)
            impact = sensitivity_impact(scoped, new_flag)
            raw = fields_of(scoped, sensitive="y" if new_flag else None)
            update_term(scoped, db.session.get(User, admin.id), raw, impact.traces)
            db.session.commit()
            after = sensitivity_of(db.session, traces)
            changed = [t for t, b, a in zip(traces, before, after, strict=True) if b != a]
            assert impact.traces == len(changed) == 2
            assert impact.projects == len({t.project_id for t in changed})
            assert impact.exposes is (not new_flag)
            assert all(a is new_flag for t, a in zip(traces, after, strict=True) if t in changed)
