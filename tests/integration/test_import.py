"""Importing known sites: dry run, confirmation, duplicates, rights, tampering, round trip.

The imports blueprint is not (yet) registered by create_app, so this module builds its own
application and registers it there before the first request; once create_app registers it,
the fixture simply finds it registered.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from shapely.geometry import LineString, Point, Polygon, shape
from sqlalchemy import func, select, true
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.models import (
    AuditEvent,
    Membership,
    MembershipRole,
    Project,
    Revision,
    Scheme,
    Trace,
    TraceStatus,
    User,
    UserRole,
)
from app.publication.features import ExportFilters, feature_query
from tests.conftest import csrf_from

ALTA = (23.2715, 69.9689)
DEG_LAT_M = 111_600  # metres per degree of latitude near 70 N
BOWTIE = [[[23.27, 69.96], [23.28, 69.97], [23.28, 69.96], [23.27, 69.97], [23.27, 69.96]]]


# --- helpers --------------------------------------------------------------------------------


def north_of(metres: float, origin: tuple[float, float] = ALTA) -> tuple[float, float]:
    return origin[0], round(origin[1] + metres / DEG_LAT_M, 7)


def feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def at(position: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(position)}


def collection(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def counts(session: Session) -> dict[str, int]:
    session.expire_all()
    return {
        model.__tablename__: session.execute(select(func.count()).select_from(model)).scalar_one()
        for model in (Trace, Revision, AuditEvent)
    }


def upload(
    client: FlaskClient, slug: str, data: bytes, filename: str, system: str = "wgs84"
) -> Any:
    page = client.get(f"/projects/{slug}/import")
    assert page.status_code == 200, page.status_code
    return client.post(
        f"/projects/{slug}/import",
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "file": (io.BytesIO(data), filename),
            "coord_system": system,
        },
        content_type="multipart/form-data",
    )


def report_of(response: Any) -> tuple[str, str]:
    """The page text and the signed report in its confirmation form."""
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    page = response.get_data(as_text=True)
    match = re.search(r'<input id="report" name="report" type="hidden" value="([^"]*)"', page)
    assert match, "no confirmation form on the report"
    return unescape(page), match.group(1)


def confirm(client: FlaskClient, slug: str, report: str, duplicates: bool = False) -> Any:
    token = csrf_from(client.get(f"/projects/{slug}/import").get_data(as_text=True))
    data = {"csrf_token": token, "report": report}
    if duplicates:
        data["include_duplicates"] = "y"
    return client.post(f"/projects/{slug}/import/confirm", data=data)


def traces_of(session: Session, project: Project) -> list[Trace]:
    session.expire_all()
    return list(
        session.execute(
            select(Trace).where(Trace.project_id == project.id).order_by(Trace.id)
        ).scalars()
    )


@pytest.fixture(autouse=True)
def hold_dir(app: Flask, tmp_path: Path) -> Iterator[Path]:
    """Uploads wait for their confirmation in a directory of this test's own."""
    saved = app.config.get("IMPORT_HOLD_DIR")
    app.config["IMPORT_HOLD_DIR"] = str(tmp_path / "held")
    yield tmp_path / "held"
    app.config["IMPORT_HOLD_DIR"] = saved


@pytest.fixture
def member(session: Session) -> Callable[[Project, User, MembershipRole], Membership]:
    def make(project: Project, user: User, role: MembershipRole) -> Membership:
        membership = Membership(
            project_id=project.id, user_id=user.id, role=role, granted_by_id=user.id
        )
        session.add(membership)
        session.commit()
        return membership

    return make


