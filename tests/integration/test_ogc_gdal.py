"""A real client reads the OGC API: GDAL's OAPIF driver (Debian's gdal-bin) under gunicorn.

The data is committed for real (the server runs in other processes) and truncated afterwards.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from geoalchemy2.shape import from_shape
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import select, text

from app.db import db
from app.models import ExportLog, Project, Trace, TraceStatus, User, UserRole
from app.publication.tokens import create_token
from tests.conftest import PASSWORD_HASH
from tests.serving import gunicorn

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ACCESS_LOG = ARTIFACTS / "ogc-access.log"
OGRINFO = shutil.which("ogrinfo")
OGR2OGR = shutil.which("ogr2ogr")
DATA_TABLES = (
    "audit_events, notifications, comments, password_reset_tokens, revisions, traces, "
    "memberships, user_sessions, projects, users, export_logs, partner_tokens"
)
PROTECTED = (23.2716, 69.9690)
# Approved traces per collection, as seeded below.
EXPECTED = {"traces": 5, "alta-museum": 3, "hammerfest": 2, "empty": 0}

# make test installs GDAL (scripts/ensure-gdal.sh); a missing ogrinfo must fail, not skip.
assert OGRINFO and OGR2OGR, "GDAL's ogrinfo/ogr2ogr are missing: run scripts/ensure-gdal.sh"


@pytest.fixture(scope="module")
def ogc_server(database_url: str) -> Iterator[str]:
    """The app under gunicorn on a free port; yields its /ogc URL."""
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "gdal-test-secret",
           "HERITAGE_ENV": "development"}  # fmt: skip
    ACCESS_LOG.unlink(missing_ok=True)
    with gunicorn(env, log_name="ogc-server.log", ready_path="/ogc/conformance",
                  extra_args=("--access-logfile", str(ACCESS_LOG))) as base:  # fmt: skip
        yield base + "/ogc"


@pytest.fixture(scope="module")
def seeded(app: Flask) -> Iterator[None]:
    """Three projects and seven traces (five approved, one of them protected), committed."""
    with app.app_context():
        # An admin: admins hand out partner tokens.
        user = User(email="gdal@example.org", email_normalized="gdal@example.org",
                    display_name="Bibliotekar", password_hash=PASSWORD_HASH,
                    role=UserRole.ADMIN)  # fmt: skip
        projects = {slug: Project(slug=slug, name=slug.title(), library_name="Bibliotek")
                    for slug in ("alta-museum", "hammerfest", "empty")}  # fmt: skip
        db.session.add_all([user, *projects.values()])
        db.session.flush()

        def add(slug: str, title: str, geometry, status=TraceStatus.APPROVED, **extra):  # noqa: ANN001, ANN003, ANN202
            approved = status == TraceStatus.APPROVED
            db.session.add(Trace(
                project_id=projects[slug].id, author_id=user.id, title=title,
                geom=from_shape(geometry, srid=4326), status=status, licence="CC-BY-4.0",
                approved_by_id=user.id if approved else None,
                approved_at="2026-10-01T12:00:00Z" if approved else None,
                decided_by_id=user.id if status == TraceStatus.REJECTED else None, **extra,
            ))  # fmt: skip

        add("alta-museum", "Fangstgrop", Point(23.25, 69.96))
        add("alta-museum", "Kirkeveien", LineString([(23.28, 69.97), (23.29, 69.975)]))
        add("alta-museum", "Tufter", Polygon([(23.3, 69.98), (23.31, 69.98), (23.31, 69.99),
                                              (23.3, 69.98)]))  # fmt: skip
        add("alta-museum", "Venter", Point(23.26, 69.96), status=TraceStatus.PENDING)
        add("hammerfest", "Avvist", Point(23.6, 70.6), status=TraceStatus.REJECTED)
        add("hammerfest", "Helleristning", Point(*PROTECTED), sensitivity_override=True)
        add("hammerfest", "Naust", Point(23.68, 70.66))
        db.session.commit()
        db.session.remove()
    yield
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))


def _gdal(*args: str, **config: str) -> str:
    env = dict(os.environ, CPL_DEBUG="OFF", GDAL_HTTP_TIMEOUT="20", GDAL_HTTP_MAX_RETRY="0",
               NO_PROXY="127.0.0.1", no_proxy="127.0.0.1", **config)  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env, check=False)
    with (ARTIFACTS / "ogc-gdal.log").open("a") as log:
        log.write(f"$ {' '.join(args)}\n{done.stdout}\n{done.stderr}\n")
    assert done.returncode == 0, done.stderr
    assert "ERROR" not in done.stderr, done.stderr
    return done.stdout


def test_ogrinfo_lists_every_collection(seeded: None, ogc_server: str) -> None:
    out = _gdal(OGRINFO, "-ro", "-so", f"OAPIF:{ogc_server}")
    layers = re.findall(r"^\d+: (\S+)", out, re.MULTILINE)
    assert sorted(layers) == sorted(EXPECTED)


@pytest.mark.parametrize("collection", sorted(EXPECTED))
def test_feature_counts_match_with_paging(seeded: None, ogc_server: str, collection: str) -> None:
    url = f"OAPIF:{ogc_server}/collections/{collection}"
    summary = _gdal(OGRINFO, "-ro", "-al", "-so", "-oo", "PAGE_SIZE=2", url)
    assert re.search(r"^Feature Count: (\d+)$", summary, re.MULTILINE).group(1) == str(
        EXPECTED[collection]
    )
    # Reading every feature follows the next links, two features a page.
    dump = _gdal(OGR2OGR, "-f", "GeoJSON", "/vsistdout/", "-oo", "PAGE_SIZE=2", url)
    features = json.loads(dump)["features"]
    assert len(features) == EXPECTED[collection]
    assert len({f["properties"]["title"] for f in features}) == EXPECTED[collection]
    assert not {"Venter", "Avvist"} & {f["properties"]["title"] for f in features}
    if EXPECTED[collection] > 2:
        requested = ACCESS_LOG.read_text()
        assert f"/ogc/collections/{collection}/items?limit=2&offset=2" in requested


def test_gdal_gets_only_the_generalised_protected_site(seeded: None, ogc_server: str) -> None:
    dump = _gdal(OGR2OGR, "-f", "GeoJSON", "/vsistdout/", "-oo", "PAGE_SIZE=2",
                 f"OAPIF:{ogc_server}/collections/hammerfest")  # fmt: skip
    site = next(f for f in json.loads(dump)["features"]
                if f["properties"]["title"] == "Helleristning")  # fmt: skip
    assert site["properties"]["location"] == "generalised"
    lon, lat = site["geometry"]["coordinates"][:2]
    assert abs(lon - PROTECTED[0]) > 1e-3 or abs(lat - PROTECTED[1]) > 1e-3


def test_gdal_with_a_partner_token_gets_it_precisely(
    app: Flask, seeded: None, ogc_server: str
) -> None:
    with app.app_context():
        admin = db.session.execute(select(User)).scalars().first()
        project = db.session.execute(
            select(Project).where(Project.slug == "hammerfest")
        ).scalar_one()
        _, plain = create_token(admin, "Fylkesarkivet", [project.id])
        db.session.commit()
        db.session.remove()
    dump = _gdal(OGR2OGR, "-f", "GeoJSON", "/vsistdout/", "-oo", "PAGE_SIZE=2",
                 f"OAPIF:{ogc_server}/collections/traces",
                 GDAL_HTTP_HEADERS=f"Authorization: Bearer {plain}")  # fmt: skip
    site = next(f for f in json.loads(dump)["features"]
                if f["properties"]["title"] == "Helleristning")  # fmt: skip
    assert site["properties"]["location"] == "precise"
    assert site["geometry"]["coordinates"][:2] == list(PROTECTED)
    with app.app_context():
        logs = db.session.execute(select(ExportLog)).scalars().all()
        db.session.remove()
    # Every page GDAL fetched is logged; only the page holding the site was precise.
    assert {log.channel for log in logs} == {"ogc"}
    assert {log.query["offset"] for log in logs} == {"0", "2", "4"}
    assert {log.query["offset"] for log in logs if log.precise} == {"2"}


def test_gdal_asking_for_more_than_the_maximum_page_gets_it_all(
    seeded: None, ogc_server: str
) -> None:
    # GDAL sends its PAGE_SIZE as limit; above the maximum the server serves the maximum.
    dump = _gdal(OGR2OGR, "-f", "GeoJSON", "/vsistdout/", "-oo", "PAGE_SIZE=5000",
                 f"OAPIF:{ogc_server}/collections/traces")  # fmt: skip
    assert len(json.loads(dump)["features"]) == EXPECTED["traces"]
    assert "/ogc/collections/traces/items?limit=5000" in ACCESS_LOG.read_text()


def test_gdal_filters_on_the_server_with_the_queryables(seeded: None, ogc_server: str) -> None:
    dump = _gdal(OGR2OGR, "-f", "GeoJSON", "/vsistdout/", "-where", "project = 'hammerfest'",
                 f"OAPIF:{ogc_server}/collections/traces")  # fmt: skip
    titles = sorted(f["properties"]["title"] for f in json.loads(dump)["features"])
    assert titles == ["Helleristning", "Naust"]
    # The filter went to the server as a query parameter (OGC API - Features Part 3).
    assert "project=hammerfest" in ACCESS_LOG.read_text()
