"""What museums receive of a trace registered for an informant: GeoJSON, CSV, OGC API.

The informant's name and year of birth only with their consent, the recorder's name only with
the recorder's, whoever receives it (a partner token gives precise places, not names); and
harvesters see the change when a consent is withdrawn.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select, text

from app.db import db, engine_of
from app.export.stream import CSV_COLUMNS
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, User, UserRole
from app.publication.tokens import create_token
from tests.integration.test_export import add_user, empty_tables, make_export_app

SECRET = "Hemmelig Informantsen"  # no consent: must never leave
NAMED = "Kari Nordmann"  # consent given
FORMULA = '=HYPERLINK("https://evil.example")'  # a consenting informant named like a formula
PROVENANCE = ("informant", "informant_birth_year", "knowledge_source", "recorded_by",
              "recorded_for_informant")  # fmt: skip


def _trace(project: Project, author: User, title: str, **fields: Any) -> Trace:
    trace = Trace(
        project_id=project.id, author_id=author.id, title=title,
        geom=from_shape(Point(23.3, 69.95), srid=4326), status=TraceStatus.APPROVED,
        licence="CC-BY-4.0", approved_by_id=author.id, approved_at="2026-10-01T12:00:00Z",
        **fields,
    )  # fmt: skip
    db.session.add(trace)
    db.session.flush()
    return trace


@pytest.fixture(scope="module")
def export_app(database_url: str) -> Iterator[Flask]:
    """The app with committed data, emptied afterwards (exports read on their own connection)."""
    app = make_export_app(database_url)
    yield app
    with app.app_context():
        empty_tables()
    engine_of(app).dispose()


@pytest.fixture(scope="module")
def ids(export_app: Flask) -> dict[str, Any]:
    """Traces told by informants (with and without consent) and an ordinary one."""
    with export_app.app_context():
        project = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        db.session.add(project)
        admin = add_user("admin@example.org", UserRole.ADMIN)
        hidden = add_user("hidden@example.org")  # a recorder who does not show their name
        shown = add_user("shown@example.org")
        shown.display_name, shown.show_name_publicly = "Librarian Lise", True
        resident = add_user("resident@example.org")
        db.session.flush()
        for user in (hidden, shown):
            db.session.add(Membership(project_id=project.id, user_id=user.id,
                                      role=MembershipRole.LIBRARIAN))  # fmt: skip
        made = {
            "secret": _trace(project, hidden, "Kullgrop", recorder_id=hidden.id,
                             informant_name=SECRET, informant_birth_year=1923,
                             informant_consent=False, knowledge_source="fortalt av far"),
            "named": _trace(project, shown, "Tuft", recorder_id=shown.id,
                            informant_name=NAMED, informant_birth_year=1948,
                            informant_consent=True, knowledge_source="egen observasjon"),
            # Authored by someone else: a recorder's change must reach it through recorder_id.
            "formula": _trace(project, resident, "Naust", recorder_id=hidden.id,
                              informant_name=FORMULA, informant_consent=True,
                              knowledge_source="-fortalt av mor"),
            "own": _trace(project, resident, "Steingard"),
        }  # fmt: skip
        _, token = create_token(admin, "Museum", [project.id])
        db.session.commit()
        found = {name: trace.id for name, trace in made.items()}
        found |= {"token": token, "hidden": hidden.id}
        db.session.remove()
    return found


@pytest.fixture
def web(export_app: Flask, ids: dict[str, Any]) -> FlaskClient:
    return export_app.test_client()


def _get(web: FlaskClient, url: str, token: str | None = None, **params: str) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = web.get(url, query_string=params, headers=headers)
    body = response.get_data(as_text=True)
    response.close()
    assert response.status_code == 200, body[:500]
    return body


def _properties(body: str) -> dict[int, dict[str, Any]]:
    return {f["id"]: f["properties"] for f in json.loads(body)["features"]}


def _expect_provenance(props: dict[int, dict[str, Any]], ids: dict[str, Any]) -> None:
    assert {k: props[ids["secret"]][k] for k in PROVENANCE} == {
        # How it was passed on is free text that may name people: only with consent too.
        "informant": None, "informant_birth_year": None, "knowledge_source": None,
        "recorded_by": None, "recorded_for_informant": True,
    }  # fmt: skip
    assert {k: props[ids["named"]][k] for k in PROVENANCE} == {
        "informant": NAMED, "informant_birth_year": 1948, "knowledge_source": "egen observasjon",
        "recorded_by": "Librarian Lise", "recorded_for_informant": True,
    }  # fmt: skip
    assert {k: props[ids["own"]][k] for k in PROVENANCE} == {
        "informant": None, "informant_birth_year": None, "knowledge_source": None,
        "recorded_by": None, "recorded_for_informant": False,
    }  # fmt: skip


@pytest.mark.parametrize("partner", [False, True], ids=["public", "partner-token"])
def test_geojson_export_names_informants_only_with_consent(
    web: FlaskClient, ids: dict[str, Any], partner: bool
) -> None:
    token = ids["token"] if partner else None
    body = _get(web, "/export/download", token, format="geojson")
    assert SECRET not in body and "Hemmelig" not in body and "fortalt av far" not in body
    assert "hidden@example.org" not in body and '"hidden"' not in body
    _expect_provenance(_properties(body), ids)


@pytest.mark.parametrize("partner", [False, True], ids=["public", "partner-token"])
def test_ogc_api_names_informants_only_with_consent(
    web: FlaskClient, ids: dict[str, Any], partner: bool
) -> None:
    token = ids["token"] if partner else None
    for collection in ("alta", "traces"):
        body = _get(web, f"/ogc/collections/{collection}/items", token, f="json")
        assert SECRET not in body and "fortalt av far" not in body
        _expect_provenance(_properties(body), ids)
    one = _get(web, f"/ogc/collections/alta/items/{ids['secret']}", token, f="json")
    assert SECRET not in one and json.loads(one)["properties"]["recorded_for_informant"] is True
    page = _get(web, f"/ogc/collections/alta/items/{ids['secret']}", token, f="html")
    assert SECRET not in page


def test_csv_export_names_informants_only_with_consent_and_neutralises_them(
    web: FlaskClient, ids: dict[str, Any]
) -> None:
    body = _get(web, "/export/download", format="csv")
    assert SECRET not in body
    header, *rows = list(csv.reader(io.StringIO(body, newline="")))
    assert tuple(header) == CSV_COLUMNS
    by_id = {int(row[0]): dict(zip(header, row, strict=True)) for row in rows}
    secret, named, formula = (by_id[ids[n]] for n in ("secret", "named", "formula"))
    assert (secret["informant"], secret["informant_birth_year"], secret["recorded_by"]) == (
        "", "", "")  # fmt: skip
    assert (secret["knowledge_source"], secret["recorded_for_informant"]) == ("", "true")
    assert "fortalt av far" not in body  # only the secret trace was told so
    assert (named["informant"], named["informant_birth_year"]) == (NAMED, "1948")
    assert named["recorded_by"] == "Librarian Lise"
    assert by_id[ids["own"]]["recorded_for_informant"] == "false"
    # What a spreadsheet would run gets its apostrophe, as every text cell does (docs/csv.md).
    assert formula["informant"] == "'" + FORMULA
    assert formula["knowledge_source"] == "'-fortalt av mor"


def _updated_at(trace_id: int) -> Any:
    return db.session.execute(select(Trace.updated_at).where(Trace.id == trace_id)).scalar_one()


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE traces SET informant_consent = NOT informant_consent WHERE id = :id",
        "UPDATE traces SET informant_name = informant_name || '.' WHERE id = :id",
        "UPDATE traces SET informant_birth_year = 1924 WHERE id = :id",
        "UPDATE traces SET knowledge_source = 'fortalt av mor' WHERE id = :id",
        "UPDATE users SET show_name_publicly = NOT show_name_publicly "
        "WHERE id = (SELECT recorder_id FROM traces WHERE id = :id)",
        "UPDATE users SET display_name = 'Ny' "
        "WHERE id = (SELECT recorder_id FROM traces WHERE id = :id)",
    ],
    ids=[
        "consent",
        "name",
        "birth-year",
        "knowledge-source",
        "recorder-consent",
        "recorder-name",
    ],  # fmt: skip
)
def test_a_provenance_change_moves_updated_at_for_harvesters(
    export_app: Flask, ids: dict[str, Any], change: str
) -> None:
    with export_app.app_context():
        # The recorder's own changes are tried on a trace they recorded but did not author.
        changed = ids["formula"] if change.startswith("UPDATE users") else ids["secret"]
        before = _updated_at(changed)
        db.session.execute(text(change), {"id": changed})
        after = _updated_at(changed)
        untouched = _updated_at(ids["own"])
        db.session.rollback()  # the module's data stays as seeded
        assert after > before
        assert untouched == _updated_at(ids["own"])
