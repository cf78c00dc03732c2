"""GeoJSON and CSV exports: RFC 7946 validity, protected locations, filters, GDAL, the log, CLI.

COPY runs on a connection of its own, so it cannot see a test's rolled-back transaction: the
data here is committed for real (once per module) and the tables are emptied afterwards.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select, text

from app import create_app
from app.db import db, engine_of
from app.export import routes as export_routes
from app.export.cli import export_command
from app.export.stream import CSV_COLUMNS, GENERALISED
from app.models import (
    ExportLog,
    Membership,
    MembershipRole,
    Project,
    Scheme,
    Term,
    Trace,
    TraceStatus,
    User,
    UserRole,
)
from app.publication import routes as publication_routes
from app.publication.tokens import create_token, revoke_token
from tests.conftest import PASSWORD, PASSWORD_HASH, csrf_from

DATA_TABLES = (
    "audit_events, notifications, comments, password_reset_tokens, revisions, traces, "
    "memberships, user_sessions, projects, users, export_logs, partner_tokens"
)
OGRINFO = shutil.which("ogrinfo")
# make test installs GDAL (scripts/ensure-gdal.sh); a missing ogrinfo must fail, not skip.
assert OGRINFO, "GDAL's ogrinfo is missing: run scripts/ensure-gdal.sh"


# --- Shared helpers (test_partners.py and test_export_memory.py use them too) -------------


def make_export_app(database_url: str) -> Flask:
    """The app with the export and partner blueprints and `flask export`.

    Until app/__init__.py and app/cli.py register them, they are added here, on an app of our
    own: Flask refuses new blueprints once an app has served a request, and the shared `app`
    fixture may have served some already.
    """
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-not-for-production",
            "BASE_URL": "http://localhost",
        }
    )
    for blueprint in (export_routes.bp, publication_routes.bp):
        if blueprint.name not in app.blueprints:
            app.register_blueprint(blueprint)
    if "export" not in app.cli.commands:
        app.cli.add_command(export_command)
    return app


def empty_tables() -> None:
    """Remove everything the tests committed (the vocabulary stays)."""
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))


def login(client: FlaskClient, email: str) -> None:
    """Log in through the real form."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def add_user(email: str, role: UserRole = UserRole.RESIDENT) -> User:
    """A committed-to-be user with the shared test password."""
    user = User(email=email, email_normalized=email, display_name=email.split("@")[0],
                password_hash=PASSWORD_HASH, role=role)  # fmt: skip
    db.session.add(user)
    db.session.flush()
    return user


# --- The data: two projects, every kind of trace --------------------------------------------


@dataclass
class World:
    """Ids of what was stored, the plain partner tokens, and the generalised point."""

    ids: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    public_point: tuple[float, float] = (0.0, 0.0)
    precise_point: tuple[float, float] = (23.4001234, 69.9801234)


def _term(scheme: Scheme, code: str) -> int:
    return db.session.execute(
        select(Term.id).where(Term.scheme == scheme, Term.code == code)
    ).scalar_one()


def _trace(project: Project, author: User, geometry: BaseGeometry, **fields: Any) -> Trace:
    status = fields.pop("status", TraceStatus.APPROVED)
    approved = status == TraceStatus.APPROVED
    trace = Trace(
        project_id=project.id, author_id=author.id, title=fields.pop("title", "Kullgrop"),
        geom=from_shape(geometry, srid=4326), status=status, licence="CC-BY-4.0",
        approved_by_id=author.id if approved else None,
        approved_at="2026-10-01T12:00:00Z" if approved else None,
        decided_by_id=author.id if status == TraceStatus.REJECTED else None, **fields,
    )  # fmt: skip
    db.session.add(trace)
    db.session.flush()
    return trace


