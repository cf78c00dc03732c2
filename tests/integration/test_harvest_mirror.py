"""A museum that mirrors us stays correct: harvest, change everything, harvest again, compare.

The mirror is kept the way app.publication.harvest documents it: a full harvest once; then,
from a little before the previous harvest began, the deletions feed first and the features
with updated_since second. After every kind of change a harvester must see (approval, edited
text, a relabelled term, a type made sensitive, a moderator's sensitivity decision, a trace
withdrawn, deleted, rejected after approval, rejected and approved again, merged as a
duplicate, moved to another project, erased) the mirror must equal a fresh full harvest,
through the OGC API and the GeoJSON export alike, for the public and for a partner token that
sees one project's protected sites precisely.

The export streams with COPY on a connection of its own, so the data is committed for real and
the tables are emptied afterwards; the two vocabulary terms changed here are put back.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import select, text, update

from app.db import db, engine_of
from app.models import Project, Scheme, Term, Trace, TraceStatus, User, UserRole
from app.models.removals import PublicationRemoval
from app.moderation.operations import decide, mark_duplicate, set_sensitivity
from app.moderation.states import Action
from app.publication.harvest import HARVEST_OVERLAP
from app.publication.tokens import create_token
from app.traces.edit_operations import update_trace
from app.traces.validation import Submission
from app.vocab.operations import update_term
from tests.integration.test_export import add_user, empty_tables, make_export_app

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)  # before any harvest's window, overlap and all
RELABELLED, SENSITIVE = "kullgrop", "naust"  # two types that are not sensitive by default
TERM_FIELDS = ("label_nb", "label_nn", "label_en", "label_se", "uri", "sensitive",
               "before_1537", "is_active", "sort_order")  # fmt: skip
PAGE = 5  # small pages, so paging is part of every harvest


# --- The harvester ---------------------------------------------------------------------------

Get = Callable[[str, dict[str, str]], dict[str, Any]]


def _getter(client: FlaskClient, headers: dict[str, str]) -> Get:
    def get(path: str, params: dict[str, str]) -> dict[str, Any]:
        response = client.get(path, query_string=params or None, headers=headers)
        body = response.get_data()
        response.close()
        assert response.status_code == 200, (path, params, body[:400])
        return json.loads(body)

    return get


def _follow(get: Get, path: str, params: dict[str, str]) -> Iterator[dict[str, Any]]:
    """Every page, by the next links (which must keep the query)."""
    page = get(path, params)
    while True:
        yield page
        nexts = [link["href"] for link in page["links"] if link["rel"] == "next"]
        if not nexts:
            return
        url = nexts[0].removeprefix("http://localhost")
        page = get(url, {})


class OgcHarvester:
    """Mirrors one OGC collection through items (updated_since) and deletions."""

    def __init__(self, get: Get, collection: str) -> None:
        self.get, self.base = get, f"/ogc/collections/{collection}"

    def full(self) -> tuple[dict[int, dict], str]:
        """Every feature, and the server's timeStamp of the first page."""
        mirror: dict[int, dict] = {}
        stamp = ""
        for page in _follow(self.get, self.base + "/items", {"limit": str(PAGE)}):
            stamp = stamp or page["timeStamp"]
            mirror.update({feature["id"]: feature for feature in page["features"]})
        return mirror, stamp

    def update(self, mirror: dict[int, dict], since: str) -> str:
        """Deletions first, then the changed features; the timeStamp for the next round."""
        stamp = ""
        for page in _follow(self.get, self.base + "/deletions",
                            {"since": since, "limit": str(PAGE)}):  # fmt: skip
            stamp = stamp or page["timeStamp"]
            for gone in page["deletions"]:
                mirror.pop(gone["id"], None)
        params = {"updated_since": since, "limit": str(PAGE)}
        for page in _follow(self.get, self.base + "/items", params):
            mirror.update({feature["id"]: feature for feature in page["features"]})
        return stamp


class ExportHarvester:
    """Mirrors the GeoJSON export (all projects, or one) with updated_since and deletions."""

    def __init__(self, get: Get, project: str | None) -> None:
        self.get, self.project = get, ({"project": project} if project else {})

    def full(self) -> tuple[dict[int, dict], str]:
        """Every feature, and when the harvest began (the export's own metadata)."""
        collection = self.get("/export/download", {"format": "geojson", **self.project})
        stamp = collection["generated_at"]
        return {feature["id"]: feature for feature in collection["features"]}, stamp

    def update(self, mirror: dict[int, dict], since: str) -> str:
        """Deletions first, then the changed features."""
        stamp = ""
        for page in _follow(self.get, "/export/deletions",
                            {"since": since, "limit": str(PAGE), **self.project}):  # fmt: skip
            stamp = stamp or page["timeStamp"]
            for gone in page["deletions"]:
                mirror.pop(gone["id"], None)
        changed = self.get(
            "/export/download", {"format": "geojson", "updated_since": since, **self.project}
        )
        mirror.update({feature["id"]: feature for feature in changed["features"]})  # fmt: skip
        return stamp


