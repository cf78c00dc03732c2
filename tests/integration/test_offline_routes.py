"""The offline surface: the service worker and manifest at the root, versioned static URLs,
and the outbox's helpers (a fresh CSRF token, typed coordinates, whether a key was sent)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.offline.routes import TILE_CACHE_LIMIT, static_release
from tests.integration.test_headers import directives


def _release(app: Flask) -> str:
    return app.config["RELEASE"]


def test_service_worker_is_served_from_the_root_with_its_own_policy(
    app: Flask, client: FlaskClient
) -> None:
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    policy = directives(response.headers["Content-Security-Policy"])
    # The worker fetches the tiles it caches: both configured tile servers, nothing else.
    assert policy["connect-src"] == [
        "'self'",
        "https://cache.kartverket.no",
        "https://tile.openstreetmap.org",
    ]
    body = response.get_data(as_text=True)
    release = _release(app)
    assert f'var RELEASE = "{release}";' in body
    assert f"var TILE_LIMIT = {TILE_CACHE_LIMIT};" in body
    assert f"/static/css/app.css?v={release}" in body
    assert '"https://cache.kartverket.no/v1/wmts/1.0.0/topo/default/webmercator/"' in body
    # Pages never get the worker's policy (theirs has no tile origins in connect-src).
    page_policy = directives(client.get("/").headers["Content-Security-Policy"])
    assert page_policy["connect-src"] == ["'self'"]


def test_manifest_makes_the_site_installable(app: Flask, client: FlaskClient) -> None:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data())
    assert manifest["name"] == app.config["INSTALLATION_NAME"]
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    purposes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert purposes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    root = Path(app.static_folder or "")
    from PIL import Image

    for icon in manifest["icons"]:
        path, _, version = icon["src"].partition("?v=")
        assert version == _release(app)
        with Image.open(root / path.removeprefix("/static/")) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]
        assert client.get(icon["src"]).status_code == 200


def test_pages_link_the_manifest_register_the_worker_and_version_their_assets(
    app: Flask, client: FlaskClient
) -> None:
    release = _release(app)
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color" content="#7a3e00">' in html
    assert "/static/js/offline-register.js?v=" in html
    assert response.headers["X-Heritage-Release"] == release
    ours = re.findall(r'(?:href|src)="(/static/(?:css|js|icons|vendor)/[^"]+)"', html)
    # Folium's links (Leaflet, the map script) carry the release too (geo/maps.py).
    unversioned = [u for u in ours if not u.endswith(f"?v={release}")]
    assert len(ours) > 5 and unversioned == [], ours
    assert f"/static/vendor/leaflet/leaflet.js?v={release}" in html
    assert f"/static/js/heritage-map.js?v={release}" in html
    assert "/static/?v=" not in html


def test_versioned_static_files_are_immutable_and_others_are_revalidated(
    app: Flask, client: FlaskClient
) -> None:
    current = client.get(f"/static/css/app.css?v={_release(app)}")
    assert current.status_code == 200
    assert "immutable" in current.headers["Cache-Control"]
    other = client.get("/static/css/app.css?v=an-old-release")
    assert other.status_code == 200
    assert "immutable" not in other.headers.get("Cache-Control", "")


def test_the_release_is_the_static_files_hash_unless_configured(
    app: Flask, tmp_path: Path, monkeypatch: Any
) -> None:
    assert _release(app) == static_release(app.static_folder or "")
    (tmp_path / "a.css").write_text("body { color: red }")
    first = static_release(tmp_path)
    (tmp_path / "a.css").write_text("body { color: blue }")
    assert static_release(tmp_path) != first  # a changed file is a new release
    monkeypatch.setenv("HERITAGE_RELEASE", "2026.11.30-a")
    other = create_app(
        {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], "SECRET_KEY": "x"}
    )
    assert other.config["RELEASE"] == "2026.11.30-a"
    with other.test_request_context():
        from flask import url_for

        assert url_for("static", filename="js/offline.js").endswith("?v=2026.11.30-a")


def test_offline_page(client: FlaskClient) -> None:
    response = client.get("/offline")
    assert response.status_code == 200
    assert 'href="/traces/new"' in response.get_data(as_text=True)


def test_token_is_fresh_private_and_works(client: FlaskClient, make_user, login) -> None:
    anonymous = client.get("/offline/token")
    assert anonymous.status_code == 401
    assert anonymous.headers["Cache-Control"] == "no-store"
    login(make_user())
    response = client.get("/offline/token")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    token = response.get_json()["csrf_token"]
    body = {"coordinates": "69.9689, 23.2715", "system": "wgs84", "shape": "point"}
    refused = client.post("/offline/geometry", json=body)
    assert refused.status_code == 400  # no token: CSRF protection holds for the outbox too
    accepted = client.post("/offline/geometry", json=body, headers={"X-CSRFToken": token})
    assert accepted.status_code == 200
    assert accepted.get_json()["geometry"] == {"type": "Point", "coordinates": [23.2715, 69.9689]}


def test_typed_geometry_refusal_names_the_problem(client: FlaskClient, make_user, login) -> None:
    token = login(make_user())
    response = client.post(
        "/offline/geometry",
        json={"coordinates": "69.9689, 23.2715\nnot a place", "shape": "line"},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 422
    answer = response.get_json()
    assert answer["error"] and "2" in answer["message"]  # the line that could not be read
    utm = client.post(
        "/offline/geometry",
        json={"coordinates": "598000 7762000", "system": "utm35", "shape": "point"},
        headers={"X-CSRFToken": token},
    )
    lon, lat = utm.get_json()["geometry"]["coordinates"]
    assert 25 < lon < 32 and 69 < lat < 71


def test_sent_answers_only_for_the_authors_own_key(
    client: FlaskClient, make_user, make_trace, login, session
) -> None:
    author = make_user()
    trace = make_trace(author=author)
    trace.submission_key = "6f1c9d1e-4a3b-4c2d-8e9f-0a1b2c3d4e5f"
    session.flush()
    assert client.get(f"/offline/sent?key={trace.submission_key}").status_code == 401
    login(make_user())
    other = client.get(f"/offline/sent?key={trace.submission_key}")
    assert other.status_code == 404  # someone else's key says nothing
    client.post(
        "/logout", data={"csrf_token": client.get("/offline/token").get_json()["csrf_token"]}
    )
    login(author)
    mine = client.get(f"/offline/sent?key={trace.submission_key}")
    assert mine.status_code == 200
    assert mine.get_json() == {"sent": True, "id": trace.id, "url": f"/traces/{trace.id}"}
    assert mine.headers["Cache-Control"] == "no-store"
    assert client.get("/offline/sent?key=unknown").status_code == 404


def test_background_answers_leave_the_session_cookie_alone(
    client: FlaskClient, make_user, login
) -> None:
    """A late answer must not put back an older cookie (a language chosen meanwhile)."""
    token = login(make_user())
    assert client.get("/").headers.get("Set-Cookie")  # pages refresh the permanent session
    for path in ("/sw.js", "/manifest.webmanifest", "/offline/token", "/offline/sent?key=x"):
        assert "Set-Cookie" not in client.get(path).headers, path
    answer = client.post(
        "/offline/geometry", json={"coordinates": "69.9, 23.2"}, headers={"X-CSRFToken": token}
    )
    assert answer.status_code == 200 and "Set-Cookie" not in answer.headers
