"""The project's story CSV through the example nginx (deploy/nginx.conf): anonymous answers
come from the cache, logged-in ones never (the stack of tests/deploy/test_nginx_cache.py)."""

from __future__ import annotations

import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

from tests.conftest import PASSWORD, csrf_from
from tests.deploy.test_nginx_cache import Stack, get, stack  # noqa: F401 (the fixture)

CSV = "/projects/nginx-cache/story.csv"


def test_anonymous_story_csv_is_a_cache_hit_and_the_language_is_part_of_the_key(
    stack: Stack,  # noqa: F811
) -> None:
    for lang in ("en", "nb"):
        path = f"{CSV}?lang={lang}"
        answers = [get(stack.base + path) for _ in range(2)]
        assert [(a.status, a.cache) for a in answers] == [(200, "MISS"), (200, "HIT")], lang
        assert "Set-Cookie" not in answers[0].headers
        assert answers[0].body == answers[1].body
        assert b"summary,approved_traces," in answers[0].body
    english, bokmal = (get(f"{stack.base}{CSV}?lang={lang}").body for lang in ("en", "nb"))
    assert english != bokmal  # "Not given" / "Ikke oppgitt": one entry per language


def test_logged_in_story_csv_bypasses_the_cache(stack: Stack) -> None:  # noqa: F811
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = csrf_from(get(stack.base + "/login", opener).body.decode())
    data = urllib.parse.urlencode(
        {"email": "librarian@nginx.example", "password": PASSWORD, "csrf_token": token}
    ).encode()
    login = urllib.request.Request(stack.base + "/login", data=data)  # noqa: S310 - 127.0.0.1
    with opener.open(login, timeout=5) as response:
        assert urllib.parse.urlsplit(response.url).path != "/login", "the login failed"
    answer = get(f"{stack.base}{CSV}?lang=en", opener)
    assert (answer.status, answer.cache) == (200, "BYPASS")
    assert answer.headers["Cache-Control"] == "private, no-store"
