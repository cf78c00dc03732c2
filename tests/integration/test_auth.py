"""Registration, login and logout through the real forms; server-side session revocation."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import User, UserSession
from tests.conftest import PASSWORD, csrf_from
from tests.conftest import post_login as log_in

COOKIE = "heritage_session"
UNICODE_PASSWORD = "æøå🦌ÆØÅ🌲" * 8  # 64 code points; the emoji lie outside the BMP


@pytest.fixture
def new_client(app: Flask, session: Session) -> Any:
    """Factory for further clients in the test's transaction (English messages)."""

    def make() -> FlaskClient:
        client = app.test_client()
        with client.session_transaction() as cookie_session:
            cookie_session["lang"] = "en"
        return client

    return make


def register(client: FlaskClient, email: str, password: str, **extra: str) -> Any:
    token = csrf_from(client.get("/register").get_data(as_text=True))
    data = {
        "email": email,
        "display_name": "Kari Nordmann",
        "password": password,
        "csrf_token": token,
        **extra,
    }
    return client.post("/register", data=data)


def user_count(session: Session) -> int:
    return session.execute(select(func.count()).select_from(User)).scalar_one()


def has_access(client: FlaskClient) -> bool:
    """True when the client reaches a page that needs login; False when sent to /login."""
    response = client.get("/traces/new")
    if response.status_code == 302:
        assert urlsplit(response.headers["Location"]).path == "/login"
        return False
    assert response.status_code == 200
    return True


# --- registration -----------------------------------------------------------------------


def test_register_stores_argon2id_hash_and_logs_in(session: Session, new_client) -> None:
    client = new_client()
    response = register(client, "kari@example.no", PASSWORD)
    assert response.status_code == 302
    user = session.execute(
        select(User).where(User.email_normalized == "kari@example.no")
    ).scalar_one()
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert user.display_name == "Kari Nordmann"
    assert has_access(client)


def test_long_unicode_password_round_trips(session: Session, new_client) -> None:
    assert len(UNICODE_PASSWORD) == 64
    assert register(new_client(), "unicode@example.no", UNICODE_PASSWORD).status_code == 302
    fresh = new_client()
    assert log_in(fresh, "unicode@example.no", UNICODE_PASSWORD).status_code == 302
    assert has_access(fresh)
    # Only the exact password works, not one code point less.
    other = new_client()
    assert log_in(other, "unicode@example.no", UNICODE_PASSWORD[:-1]).status_code == 422


@pytest.mark.parametrize("variant", [" Alice@X.no", "ALICE@x.NO", "alice@x.no "])
def test_email_is_unique_after_normalisation(session: Session, new_client, variant: str) -> None:
    assert register(new_client(), "alice@x.no", PASSWORD).status_code == 302
    before = user_count(session)
    response = register(new_client(), variant, PASSWORD)
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert user_count(session) == before


@pytest.mark.parametrize(
    ("password", "needle"),
    [
        ("kort123", "at least 8"),  # 7 characters
        ("passord123", "too common"),
        ("PASSORD123", "too common"),
        ("aaaaaaaaaa", "too common"),
        ("x" * 129, "at most 128"),
    ],
    ids=["seven chars", "common", "common upper-case", "one repeated char", "too long"],
)
def test_weak_password_is_refused(session: Session, new_client, password: str, needle: str) -> None:
    before = user_count(session)
    client = new_client()
    response = register(client, "weak@example.no", password)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert needle in page
    assert 'id="password-error"' in page
    assert user_count(session) == before
    assert not has_access(client)


def test_e_mail_and_password_are_enough(session: Session, new_client) -> None:
    client = new_client()
    response = register(client, "kort@example.no", PASSWORD, display_name="")
    assert response.status_code == 302
    user = session.execute(
        select(User).where(User.email_normalized == "kort@example.no")
    ).scalar_one()
    assert user.display_name == f"Resident {user.id}"  # until they choose a name
    assert not user.show_name_publicly
    assert has_access(client)


def test_a_short_password_is_still_refused_without_a_name(session: Session, new_client) -> None:
    before = user_count(session)
    response = register(new_client(), "kort@example.no", "short", display_name="")
    assert response.status_code == 422
    assert user_count(session) == before


@pytest.mark.parametrize("via", ["/register", "/login"])
def test_registration_returns_to_the_carried_view(session: Session, new_client, via: str) -> None:
    """An anonymous "Add a trace" at a view goes through login and registration and back."""
    client = new_client()
    response = client.get("/traces/new?at=14/59.73/9.90")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert "/login" in login_url
    page = client.get(login_url).get_data(as_text=True)
    # The login page links to registration with the same next.
    match = re.search(r'id="register-instead" href="([^"]+)"', page)
    assert match is not None
    register_url = html.unescape(match.group(1))
    assert unquote(register_url).endswith("next=/traces/new?at=14/59.73/9.90")
    token = csrf_from(client.get(register_url).get_data(as_text=True))
    done = client.post(register_url, data={"email": "ny@example.no", "password": PASSWORD,
                                           "csrf_token": token})  # fmt: skip
    assert done.status_code == 302
    assert done.headers["Location"] == "/traces/new?at=14/59.73/9.90"
    assert client.get(done.headers["Location"]).status_code == 200  # logged in


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_registration_never_redirects_off_site(session: Session, new_client, target: str) -> None:
    client = new_client()
    url = "/register?" + urlencode({"next": target})
    token = csrf_from(client.get(url).get_data(as_text=True))
    done = client.post(url, data={"email": "off@example.no", "password": PASSWORD,
                                  "csrf_token": token})  # fmt: skip
    assert done.status_code == 302
    assert done.headers["Location"] == "/"