@pytest.fixture
def alta(make_project, make_user, member) -> dict[str, Any]:
    """A project with its librarian, and people who may not import into it."""
    project = make_project(slug="alta")
    other = make_project(slug="gjesdal")
    librarian = make_user(name="Liv Bibliotekar")
    member(project, librarian, MembershipRole.LIBRARIAN)
    curator = make_user(name="Kari Kurator")
    member(project, curator, MembershipRole.CURATOR)
    other_librarian = make_user(name="Ola Annen")
    member(other, other_librarian, MembershipRole.LIBRARIAN)
    return {
        "project": project,
        "other": other,
        "librarian": librarian,
        "curator": curator,
        "other_librarian": other_librarian,
        "resident": make_user(name="Randi Beboer"),
        "installation_librarian": make_user(UserRole.LIBRARIAN, name="Installasjon"),
        "admin": make_user(UserRole.ADMIN, name="Admin"),
    }


@pytest.fixture
def sign_in(client: FlaskClient, login) -> Callable[[User], str]:
    """Log in with English pages; returns a CSRF token."""

    def do(user: User) -> str:
        token = login(user)
        with client.session_transaction() as cookie_session:
            cookie_session["lang"] = "en"
        return token

    return do


THREE_SITES = collection(
    feature(at(ALTA), title="Fangstgrop ved Storvatnet", type="fangstanlegg", tags=["elg"]),
    feature(
        {"type": "LineString", "coordinates": [[23.30, 69.95], [23.31, 69.96]]},
        title="Gammel ferdselsvei",
        type="Old road, path, track",
        licence="CC0-1.0",
        sources="Bygdebok for Alta, s. 12",
    ),
    feature(
        {
            "type": "Polygon",
            "coordinates": [
                [[23.35, 69.90], [23.36, 69.90], [23.36, 69.91], [23.35, 69.91], [23.35, 69.90]]
            ],
        },
        navn="Tuft",
        period={"code": "jernalder", "label": "Jernalder"},
    ),
)


