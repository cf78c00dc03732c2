"""Photos in exports and the OGC API: links a museum can fetch, only the photos it may see.

The export streams with COPY on a connection of its own, so the world here is committed for
real (once per module, through the photos backend's own operations: stage, attach, decide)
and the tables are emptied afterwards. The harvest test runs in the usual rolled-back
transaction and reads the OGC API, which uses the request's session.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from PIL import Image
from shapely.geometry import Point
from sqlalchemy import false, func, select, text, true, update
from sqlalchemy.orm import Session

from app.access import precise_allowed
from app.db import db, engine_of
from app.export.cells import join_values, restore, split_values
from app.export.stream import CSV_COLUMNS
from app.imports.candidates import PHOTO_REFERENCES_MAX, photo_references
from app.models import (
    Membership,
    MembershipRole,
    Photo,
    PhotoStatus,
    Project,
    Scheme,
    Term,
    Trace,
    TraceStatus,
    User,
    UserRole,
)
from app.photos.operations import PhotoSpec, attach_photos, decide_photo, stage_photo
from app.publication.features import ExportFilters, feature_query
from app.publication.tokens import create_token
from tests.integration.test_export import add_user, empty_tables, login, make_export_app
from tests.integration.test_import_roundtrip import _import, _new_project

BASE = "http://localhost"
SLUG = "fotos"
REFERENCES = [
    {
        "href": "https://museum.example/photos/7/display",
        "thumbnail": "https://museum.example/photos/7/thumb",
        "caption": "Fra museets arkiv",
        "credit": "Alta museum",
        "licence": "CC0-1.0",
    },
    {
        "href": "https://museum.example/photos/8/display",
        "thumbnail": None,
        "caption": "",
        "credit": "Ukjent",
        "licence": "",
    },
]
# A caption a spreadsheet would run, holding the separator and a backslash.
TRICKY_CAPTION = "=Første | bilde \\ av tufta"


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    """A small real JPEG, made here."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


def _term(scheme: Scheme, code: str) -> int:
    return db.session.execute(
        select(Term.id).where(Term.scheme == scheme, Term.code == code)
    ).scalar_one()


def _trace(project: Project, author: User, approver: User, title: str, **fields: Any) -> Trace:
    trace = Trace(
        project_id=project.id, author_id=author.id, title=title,
        geom=from_shape(Point(23.27, 69.97), srid=4326), status=TraceStatus.APPROVED,
        licence="CC-BY-4.0", trace_type_id=_term(Scheme.TRACE_TYPE, "annet"),
        approved_by_id=approver.id, approved_at="2026-10-01T12:00:00Z", **fields,
    )  # fmt: skip
    db.session.add(trace)
    db.session.flush()
    return trace


def _photos(
    trace: Trace, author: User, captions: list[str], colour: tuple[int, int, int]
) -> list[Photo]:
    """Upload and attach photos as the author does (pending until a moderator decides)."""
    staged = [stage_photo(author, _jpeg(colour)).photo for _ in captions]
    specs = [
        PhotoSpec(photo.id, caption=caption, credit=f"Foto: {author.display_name}")
        for photo, caption in zip(staged, captions, strict=True)
    ]
    return attach_photos(trace, author, specs)


