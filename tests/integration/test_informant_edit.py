"""Correcting and withdrawing an informant on the edit page (docs/domain.md, "Provenance and
informants"): only the trace's moderators, on a trace registered for an informant; a withdrawn
consent leaves every channel and moves updated_at; the public history never holds the name.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import db, engine_of
from app.models import AuditEvent, Membership, MembershipRole, Project, Revision, Trace, TraceStatus
from app.traces.edit_operations import update_trace
from app.traces.informants import InformantNotAllowed
from tests.integration import test_informants
from tests.integration.test_export import add_user, empty_tables, make_export_app
from tests.integration.test_export import login as login_through_form
from tests.integration.test_informant_exports import _trace
from tests.integration.test_informants import _as
from tests.integration.test_resubmit import acting, as_submission
from tests.integration.test_revisions import load_form, post_edit, reload

NAME = "Kari Nordmann"
SOURCE = "fortalt av far Ola Hansen"  # free text that names someone: only with consent
INFORMANT = ("informant_name", "informant_birth_year", "informant_consent", "knowledge_source")
THIS_YEAR = datetime.now(UTC).year
people = test_informants.people  # the fixture: a project, its librarian and curator, a resident


def _informant(trace: Trace) -> tuple[Any, ...]:
    return tuple(getattr(trace, name) for name in INFORMANT)


def _audits(trace_id: int, action: str, session: Any = None) -> list[AuditEvent]:
    return list(
        (session or db.session)
        .execute(
            select(AuditEvent).where(AuditEvent.target_id == trace_id, AuditEvent.action == action)
        )
        .scalars()
    )


# --- A withdrawn consent, seen by harvesters (committed data: exports read on their own) -----


@pytest.fixture
def published(database_url: str) -> Iterator[tuple[Flask, int]]:
    """An approved trace a librarian recorded for a consenting informant, committed."""
    app = make_export_app(database_url)
    with app.app_context():
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = add_user("lise@example.org")
        db.session.flush()
        db.session.add(Membership(project_id=project.id, user_id=librarian.id,
                                  role=MembershipRole.LIBRARIAN))  # fmt: skip
        trace = _trace(project, librarian, "Kullgrop", recorder_id=librarian.id,
                       informant_name=NAME, informant_birth_year=1948,
                       informant_consent=True, knowledge_source=SOURCE)  # fmt: skip
        db.session.commit()
        trace_id = trace.id
        db.session.remove()
    yield app, trace_id
    with app.app_context():
        empty_tables()
    engine_of(app).dispose()


def _channels(web: FlaskClient) -> dict[str, str]:
    """What each harvesting channel answers now (GeoJSON, CSV, OGC items, the public page)."""
    urls = {
        "geojson": "/export/download?format=geojson",
        "csv": "/export/download?format=csv",
        "ogc": "/ogc/collections/alta/items?f=json",
    }
    bodies = {}
    for channel, url in urls.items():
        response = web.get(url)
        bodies[channel] = response.get_data(as_text=True)
        response.close()
        assert response.status_code == 200, bodies[channel][:300]
    return bodies


def test_withdrawing_consent_takes_the_name_out_of_every_channel(
    published: tuple[Flask, int],
) -> None:
    app, trace_id = published
    public = app.test_client()
    before = _channels(public)
    assert all(NAME in body and SOURCE in body for body in before.values())  # the test can fail
    with app.app_context():
        updated_before = db.session.get(Trace, trace_id).updated_at  # type: ignore[union-attr]
        db.session.remove()

    librarian = app.test_client()
    login_through_form(librarian, "lise@example.org")
    data = load_form(librarian, trace_id)
    assert data["informant_name"] == NAME and data["informant_consent"] == "y"
    del data["informant_consent"]  # unticked: a browser sends nothing
    response = post_edit(librarian, trace_id, data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    after = _channels(public)
    for channel, body in after.items():
        assert NAME not in body and SOURCE not in body and "1948" not in body, channel
    header, *rows = list(csv.reader(io.StringIO(after["csv"], newline="")))
    (row,) = [dict(zip(header, r, strict=True)) for r in rows]
    assert (row["informant"], row["recorded_for_informant"]) == ("", "true")
    for path in (f"/traces/{trace_id}", f"/traces/{trace_id}/history"):
        page = public.get(path).get_data(as_text=True)
        assert NAME not in page and SOURCE not in page, path
    with app.app_context():
        trace = db.session.get(Trace, trace_id)
        assert trace is not None
        assert trace.updated_at > updated_before  # incremental harvesters fetch it again
        assert _informant(trace) == (NAME, 1948, False, SOURCE)  # staff still know it
        assert trace.version == 2
        snapshots = db.session.execute(
            select(Revision.snapshot).where(Revision.trace_id == trace_id)
        ).scalars()
        assert all(NAME not in json.dumps(s) for s in snapshots)
        (audit,) = _audits(trace_id, "trace.informant_changed")
        assert audit.details["informant_fields"] == ["informant_consent"]
        assert audit.details["consent_withdrawn"] is True
        assert NAME not in json.dumps(audit.details) and "1948" not in json.dumps(audit.details)
        db.session.remove()


# --- Who may change it, and what is stored (the test transaction) ----------------------------


@pytest.fixture
def told(session: Session, people: dict[str, Any], make_trace):
    """A trace the librarian recorded for Kari, who agreed to be named."""

    def make(**fields: Any) -> Trace:
        librarian = people["librarian"]
        values = {"author": librarian, "recorder_id": librarian.id, "informant_name": NAME,
                  "informant_birth_year": 1948, "informant_consent": True,
                  "knowledge_source": "fortalt av far"} | fields  # fmt: skip
        return make_trace(project=people["project"], **values)

    return make


@pytest.mark.parametrize("who", ["librarian", "curator", "admin"])
def test_a_moderator_corrects_what_was_written_down(client, session, people, told, login, who):
    trace = told()
    _as(client, login, people[who])
    data = load_form(client, trace.id)
    data |= {"informant_name": "Kari N. Nordmann", "informant_birth_year": "1949",
             "knowledge_source": "egen observasjon"}  # fmt: skip
    assert post_edit(client, trace.id, data).status_code == 302
    trace = reload(session, trace)
    assert _informant(trace) == ("Kari N. Nordmann", 1949, True, "egen observasjon")
    assert trace.version == 2 and trace.recorder_id == people["librarian"].id
    (audit,) = _audits(trace.id, "trace.informant_changed", session)
    assert audit.actor_id == people[who].id
    assert audit.details["informant_fields"] == [
        "informant_name", "informant_birth_year", "knowledge_source"]  # fmt: skip
    assert not audit.details["consent_withdrawn"] and not audit.details["informant_removed"]


def test_emptying_every_field_removes_the_informant(client, session, people, told, login):
    trace = told()
    _as(client, login, people["librarian"])
    data = load_form(client, trace.id)
    data |= {"informant_name": "", "informant_birth_year": "", "knowledge_source": ""}
    del data["informant_consent"]
    assert post_edit(client, trace.id, data).status_code == 302
    trace = reload(session, trace)
    assert _informant(trace) == (None, None, False, None)
    assert trace.recorder_id == people["librarian"].id  # who typed it does not change
    assert 'class="provenance"' not in client.get(f"/traces/{trace.id}").get_data(as_text=True)
    (audit,) = _audits(trace.id, "trace.informant_changed", session)
    assert audit.details["informant_removed"] is True


def test_the_page_opens_the_fieldset_with_what_is_stored(client, people, told, login):
    trace = told(informant_consent=False)
    _as(client, login, people["librarian"])
    page = client.get(f"/traces/{trace.id}/edit").get_data(as_text=True)
    assert '<details class="typed informant" id="informant-section" open>' in page
    assert "untick the consent if they withdraw it" in page
    data = load_form(client, trace.id)
    assert (data["informant_name"], data["informant_birth_year"]) == (NAME, "1948")
    assert "informant_consent" not in data  # not ticked


def _posted_informant() -> dict[str, str]:
    return {"informant_name": "Someone Else", "informant_birth_year": "1930",
            "informant_consent": "y", "knowledge_source": "rykte"}  # fmt: skip


def test_an_author_who_does_not_moderate_neither_sees_nor_changes_it(
    client, session, people, told, login
):
    # Registered by the librarian, authored by another project's librarian (a resident here):
    # the author may edit the pending trace, but the informant is not theirs.
    trace = told(author=people["other_librarian"], status=TraceStatus.PENDING,
                 informant_consent=False)  # fmt: skip
    _as(client, login, people["other_librarian"])
    page = client.get(f"/traces/{trace.id}/edit").get_data(as_text=True)
    assert "informant" not in page.lower() and NAME not in page
    data = load_form(client, trace.id) | _posted_informant() | {"title": "Ny tittel"}
    assert post_edit(client, trace.id, data).status_code == 302
    trace = reload(session, trace)
    assert trace.title == "Ny tittel"  # the edit itself went through
    assert _informant(trace) == (NAME, 1948, False, "fortalt av far")
    assert _audits(trace.id, "trace.informant_changed", session) == []


def test_a_resident_authors_trace_gets_no_informant_from_a_moderator(
    client, session, people, make_trace, login
):
    # A trace nobody recorded for an informant: a moderator may not turn it into one.
    trace = make_trace(project=people["project"], author=people["resident"])
    _as(client, login, people["librarian"])
    page = client.get(f"/traces/{trace.id}/edit").get_data(as_text=True)
    assert "informant_name" not in page
    data = load_form(client, trace.id) | _posted_informant()
    assert post_edit(client, trace.id, data).status_code == 302
    trace = reload(session, trace)
    assert _informant(trace) == (None, None, False, None) and trace.recorder_id is None


def test_the_operation_refuses_anyone_but_the_traces_moderators(app, session, people, told):
    trace = told(author=people["other_librarian"], status=TraceStatus.PENDING)
    with acting(app):
        trace = reload(session, trace)
        with pytest.raises(InformantNotAllowed):
            update_trace(people["other_librarian"], trace, as_submission(trace), trace.version,
                         "", informant=True)  # fmt: skip
    assert _informant(reload(session, trace))[0] == NAME


@pytest.mark.parametrize("year", ["1700", "19x8", str(THIS_YEAR + 1), "١٩٤٨"])
def test_a_bad_year_is_refused_with_everything_kept(client, session, people, told, login, year):
    trace = told()
    _as(client, login, people["librarian"])
    data = load_form(client, trace.id)
    data |= {"title": "Kullgrop ved elva", "informant_name": "Kari Retta",
             "informant_birth_year": year, "comment": "Rettet navnet"}  # fmt: skip
    response = post_edit(client, trace.id, data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="informant_birth_year-error"' in page and f"between 1850 and {THIS_YEAR}" in page
    # What they typed is all there to correct, and nothing was stored.
    assert 'value="Kullgrop ved elva"' in page and 'value="Kari Retta"' in page
    assert f'value="{year}"' in page and "Rettet navnet" in page
    trace = reload(session, trace)
    assert trace.title == "Fangstgrop" and trace.version == 1
    assert _informant(trace) == (NAME, 1948, True, "fortalt av far")
