"""Security headers on every page, nonce-only inline scripts, no third-party assets, and a
grep-style guard against unescaped output in templates and Python."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.models import TraceStatus

ROOT = Path(__file__).resolve().parents[2]
SAFE_ALLOWED = {"page_map.header", "page_map.html", "page_map.script", "description_html"}
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
ASSET_URL = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?((?:https?:)?//[^\"'\s>]+)",
    re.I,
)


@pytest.fixture
def pages(make_trace) -> list[str]:
    trace = make_trace(status=TraceStatus.APPROVED, description="Ei **tuft**.")
    return ["/", "/login", "/register", f"/traces/{trace.id}"]


def directives(csp: str) -> dict[str, list[str]]:
    result = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            result[words[0]] = words[1:]
    return result


def test_content_security_policy(client: FlaskClient, pages: list[str]) -> None:
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        policy = directives(response.headers["Content-Security-Policy"])
        assert policy["object-src"] == ["'none'"], path
        assert policy["base-uri"] == ["'none'"], path
        assert policy["frame-ancestors"] == ["'none'"], path
        assert policy["default-src"] == ["'self'"], path
        script_src = policy["script-src"]
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, path
        assert not any(s.startswith(("http:", "https:", "*")) for s in script_src), path
        nonces = [s[len("'nonce-") : -1] for s in script_src if s.startswith("'nonce-")]
        assert len(nonces) == 1 and len(nonces[0]) >= 16, path

        # Every inline script carries exactly that nonce; script files come from us.
        page = response.get_data(as_text=True)
        for attributes in SCRIPT_TAG.findall(page):
            if "src=" in attributes:
                src = re.search(r"src=[\"']?([^\"'\s>]+)", attributes).group(1)
                assert src.startswith("/static/"), (path, src)
            else:
                nonce = re.search(r"nonce=\"([^\"]+)\"", attributes)
                assert nonce and nonce.group(1) == nonces[0], (path, attributes)


def test_map_pages_have_their_inline_script_nonced(client: FlaskClient, pages: list[str]) -> None:
    for path in ("/", pages[-1]):
        response = client.get(path)
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
        inline = re.findall(r'<script nonce="([^"]+)">', response.get_data(as_text=True))
        assert inline == [nonce.group(1)], path


def test_nonce_changes_with_every_response(client: FlaskClient) -> None:
    first = client.get("/").headers["Content-Security-Policy"]
    second = client.get("/").headers["Content-Security-Policy"]
    assert re.search(r"'nonce-[^']+'", first).group() != re.search(r"'nonce-[^']+'", second).group()


def test_other_security_headers(client: FlaskClient, pages: list[str]) -> None:
    for path in [*pages, "/api/map?bbox=24,70,25,71&zoom=14", "/does-not-exist"]:
        response = client.get(path)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] in (
            "same-origin", "strict-origin", "strict-origin-when-cross-origin", "no-referrer"
        ), path  # fmt: skip
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert "Content-Security-Policy" in response.headers, path
        assert "Strict-Transport-Security" not in response.headers, path  # development


def test_no_third_party_scripts_or_styles(client: FlaskClient, pages: list[str]) -> None:
    for path in pages:
        page = client.get(path).get_data(as_text=True)
        assert ASSET_URL.findall(page) == [], path
        for href in re.findall(r"<link\b[^>]*\bhref=[\"']?([^\"'\s>]+)", page, re.I):
            # Stylesheets and icons come from /static/; the web app manifest from the root.
            assert href.startswith("/static/") or href == "/manifest.webmanifest", (path, href)
        for src in re.findall(r"<script\b[^>]*\bsrc=[\"']?([^\"'\s>]+)", page, re.I):
            assert src.startswith("/static/"), (path, src)


def test_csp_allows_tiles_but_no_other_hosts(app: Flask, client: FlaskClient) -> None:
    policy = directives(client.get("/").headers["Content-Security-Policy"])
    hosts = [s for s in policy["img-src"] if s.startswith("https://")]
    assert hosts and all(("kartverket" in h) or ("openstreetmap" in h) for h in hosts), policy[
        "img-src"
    ]
    assert policy["connect-src"] == ["'self'"]


# --- grep-style guards --------------------------------------------------------------------


def _expressions_marked_safe(source: str) -> list[str]:
    return [m.strip() for m in re.findall(r"\{\{-?\s*([^{}]*?)\s*\|\s*safe\b", source)]


def test_templates_mark_only_the_map_and_sanitised_markdown_safe() -> None:
    found = {}
    for template in sorted((ROOT / "templates").rglob("*.html")):
        source = template.read_text(encoding="utf-8")
        unexpected = [e for e in _expressions_marked_safe(source) if e not in SAFE_ALLOWED]
        if unexpected:
            found[str(template.relative_to(ROOT))] = unexpected
        assert not re.search(r"\{%-?\s*autoescape\s+false", source), template
    assert found == {}


def test_the_template_guard_catches_what_it_should() -> None:
    assert _expressions_marked_safe("{{ trace.title|safe }} {{ page_map.html | safe }}") == [
        "trace.title",
        "page_map.html",
    ]


def test_only_app_text_builds_markup() -> None:
    offenders = []
    for module in sorted((ROOT / "app").rglob("*.py")):
        if module.relative_to(ROOT).as_posix() == "app/text.py":
            continue
        source = module.read_text(encoding="utf-8")
        if re.search(r"\bMarkup\s*\(|\bMarkup\.unescape\b|\|\s*safe\b", source):
            offenders.append(module.relative_to(ROOT).as_posix())
    assert offenders == []