@pytest.fixture(scope="module")
def world(database_url: str) -> Iterator[tuple[Flask, dict[str, Any]]]:
    """A project with photographed traces, committed; the app, ids and a partner token."""
    app = make_export_app(database_url)
    app.config["MEDIA_DIR"] = tempfile.mkdtemp(prefix="heritage-export-photos-")
    ids: dict[str, Any] = {}
    with app.test_request_context():
        empty_tables()
        project = Project(slug=SLUG, name="Fotos", library_name="Alta bibliotek")
        db.session.add(project)
        librarian = add_user("librarian@example.org", UserRole.RESIDENT)
        author = add_user("author@example.org")
        add_user("admin@example.org", UserRole.ADMIN)
        db.session.flush()
        db.session.add(
            Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
        )
        db.session.flush()

        open_trace = _trace(project, author, librarian, "Tuft med bilder")
        # Uploaded in this order (ids ascending), shown by position: TRICKY first.
        second, first, pending, rejected = _photos(
            open_trace, author, ["Andre bilde", TRICKY_CAPTION, "Venter", "Avvist"], (200, 80, 40)
        )
        for photo in (second, first):
            decide_photo(photo, librarian, approve=True)
        decide_photo(rejected, librarian, approve=False, reason="Uskarpt")
        db.session.execute(update(Photo).where(Photo.id == first.id).values(position=0))
        db.session.execute(update(Photo).where(Photo.id == second.id).values(position=1))

        protected = _trace(project, author, librarian, "Gravrøys", sensitivity_override=True)
        shown, hidden = _photos(protected, author, ["Oversikt", "Nærbilde"], (40, 90, 200))
        decide_photo(shown, librarian, approve=True, public_when_protected=True)
        decide_photo(hidden, librarian, approve=True)

        referenced = _trace(project, author, librarian, "Kullgrop", photo_references=REFERENCES)
        hidden_refs = _trace(
            project, author, librarian, "Helleristning", photo_references=REFERENCES,
            sensitivity_override=True,
        )  # fmt: skip
        _, ids["token"] = create_token(librarian, "Fylkesmuseet", [project.id])
        db.session.commit()
        ids.update(
            project=project.id, open=open_trace.id, protected=protected.id,
            referenced=referenced.id, hidden_refs=hidden_refs.id, first=first.id,
            second=second.id, pending=pending.id, rejected=rejected.id, shown=shown.id,
            hidden=hidden.id,
        )  # fmt: skip
        assert db.session.get(Trace, protected.id).is_sensitive
        db.session.remove()
    yield app, ids
    with app.app_context():
        empty_tables()
        with db.engine.begin() as connection:
            connection.execute(text("TRUNCATE media_garbage"))
    engine_of(app).dispose()


def _link(photo_id: int) -> dict[str, Any]:
    """What an export says of one of our photos, read from the database."""
    photo = db.session.get(Photo, photo_id)
    assert photo is not None
    return {
        "href": f"{BASE}/photos/{photo.id}/display",
        "thumbnail": f"{BASE}/photos/{photo.id}/thumb",
        "caption": photo.caption,
        "credit": photo.credit,
        "licence": photo.licence,
        "taken_on": photo.taken_on.isoformat() if photo.taken_on else None,
        "width": photo.width,
        "height": photo.height,
        "type": "image/webp" if photo.image_format == "webp" else "image/jpeg",
    }


def _references() -> list[dict[str, Any]]:
    return [{**reference, "reference": True} for reference in REFERENCES]


def _download(client: FlaskClient, fmt: str, slug: str = SLUG, **headers: str) -> bytes:
    response = client.get(
        "/export/download", query_string={"format": fmt, "project": slug}, headers=headers
    )
    body = response.get_data()
    response.close()
    assert response.status_code == 200, body[:300]
    return body