def _seed(world: World) -> None:
    alta = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
    kara = Project(slug="karasjok", name="Karasjok", library_name="Karasjok bibliotek")
    db.session.add_all([alta, kara])
    admin = add_user("admin@example.org", UserRole.ADMIN)
    librarian = add_user("librarian@example.org")
    resident = add_user("resident@example.org")
    author = add_user("author@example.org")
    db.session.flush()
    db.session.add(Membership(project_id=alta.id, user_id=librarian.id,
                              role=MembershipRole.LIBRARIAN))  # fmt: skip
    kullgrop = _term(Scheme.TRACE_TYPE, "kullgrop")
    made = {
        "point": _trace(alta, author, Point(23.2712345678, 69.9712345678),
                        trace_type_id=kullgrop, tags=["kull", "skog"]),
        # Drawn clockwise (north, east, south, west): the export must turn it round.
        "polygon": _trace(alta, author, Polygon([(23.30, 69.95), (23.30, 69.96),
                                                 (23.32, 69.96), (23.32, 69.95)])),
        "line": _trace(alta, author, LineString([(23.25, 69.96), (23.26, 69.965)]),
                       title="=HYPERLINK(\"https://example.org\")"),
        "sensitive": _trace(alta, author, Point(*world.precise_point), title="Gravrøys",
                            sensitivity_override=True),
        "old": _trace(alta, author, Point(23.1, 69.9), updated_at="2020-01-01T00:00:00Z"),
        "pending": _trace(alta, author, Point(23.2, 69.9), status=TraceStatus.PENDING),
        "rejected": _trace(alta, author, Point(23.2, 69.91), status=TraceStatus.REJECTED),
        "kara": _trace(kara, author, Point(25.5, 69.47), title="Naust",
                       period_id=_term(Scheme.PERIOD, "nyere-tid")),
    }  # fmt: skip
    world.ids = {name: trace.id for name, trace in made.items()}
    world.ids |= {"p_alta": alta.id, "p_kara": kara.id, "admin": admin.id,
                  "librarian": librarian.id, "resident": resident.id}  # fmt: skip
    db.session.refresh(made["sensitive"])
    public = to_shape(made["sensitive"].public_geom)
    world.public_point = (public.x, public.y)
    for name, projects in (("alta", [alta.id]), ("kara", [kara.id]), ("revoked", [alta.id])):
        token, plain = create_token(admin, f"Museum {name}", projects)
        world.tokens[name] = plain
        if name == "revoked":
            revoke_token(admin, token)


@pytest.fixture(scope="module")
def export_app(database_url: str) -> Iterator[Flask]:
    """Our app, with the module's data committed for real; emptied afterwards."""
    app = make_export_app(database_url)
    yield app
    with app.app_context():
        empty_tables()
    engine_of(app).dispose()


@pytest.fixture(scope="module")
def world(export_app: Flask) -> World:
    """The committed data every test here reads."""
    world = World()
    with export_app.app_context():
        _seed(world)
        db.session.commit()
        db.session.remove()
    return world


@pytest.fixture
def web(export_app: Flask, world: World) -> FlaskClient:
    """A browser-like client on our app."""
    return export_app.test_client()