def _since(stamp: str) -> str:
    """The previous harvest's start, a few minutes earlier (see app.publication.harvest)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00")) - HARVEST_OVERLAP
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- The data --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harvest_app(database_url: str) -> Iterator[Flask]:
    """Our app with committed data; afterwards the tables are emptied and the terms restored."""
    app = make_export_app(database_url)
    with app.app_context():
        terms = {
            code: {name: getattr(term, name) for name in TERM_FIELDS}
            for code in (RELABELLED, SENSITIVE)
            for term in [_term(Scheme.TRACE_TYPE, code)]
        }
        db.session.remove()
    yield app
    with app.app_context():
        empty_tables()
        with db.engine.begin() as connection:
            connection.execute(text("TRUNCATE publication_removals, mail_outbox"))
            for code, fields in terms.items():
                connection.execute(
                    update(Term)
                    .where(Term.scheme == Scheme.TRACE_TYPE, Term.code == code)
                    .values(**fields)
                )
    engine_of(app).dispose()


def _term(scheme: Scheme, code: str) -> Term:
    return db.session.execute(
        select(Term).where(Term.scheme == scheme, Term.code == code)
    ).scalar_one()


def _seed(app: Flask) -> dict[str, Any]:
    """Two projects, an admin, an author, traces in every starting state, a partner token."""
    with app.test_request_context():
        alta = Project(slug="alta", name="Kulturspor i Alta", library_name="Alta bibliotek")
        kara = Project(slug="karasjok", name="Karasjok", library_name="Karasjok bibliotek")
        db.session.add_all([alta, kara])
        admin = add_user("admin@example.org", UserRole.ADMIN)
        author = add_user("author@example.org")
        shy = add_user("shy@example.org")  # consents to being named only later
        db.session.flush()
        relabelled = _term(Scheme.TRACE_TYPE, RELABELLED).id
        made_sensitive = _term(Scheme.TRACE_TYPE, SENSITIVE).id
        plan = {
            "untouched": (alta, {}),
            "untouched_kara": (kara, {"trace_type_id": made_sensitive}),
            "protected": (alta, {"sensitivity_override": True}),
            "new": (alta, {"status": TraceStatus.PENDING}),
            "edited": (alta, {}),
            "relabelled": (kara, {"trace_type_id": relabelled}),
            "made_sensitive": (alta, {"trace_type_id": made_sensitive}),
            "moderated_sensitive": (kara, {}),
            "withdrawn": (alta, {}),
            "deleted": (kara, {}),
            "rejected": (alta, {}),
            "back_again": (alta, {}),
            "duplicate": (alta, {}),
            "original": (alta, {}),
            "moved": (alta, {"sensitivity_override": True}),
            "erased": (kara, {}),
            "named_later": (alta, {"author_id": shy.id}),
        }
        traces = {}
        for n, (name, (project, fields)) in enumerate(plan.items()):
            status = fields.pop("status", TraceStatus.APPROVED)
            approved = status == TraceStatus.APPROVED
            traces[name] = Trace(
                project_id=project.id, author_id=fields.pop("author_id", author.id),
                title=f"Spor {name}",
                description="Funnet ved **bekken**.",
                geom=from_shape(Point(23.2 + n * 0.01, 69.9 + n * 0.003), srid=4326),
                status=status, licence="CC-BY-4.0",
                approved_by_id=admin.id if approved else None,
                approved_at=LONG_AGO if approved else None,
                submitted_at=LONG_AGO, updated_at=LONG_AGO, **fields,
            )  # fmt: skip
        db.session.add_all(traces.values())
        db.session.flush()
        _, plain = create_token(admin, "Alta museum", [alta.id])
        ids = {name: trace.id for name, trace in traces.items()}
        ids |= {"admin": admin.id, "alta": alta.id, "kara": kara.id, "shy": shy.id}
        db.session.commit()
        # Written with the rows; say again that they are old (no tracked column changes, so
        # the database leaves this updated_at as it is).
        db.session.execute(update(Trace).values(updated_at=LONG_AGO))
        db.session.commit()
        return {"ids": ids, "token": plain}


def _change_everything(app: Flask, ids: dict[str, int]) -> None:
    """Every kind of change a museum must hear of, each through the app's own operation."""
    with app.test_request_context():
        admin = db.session.get(User, ids["admin"])

        def trace(name: str) -> Trace:
            return db.session.get(Trace, ids[name])

        decide(admin, trace("new"), Action.APPROVE, None)
        edited = trace("edited")
        update_trace(admin, edited, Submission(
            project=edited.project, title="Spor edited, with a better title",
            description="Ny tekst.", sources=edited.sources, licence=edited.licence,
            geometry=to_shape(edited.geom), terms={},
        ), edited.version, "better title")  # fmt: skip
        for code, change in ((RELABELLED, {"label_nb": "Kullgrop (omdøpt)"}),
                             (SENSITIVE, {"sensitive": True})):  # fmt: skip
            term = _term(Scheme.TRACE_TYPE, code)
            raw = {name: getattr(term, name) for name in TERM_FIELDS} | change
            update_term(term, admin, raw)
        moderated = trace("moderated_sensitive")
        set_sensitivity(admin, moderated, "sensitive", moderated.version)
        decide(admin, trace("withdrawn"), Action.REQUEST_CHANGES, None, "Mangler kilde.")
        decide(admin, trace("deleted"), Action.DELETE, None, "Feil.\nIkke et kulturminne.")
        decide(admin, trace("rejected"), Action.REJECT, None, "Feil sted.")
        decide(admin, trace("back_again"), Action.REJECT, None, "Feil sted.")
        db.session.flush()
        decide(admin, trace("back_again"), Action.APPROVE, None)
        duplicate = trace("duplicate")
        mark_duplicate(admin, duplicate, trace("original"), duplicate.version)
        # What lives outside the trace's row: the author's consent and the project's name.
        db.session.get(User, ids["shy"]).show_name_publicly = True
        db.session.get(Project, ids["kara"]).name = "Kulturspor i Karasjok"
        db.session.commit()
    with app.app_context():
        # No screen moves a trace between projects or erases one; the database announces them
        # whichever way it happens (here: as an administrator's SQL would).
        db.session.execute(
            update(Trace).where(Trace.id == ids["moved"]).values(project_id=ids["kara"])
        )
        db.session.execute(text("DELETE FROM traces WHERE id = :id"), {"id": ids["erased"]})
        db.session.commit()