def _by_id(collection: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {feature["id"]: feature for feature in collection["features"]}


def _expected(ids: dict[str, Any], precise: bool) -> dict[int, list[dict[str, Any]]]:
    protected = [_link(ids["shown"])] + ([_link(ids["hidden"])] if precise else [])
    return {
        ids["open"]: [_link(ids["first"]), _link(ids["second"])],
        ids["protected"]: protected,
        ids["referenced"]: _references(),
        ids["hidden_refs"]: _references() if precise else [],
    }


# --- GeoJSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize("precise", [False, True], ids=["public", "partner"])
def test_geojson_carries_the_photos_the_receiver_may_see(
    world: tuple[Flask, dict[str, Any]], precise: bool
) -> None:
    app, ids = world
    headers = {"Authorization": f"Bearer {ids['token']}"} if precise else {}
    features = _by_id(json.loads(_download(app.test_client(), "geojson", **headers)))
    with app.app_context():
        expected = _expected(ids, precise)
    assert {i: f["properties"]["photos"] for i, f in features.items()} == expected
    # The first in position order comes first although it was uploaded later.
    assert ids["first"] > ids["second"]
    text_of_export = json.dumps(features)
    for never in ("pending", "rejected"):
        assert f"/photos/{ids[never]}/" not in text_of_export
    if not precise:
        assert f"/photos/{ids['hidden']}/" not in text_of_export


def test_the_command_line_export_with_precise_rights(
    world: tuple[Flask, dict[str, Any]], tmp_path: Any
) -> None:
    app, ids = world
    out = tmp_path / "fotos.geojson"
    args = ["export", "--format", "geojson", "--output", str(out), "--project", SLUG, "--precise"]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    features = _by_id(json.loads(out.read_text()))
    with app.app_context():
        expected = _expected(ids, precise=True)
    assert {i: f["properties"]["photos"] for i, f in features.items()} == expected


# --- CSV -------------------------------------------------------------------------------------


def test_csv_has_photo_columns_joined_and_safe(world: tuple[Flask, dict[str, Any]]) -> None:
    app, ids = world
    body = _download(app.test_client(), "csv").decode()
    rows = {int(row["id"]): row for row in csv.DictReader(io.StringIO(body))}
    names = ("photo_urls", "photo_thumbnails", "photo_captions", "photo_credits",
             "photo_licences")  # fmt: skip
    assert set(names) <= set(CSV_COLUMNS)
    assert body.splitlines()[0].split(",") == list(CSV_COLUMNS)
    with app.app_context():
        expected = _expected(ids, precise=False)
    members = ("href", "thumbnail", "caption", "credit", "licence")
    for trace_id, photos in expected.items():
        row = rows[trace_id]
        for name, member in zip(names, members, strict=True):
            values = [photo[member] or "" for photo in photos]
            assert split_values(restore(row[name])) == values, (trace_id, name)
    open_row = rows[ids["open"]]
    assert open_row["photo_urls"] == (
        f"{BASE}/photos/{ids['first']}/display | {BASE}/photos/{ids['second']}/display"
    )
    # The caption starts with "=": the whole cell is neutralised, and "|" and "\" escaped.
    assert open_row["photo_captions"] == "'" + join_values([TRICKY_CAPTION, "Andre bilde"])
    assert open_row["photo_captions"].startswith("'=Første \\| bilde \\\\ av tufta | ")
    assert rows[ids["hidden_refs"]]["photo_urls"] == ""
    # A reference without a thumbnail keeps its place in the list.
    assert rows[ids["referenced"]]["photo_thumbnails"] == f"{REFERENCES[0]['thumbnail']} | "


@pytest.mark.parametrize(
    "values", [[], [""], ["a", ""], ["", "", "x"], ["a | b", "c\\", "|", " s ", "\\|"]]
)
def test_joined_values_split_back_exactly(values: list[str]) -> None:
    cell = join_values(values)
    assert split_values(cell) == (values if cell else [])


# --- OGC API ---------------------------------------------------------------------------------


def _photo_links(photos: list[dict[str, Any]]) -> list[dict[str, Any]]:
    links = []
    for photo in photos:
        for rel, member in (("enclosure", "href"), ("preview", "thumbnail")):
            if photo.get(member):
                link = {"href": photo[member], "rel": rel, "title": photo["caption"]}
                if photo.get("type"):
                    link["type"] = photo["type"]
                links.append(link)
    return links


@pytest.mark.parametrize("precise", [False, True], ids=["public", "partner"])
def test_ogc_items_and_item_carry_photo_links(
    world: tuple[Flask, dict[str, Any]], precise: bool
) -> None:
    app, ids = world
    client = app.test_client()
    headers = {"Authorization": f"Bearer {ids['token']}"} if precise else {}
    with app.app_context():
        expected = _expected(ids, precise)
    response = client.get(f"/ogc/collections/{SLUG}/items?f=json", headers=headers)
    assert response.status_code == 200
    features = _by_id(response.get_json())
    assert {i: f["properties"]["photos"] for i, f in features.items()} == expected
    for trace_id, photos in expected.items():
        assert features[trace_id]["links"] == _photo_links(photos)
    enclosure = features[ids["open"]]["links"][0]
    assert enclosure["rel"] == "enclosure" and enclosure["type"] in ("image/webp", "image/jpeg")
    assert enclosure["title"] == TRICKY_CAPTION
    for trace_id, photos in expected.items():
        one = client.get(f"/ogc/collections/{SLUG}/items/{trace_id}?f=json", headers=headers)
        assert one.status_code == 200
        feature = one.get_json()
        assert feature["properties"]["photos"] == photos
        rels = [link["rel"] for link in feature["links"]]
        assert rels[:3] == ["self", "alternate", "collection"]
        assert feature["links"][3:] == _photo_links(photos)
    # The collection of every trace carries them too.
    every = _by_id(client.get("/ogc/collections/traces/items", headers=headers).get_json())
    assert every[ids["open"]]["properties"]["photos"] == expected[ids["open"]]


def test_an_ogc_item_page_links_its_photos(world: tuple[Flask, dict[str, Any]]) -> None:
    app, ids = world
    page = app.test_client().get(f"/ogc/collections/{SLUG}/items/{ids['open']}?f=html")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'href="{BASE}/photos/{ids["first"]}/display"' in html
    assert f"/photos/{ids['pending']}/" not in html


# --- Import: our own export's photos come back as references ------------------------------


def _imported_references(app: Flask, slug: str) -> dict[str, Any]:
    with app.app_context():
        rows = db.session.execute(
            select(Trace.title, Trace.photo_references)
            .join(Project, Project.id == Trace.project_id)
            .where(Project.slug == slug)
        ).all()
        db.session.remove()
    return {title: references for title, references in rows}


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_importing_our_export_keeps_photo_links_as_references(
    world: tuple[Flask, dict[str, Any]], fmt: str
) -> None:
    app, ids = world
    slug = f"mottak-{fmt}"
    _new_project(app, slug)
    importer = app.test_client()
    login(importer, "admin@example.org")
    with importer.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    exported = _download(app.test_client(), fmt)
    report = _import(importer, slug, exported, f"fotos.{fmt}")
    assert "With errors: 0" in report
    for name in ("photos", "photo_urls", "photo_captions"):
        assert f"<code>{name}</code>" not in report
    kept = _imported_references(app, slug)
    with app.app_context():
        public = _expected(ids, precise=False)

    def as_reference(photo: dict[str, Any]) -> dict[str, Any]:
        found = {key: photo[key] for key in ("href", "thumbnail", "caption", "credit", "licence")}
        if fmt == "csv" and not found["thumbnail"]:
            found["thumbnail"] = None  # an empty cell is no address
        return found

    assert kept["Tuft med bilder"] == [as_reference(p) for p in public[ids["open"]]]
    assert kept["Gravrøys"] == [as_reference(p) for p in public[ids["protected"]]]
    assert kept["Kullgrop"] == [as_reference(p) for p in _references()]
    assert kept["Helleristning"] is None  # the public export had none to give
    # The copy's export carries them, marked as references (it has no photos of its own).
    again = json.loads(_download(app.test_client(), "geojson", slug))["features"]
    photos = {f["properties"]["title"]: f["properties"]["photos"] for f in again}
    assert photos["Tuft med bilder"] == [
        {**as_reference(p), "reference": True} for p in public[ids["open"]]
    ]
    # Gravrøys is protected in the copy too: its references go only to precise receivers.
    assert photos["Gravrøys"] == []


def test_photo_references_are_checked(app: Flask) -> None:
    with app.test_request_context():
        errors: list[str] = []
        good = {"href": "https://a.example/p.jpg", "caption": " Tuft ", "credit": "Per"}
        assert photo_references({"photos": [good]}, errors) == [
            {"href": "https://a.example/p.jpg", "thumbnail": None, "caption": "Tuft",
             "credit": "Per", "licence": ""}
        ]  # fmt: skip
        assert errors == []
        for bad in (
            {"href": "javascript:alert(1)"},
            {"href": "ftp://a.example/p.jpg"},
            {"href": "https://a.example/a b.jpg"},
            {"href": "//a.example/p.jpg"},
            {"href": "https://[::1/p.jpg"},
            {"href": "https://a.example/" + "p" * 500},
            {"href": "https://a.example/p.jpg", "thumbnail": "data:image/png;base64,AAAA"},
            {"href": "https://a.example/p.jpg", "caption": "x" * 301},
            {"href": "https://a.example/p.jpg", "credit": ["not", "text"]},
            {"caption": "no address"},
        ):
            errors = []
            photo_references({"photos": [bad]}, errors)
            assert errors, bad
        for bad_list in ("https://a.example/p.jpg", [good] * (PHOTO_REFERENCES_MAX + 1), [1]):
            errors = []
            assert photo_references({"photos": bad_list}, errors) is None
            assert errors, bad_list
        errors = []
        columns = {"photo_urls": "https://a.example/1 | https://a.example/2",
                   "photo_captions": "Ein | To \\| tre"}  # fmt: skip
        assert [p["caption"] for p in photo_references(columns, errors) or []] == [
            "Ein", "To | tre"
        ]  # fmt: skip
        assert errors == []


# --- Harvest: a photo approved later makes its trace new to a harvester --------------------


def test_a_photo_approved_later_shows_in_the_next_harvest(
    app: Flask,
    session: Session,
    client: FlaskClient,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    make_trace: Callable[..., Trace],
) -> None:
    librarian, author = make_user(), make_user()
    project = make_project()
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    trace = make_trace(author=author, project=project, title="Naust")
    with app.test_request_context():
        staged = stage_photo(db.session.get(User, author.id), _jpeg((10, 120, 10))).photo
        trace_row = db.session.get(Trace, trace.id)
        (photo,) = attach_photos(trace_row, db.session.get(User, author.id),
                                 [PhotoSpec(staged.id, caption="Naustet i dag")])  # fmt: skip
        photo_id = photo.id
        db.session.commit()

    def harvest(since: str) -> dict[int, dict[str, Any]]:
        response = client.get(f"/ogc/collections/{project.slug}/items",
                              query_string={"updated_since": since, "f": "json"})  # fmt: skip
        assert response.status_code == 200, response.get_data(as_text=True)
        return _by_id(response.get_json())

    # The previous harvest: the trace, with no photo yet (the pending one is not shown).
    assert harvest("2000-01-01")[trace.id]["properties"]["photos"] == []
    time.sleep(1.1)  # `since` is read to the second
    since = session.execute(select(func.date_trunc("second", func.clock_timestamp()))).scalar()
    stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert harvest(stamp) == {}
    with app.test_request_context():
        decide_photo(db.session.get(Photo, photo_id), db.session.get(User, librarian.id), True)
        db.session.commit()
    assert session.get(Photo, photo_id).status == PhotoStatus.APPROVED
    found = harvest(stamp)
    assert list(found) == [trace.id]
    (link,) = found[trace.id]["properties"]["photos"]
    assert link["href"] == f"{BASE}/photos/{photo_id}/display"
    assert link["caption"] == "Naustet i dag"


# --- A whole export groups the photos once: the same lists as the per-trace look-up --------


@pytest.mark.parametrize("receiver", ["public", "everything", "partner", "librarian"])
def test_a_whole_export_gives_the_same_photos_as_a_page(
    world: tuple[Flask, dict[str, Any]], receiver: str
) -> None:
    app, ids = world
    with app.app_context():
        librarian = db.session.execute(
            select(User).where(User.email == "librarian@example.org")
        ).scalar_one()
        precise = {
            "public": false(),
            "everything": true(),
            "partner": precise_allowed(None, [ids["project"]]),
            "librarian": precise_allowed(librarian),
        }[receiver]
        filters = ExportFilters(project_slug=SLUG)
        paged = db.session.execute(feature_query(precise, BASE, filters)).all()
        whole = db.session.execute(feature_query(precise, BASE, filters, whole=True)).all()
        db.session.remove()
    assert [tuple(row) for row in whole] == [tuple(row) for row in paged]
    photos = {row.id: json.loads(row.feature)["properties"]["photos"] for row in whole}
    assert len(photos[ids["protected"]]) == (1 if receiver == "public" else 2)
    assert photos[ids["hidden_refs"]] == ([] if receiver == "public" else _references())
