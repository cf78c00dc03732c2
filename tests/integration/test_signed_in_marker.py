"""The marker cookie reverse proxies bypass their cache on: set while logged in, gone after.

A shared cache must not bypass on the session cookie, which anonymous visitors have too; it
bypasses on heritage_signed_in (deploy/nginx.conf). These tests hold the app to its side.
"""

from __future__ import annotations

from app.auth.sessions import SIGNED_IN_COOKIE


def _marker(client):  # noqa: ANN001, ANN202 - the test client and its cookie, if any
    return client.get_cookie(SIGNED_IN_COOKIE)


def test_anonymous_browsing_sets_no_marker_and_tiles_set_no_cookie(client) -> None:
    """The front page gives a session cookie; a tile asked with it sets none and stays public."""
    assert client.get("/").status_code == 200
    assert client.get_cookie("heritage_session") is not None  # the premise
    tile = client.get("/api/map/tiles/6/36/13")
    assert tile.status_code == 200
    assert tile.headers.getlist("Set-Cookie") == []
    assert tile.headers["Cache-Control"].startswith("public")
    assert "cookie" not in (tile.headers.get("Vary") or "").lower()
    assert _marker(client) is None


def test_login_sets_the_marker_and_logout_removes_it(client, make_user, login) -> None:
    """Logged in: marker present and tiles private; logged out: marker deleted."""
    user = make_user()
    token = login(user)
    assert _marker(client) is not None
    tile = client.get("/api/map/tiles/6/36/13")
    assert tile.headers["Cache-Control"] == "private, no-store"
    assert client.post("/logout", data={"csrf_token": token}).status_code in (302, 303)
    assert _marker(client) is None


def test_a_stale_marker_is_removed(client) -> None:
    """A marker without a login (an expired session) is deleted on the next answer."""
    client.set_cookie(SIGNED_IN_COOKIE, "1")
    client.get("/")
    assert _marker(client) is None
