"""Talking to the app like a browser: log in, keep the cookie, send the CSRF token."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

from tests.bench.bench_load import Request, fetch

_META_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _cookies(set_cookie: str, jar: dict[str, str]) -> dict[str, str]:
    for line in filter(None, set_cookie.split("\n")):
        name, _, value = line.split(";", 1)[0].partition("=")
        jar[name.strip()] = value.strip()
    return jar


def _header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


class Browser:
    """A logged-in session: the cookie and the CSRF token for JSON writes."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.jar: dict[str, str] = {}
        self.csrf = ""

    def get(self, path: str) -> tuple[int, bytes]:
        """GET with the session cookie; keeps any cookie the server sets."""
        status, headers, body = fetch(self.port, Request(path, headers=self.headers()))
        _cookies(headers.get("set-cookie", ""), self.jar)
        return status, body

    def headers(self) -> dict[str, str]:
        """What every request of this session carries."""
        return {"Cookie": _header(self.jar)} if self.jar else {}

    def login(self, email: str, password: str) -> None:
        """Log in through the real form, then read the page's CSRF token."""
        _status, page = self.get("/login")
        token = _META_TOKEN.search(page.decode()).group(1)
        body = urlencode({"email": email, "password": password, "csrf_token": token}).encode()
        status, headers, _body = fetch(
            self.port,
            Request(
                "/login", "POST", body,
                {**self.headers(), "Content-Type": "application/x-www-form-urlencoded"},
            ),
        )  # fmt: skip
        if status != 302:
            raise RuntimeError(f"login as {email} answered {status}")
        _cookies(headers.get("set-cookie", ""), self.jar)
        _status, page = self.get("/")
        self.csrf = _META_TOKEN.search(page.decode()).group(1)


def submission(browser: Browser, i: int, project: str) -> Request:
    """POST /api/traces: a small valid point near Oslo, different for each i."""
    lon = 10.70 + (i % 97) * 0.001
    lat = 59.90 + (i % 89) * 0.0007
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        "properties": {
            "project": project,
            "title": f"Kullgrop ved bekken {i}",
            "description": "Rund grop med voll, om lag fire meter i diameter, ved stien.",
            "trace_type": "kullgrop",
            "period": "nyere-tid",
        },
    }
    return Request(
        "/api/traces",
        "POST",
        json.dumps(feature).encode(),
        {
            **browser.headers(),
            "X-CSRFToken": browser.csrf,
            "Content-Type": "application/geo+json",
        },
    )
