"""Links are built on BASE_URL only: a forged Host or X-Forwarded-Host never reaches the OGC API,
the JSON API, an export or a notification mail; in production a foreign Host gets 400."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from app.db import engine_of
from app.models import Membership, MembershipRole, TraceStatus, UserRole
from tests.conftest import PASSWORD, csrf_from
from tests.mailbox import mail_bodies

ROOT = Path(__file__).resolve().parents[2]
EVIL = "evil.example"
FORGED = {"Host": EVIL, "X-Forwarded-Host": EVIL, "X-Forwarded-Proto": "https"}
URL = re.compile(r"https?://[^\s\"'<>\\]+")


class ForgedClient:
    """A test client whose every request claims to be for evil.example (cookies follow it)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=FORGED, base_url=f"http://{EVIL}", **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers=FORGED, base_url=f"http://{EVIL}", **kwargs)

    def log_in(self, email: str) -> str:
        token = csrf_from(self.get("/login").get_data(as_text=True))
        response = self.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 302, response.status_code
        return csrf_from(self.get("/").get_data(as_text=True))


def absolute_urls(text: str) -> list[str]:
    """Every http(s) URL in a text (JSON slashes unescaped first)."""
    return URL.findall(text.replace("\\/", "/"))


def assert_only_base(app: Flask, text: str, expect_links: bool = True) -> None:
    """The text names no other origin than BASE_URL, and (usually) names BASE_URL at least once."""
    base = app.config["BASE_URL"].rstrip("/")
    assert EVIL not in text
    ours = [url for url in absolute_urls(text) if url.startswith(base + "/") or url == base]
    others = [url for url in absolute_urls(text) if url not in ours and _is_link_to_us(url)]
    assert not others, others
    if expect_links:
        assert ours, "no absolute link at all: the test checks nothing"


def _is_link_to_us(url: str) -> bool:
    # Tile servers, licences, schemas and standards documents are other sites on purpose.
    return not re.match(
        r"https?://(www\.)?(opengis\.net|schemas\.opengis\.net|creativecommons\.org|"
        r"cache\.kartverket\.no|tile\.openstreetmap\.org|www\.openstreetmap\.org|"
        r"kartverket\.no|www\.kartverket\.no|spdx\.org|json-schema\.org|geojson\.org|"
        r"tools\.ietf\.org|www\.rfc-editor\.org|datatracker\.ietf\.org|"
        r"www\.naturalearthdata\.com)",
        url,
    )


@pytest.fixture
def forged(client: FlaskClient) -> ForgedClient:
    return ForgedClient(client)


@pytest.fixture
def approved(make_trace: Callable[..., Any]) -> Any:
    return make_trace(title="Hustuft ved elva")


@pytest.mark.parametrize(
    "path",
    [
        "/ogc?f=json",
        "/ogc/?f=html",
        "/ogc/conformance?f=json",
        "/ogc/api",
        "/ogc/collections?f=json",
        "/ogc/collections?f=html",
        "/ogc/collections/traces?f=json",
        "/ogc/collections/traces/items?f=json&limit=1",
        "/ogc/collections/traces/items?f=html&limit=1",
    ],
)
def test_ogc_links_ignore_a_forged_host(
    app: Flask, forged: ForgedClient, approved: Any, path: str
) -> None:
    response = forged.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert_only_base(app, response.get_data(as_text=True))


def test_ogc_feature_and_next_page_ignore_a_forged_host(
    app: Flask, forged: ForgedClient, make_trace: Callable[..., Any]
) -> None:
    first, _second = make_trace(), make_trace()
    page = forged.get("/ogc/collections/traces/items?f=json&limit=1")
    links = {link["rel"]: link["href"] for link in page.get_json()["links"]}
    assert "next" in links
    assert_only_base(app, json.dumps(page.get_json()))
    feature = forged.get(f"/ogc/collections/traces/items/{first.id}?f=json")
    assert feature.status_code == 200
    assert_only_base(app, feature.get_data(as_text=True))


def test_json_api_links_ignore_a_forged_host(
    app: Flask, forged: ForgedClient, approved: Any
) -> None:
    trace = forged.get(f"/api/traces/{approved.id}")
    assert trace.status_code == 200
    assert_only_base(app, trace.get_data(as_text=True))
    document = forged.get("/api/openapi.json")
    assert document.get_json()["servers"][0]["url"] == app.config["BASE_URL"].rstrip("/")