@pytest.mark.parametrize("name", ["Kari\u0000Nordmann", "\u0000\u0000\u0000"])
def test_nul_in_display_name_is_refused_or_dropped(session: Session, new_client, name: str) -> None:
    before = user_count(session)
    response = register(new_client(), "nul@example.no", PASSWORD, display_name=name)
    assert response.status_code == 400  # NUL never reaches a view (app.params)
    stored = session.execute(
        select(User.display_name).where(User.email_normalized == "nul@example.no")
    ).scalar_one_or_none()
    assert stored is None or "\u0000" not in stored
    assert user_count(session) in (before, before + 1)


def test_register_needs_csrf(session: Session, new_client) -> None:
    before = user_count(session)
    response = new_client().post(
        "/register",
        data={"email": "x@example.no", "display_name": "X Y", "password": PASSWORD,
              "password_confirm": PASSWORD},
    )  # fmt: skip
    assert response.status_code == 400
    assert user_count(session) == before


# --- login -------------------------------------------------------------------------------


def live_sessions(session: Session, user: User) -> int:
    return session.execute(
        select(func.count())
        .select_from(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ).scalar_one()


@pytest.mark.parametrize("password", ["wrong password", "", PASSWORD.upper()])
def test_wrong_password_gives_422_and_no_session(
    session: Session, new_client, make_user, password: str
) -> None:
    user = make_user()
    client = new_client()
    response = log_in(client, user.email, password)
    assert response.status_code == 422
    assert live_sessions(session, user) == 0
    assert not has_access(client)


@pytest.mark.parametrize("email", ["kari\u0000@example.no", "kari@example.no\u0000"])
def test_nul_in_login_email_is_a_plain_refusal(session: Session, new_client, email: str) -> None:
    response = log_in(new_client(), email, PASSWORD)
    assert response.status_code == 400  # NUL never reaches a view (app.params)
    assert "control character" in response.get_data(as_text=True)


def test_unknown_email_looks_like_wrong_password(session: Session, new_client, make_user) -> None:
    user = make_user()
    wrong = log_in(new_client(), user.email, "not the password").get_data(as_text=True)
    unknown = log_in(new_client(), "nobody@example.no", "not the password").get_data(as_text=True)
    assert "Wrong e-mail address or password." in wrong
    assert "Wrong e-mail address or password." in unknown


def test_login_is_case_and_space_insensitive_for_email(
    session: Session, new_client, make_user
) -> None:
    user = make_user()
    client = new_client()
    assert log_in(client, f"  {user.email.upper()} ", PASSWORD).status_code == 302
    assert has_access(client)


def test_login_cookie_flags(session: Session, new_client, make_user) -> None:
    user = make_user()
    response = log_in(new_client(), user.email, PASSWORD)
    assert response.status_code == 302
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{COOKIE}=")]
    assert len(cookies) == 1
    attributes = {
        part.strip().split("=")[0].lower(): part.strip() for part in cookies[0].split(";")
    }
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"
    assert live_sessions(session, user) == 1


def test_login_gives_a_new_session_cookie(session: Session, new_client, make_user) -> None:
    """No session fixation: what the visitor held before login does not stay valid after."""
    user = make_user()
    client = new_client()
    client.get("/login")
    before = client.get_cookie(COOKIE).value
    assert log_in(client, user.email, PASSWORD).status_code == 302
    assert client.get_cookie(COOKIE).value != before


# --- logout and revocation ------------------------------------------------------------------


def test_logout_revokes_the_session_on_the_server(session: Session, new_client, make_user) -> None:
    user = make_user()
    client = new_client()
    assert log_in(client, user.email, PASSWORD).status_code == 302
    stolen = client.get_cookie(COOKIE).value

    # Before logout the copied cookie works on another device: the replay below is meaningful.
    thief = new_client()
    thief.set_cookie(COOKIE, stolen)
    assert has_access(thief)

    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert not has_access(client)
    assert live_sessions(session, user) == 0

    replay = new_client()
    replay.set_cookie(COOKIE, stolen)
    assert not has_access(replay)


def test_logout_needs_csrf(session: Session, new_client, make_user) -> None:
    user = make_user()
    client = new_client()
    assert log_in(client, user.email, PASSWORD).status_code == 302
    response = client.post("/logout")
    assert response.status_code == 400
    assert has_access(client)
    assert live_sessions(session, user) == 1


def test_disabled_user_cannot_log_in(session: Session, new_client, make_user) -> None:
    user = make_user()
    user.is_enabled = False
    session.commit()
    assert log_in(new_client(), user.email, PASSWORD).status_code == 422


# --- redirects after login -------------------------------------------------------------------

EVIL = [
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("target", EVIL)
def test_no_open_redirect_after_login(session: Session, new_client, make_user, target: str) -> None:
    user = make_user()
    client = new_client()
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": user.email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert location.path == "/"
    assert "evil" not in response.headers["Location"]


def test_local_next_is_followed(session: Session, new_client, make_user) -> None:
    user = make_user()
    client = new_client()
    response = log_in(client, user.email, PASSWORD, query="?next=/traces/new")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/traces/new"
