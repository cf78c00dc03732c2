"""Export -> import -> export gives the same features: GeoJSON and CSV, precise and public.

The whole path is the real one: the export route streams the file (COPY on its own
connection, so the data here is committed for real and the tables are emptied afterwards),
the import route reads it (dry run, then confirmation) into another project, and the export
route delivers that project again. Protected sites stay protected on every path, and a public
export's generalised points never come back as precise ones.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import select

from app.db import db, engine_of
from app.export.stream import CSV_COLUMNS
from app.models import Project, Scheme, Term, Trace, TraceStatus, UserRole
from tests.conftest import csrf_from
from tests.integration.test_export import add_user, empty_tables, login, make_export_app

# Properties that belong to the copy, not to the record: its own id, page, project and dates.
COPY_PROPERTIES = {
    "uri", "project", "project_name", "library", "approved_at", "updated_at",
    "approved_by_role", "source_uri", "source_id",
}  # fmt: skip
COPY_COLUMNS = {"id", "uri", "project", "approved_at", "source_uri", "source_id"}


def _term(scheme: Scheme, code: str) -> int:
    return db.session.execute(
        select(Term.id).where(Term.scheme == scheme, Term.code == code)
    ).scalar_one()


def _seed() -> None:
    source = Project(slug="kilde", name="Kilde", library_name="Kilde bibliotek")
    db.session.add(source)
    admin = add_user("admin@example.org", UserRole.ADMIN)
    named = add_user("named@example.org")
    named.show_name_publicly = True
    named.display_name = "@Named Person"  # an attribution a spreadsheet would run
    anonymous = add_user("anonymous@example.org")
    db.session.flush()

    def trace(author, geometry, **fields: Any) -> None:  # noqa: ANN001
        db.session.add(
            Trace(
                project_id=source.id,
                author_id=author.id,
                geom=from_shape(geometry, srid=4326),
                status=TraceStatus.APPROVED,
                approved_by_id=admin.id,
                approved_at="2026-10-01T12:00:00Z",
                **fields,
            )  # fmt: skip
        )

    trace(
        named, Point(23.2712345678, 69.9712345678), title='=HYPERLINK("https://example.org")',
        description="Kullgrop **ved** vegen", sources="Bygdebok, s. 12\nFortalt av Per",
        trace_type_id=_term(Scheme.TRACE_TYPE, "kullgrop"),
        period_id=_term(Scheme.PERIOD, "nyere-tid"),
        condition_id=_term(Scheme.CONDITION, "intakt"),
        dating_method_id=_term(Scheme.DATING_METHOD, "typologi"),
        tags=["kull", "a;b", "=sum(1)", "back\\slash"], licence="CC0-1.0",
    )  # fmt: skip
    # Protected by the vocabulary's rule (hunting pits), drawn as a polygon.
    trace(
        anonymous,
        Polygon([(23.35, 69.90), (23.36, 69.90), (23.36, 69.91), (23.35, 69.91)]),
        title="+Fangstgrop", trace_type_id=_term(Scheme.TRACE_TYPE, "fangstanlegg"),
        tags=["-minus", "@at"], licence="CC-BY-4.0",
    )  # fmt: skip
    # Protected by a moderator's decision only: its type and period are not sensitive.
    trace(
        anonymous, LineString([(23.25, 69.96), (23.26, 69.965), (23.27, 69.962)]),
        title="Gravrøys ved stien", trace_type_id=_term(Scheme.TRACE_TYPE, "ferdselsspor"),
        sensitivity_override=True, licence="CC-BY-4.0",
    )  # fmt: skip
    # Imported earlier from a museum: its provenance is the museum's.
    trace(
        anonymous, Point(23.10, 69.80), title="Tuft", description="", sources="",
        trace_type_id=_term(Scheme.TRACE_TYPE, "boplass"), licence="CC-BY-4.0",
        source_attribution="Alta museum", source_uri="https://museum.example/objekt/77",
        source_id="77", recorded_at="1987-06-05T00:00:00Z",
    )  # fmt: skip
    # Protected by its period (Iron Age), with a plain title.
    trace(
        named, Point(23.40, 69.95), title="Gravhaug", description="Stor haug",
        trace_type_id=_term(Scheme.TRACE_TYPE, "annet"),
        period_id=_term(Scheme.PERIOD, "jernalder"), licence="CC-BY-4.0",
    )  # fmt: skip


@pytest.fixture(scope="module")
def roundtrip_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """Our app with the source project committed for real; emptied afterwards."""
    app = make_export_app(database_url)
    app.config["IMPORT_HOLD_DIR"] = str(tmp_path_factory.mktemp("held"))
    with app.app_context():
        empty_tables()
        _seed()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        empty_tables()
    engine_of(app).dispose()


def _export(client: FlaskClient, fmt: str, slug: str) -> bytes:
    response = client.get("/export/download", query_string={"format": fmt, "project": slug})
    body = response.get_data()
    response.close()
    assert response.status_code == 200, body[:300]
    return body


def _import(client: FlaskClient, slug: str, data: bytes, filename: str) -> str:
    """Dry run, then confirmation, through the import routes; returns the report page."""
    page = client.get(f"/projects/{slug}/import")
    assert page.status_code == 200
    response = client.post(
        f"/projects/{slug}/import",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)),
              "file": (io.BytesIO(data), filename), "coord_system": "wgs84"},
        content_type="multipart/form-data",
    )  # fmt: skip
    report_page = response.get_data(as_text=True)
    assert response.status_code == 200, report_page[:2000]
    match = re.search(r'name="report" type="hidden" value="([^"]*)"', report_page)
    assert match, unescape(report_page)[:3000]
    page = client.get(f"/projects/{slug}/import")
    response = client.post(
        f"/projects/{slug}/import/confirm",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "report": match.group(1),
              "include_duplicates": "y"},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return unescape(report_page)


def _new_project(app: Flask, slug: str) -> None:
    with app.app_context():
        db.session.add(Project(slug=slug, name=slug.title(), library_name="Mottak"))
        db.session.commit()
        db.session.remove()


def _clients(app: Flask, precise: bool) -> tuple[FlaskClient, FlaskClient]:
    """(who exports, who imports): an admin for both, or the public for the export."""
    importer = app.test_client()
    login(importer, "admin@example.org")
    with importer.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return (importer if precise else app.test_client()), importer


@pytest.mark.parametrize("precise", [True, False], ids=["precise", "public"])
def test_geojson_round_trip(roundtrip_app: Flask, precise: bool) -> None:
    slug = f"geojson-{'precise' if precise else 'public'}"
    _new_project(roundtrip_app, slug)
    exporter, importer = _clients(roundtrip_app, precise)
    original = json.loads(_export(exporter, "geojson", "kilde"))["features"]
    assert len(original) == 5
    assert sum(f["properties"]["sensitive"] for f in original) == 3
    assert {f["properties"]["location"] for f in original} == (
        {"precise"} if precise else {"precise", "generalised"}
    )
    page = _import(
        importer,
        slug,
        json.dumps({"type": "FeatureCollection", "features": original}).encode(),
        "kilde.geojson",
    )
    assert "Features in the file: 5" in page and "With errors: 0" in page
    # The properties the import does not read are named on the report.
    for name in ("approved_at", "description_text", "project", "project_name"):
        assert f"<code>{name}</code>" in page
    for name in ("title", "type", "tags", "uri", "location", "sensitive", "recorded_at", "photos"):
        assert f"<code>{name}</code>" not in page
    again = json.loads(_export(exporter, "geojson", slug))["features"]
    assert len(again) == len(original)
    for before, after in zip(original, again, strict=True):
        a, b = before["properties"], after["properties"]
        assert after["geometry"] == before["geometry"], a["title"]
        differing = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
        assert differing <= COPY_PROPERTIES, (a["title"], {k: (a.get(k), b.get(k))
                                                           for k in differing})  # fmt: skip
        assert b["project"] == slug
        # The copy points to the original record (or to where that one came from).
        assert b["source_uri"] == (a["source_uri"] or a["uri"])
        assert b["source_id"] == (a["source_id"] or str(before["id"]))
    _assert_protected(roundtrip_app, slug, original, precise)


@pytest.mark.parametrize("precise", [True, False], ids=["precise", "public"])
def test_csv_round_trip(roundtrip_app: Flask, precise: bool) -> None:
    slug = f"csv-{'precise' if precise else 'public'}"
    _new_project(roundtrip_app, slug)
    exporter, importer = _clients(roundtrip_app, precise)
    body = _export(exporter, "csv", "kilde")
    original = list(csv.DictReader(io.StringIO(body.decode())))
    assert len(original) == 5
    page = _import(importer, slug, body, "kilde.csv")
    # lon and lat are not read: the position comes from wkt, which carries the whole shape.
    for name in ("approved_at", "project", "lon", "lat"):
        assert f"<code>{name}</code>" in page
    for name in ("title", "type_code", "type_label", "tags", "location", "sensitive", "wkt"):
        assert f"<code>{name}</code>" not in page
    again = list(csv.DictReader(io.StringIO(_export(exporter, "csv", slug).decode())))
    assert len(again) == len(original)
    assert tuple(again[0]) == CSV_COLUMNS
    for a, b in zip(original, again, strict=True):
        differing = {k for k in CSV_COLUMNS if a[k] != b[k]}
        assert differing <= COPY_COLUMNS, (a["title"], {k: (a[k], b[k]) for k in differing})
        assert b["project"] == slug
        assert b["source_uri"] == (a["source_uri"] or a["uri"])
        assert b["source_id"] == (a["source_id"] or a["id"])
    # Every text cell a spreadsheet would run is neutralised, in the copy as in the original.
    assert again[0]["title"] == '\'=HYPERLINK("https://example.org")'
    assert again[0]["tags"] == "kull;a\\;b;=sum(1);back\\\\slash"
    assert again[0]["attribution"] == "'@Named Person"
    assert again[1]["title"] == "'+Fangstgrop" and again[1]["tags"] == "'-minus;@at"
    features = [
        {"properties": {"sensitive": row["sensitive"] == "true", "location": row["location"],
                        "title": row["title"]}}
        for row in original
    ]  # fmt: skip
    _assert_protected(roundtrip_app, slug, features, precise)


def _assert_protected(app: Flask, slug: str, original: list[dict], precise: bool) -> None:
    """Every protected original is protected in the copy; generalised ones by override."""
    with app.app_context():
        copies = db.session.execute(
            select(Trace).join(Project).where(Project.slug == slug).order_by(Trace.id)
        ).scalars()
        for feature, copy in zip(original, copies, strict=True):
            props = feature["properties"]
            assert copy.is_sensitive == props["sensitive"], props["title"]
            if props["location"] == "generalised":
                assert not precise
                assert copy.sensitivity_override is True
            if props["sensitive"] and precise:
                assert copy.is_sensitive
        db.session.remove()