# --- who may import ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(client: FlaskClient, alta) -> None:
    response = client.get("/projects/alta/import")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "who", ["resident", "curator", "other_librarian", "installation_librarian"]
)
def test_others_get_403_and_nothing_is_stored(
    client: FlaskClient, session: Session, alta, sign_in, who: str
) -> None:
    # A report the project's librarian was given, replayed by someone else, changes nothing.
    sign_in(alta["librarian"])
    _, report = report_of(upload(client, "alta", THREE_SITES, "sites.geojson"))
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True))})
    token = sign_in(alta[who])
    before = counts(session)
    assert client.get("/projects/alta/import").status_code == 403
    response = client.post(
        "/projects/alta/import",
        data={"csrf_token": token, "file": (io.BytesIO(THREE_SITES), "sites.geojson")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    response = client.post(
        "/projects/alta/import/confirm", data={"csrf_token": token, "report": report}
    )
    assert response.status_code == 403
    assert counts(session) == before


def test_admins_may_import(client: FlaskClient, session: Session, alta, sign_in) -> None:
    sign_in(alta["admin"])
    _, report = report_of(upload(client, "alta", THREE_SITES, "sites.geojson"))
    assert confirm(client, "alta", report).status_code == 302
    assert len(traces_of(session, alta["project"])) == 3


def test_unknown_project_is_404(client: FlaskClient, alta, sign_in) -> None:
    sign_in(alta["admin"])
    assert client.get("/projects/nowhere/import").status_code == 404


# --- dry run and confirmation ------------------------------------------------------------------


def test_dry_run_reports_every_feature_and_stores_nothing(
    client: FlaskClient, session: Session, alta, sign_in
) -> None:
    sign_in(alta["librarian"])
    before = counts(session)
    data = collection(
        feature(at(ALTA), title="Fangstgrop"),
        feature({"type": "Polygon", "coordinates": BOWTIE}, title="Bowtie"),
        feature(at((69.97, 23.27)), title="Swapped"),
    )
    page, _ = report_of(upload(client, "alta", data, "sites.geojson"))
    assert "Nothing is stored yet" in page
    assert "Features in the file: 3" in page
    assert "Ready to import: 1" in page
    assert "With errors: 2" in page
    assert "Feature 2" in page and "“Bowtie”" in page and "crosses itself" in page
    assert "Feature 3" in page and "swapped" in page
    assert counts(session) == before


def test_confirm_imports_approved_traces_with_revisions_and_audit(
    client: FlaskClient, session: Session, alta, sign_in, term
) -> None:
    librarian, project = alta["librarian"], alta["project"]
    sign_in(librarian)
    before = counts(session)
    _, report = report_of(upload(client, "alta", THREE_SITES, "sites.geojson"))
    response = confirm(client, "alta", report)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/projects/alta")
    assert "3 known sites imported." in client.get("/projects/alta").get_data(as_text=True)

    after = counts(session)
    assert after["traces"] == before["traces"] + 3
    assert after["revisions"] == before["revisions"] + 3
    assert after["audit_events"] == before["audit_events"] + 1
    pit, road, house = traces_of(session, project)
    for trace in (pit, road, house):
        assert trace.status == TraceStatus.APPROVED
        assert trace.author_id == librarian.id
        assert trace.approved_by_id == librarian.id and trace.approved_at is not None
        # The sources stay the file's own; the file is named in the history and the audit.
        assert "Imported from" not in trace.sources
        assert trace.sensitivity_override is None  # the file did not protect them
        revisions = session.execute(select(Revision).where(Revision.trace_id == trace.id))
        (revision,) = revisions.scalars()
        assert revision.comment == ""
        assert revision.event == {
            "kind": "imported", "file": "sites.geojson", "generalised": False
        }  # fmt: skip
        assert revision.editor_id == librarian.id
        assert revision.snapshot["status"] == "approved"
    assert pit.title == "Fangstgrop ved Storvatnet"
    assert pit.trace_type_id == term(Scheme.TRACE_TYPE, "fangstanlegg").id
    assert pit.tags == ["elg"]
    assert pit.licence == "CC-BY-4.0"  # the project's default
    assert pit.is_sensitive  # hunting pits are protected by the vocabulary's rule
    assert road.trace_type_id == term(Scheme.TRACE_TYPE, "ferdselsspor").id  # by English label
    assert road.licence == "CC0-1.0"
    assert road.sources == "Bygdebok for Alta, s. 12"
    assert house.title == "Tuft"
    assert house.period_id == term(Scheme.PERIOD, "jernalder").id
    assert to_shape(house.geom).exterior.is_ccw

    event = session.execute(
        select(AuditEvent).where(AuditEvent.action == "traces.imported")
    ).scalar_one()
    assert event.actor_id == librarian.id
    assert (event.target_type, event.target_id, event.project_id) == (
        "project",
        project.id,
        project.id,
    )
    assert event.details["count"] == 3
    assert event.details["filename"] == "sites.geojson"


def test_csv_in_utm33_with_semicolons_imports(
    client: FlaskClient, session: Session, alta, sign_in
) -> None:
    sign_in(alta["librarian"])
    data = '\ufeffnavn;easting;northing;tags\nGrop;815362,40;7783837,51;"elg;fangst"\n'.encode()
    page, report = report_of(upload(client, "alta", data, "funn.csv", system="utm33"))
    assert "Ready to import: 1" in page
    assert confirm(client, "alta", report).status_code == 302
    (trace,) = traces_of(session, alta["project"])
    point = to_shape(trace.geom)
    assert point.x == pytest.approx(ALTA[0], abs=1e-6)
    assert point.y == pytest.approx(ALTA[1], abs=1e-6)
    assert trace.tags == ["elg", "fangst"]


def test_only_valid_features_are_imported_and_the_bad_one_is_named(
    client: FlaskClient, session: Session, alta, sign_in
) -> None:
    sign_in(alta["librarian"])
    data = collection(
        feature(at(ALTA), title="Grop A"),
        feature({"type": "Polygon", "coordinates": BOWTIE}, title="Bowtie"),
        feature(at(north_of(3000)), title="Grop B"),
    )
    page, report = report_of(upload(client, "alta", data, "mixed.geojson"))
    assert re.search(r"Feature 2</span>\s*<span class=\"import-title\">“Bowtie”", page)
    response = confirm(client, "alta", report)
    assert response.status_code == 302
    assert [t.title for t in traces_of(session, alta["project"])] == ["Grop A", "Grop B"]


# --- duplicates ------------------------------------------------------------------------------


def test_duplicates_are_reported_and_skipped_unless_ticked(
    client: FlaskClient, session: Session, alta, sign_in, make_trace
) -> None:
    project = alta["project"]
    existing = make_trace(Point(*ALTA), project=project, title="Fangstgrop")
    make_trace(Point(*north_of(10)), project=project, title="Slettet", status=TraceStatus.DELETED)
    make_trace(Point(*north_of(5)), project=alta["other"], title="Annet prosjekt")
    sign_in(alta["librarian"])
    data = collection(
        feature(at(north_of(22)), title="Grop nær"),  # 1: within 50 m of the existing trace
        feature(at(north_of(500)), title="  fangstGROP "),  # 2: same title, 500 m away
        feature(at(north_of(2000)), title="Fangstgrop"),  # 3: same title, but 2 km away
        feature(at(north_of(200)), title="Kullgrop"),  # 4: 200 m away, another title
        feature(at(north_of(210)), title="Kullmile"),  # 5: 10 m from feature 4
        feature(at(north_of(1500)), title="Tuft"),  # 6
        feature(at(north_of(2200)), title="tuft"),  # 7: feature 6's title, 700 m from it
    )
    before = counts(session)
    page, report = report_of(upload(client, "alta", data, "dups.geojson"))
    assert counts(session) == before
    assert "Possible duplicates: 4" in page
    assert "Ready to import: 3" in page
    entries = dict(re.findall(r"Feature (\d+)</span>(.*?)</li>", page, re.S))
    assert (
        "Possible duplicate of" in entries["1"] and f"(#{existing.id}, 22 m away)" in entries["1"]
    )
    assert "“Fangstgrop”" in entries["1"]
    assert f"(#{existing.id}, 500 m away)" in entries["2"]
    assert "in this file, “Kullgrop” (10 m away)" in entries["5"]
    assert "feature 6 in this file" in entries["7"] and "(700 m away)" in entries["7"]
    assert "Possible duplicate" not in entries["3"] + entries["4"] + entries["6"]
    assert "Import possible duplicates too" in page

    assert confirm(client, "alta", report).status_code == 302
    imported = [t for t in traces_of(session, project) if t.id != existing.id]
    assert sorted(t.title for t in imported if t.status == TraceStatus.APPROVED) == [
        "Fangstgrop",
        "Kullgrop",
        "Tuft",
    ]
    page = client.get("/projects/alta").get_data(as_text=True)
    assert "4 possible duplicates left out." in page


def test_ticking_imports_the_duplicates_too(
    client: FlaskClient, session: Session, alta, sign_in, make_trace
) -> None:
    project = alta["project"]
    make_trace(Point(*ALTA), project=project, title="Fangstgrop")
    sign_in(alta["librarian"])
    data = collection(
        feature(at(north_of(20)), title="Grop nær"), feature(at(north_of(3000)), title="Langt")
    )
    _, report = report_of(upload(client, "alta", data, "dups.geojson"))
    assert confirm(client, "alta", report, duplicates=True).status_code == 302
    assert len(traces_of(session, project)) == 3


def test_confirming_twice_does_not_double_the_sites(
    client: FlaskClient, session: Session, alta, sign_in
) -> None:
    sign_in(alta["librarian"])
    _, report = report_of(upload(client, "alta", THREE_SITES, "sites.geojson"))
    assert confirm(client, "alta", report).status_code == 302
    # A report is confirmed once: the held file is taken by the first confirmation.
    again = confirm(client, "alta", report)
    assert again.status_code == 400
    assert "Upload the file again" in again.get_data(as_text=True)
    assert len(traces_of(session, alta["project"])) == 3


# --- refusals -----------------------------------------------------------------------------------


def test_a_tampered_report_is_400_and_stores_nothing(
    client: FlaskClient, session: Session, alta, sign_in
) -> None:
    sign_in(alta["librarian"])
    _, report = report_of(upload(client, "alta", THREE_SITES, "sites.geojson"))
    before = counts(session)
    payload, signature = report.rsplit(".", 1)
    forged = payload[:-3] + ("AAA" if payload[-3:] != "AAA" else "BBB") + "." + signature
    for bad in (forged, report[:-4], "", "x" * 100):
        response = confirm(client, "alta", bad)
        assert response.status_code == 400, bad[:20]
        assert "Upload the file again" in response.get_data(as_text=True)
    assert counts(session) == before


def test_a_report_for_another_project_is_400(
    client: FlaskClient, session: Session, alta, sign_in, member
) -> None:
    member(alta["other"], alta["librarian"], MembershipRole.LIBRARIAN)
    sign_in(alta["librarian"])
    _, report = report_of(upload(client, "alta", THREE_SITES, "sites.geojson"))
    before = counts(session)
    response = confirm(client, "gjesdal", report)
    assert response.status_code == 400
    assert counts(session) == before


def test_confirm_needs_csrf(client: FlaskClient, session: Session, alta, sign_in) -> None:
    sign_in(alta["librarian"])
    _, report = report_of(upload(client, "alta", THREE_SITES, "sites.geojson"))
    before = counts(session)
    response = client.post("/projects/alta/import/confirm", data={"report": report})
    assert response.status_code == 400
    assert counts(session) == before


@pytest.mark.parametrize(
    ("data", "filename", "needle"),
    [
        (b"{not json", "a.geojson", "not valid JSON"),
        (b'{"type": "FeatureCollection", "features": [NaN]}', "a.geojson", "NaN"),
        (
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "crs": {"type": "name", "properties": {"name": "EPSG:25833"}},
                    "features": [],
                }
            ).encode(),
            "a.geojson",
            "EPSG:25833",
        ),
        ("name,lon,lat\nGrøft,23.27,69.97\n".encode("latin-1"), "a.csv", "not UTF-8"),
        (b"label,lon,lat\nx,23.27,69.97\n", "a.csv", "column named title"),
    ],
)
def test_bad_files_are_refused_with_422(
    client: FlaskClient, session: Session, alta, sign_in, data: bytes, filename: str, needle: str
) -> None:
    sign_in(alta["librarian"])
    before = counts(session)
    response = upload(client, "alta", data, filename)
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert needle in page
    assert 'class="error-summary"' in page
    assert counts(session) == before