@pytest.mark.parametrize("fmt", ["geojson", "csv"])
def test_export_uris_ignore_a_forged_host(
    app: Flask, forged: ForgedClient, approved: Any, fmt: str
) -> None:
    page = forged.get(f"/export?format={fmt}")
    assert_only_base(app, page.get_data(as_text=True))
    download = forged.get(f"/export/download?format={fmt}")
    assert download.status_code == 200
    # The download reads on a connection of its own, which does not see this test's
    # uncommitted trace: the GeoJSON still names its source, the CSV is only a header. The
    # features' uris come from the query the OGC items above are checked through.
    assert_only_base(app, download.get_data(as_text=True), expect_links=fmt == "geojson")


def test_notification_mail_ignores_the_host_of_the_moderators_request(
    app: Flask,
    session: Session,
    forged: ForgedClient,
    make_user: Callable[..., Any],
    make_project: Callable[..., Any],
    make_trace: Callable[..., Any],
) -> None:
    project = make_project()
    librarian = make_user(UserRole.RESIDENT, name="Lina Librarian")
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    author = make_user(name="Rita Resident")
    assert author.notify_by_email
    trace = make_trace(status=TraceStatus.PENDING, author=author, project=project)
    before = len(mail_bodies(app, session))
    token = forged.log_in(librarian.email)
    response = forged.post(
        f"/moderation/decision/{trace.id}",
        data={"csrf_token": token, "action": "approve", "version": trace.version, "next": "/"},
    )
    assert response.status_code == 302
    # The redirect after the decision goes to our own site as well.
    assert EVIL not in response.headers["Location"]
    mails = mail_bodies(app, session)[before:]
    assert mails, "approving sent no mail to the author"
    for body in mails:
        assert_only_base(app, body)


def test_router_redirects_use_base_url(app: Flask, forged: ForgedClient) -> None:
    # /ogc/collections/ has a strict-slash twin: werkzeug's redirect must not name the Host.
    response = forged.get("/moderation")
    if response.status_code in (301, 302, 308):
        assert EVIL not in response.headers["Location"]


def test_url_for_works_outside_a_request_on_base_url(app: Flask) -> None:
    from flask import url_for

    with app.app_context():
        link = url_for("traces.show", trace_id=7, _external=True)
    assert link == app.config["BASE_URL"].rstrip("/") + "/traces/7"


# -- production: other hosts are refused -----------------------------------------------------


@pytest.fixture
def production(database_url: str) -> Iterator[Flask]:
    app = create_app(
        {
            "ENV": "production",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "production-test-secret",
            "BASE_URL": "https://kulturspor.example",
            "RATELIMIT_ENABLED": False,
        }
    )
    yield app
    engine_of(app).dispose()


@pytest.mark.parametrize(
    "headers",
    [{"Host": EVIL}, {"Host": "kulturspor.example.evil.example"}, {"Host": "127.0.0.1"}],
    ids=["evil", "suffix", "ip"],
)
def test_production_refuses_a_foreign_host(production: Flask, headers: dict[str, str]) -> None:
    response = production.test_client().get("/health", headers=headers)
    assert response.status_code == 400
    assert EVIL not in response.get_data(as_text=True)


def test_production_serves_its_own_host(production: Flask) -> None:
    assert production.config["TRUSTED_HOSTS"] == ["kulturspor.example"]
    client = production.test_client()
    response = client.get("/health", headers={"Host": "kulturspor.example"})
    assert response.status_code == 200
    with_port = client.get("/health", headers={"Host": "kulturspor.example:443"})
    assert with_port.status_code == 200


def test_trusted_hosts_setting_overrides_the_default(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HERITAGE_TRUSTED_HOSTS", "kulturspor.example, .kommune.example")
    app = create_app(
        {
            "ENV": "production",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "production-test-secret",
            "BASE_URL": "https://kulturspor.example",
        }
    )
    assert app.config["TRUSTED_HOSTS"] == ["kulturspor.example", ".kommune.example"]
    client = app.test_client()
    assert client.get("/health", headers={"Host": "kart.kommune.example"}).status_code == 200
    assert client.get("/health", headers={"Host": EVIL}).status_code == 400
    engine_of(app).dispose()


def test_no_code_builds_links_from_the_request_host() -> None:
    # The structure that keeps the defect out: absolute URLs come from the URL adapter (bound to
    # BASE_URL in app/hosts.py) or from BASE_URL itself, never from these request attributes.
    pattern = re.compile(r"request\.(host_url|url_root|host\b|base_url|url\b)")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "app").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    templates = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if re.search(r"request\.(host_url|url_root|host\b|base_url|url\b)", path.read_text())
    ]
    assert not offenders and not templates, offenders + templates