# --- The test --------------------------------------------------------------------------------


def test_a_mirror_stays_equal_to_a_fresh_harvest(harvest_app: Flask) -> None:
    seeded = _seed(harvest_app)
    ids = seeded["ids"]
    client = harvest_app.test_client()
    readers = {"public": {}, "partner": {"Authorization": f"Bearer {seeded['token']}"}}
    harvesters: dict[str, Callable[[Get], Any]] = {
        "ogc traces": lambda get: OgcHarvester(get, "traces"),
        "ogc alta": lambda get: OgcHarvester(get, "alta"),
        "export all": lambda get: ExportHarvester(get, None),
        "export alta": lambda get: ExportHarvester(get, "alta"),
    }
    mirrors = {}
    for reader, headers in readers.items():
        for name, make in harvesters.items():
            harvester = make(_getter(client, headers))
            mirror, stamp = harvester.full()
            mirrors[reader, name] = (harvester, mirror, stamp)
    first = mirrors["public", "ogc traces"][1]
    assert ids["untouched"] in first and ids["new"] not in first
    assert ids["erased"] in first and ids["moved"] in mirrors["partner", "ogc alta"][1]

    _change_everything(harvest_app, ids)

    with harvest_app.app_context():
        # Every change moved updated_at (a harvester asks by it), however it was made.
        moved_on = dict(db.session.execute(select(Trace.id, Trace.updated_at)).all())
        for name in ("new", "edited", "relabelled", "made_sensitive", "moderated_sensitive",
                     "withdrawn", "deleted", "rejected", "back_again", "duplicate", "moved",
                     "untouched_kara", "named_later"):  # fmt: skip
            assert moved_on[ids[name]] > LONG_AGO, name
        assert moved_on[ids["untouched"]] == LONG_AGO
        tombstones = {
            (row.trace_id, row.reason)
            for row in db.session.execute(select(PublicationRemoval)).scalars()
        }
        db.session.remove()
    assert {(ids["withdrawn"], "needs_changes"), (ids["deleted"], "deleted"),
            (ids["rejected"], "rejected"), (ids["back_again"], "rejected"),
            (ids["moved"], "moved"), (ids["erased"], "erased")} <= tombstones  # fmt: skip
    assert (ids["duplicate"], "merged") in tombstones

    for (reader, name), (harvester, mirror, stamp) in mirrors.items():
        harvester.update(mirror, _since(stamp))
        fresh, _ = harvester.full()
        assert mirror.keys() == fresh.keys(), (reader, name)
        for trace_id, feature in fresh.items():
            assert mirror[trace_id] == feature, (reader, name, trace_id)

    # The changes were really there to be missed.
    public, partner = mirrors["public", "ogc traces"][1], mirrors["partner", "ogc traces"][1]
    assert ids["new"] in public and ids["back_again"] in public
    for gone in ("withdrawn", "deleted", "rejected", "duplicate", "erased"):
        assert ids[gone] not in public, gone
    assert ids["moved"] in public and ids["moved"] not in mirrors["partner", "ogc alta"][1]
    assert public[ids["edited"]]["properties"]["title"] == "Spor edited, with a better title"
    assert public[ids["relabelled"]]["properties"]["type"]["label"] == "Kullgrop (omdøpt)"
    assert public[ids["named_later"]]["properties"]["attribution"] != "A contributor"
    assert public[ids["untouched_kara"]]["properties"]["project_name"] == "Kulturspor i Karasjok"
    for name in ("made_sensitive", "moderated_sensitive", "untouched_kara"):
        assert public[ids[name]]["properties"]["location"] == "generalised", name
    # The partner sees Alta's protected sites precisely, Karasjok's (the moved one too) not.
    assert partner[ids["made_sensitive"]]["properties"]["location"] == "precise"
    assert partner[ids["moved"]]["properties"]["location"] == "generalised"
    assert partner[ids["untouched_kara"]]["properties"]["location"] == "generalised"


