"""Editing the controlled vocabularies: who may, what is checked, and what residents then see."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Membership, MembershipRole, Scheme, Term, User, UserRole
from tests.conftest import PASSWORD, csrf_from

Browser = tuple[FlaskClient, str]


@pytest.fixture
def browser(app: Flask, session: Session) -> Callable[[User], Browser]:
    """Factory: a separate logged-in client with English pages, and its CSRF token."""

    def make(user: User) -> Browser:
        client = app.test_client()
        with client.session_transaction() as cookie_session:
            cookie_session["lang"] = "en"
        token = csrf_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302
        return client, csrf_from(client.get("/login").get_data(as_text=True))

    return make


@pytest.fixture
def curator(session: Session, make_user, make_project) -> User:
    """A resident holding curation rights in one project."""
    user = make_user(name="Cora Curator")
    session.add(
        Membership(project_id=make_project().id, user_id=user.id, role=MembershipRole.CURATOR)
    )
    session.commit()
    return user


@pytest.fixture
def librarian(make_user) -> User:
    """An installation librarian: may change the vocabularies, whose rules hold everywhere."""
    return make_user(role=UserRole.LIBRARIAN, name="Lise Librarian")


def fields_of(term: Term, **changes: Any) -> dict[str, Any]:
    """The edit form as a browser would send it, unchanged unless told otherwise."""
    data: dict[str, Any] = {
        "label_nb": term.label_nb,
        "label_nn": term.label_nn or "",
        "label_en": term.label_en,
        "label_se": term.label_se or "",
        "uri": term.uri or "",
        "sort_order": str(term.sort_order),
    }
    for flag in ("sensitive", "before_1537", "is_active"):
        if getattr(term, flag):
            data[flag] = "y"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def reload(session: Session, term: Term) -> Term:
    session.expire_all()
    return session.get(Term, term.id)


def audit_count(session: Session, action: str) -> int:
    return session.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    ).scalar_one()


def term_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(Term)).scalar_one()


# --- who may ----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(client: FlaskClient, term) -> None:
    kullgrop = term(Scheme.TRACE_TYPE, "kullgrop")
    for path in ("/vocab/", f"/vocab/{kullgrop.id}/edit", "/vocab/new?scheme=period"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert urlsplit(response.headers["Location"]).path == "/login"


def test_resident_gets_403_and_changes_nothing(session: Session, browser, make_user, term) -> None:
    kullgrop = term(Scheme.TRACE_TYPE, "kullgrop")
    client, token = browser(make_user())
    for path in ("/vocab/", f"/vocab/{kullgrop.id}/edit", "/vocab/new?scheme=period"):
        assert client.get(path).status_code == 403, path
    data = fields_of(kullgrop, label_en="Hacked", csrf_token=token)
    assert client.post(f"/vocab/{kullgrop.id}/edit", data=data).status_code == 403
    before = term_count(session)
    data = fields_of(kullgrop, code="new-one", csrf_token=token)
    assert client.post("/vocab/new?scheme=period", data=data).status_code == 403
    assert reload(session, kullgrop).label_en == "Charcoal pit, kiln"
    assert term_count(session) == before


def test_revoked_curator_loses_access_at_once(session: Session, browser, curator) -> None:
    client, _token = browser(curator)
    assert client.get("/vocab/").status_code == 200
    membership = session.execute(
        select(Membership).where(Membership.user_id == curator.id)
    ).scalar_one()
    membership.revoked_at = func.now()
    session.commit()
    assert client.get("/vocab/").status_code == 403


def test_index_lists_every_scheme_with_labels_and_inactive_terms(
    session: Session, browser, make_user, term
) -> None:
    ukjent = term(Scheme.CONDITION, "ukjent")
    ukjent.is_active = False
    session.commit()
    client, _token = browser(make_user(role=UserRole.LIBRARIAN))
    page = client.get("/vocab/").get_data(as_text=True)
    for heading in ("Types of trace", "Periods", "Condition", "Dating methods"):
        assert heading in page
    assert "Sámi kulturmuitu" in page  # Northern Sami label
    assert "Stadnamn / munnleg tradisjon" in page  # Nynorsk label
    assert "Radiocarbon (C14)" in page
    assert f'id="term-{ukjent.id}" class="term-inactive"' in page
    assert "/vocab/new?scheme=dating_method" in page


# --- editing ----------------------------------------------------------------------------------


def test_librarian_edits_labels_and_it_is_audited(
    session: Session, browser, librarian, term
) -> None:
    kullgrop = term(Scheme.TRACE_TYPE, "kullgrop")
    client, token = browser(librarian)
    page = client.get(f"/vocab/{kullgrop.id}/edit").get_data(as_text=True)
    assert 'value="Kullgrop / kullmile"' in page
    data = fields_of(
        kullgrop,
        label_en="Charcoal burning pit",
        label_se="Hiilagoahti",
        uri="https://kulturnav.org/1e7b0d94-5b8e-4ae4-a2a1-0b1d4c8e5c11",
        sort_order="7",
        csrf_token=token,
    )
    response = client.post(f"/vocab/{kullgrop.id}/edit", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    edited = reload(session, kullgrop)
    assert edited.label_en == "Charcoal burning pit"
    assert edited.label_se == "Hiilagoahti"
    assert edited.uri == "https://kulturnav.org/1e7b0d94-5b8e-4ae4-a2a1-0b1d4c8e5c11"
    assert edited.sort_order == 7
    assert edited.code == "kullgrop" and edited.is_active
    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "vocab.term_updated")
    ).scalar_one()
    assert event.actor_id == librarian.id and event.target_id == kullgrop.id
    assert event.details["changes"]["label_en"] == ["Charcoal pit, kiln", "Charcoal burning pit"]
    assert "label_nb" not in event.details["changes"]


def test_saving_unchanged_term_records_nothing(session: Session, browser, librarian, term) -> None:
    c14 = term(Scheme.DATING_METHOD, "c14")
    client, token = browser(librarian)
    response = client.post(f"/vocab/{c14.id}/edit", data=fields_of(c14, csrf_token=token))
    assert response.status_code == 302
    assert "Nothing was changed." in client.get("/vocab/").get_data(as_text=True)
    assert audit_count(session, "vocab.term_updated") == 0


@pytest.mark.parametrize(
    "uri",
    [
        "http://kulturnav.org/1e7b0d94",
        "https://evil.example/aat/300000000",
        "https://kulturnav.org.evil.example/x",
        "https://kulturnav.org@evil.example/x",
        "https://user@kulturnav.org/x",
        "https://vocab.getty.edu:8443/aat/300000000",
        "https://kulturnav.org/",
        "javascript:alert(1)",
        "//vocab.getty.edu/aat/300000000",
        "https://vocab.getty.edu/aat/300 000",
    ],
)
def test_bad_uri_is_refused_with_422(session: Session, browser, librarian, term, uri: str) -> None:
    period = term(Scheme.PERIOD, "jernalder")
    client, token = browser(librarian)
    data = fields_of(period, uri=uri, label_en="Changed", csrf_token=token)
    response = client.post(f"/vocab/{period.id}/edit", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="error" id="uri-error">(.*?)</p>', page, re.S)
    assert error, "no error next to the URI field"
    assert "starting with https://" in error.group(1) or (
        "kulturnav.org or vocab.getty.edu" in error.group(1)
    )
    assert 'value="Changed"' in page  # the input is kept
    unchanged = reload(session, period)
    assert unchanged.uri is None and unchanged.label_en == "Iron Age (500 BC–AD 1050)"


def test_getty_uri_is_accepted(session: Session, browser, librarian, term) -> None:
    period = term(Scheme.PERIOD, "bronsealder")
    client, token = browser(librarian)
    data = fields_of(period, uri="https://vocab.getty.edu/aat/300019275", csrf_token=token)
    assert client.post(f"/vocab/{period.id}/edit", data=data).status_code == 302
    assert reload(session, period).uri == "https://vocab.getty.edu/aat/300019275"


@pytest.mark.parametrize("field", ["label_nb", "label_en"])
def test_required_labels(session: Session, browser, librarian, term, field: str) -> None:
    naust = term(Scheme.TRACE_TYPE, "naust")
    client, token = browser(librarian)
    response = client.post(
        f"/vocab/{naust.id}/edit", data=fields_of(naust, **{field: "  "}, csrf_token=token)
    )
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert reload(session, naust).label_nb == "Naust"


def test_missing_term_is_404(browser, librarian) -> None:
    client, _token = browser(librarian)
    assert client.get("/vocab/999999/edit").status_code == 404
    assert client.get("/vocab/new?scheme=colour").status_code == 404


# --- adding -----------------------------------------------------------------------------------


def test_new_term_is_added_and_audited(session: Session, browser, librarian) -> None:
    client, token = browser(librarian)
    assert client.get("/vocab/new?scheme=trace_type").status_code == 200
    data = {
        "code": "tjaerebrenning",
        "label_nb": "Tjærebrenningsgrop",
        "label_en": "Tar kiln",
        "before_1537": "y",
        "is_active": "y",
        "sort_order": "15",
        "csrf_token": token,
    }
    response = client.post("/vocab/new?scheme=trace_type", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    created = session.execute(
        select(Term).where(Term.scheme == Scheme.TRACE_TYPE, Term.code == "tjaerebrenning")
    ).scalar_one()
    assert created.label_nn is None and created.label_se is None and created.uri is None
    assert created.before_1537 and not created.sensitive and created.is_active
    assert created.sort_order == 15
    assert audit_count(session, "vocab.term_created") == 1


def test_new_term_code_must_be_unique_in_its_scheme(session: Session, browser, librarian) -> None:
    client, token = browser(librarian)
    before = term_count(session)
    data = {"code": "kullgrop", "label_nb": "Ny", "label_en": "New", "csrf_token": token}
    response = client.post("/vocab/new?scheme=trace_type", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "already has a term with the code kullgrop" in page
    assert 'value="Ny"' in page
    assert term_count(session) == before
    # The same code in another vocabulary is fine.
    response = client.post("/vocab/new?scheme=period", data=data)
    assert response.status_code == 302
    assert term_count(session) == before + 1


@pytest.mark.parametrize("code", ["Kullgrop", "kull grop", "kull_grop", "-kull", "kull--grop", ""])
def test_new_term_code_format(session: Session, browser, librarian, code: str) -> None:
    client, token = browser(librarian)
    data = {"code": code, "label_nb": "Ny", "label_en": "New", "csrf_token": token}
    response = client.post("/vocab/new?scheme=condition", data=data)
    assert response.status_code == 422
    assert 'id="code-error"' in response.get_data(as_text=True)


def test_deactivated_term_disappears_from_the_new_trace_form(
    session: Session, browser, librarian, term
) -> None:
    kullgrop = term(Scheme.TRACE_TYPE, "kullgrop")
    client, token = browser(librarian)
    assert '<option value="kullgrop"' in client.get("/traces/new").get_data(as_text=True)
    data = fields_of(kullgrop, csrf_token=token)
    data.pop("is_active")  # an unticked checkbox is not sent
    assert client.post(f"/vocab/{kullgrop.id}/edit", data=data).status_code == 302
    assert reload(session, kullgrop).is_active is False
    assert '<option value="kullgrop"' not in client.get("/traces/new").get_data(as_text=True)
    # Deactivated, never deleted: still listed for editors, and can come back.
    assert f'id="term-{kullgrop.id}" class="term-inactive"' in client.get("/vocab/").get_data(
        as_text=True
    )
    data["is_active"] = "y"
    assert client.post(f"/vocab/{kullgrop.id}/edit", data=data).status_code == 302
    assert '<option value="kullgrop"' in client.get("/traces/new").get_data(as_text=True)


def test_making_a_type_sensitive_protects_its_existing_traces(session, make_trace, term):
    """The rule is data: changing it re-derives the public point of the traces it covers."""
    from app.db import db
    from app.models import Trace, TraceStatus
    from app.vocab.operations import update_term

    kiln = term(Scheme.TRACE_TYPE, "kullgrop")
    trace = make_trace(status=TraceStatus.APPROVED, trace_type_id=kiln.id)
    assert trace.is_sensitive is False and trace.public_geom is None
    editor = session.get(User, trace.author_id)
    editor.role = UserRole.ADMIN
    session.commit()
    raw = {"label_nb": kiln.label_nb, "label_en": kiln.label_en, "label_nn": kiln.label_nn or "",
           "label_se": kiln.label_se or "", "uri": kiln.uri or "", "sensitive": True,
           "before_1537": kiln.before_1537, "is_active": True,
           "sort_order": kiln.sort_order}  # fmt: skip
    scoped_term = db.session.get(Term, kiln.id)
    update_term(scoped_term, db.session.get(User, editor.id), raw)
    db.session.commit()
    session.expire_all()
    refreshed = session.get(Trace, trace.id)
    assert refreshed.is_sensitive is True and refreshed.public_geom is not None