def test_no_file_is_422(client: FlaskClient, alta, sign_in) -> None:
    token = sign_in(alta["librarian"])
    response = client.post(
        "/projects/alta/import", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert response.status_code == 422


def _post_file(client: FlaskClient, token: str, data: bytes, filename: str) -> Any:
    # Encoded here, in memory: the test client would spool a large body to a temporary
    # file that nobody closes when the app refuses it unread.
    boundary, body = encode_multipart(
        {"csrf_token": token, "file": FileStorage(io.BytesIO(data), filename)}
    )
    return client.post(
        "/projects/alta/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_oversized_upload_is_413_naming_the_limit_in_megabytes(
    app: Flask, client: FlaskClient, session: Session, alta, sign_in, monkeypatch
) -> None:
    token = sign_in(alta["librarian"])
    monkeypatch.setitem(app.config, "IMPORT_MAX_MB", 1)
    before = counts(session)
    response = _post_file(client, token, b" " * (1024 * 1024 + 70_000), "a.geojson")
    assert response.status_code == 413
    page = unescape(response.get_data(as_text=True))
    assert "at most 1 MB" in page
    assert 'class="error-summary"' in page
    assert counts(session) == before


def test_imports_may_weigh_more_than_other_requests(
    app: Flask, client: FlaskClient, alta, sign_in, monkeypatch, hold_dir: Path
) -> None:
    # 3 MB is above the 2 MB every other request may send, and within the import's limit.
    token = sign_in(alta["librarian"])
    monkeypatch.setitem(app.config, "IMPORT_MAX_MB", 4)
    assert app.config["MAX_CONTENT_LENGTH"] < 3 * 1024 * 1024
    padding = b" " * (3 * 1024 * 1024)
    data = collection(feature(at(ALTA), title="Grop")).replace(b"[", b"[" + padding, 1)
    response = _post_file(client, token, data, "big.geojson")
    page, report = report_of(response)
    assert "Ready to import: 1" in page
    assert len(report) < 1000  # the report names the held file; it does not carry it
    (held,) = hold_dir.iterdir()
    assert held.stat().st_size == len(data)


def test_an_unwritable_hold_directory_is_503_not_500(
    app: Flask, client: FlaskClient, session: Session, alta, sign_in, tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "a-file").write_text("")
    monkeypatch.setitem(app.config, "IMPORT_HOLD_DIR", str(tmp_path / "a-file" / "held"))
    sign_in(alta["librarian"])
    before = counts(session)
    response = upload(client, "alta", THREE_SITES, "sites.geojson")
    assert response.status_code == 503
    assert "could not be stored" in unescape(response.get_data(as_text=True))
    assert counts(session) == before


def test_a_hold_directory_that_cannot_be_listed_does_not_stop_an_upload(
    client: FlaskClient, alta, sign_in, monkeypatch, hold_dir: Path
) -> None:
    """Sweeping old files is housekeeping: a directory that may be written but not listed
    (mode 0300 for the app's user) still takes the upload."""
    listing = Path.iterdir

    def unlistable(path: Path) -> Iterator[Path]:
        if path == hold_dir:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    hold_dir.mkdir()
    monkeypatch.setattr(Path, "iterdir", unlistable)
    sign_in(alta["librarian"])
    response = upload(client, "alta", THREE_SITES, "sites.geojson")
    assert response.status_code == 200
    page, _ = report_of(response)
    assert "Ready to import: 3" in page


def test_the_default_import_limit_is_200_mb(app: Flask) -> None:
    assert app.config["IMPORT_MAX_MB"] == 200


# --- what our own exports carry ------------------------------------------------------------------


def test_a_generalised_position_is_imported_as_protected_with_a_note(
    client: FlaskClient, session: Session, alta, sign_in
) -> None:
    sign_in(alta["librarian"])
    data = collection(
        feature(at(ALTA), title="Gravrøys", type="boplass", location="generalised"),
        feature(at(north_of(3000)), title="Tuft", type="boplass", location="precise"),
    )
    page, report = report_of(upload(client, "alta", data, "public.geojson"))
    assert "Imported as protected sites, whatever their type: 1" in page
    assert "generalised position (location: generalised)" in page
    assert confirm(client, "alta", report).status_code == 302
    grave, house = traces_of(session, alta["project"])
    assert grave.sensitivity_override is True and grave.is_sensitive
    assert house.sensitivity_override is None and not house.is_sensitive
    (revision,) = session.execute(select(Revision).where(Revision.trace_id == grave.id)).scalars()
    assert revision.event == {"kind": "imported", "file": "public.geojson", "generalised": True}


def test_provenance_is_kept_and_unused_properties_are_named(
    client: FlaskClient, session: Session, alta, sign_in
) -> None:
    sign_in(alta["librarian"])
    first = feature(
        at(ALTA), title="Grop", attribution="Alta museum", uri="https://here/traces/9",
        recorded_at="1987-06-05", kommune="Alta",
    )  # fmt: skip
    first["id"] = 9
    second = feature(
        at(north_of(3000)), title="Tuft", uri="https://here/traces/10",
        source_uri="https://museum.example/obj/1", source_id="M-1",
    )  # fmt: skip
    page, report = report_of(upload(client, "alta", collection(first, second), "m.geojson"))
    assert "Properties not used by the import:" in page and "<code>kommune</code>" in page
    assert confirm(client, "alta", report).status_code == 302
    grop, tuft = traces_of(session, alta["project"])
    assert (grop.source_attribution, grop.source_uri, grop.source_id) == (
        "Alta museum", "https://here/traces/9", "9")  # fmt: skip
    assert grop.recorded_at == datetime(1987, 6, 5, tzinfo=UTC)
    assert (tuft.source_uri, tuft.source_id) == ("https://museum.example/obj/1", "M-1")
    assert tuft.source_attribution is None and tuft.recorded_at is None


# --- round trip -----------------------------------------------------------------------------------


def test_an_export_imports_into_another_project_unchanged(
    client: FlaskClient, session: Session, alta, sign_in, make_trace, make_project, term
) -> None:
    source = make_project(slug="museum")
    shapes = [
        Point(23.2715123, 69.9689456),
        LineString([(23.30, 69.95), (23.3100001, 69.9600002), (23.32, 69.95)]),
        Polygon([(23.35, 69.90), (23.36, 69.90), (23.36, 69.91), (23.35, 69.91)]),
    ]
    kinds = [("fangstanlegg", "jernalder"), ("ferdselsspor", "nyere-tid"), ("boplass", None)]
    for n, (geometry, (kind, period)) in enumerate(zip(shapes, kinds, strict=True)):
        make_trace(
            geometry,
            project=source,
            title=f"Kjent sted {n}",
            description=f"Beskrivelse **{n}**",
            trace_type_id=term(Scheme.TRACE_TYPE, kind).id,
            period_id=term(Scheme.PERIOD, period).id if period else None,
            condition_id=term(Scheme.CONDITION, "intakt").id,
            dating_method_id=term(Scheme.DATING_METHOD, "typologi").id,
            tags=["kjent", f"nr{n}"],
            sources="Museets register",
        )
    exported = export(session, "museum")
    assert len(exported["features"]) == 3

    sign_in(alta["librarian"])
    page, report = report_of(
        upload(client, "alta", json.dumps(exported).encode(), "museum.geojson")
    )
    assert "Ready to import: 3" in page
    assert confirm(client, "alta", report).status_code == 302

    again = export(session, "alta")
    assert len(again["features"]) == 3
    for before, after in zip(exported["features"], again["features"], strict=True):
        a, b = before["properties"], after["properties"]
        assert b["title"] == a["title"]
        assert b["description"] == a["description"]
        for name in ("type", "period", "condition", "dating_method"):
            assert (b[name] or {}).get("code") == (a[name] or {}).get("code"), name
        assert b["tags"] == a["tags"]
        assert b["licence"] == a["licence"]
        assert b["sources"] == a["sources"]
        # The provenance points to the original record, not to the copy.
        assert (b["source_uri"], b["source_id"]) == (a["uri"], str(before["id"]))
        assert (b["attribution"], b["recorded_at"]) == (a["attribution"], a["recorded_at"])
        assert b["project"] == "alta" and b["location"] == "precise"
        original, imported = shape(before["geometry"]), shape(after["geometry"])
        assert original.geom_type == imported.geom_type
        assert original.equals_exact(imported, 1e-7)


def export(session: Session, slug: str) -> dict[str, Any]:
    """The project's approved traces as the GeoJSON export builds them (precise)."""
    session.expire_all()
    rows = session.execute(
        feature_query(true(), "http://localhost", ExportFilters(project_slug=slug))
    )
    return {"type": "FeatureCollection", "features": [json.loads(text) for _, text in rows]}