def test_the_deletions_feed_pages_and_refuses_bad_input(harvest_app: Flask) -> None:
    """Paging by next links, `since` respected, clear 4xx for bad parameters."""
    client = harvest_app.test_client()
    with harvest_app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("TRUNCATE publication_removals"))
            connection.execute(
                PublicationRemoval.__table__.insert(),
                [
                    {
                        "trace_id": n,
                        "project_id": 1,
                        "reason": "withdrawn",
                        "removed_at": LONG_AGO + timedelta(days=n),
                    }
                    for n in range(1, 8)
                ],  # fmt: skip
            )
    get = _getter(client, {})
    pages = list(_follow(get, "/export/deletions", {"limit": "3"}))
    assert [len(page["deletions"]) for page in pages] == [3, 3, 1]
    assert [d["id"] for page in pages for d in page["deletions"]] == list(range(1, 8))
    later = get("/export/deletions", {"since": "2026-01-05"})
    assert [d["id"] for d in later["deletions"]] == [4, 5, 6, 7]
    assert later["deletions"][0] == {"id": 4, "removed_at": "2026-01-05T00:00:00Z",
                                     "reason": "withdrawn"}  # fmt: skip
    ogc = get("/ogc/collections/traces/deletions", {"since": "2026-01-05T00:00:00Z"})
    assert [d["id"] for d in ogc["deletions"]] == [4, 5, 6, 7]
    for path, params, status in [
        ("/export/deletions", {"since": "yesterday"}, 400),
        ("/export/deletions", {"since": "9999-12-31T23:59:59-23:59"}, 200),
        ("/export/deletions", {"limit": "0"}, 400),
        ("/export/deletions", {"offset": "-1"}, 400),
        ("/export/deletions", {"project": "nowhere"}, 404),
        ("/export/deletions", {"colour": "red"}, 400),
        ("/ogc/collections/traces/deletions", {"since": "2026-13-01"}, 400),
        ("/ogc/collections/nowhere/deletions", {}, 404),
        # NUL: refused as a control character, or simply no such collection or project.
        ("/ogc/collections/no%00where/deletions", {}, (400, 404)),
        ("/export/deletions", {"project": "no\x00where"}, (400, 404)),
        ("/export/deletions", {"since": "2026-01-01\x00"}, (400,)),
        ("/ogc/collections/traces/items", {"updated_since": "soon"}, 400),
    ]:
        response = client.get(path, query_string=params)
        allowed = status if isinstance(status, tuple) else (status,)
        assert response.status_code in allowed, (path, params, response.get_data()[:300])
        if response.status_code >= 400 and not isinstance(status, tuple):
            assert response.mimetype == "application/problem+json", (path, params)
    refused = client.get("/export/deletions", headers={"Authorization": "Bearer hp_nonsense"})
    assert refused.status_code == 401