def _download(client: FlaskClient, token: str | None = None, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get("/export/download", query_string=params, headers=headers)
    body = response.get_data()
    response.close()
    return response, body


def _collection(client: FlaskClient, token: str | None = None, **params: str) -> dict:
    response, body = _download(client, token, format="geojson", **params)
    assert response.status_code == 200, body[:500]
    return json.loads(body)


def _by_id(collection: dict) -> dict[int, dict]:
    return {feature["id"]: feature for feature in collection["features"]}


def _logs() -> list[ExportLog]:
    return list(db.session.execute(select(ExportLog).order_by(ExportLog.id)).scalars())


# --- GeoJSON validity -----------------------------------------------------------------------


def test_geojson_is_rfc7946_with_metadata(web: FlaskClient, world: World) -> None:
    response, body = _download(web, format="geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="traces-all-')
    collection = json.loads(body)
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection
    assert collection["source"] == {"installation": "Kulturspor", "url": "http://localhost"}
    assert collection["query"] == {}
    assert "CC BY 4.0" in collection["licence"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", collection["generated_at"])
    assert collection["location"] == GENERALISED
    expected = {world.ids[k] for k in ("point", "polygon", "line", "sensitive", "old", "kara")}
    assert set(_by_id(collection)) == expected
    assert collection["numberReturned"] == collection["numberMatched"] == len(expected)
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert isinstance(feature["id"], int)
        assert "crs" not in feature["geometry"]
        assert feature["properties"]["licence"] == "CC-BY-4.0"
        assert feature["properties"]["uri"] == f"http://localhost/traces/{feature['id']}"
        assert shape(feature["geometry"]).is_valid
        assert "@" not in json.dumps(feature["properties"])  # never an e-mail address
    point = _by_id(collection)[world.ids["point"]]
    assert point["geometry"]["coordinates"] == [23.2712346, 69.9712346]
    assert point["properties"]["type"]["code"] == "kullgrop"
    assert point["properties"]["tags"] == ["kull", "skog"]


def test_coordinates_have_at_most_seven_decimals(web: FlaskClient, world: World) -> None:
    _, body = _download(web, format="geojson")
    numbers = re.findall(rb'"coordinates": *(\[[^"]*\])', body)
    assert numbers
    for run in numbers:
        for number in re.findall(rb"-?\d+(?:\.\d+)?", run):
            assert len(number.partition(b".")[2]) <= 7, number


def test_polygon_outer_rings_are_counter_clockwise(web: FlaskClient, world: World) -> None:
    polygon = _by_id(_collection(web))[world.ids["polygon"]]
    ring = shape(polygon["geometry"]).exterior
    assert ring.is_ccw, "RFC 7946: exterior rings counter-clockwise"


# --- Protected locations --------------------------------------------------------------------


def _sensitive_point(collection: dict, world: World) -> tuple[tuple[float, float], str]:
    feature = _by_id(collection)[world.ids["sensitive"]]
    x, y = feature["geometry"]["coordinates"]
    return (x, y), feature["properties"]["location"]


def test_sensitive_site_is_generalised_for_the_public(web: FlaskClient, world: World) -> None:
    point, location = _sensitive_point(_collection(web), world)
    assert location == "generalised"
    assert point == pytest.approx(world.public_point, abs=1e-7)
    assert Point(point).distance(Point(world.precise_point)) > 0.001


def test_partner_token_of_the_project_gets_it_precisely(web: FlaskClient, world: World) -> None:
    collection = _collection(web, token=world.tokens["alta"])
    point, location = _sensitive_point(collection, world)
    assert (point, location) == (world.precise_point, "precise")
    assert collection["location"] == "precise"


def test_token_of_another_project_gets_it_generalised(web: FlaskClient, world: World) -> None:
    collection = _collection(web, token=world.tokens["kara"])
    point, location = _sensitive_point(collection, world)
    assert location == "generalised"
    assert point == pytest.approx(world.public_point, abs=1e-7)
    assert collection["location"] == GENERALISED


@pytest.mark.parametrize("token", ["revoked", "hp_not-a-token"])
def test_unknown_or_revoked_token_is_refused(web: FlaskClient, world: World, token: str) -> None:
    response, body = _download(web, token=world.tokens.get(token, token), format="geojson")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert b"69.98" not in body


@pytest.mark.parametrize(("email", "precise"), [("librarian@example.org", True),
                                               ("resident@example.org", False)])  # fmt: skip
def test_logged_in_librarian_of_the_project_gets_it_precisely(
    web: FlaskClient, world: World, email: str, precise: bool
) -> None:
    login(web, email)
    point, location = _sensitive_point(_collection(web), world)
    assert (location == "precise") is precise
    assert (point == world.precise_point) is precise


def test_pending_and_rejected_are_never_exported(web: FlaskClient, world: World) -> None:
    login(web, "admin@example.org")
    hidden = {world.ids["pending"], world.ids["rejected"]}
    for fmt in ("geojson", "csv"):
        _, body = _download(web, format=fmt)
        if fmt == "geojson":
            assert not hidden & set(_by_id(json.loads(body)))
        else:
            rows = csv.DictReader(io.StringIO(body.decode()))
            assert not hidden & {int(row["id"]) for row in rows}


# --- Filters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"project": "karasjok"}, {"kara"}),
        ({"bbox": "23.2,69.94,23.35,69.975"}, {"point", "polygon", "line"}),
        ({"type": "kullgrop"}, {"point"}),
        ({"period": "nyere-tid"}, {"kara"}),
        pytest.param({"term": "skog"}, {"point"}),
        pytest.param({"term": "nyere-tid"}, {"kara"}),
        ({"updated_since": "2024-01-01"}, {"point", "polygon", "line", "sensitive", "kara"}),
        ({"project": "alta", "updated_since": "2019-12-31T23:00:00Z", "type": "kullgrop"},
         {"point"}),
    ],
)  # fmt: skip
def test_filters(web: FlaskClient, world: World, params: dict, expected: set[str]) -> None:
    collection = _collection(web, **params)
    assert set(_by_id(collection)) == {world.ids[name] for name in expected}
    assert collection["numberReturned"] == len(expected)
    assert collection["query"]  # the filters are named in the metadata


def test_bbox_finds_a_sensitive_site_only_at_its_generalised_point(
    web: FlaskClient, world: World
) -> None:
    x, y = world.precise_point
    around_precise = f"{x - 0.0005},{y - 0.0005},{x + 0.0005},{y + 0.0005}"
    assert world.ids["sensitive"] not in _by_id(_collection(web, bbox=around_precise))
    px, py = world.public_point
    around_public = f"{px - 0.0005},{py - 0.0005},{px + 0.0005},{py + 0.0005}"
    assert world.ids["sensitive"] in _by_id(_collection(web, bbox=around_public))


@pytest.mark.parametrize(
    "params",
    [{"bbox": "1,2,3"}, {"bbox": "20,70,30,60"}, {"bbox": "a,b,c,d"}, {"project": "nowhere"},
     {"updated_since": "yesterday"}, {"format": "shp"}, {"type": "no-such-type"}],
)  # fmt: skip
def test_bad_filters_show_the_form_again(web: FlaskClient, world: World, params: dict) -> None:
    before = _log_count(web)
    response, body = _download(web, **params)
    assert response.status_code == 422
    assert b'class="error-summary"' in body
    assert _log_count(web) == before


def _log_count(web: FlaskClient) -> int:
    with engine_of(web.application).connect() as connection:
        return connection.execute(select(func.count()).select_from(ExportLog)).scalar_one()


def test_export_page_offers_the_form_and_the_link(web: FlaskClient, world: World) -> None:
    page = web.get("/export")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'action="/export/download"' in html and 'value="karasjok"' in html
    chosen = web.get("/export", query_string={"format": "csv", "project": "alta", "term": ""})
    assert chosen.status_code == 200
    assert "http://localhost/export/download?format=csv&amp;project=alta" in chosen.get_data(
        as_text=True
    )
    assert web.get("/export", query_string={"bbox": "x"}).status_code == 422


# --- CSV ------------------------------------------------------------------------------------


def test_csv_has_header_and_coordinates(web: FlaskClient, world: World) -> None:
    response, body = _download(web, format="csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    by_id = {int(row[0]): dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    assert len(by_id) == 6
    point = by_id[world.ids["point"]]
    assert (point["lon"], point["lat"]) == ("23.2712346", "69.9712346")
    assert point["wkt"] == "POINT(23.2712346 69.9712346)"
    assert point["tags"] == "kull;skog"
    assert point["type_code"] == "kullgrop" and point["type_label"]
    assert point["licence"] == "CC-BY-4.0" and point["location"] == "precise"
    sensitive = by_id[world.ids["sensitive"]]
    assert sensitive["location"] == "generalised"
    assert (float(sensitive["lon"]), float(sensitive["lat"])) == pytest.approx(world.public_point)
    assert by_id[world.ids["polygon"]]["wkt"].startswith("POLYGON((")
    assert by_id[world.ids["kara"]]["period_code"] == "nyere-tid"
    # A title a spreadsheet would run as a formula is kept as text.
    assert by_id[world.ids["line"]]["title"] == '\'=HYPERLINK("https://example.org")'


# --- GDAL reads the files -------------------------------------------------------------------


def _ogrinfo(path: Path, *options: str) -> str:
    assert OGRINFO
    done = subprocess.run([OGRINFO, "-ro", "-al", "-so", *options, str(path)],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return done.stdout


def test_gdal_reads_the_geojson(web: FlaskClient, world: World, tmp_path: Path) -> None:
    path = tmp_path / "traces.geojson"
    path.write_bytes(_download(web, format="geojson")[1])
    report = _ogrinfo(path)
    assert "Feature Count: 6" in report
    assert "WGS 84" in report
    assert re.search(r"licence: String", report)


@pytest.mark.parametrize(
    "options",
    [("-oo", "GEOM_POSSIBLE_NAMES=wkt", "-oo", "KEEP_GEOM_COLUMNS=NO"),
     ("-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat")],
)  # fmt: skip
def test_gdal_reads_the_csv(
    web: FlaskClient, world: World, tmp_path: Path, options: tuple[str, ...]
) -> None:
    path = tmp_path / "traces.csv"
    path.write_bytes(_download(web, format="csv")[1])
    report = _ogrinfo(path, *options)
    assert "Feature Count: 6" in report
    extent = re.search(r"Extent: \(([\d.]+), ([\d.]+)\) - \(([\d.]+), ([\d.]+)\)", report)
    assert extent, report
    west, south, east, north = (float(v) for v in extent.groups())
    assert 23 < west < east < 26 and 69 < south < north < 70.5


# --- The export log -------------------------------------------------------------------------


def test_every_delivery_is_logged(export_app: Flask, web: FlaskClient, world: World) -> None:
    with export_app.app_context():
        before = len(_logs())
    _download(web, format="csv", project="alta")
    _download(web, token=world.tokens["alta"], format="geojson")
    login(web, "librarian@example.org")
    _download(web, format="geojson", project="alta")
    with export_app.app_context():
        public, partner, librarian = _logs()[before:]
    assert (public.channel, public.format, public.user_id, public.partner_token_id) == (
        "web", "csv", None, None)  # fmt: skip
    assert public.query == {"project": "alta"}
    assert (public.feature_count, public.precise) == (5, False)
    assert partner.partner_token_id is not None and partner.user_id is None
    assert (partner.feature_count, partner.precise) == (6, True)
    assert librarian.user_id == world.ids["librarian"]
    assert (librarian.feature_count, librarian.precise) == (5, True)


# --- flask export ---------------------------------------------------------------------------


def _cli(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["export", *args])


def test_cli_writes_the_file_and_logs(export_app: Flask, world: World, tmp_path: Path) -> None:
    output = tmp_path / "alta.geojson"
    result = _cli(export_app, "--format", "geojson", "--output", str(output),
                  "--project", "alta", "--precise")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Wrote 5 traces" in result.output
    collection = json.loads(output.read_text())
    assert collection["numberReturned"] == 5 and collection["location"] == "precise"
    point, location = _sensitive_point(collection, world)
    assert (point, location) == (world.precise_point, "precise")
    assert not list(tmp_path.glob("*.part"))
    result = _cli(export_app, "--format", "csv", "--output", str(tmp_path / "all.csv"),
                  "--bbox", "20,60,30,71", "--updated-since", "2024-01-01")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "all.csv").read_text().splitlines()) == 1 + 5
    with export_app.app_context():
        geojson, table = _logs()[-2:]
    assert (geojson.channel, geojson.format, geojson.precise, geojson.feature_count) == (
        "cli", "geojson", True, 5)  # fmt: skip
    assert (table.channel, table.format, table.precise, table.feature_count) == (
        "cli", "csv", False, 5)  # fmt: skip
    assert table.query == {"bbox": [20.0, 60.0, 30.0, 71.0],
                           "updated_since": "2024-01-01T00:00:00+00:00"}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "shp"], "'shp' is not one of"),
        (["--format", "geojson"], "Missing option '--output'"),
        (["--format", "geojson", "--output", "{out}", "--bbox", "1,2"], "'--bbox'"),
        (["--format", "csv", "--output", "{out}", "--updated-since", "soon"], "'--updated-since'"),
        (["--format", "csv", "--output", "{out}", "--project", "nowhere"], "'--project'"),
        (["--format", "csv", "--output", "{out}", "--type", "nothing"], "'--type'"),
    ],
)
def test_cli_refuses_bad_options(
    export_app: Flask, world: World, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "x.geojson"
    result = _cli(export_app, *[a.replace("{out}", str(out)) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not list(tmp_path.iterdir())


def test_cli_unwritable_output_leaves_nothing(
    export_app: Flask, world: World, tmp_path: Path
) -> None:
    with export_app.app_context():
        before = len(_logs())
    output = tmp_path / "missing-dir" / "traces.geojson"
    result = _cli(export_app, "--format", "geojson", "--output", str(output))
    assert result.exit_code == 1
    assert f"Cannot write {output}" in result.output
    assert not (tmp_path / "missing-dir").exists()
    with export_app.app_context():
        assert len(_logs()) == before


# --- Parallel export (--jobs): the same bytes, one snapshot ---------------------------------


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_parallel_export_writes_what_one_connection_writes(
    export_app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    from app.export import stream

    # One id per chunk: many chunks, each built on whichever of the three connections is free.
    monkeypatch.setattr(stream, "MIN_CHUNK_IDS", 1)
    monkeypatch.setattr(stream, "CHUNKS", 10_000)
    monkeypatch.setattr(stream, "PARALLEL_MIN_ROWS", 0)
    files = {}
    for jobs in ("1", "3"):
        files[jobs] = tmp_path / f"jobs{jobs}.{fmt}"
        result = _cli(export_app, "--format", fmt, "--output", str(files[jobs]), "--jobs", jobs)
        assert result.exit_code == 0, result.output
    one, three = (re.sub(r'"generated_at": "[^"]*"', "", f.read_text()) for f in files.values())
    assert one == three
    if fmt == "geojson":
        collection = json.loads(files["3"].read_text())
        ids = [feature["id"] for feature in collection["features"]]
        assert ids == sorted(ids) and len(ids) == collection["numberMatched"] > 3


def test_parallel_export_reads_the_snapshot_taken_when_it_opened(
    export_app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change committed after open() is not in the file, even on the connections that
    join the export later (they import the first one's snapshot)."""
    from sqlalchemy import false

    from app.export import stream
    from app.publication.features import ExportFilters

    monkeypatch.setattr(stream, "MIN_CHUNK_IDS", 1)
    monkeypatch.setattr(stream, "CHUNKS", 10_000)
    monkeypatch.setattr(stream, "PARALLEL_MIN_ROWS", 0)
    with export_app.app_context():
        target = (
            db.session.execute(
                select(Trace).where(Trace.status == TraceStatus.APPROVED).order_by(Trace.id.desc())
            )
            .scalars()
            .first()
        )
        old_title = target.title
        export = stream.Export(
            "geojson", ExportFilters(None, None, None, None, None, None), false(),
            stream.Source("test", "http://localhost"), jobs=2,
        )  # fmt: skip
        summary = export.open()
        with engine_of(export_app).begin() as other:
            other.execute(text("UPDATE traces SET title = 'Changed after open' WHERE id = :id"),
                          {"id": target.id})  # fmt: skip
        try:
            body = b"".join(export.body())
        finally:
            with engine_of(export_app).begin() as other:
                other.execute(text("UPDATE traces SET title = :t WHERE id = :id"),
                              {"t": old_title, "id": target.id})  # fmt: skip
        db.session.remove()
    features = _by_id(json.loads(body))
    assert features[target.id]["properties"]["title"] == old_title
    assert len(features) == summary.count == export.streamed
