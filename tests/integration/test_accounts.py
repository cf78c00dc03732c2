"""The account page (password, e-mail, settings, sessions), password reset by e-mail, and the
audit trail they leave (docs/security.md items 3, 5, 7 and 8)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.auth.passwords import verify_password
from app.limits import limiter
from app.models import AuditEvent, PasswordResetToken, User, UserSession
from tests.conftest import PASSWORD, csrf_from
from tests.conftest import post_login as log_in

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"(\S+/reset-password/(\S+))")


@pytest.fixture(autouse=True)
def _fresh_limits(app: Flask) -> Iterator[None]:
    """Rate-limit counters are shared by the whole run; start every test from zero."""
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def new_client(app: Flask, session: Session) -> Callable[[], FlaskClient]:
    """Factory for further clients (devices) in the test's transaction, with English pages."""

    def make() -> FlaskClient:
        client = app.test_client()
        with client.session_transaction() as cookie_session:
            cookie_session["lang"] = "en"
        return client

    return make


def logged_in(make: Callable[[], FlaskClient], user: User) -> tuple[FlaskClient, str]:
    """A new device logged in as the user, and a CSRF token for it."""
    client = make()
    assert log_in(client, user.email).status_code == 302
    return client, csrf_from(client.get("/account").get_data(as_text=True))


def has_access(client: FlaskClient) -> bool:
    """True when the account page opens; False when the client is sent to log in."""
    response = client.get("/account")
    if response.status_code == 302:
        assert urlsplit(response.headers["Location"]).path == "/login"
        return False
    assert response.status_code == 200
    return True


def is_checked(page: str, name: str) -> bool:
    """Whether the checkbox with this name is rendered ticked."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag, name
    return " checked" in tag.group(0)


def change_password(client: FlaskClient, token: str, current: str | None, new: str) -> Any:
    data = {"csrf_token": token, "new_password": new, "new_password_confirm": new}
    if current is not None:
        data["current_password"] = current
    return client.post("/account/password", data=data)


def stored(session: Session, user: User) -> User:
    """The user row as the database has it now."""
    session.expire_all()
    return session.execute(select(User).where(User.id == user.id)).scalar_one()


def request_reset(client: FlaskClient, email: str, **kwargs: Any) -> Any:
    token = csrf_from(client.get("/reset-password", **kwargs).get_data(as_text=True))
    return client.post("/reset-password", data={"email": email, "csrf_token": token}, **kwargs)


def reset_token_from(message: EmailMessage) -> tuple[str, str]:
    """The link in a reset mail and the token in it."""
    match = LINK.search(message.get_content())
    assert match, message.get_content()
    return match.group(1), match.group(2)


def use_reset_link(client: FlaskClient, token: str, password: str = NEW_PASSWORD) -> Any:
    page = client.get(f"/reset-password/{token}")
    if page.status_code != 200:
        return page
    data = {
        "csrf_token": csrf_from(page.get_data(as_text=True)),
        "new_password": password,
        "new_password_confirm": password,
    }
    return client.post(f"/reset-password/{token}", data=data)


# --- the page ---------------------------------------------------------------------------


def test_account_page_shows_name_email_and_sessions(make_user, new_client) -> None:
    user = make_user(name="Kari Nordmann")
    logged_in(new_client, user)
    client, _ = logged_in(new_client, user)
    page = client.get("/account").get_data(as_text=True)
    assert "Kari Nordmann" in page
    assert user.email in page
    assert "logged in on 2 devices" in page
    assert 'name="show_name_publicly"' in page and 'name="notify_by_email"' in page


def test_account_needs_login(new_client) -> None:
    response = new_client().get("/account")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_settings_are_saved(session: Session, make_user, new_client) -> None:
    user = make_user()
    assert (user.show_name_publicly, user.notify_by_email) == (False, True)
    client, token = logged_in(new_client, user)
    response = client.post(
        "/account/settings", data={"csrf_token": token, "show_name_publicly": "y"}
    )
    assert response.status_code == 302
    fresh = stored(session, user)
    assert (fresh.show_name_publicly, fresh.notify_by_email) == (True, False)
    page = client.get("/account").get_data(as_text=True)
    assert is_checked(page, "show_name_publicly")
    assert not is_checked(page, "notify_by_email")


def test_settings_need_csrf(session: Session, make_user, new_client) -> None:
    user = make_user()
    client, _ = logged_in(new_client, user)
    response = client.post("/account/settings", data={"show_name_publicly": "y"})
    assert response.status_code == 400
    assert stored(session, user).show_name_publicly is False


# --- password ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "current", [None, "", "wrong password here"], ids=["absent", "empty", "wrong"]
)
def test_password_change_needs_current_password(
    session: Session, make_user, new_client, current: str | None
) -> None:
    user = make_user()
    client, token = logged_in(new_client, user)
    other, _ = logged_in(new_client, user)
    before = stored(session, user).password_hash
    response = change_password(client, token, current, NEW_PASSWORD)
    assert response.status_code == 403
    assert "The current password is wrong" in response.get_data(as_text=True)
    assert stored(session, user).password_hash == before
    assert has_access(other)  # nothing was revoked either
    assert log_in(new_client(), user.email, NEW_PASSWORD).status_code == 422


def test_password_change_revokes_other_sessions_only(
    session: Session, make_user, new_client
) -> None:
    user = make_user()
    client, token = logged_in(new_client, user)
    other, _ = logged_in(new_client, user)
    response = change_password(client, token, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert verify_password(stored(session, user).password_hash, NEW_PASSWORD)
    assert stored(session, user).password_hash.startswith("$argon2id$")
    # The other device's cookie is replayed as it was and no longer opens anything.
    assert not has_access(other)
    assert has_access(client)
    assert log_in(new_client(), user.email, PASSWORD).status_code == 422
    assert log_in(new_client(), user.email, NEW_PASSWORD).status_code == 302


def test_password_change_refuses_weak_or_mismatched_password(
    session: Session, make_user, new_client
) -> None:
    user = make_user()
    client, token = logged_in(new_client, user)
    before = stored(session, user).password_hash
    weak = change_password(client, token, PASSWORD, "passord123")
    assert weak.status_code == 422
    assert "too common" in weak.get_data(as_text=True)
    mismatch = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_confirm": NEW_PASSWORD + "x",
        },
    )
    assert mismatch.status_code == 422
    assert stored(session, user).password_hash == before


# --- e-mail -----------------------------------------------------------------------------


@pytest.mark.parametrize("current", [None, "wrong password here"], ids=["absent", "wrong"])
def test_email_change_needs_current_password(
    session: Session, make_user, new_client, current: str | None
) -> None:
    user = make_user()
    client, token = logged_in(new_client, user)
    data = {"csrf_token": token, "new_email": "new@example.no"}
    if current is not None:
        data["email_password"] = current
    response = client.post("/account/email", data=data)
    assert response.status_code == 403
    assert stored(session, user).email_normalized == user.email_normalized


def test_email_change_with_password(
    session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    old_address = user.email
    client, token = logged_in(new_client, user)
    response = client.post(
        "/account/email",
        data={
            "csrf_token": token,
            "new_email": "  Kari.Ny@Example.NO ",
            "email_password": PASSWORD,
        },
    )
    assert response.status_code == 302
    fresh = stored(session, user)
    assert fresh.email_normalized == "kari.ny@example.no"
    # The old address hears about it, and the new one logs in.
    assert [m["To"] for m in logged_mail] == [old_address]
    assert log_in(new_client(), "KARI.NY@example.no").status_code == 302
    assert log_in(new_client(), old_address).status_code == 422


@pytest.mark.parametrize("variant", ["{}", " {} ", "{upper}"])
def test_email_change_refuses_taken_address(
    session: Session, make_user, new_client, variant: str
) -> None:
    user, taken = make_user(), make_user()
    client, token = logged_in(new_client, user)
    address = variant.format(taken.email, upper=taken.email.upper())
    response = client.post(
        "/account/email",
        data={"csrf_token": token, "new_email": address, "email_password": PASSWORD},
    )
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert stored(session, user).email_normalized == user.email_normalized


# --- sessions ---------------------------------------------------------------------------


def test_logout_everywhere_revokes_every_session(session: Session, make_user, new_client) -> None:
    user = make_user()
    client, token = logged_in(new_client, user)
    other, _ = logged_in(new_client, user)
    response = client.post("/account/logout-everywhere", data={"csrf_token": token})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert not has_access(other)
    assert not has_access(client)
    live = session.execute(
        select(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    ).all()
    assert live == []


def test_disabled_user_loses_access_on_next_request(
    session: Session, make_user, new_client
) -> None:
    user = make_user()
    client, _ = logged_in(new_client, user)
    assert has_access(client)
    session.execute(update(User).where(User.id == user.id).values(is_enabled=False))
    session.commit()
    assert not has_access(client)
    assert log_in(new_client(), user.email).status_code == 422


def _last_seen(session: Session, user: User) -> datetime:
    session.expire_all()
    return session.execute(
        select(UserSession.last_seen_at).where(UserSession.user_id == user.id)
    ).scalar_one()


def _set_last_seen(session: Session, user: User, when: datetime) -> None:
    session.execute(
        update(UserSession).where(UserSession.user_id == user.id).values(last_seen_at=when)
    )
    session.commit()


def test_last_seen_is_updated_at_most_every_five_minutes(
    session: Session, make_user, new_client
) -> None:
    user = make_user()
    client, _ = logged_in(new_client, user)
    recent = datetime.now(UTC) - timedelta(minutes=2)
    _set_last_seen(session, user, recent)
    assert client.get("/").status_code == 200
    assert _last_seen(session, user) == recent  # a GET two minutes later writes nothing
    stale = datetime.now(UTC) - timedelta(minutes=10)
    _set_last_seen(session, user, stale)
    assert client.get("/").status_code == 200  # a GET, which otherwise always rolls back
    assert _last_seen(session, user) > datetime.now(UTC) - timedelta(minutes=1)


# --- password reset ---------------------------------------------------------------------


def test_reset_request_is_neutral_for_unknown_address(
    session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    unknown = request_reset(new_client(), "nobody@example.no")
    known = request_reset(new_client(), user.email)
    assert unknown.status_code == known.status_code == 200

    def message_of(response: Any) -> str:
        return re.sub(r'value="[^"]+"|content="[^"]+"', "", response.get_data(as_text=True))

    assert message_of(unknown) == message_of(known)
    assert [m["To"] for m in logged_mail] == [user.email]
    assert session.execute(select(PasswordResetToken)).scalars().all()[0].user_id == user.id


def test_reset_mail_link_uses_base_url_not_host_header(
    app: Flask, session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    response = request_reset(new_client(), user.email, base_url="http://evil.example")
    assert response.status_code == 200
    assert len(logged_mail) == 1
    body = logged_mail[0].get_content()
    assert "evil.example" not in body
    link, token = reset_token_from(logged_mail[0])
    assert link.startswith(app.config["BASE_URL"].rstrip("/") + "/reset-password/")
    # Only the token's hash is stored.
    row = session.execute(select(PasswordResetToken)).scalar_one()
    assert token not in row.token_hash and len(row.token_hash) == 64
    assert row.expires_at <= datetime.now(UTC) + timedelta(
        minutes=app.config["RESET_TOKEN_MINUTES"]
    )


def test_reset_link_sets_password_once_and_revokes_sessions(
    session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    old_device, _ = logged_in(new_client, user)
    request_reset(new_client(), user.email)
    _, token = reset_token_from(logged_mail[0])
    client = new_client()
    response = use_reset_link(client, token)
    assert response.status_code == 302
    assert verify_password(stored(session, user).password_hash, NEW_PASSWORD)
    assert has_access(client)  # logged in fresh
    assert not has_access(old_device)
    assert log_in(new_client(), user.email, PASSWORD).status_code == 422
    # The same link again: refused with a clear page.
    again = use_reset_link(new_client(), token, "yet another passphrase")
    assert again.status_code == 400
    assert "This link does not work" in again.get_data(as_text=True)
    assert verify_password(stored(session, user).password_hash, NEW_PASSWORD)


def test_reset_link_refuses_weak_password(
    session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    request_reset(new_client(), user.email)
    _, token = reset_token_from(logged_mail[0])
    response = use_reset_link(new_client(), token, "passord123")
    assert response.status_code == 422
    assert verify_password(stored(session, user).password_hash, PASSWORD)
    # The link still works after a refused attempt.
    assert use_reset_link(new_client(), token).status_code == 302


def test_expired_reset_link_is_refused(
    session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    request_reset(new_client(), user.email)
    _, token = reset_token_from(logged_mail[0])
    session.execute(
        update(PasswordResetToken).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    session.commit()
    assert new_client().get(f"/reset-password/{token}").status_code == 400
    assert use_reset_link(new_client(), token).status_code == 400
    assert verify_password(stored(session, user).password_hash, PASSWORD)


@pytest.mark.parametrize("token", ["not-a-token", "x" * 300])
def test_unknown_reset_link_is_refused(new_client, token: str) -> None:
    response = new_client().get(f"/reset-password/{token}")
    assert response.status_code == 400
    assert "Ask for a new link" in response.get_data(as_text=True)


def test_reset_link_dies_when_password_is_changed(
    session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    request_reset(new_client(), user.email)
    _, token = reset_token_from(logged_mail[0])
    client, csrf = logged_in(new_client, user)
    assert change_password(client, csrf, PASSWORD, NEW_PASSWORD).status_code == 302
    assert use_reset_link(new_client(), token, "yet another passphrase").status_code == 400
    assert verify_password(stored(session, user).password_hash, NEW_PASSWORD)


def test_reset_not_sent_for_disabled_account(
    session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    session.execute(update(User).where(User.id == user.id).values(is_enabled=False))
    session.commit()
    assert request_reset(new_client(), user.email).status_code == 200
    assert logged_mail == []


# --- rate limits ------------------------------------------------------------------------


def test_eleventh_failed_login_in_a_minute_gets_429(make_user, new_client) -> None:
    user = make_user()
    client = new_client()
    for attempt in range(10):
        assert log_in(client, user.email, "wrong password").status_code == 422, attempt
    response = log_in(client, user.email, "wrong password")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many requests" in response.get_data(as_text=True)
    # Now even the right password waits: the limit is per client address.
    assert log_in(new_client(), user.email).status_code == 429


def test_successful_logins_do_not_count(make_user, new_client) -> None:
    user = make_user()
    for _ in range(9):
        assert log_in(new_client(), user.email, "wrong password").status_code == 422
    for _ in range(5):
        assert log_in(new_client(), user.email).status_code == 302
    assert log_in(new_client(), user.email, "wrong password").status_code == 422  # the 10th
    assert log_in(new_client(), user.email, "wrong password").status_code == 429


def test_reset_requests_limited_per_address(make_user, new_client) -> None:
    user = make_user()
    for _ in range(3):
        assert request_reset(new_client(), user.email).status_code == 200
    assert request_reset(new_client(), user.email.upper()).status_code == 429
    # Another address from the same client still gets through (5 per hour per client).
    assert request_reset(new_client(), "someone@example.no").status_code == 200


def test_reset_requests_limited_per_client(new_client) -> None:
    for n in range(5):
        assert request_reset(new_client(), f"person{n}@example.no").status_code == 200
    assert request_reset(new_client(), "person9@example.no").status_code == 429


def test_registration_limited_per_client(new_client) -> None:
    client = new_client()
    for n in range(10):
        token = csrf_from(client.get("/register").get_data(as_text=True))
        response = client.post(
            "/register", data={"csrf_token": token, "email": f"bad{n}", "password": "x"}
        )
        assert response.status_code == 422
    token = csrf_from(client.get("/register").get_data(as_text=True))
    assert client.post("/register", data={"csrf_token": token}).status_code == 429


def test_submission_limit_key_is_the_user(app: Flask, make_user) -> None:
    """The key the trace form and API limits use: one count per user, else per address."""
    from flask_login import login_user

    from app.auth.sessions import submission_rate_limit, user_rate_key

    user = make_user()
    with app.test_request_context("/traces/new", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        assert user_rate_key() == "192.0.2.7"
        login_user(user)
        assert user_rate_key() == f"user:{user.id}"
        assert submission_rate_limit() == "60/minute"


# --- audit ------------------------------------------------------------------------------


def test_account_events_are_audited_without_secrets(
    session: Session, make_user, new_client, logged_mail: list[EmailMessage]
) -> None:
    user = make_user()
    client, token = logged_in(new_client, user)
    client.post("/account/settings", data={"csrf_token": token, "notify_by_email": "y"})
    assert change_password(client, token, PASSWORD, NEW_PASSWORD).status_code == 302
    client.post(
        "/account/email",
        data={"csrf_token": token, "new_email": "moved@example.no", "email_password": NEW_PASSWORD},
    )
    request_reset(new_client(), "moved@example.no")
    _, reset_token = reset_token_from(logged_mail[-1])
    third = "third passphrase here"
    assert use_reset_link(new_client(), reset_token, third).status_code == 302
    client = new_client()  # the reset logged every device out
    assert log_in(client, "moved@example.no", third).status_code == 302
    token = csrf_from(client.get("/account").get_data(as_text=True))
    assert client.post("/account/logout-everywhere", data={"csrf_token": token}).status_code == 302

    events = session.execute(
        select(AuditEvent).where(AuditEvent.target_type == "user", AuditEvent.target_id == user.id)
    ).scalars()
    rows = list(events)
    assert [e.action for e in rows] == [
        "account.settings_changed",
        "account.password_changed",
        "account.email_changed",
        "account.password_reset_requested",
        "account.password_reset",
        "account.logout_everywhere",
    ]
    assert all(e.created_at.tzinfo is not None and e.actor_id in (None, user.id) for e in rows)
    text = " ".join(f"{e.reason} {e.details} {e.from_state} {e.to_state}" for e in rows)
    for secret in (PASSWORD, NEW_PASSWORD, third, reset_token, "moved@example.no"):
        assert secret not in text


def test_the_name_shown_to_others_can_be_changed_on_the_account_page(
    client, session, make_user, login
) -> None:
    """Registration may leave the name out ("Resident N"); the account page sets it later."""
    user = make_user()
    token = login(user)
    saved = client.post(
        "/account/settings", data={"csrf_token": token, "display_name": "  Kari Nordmann "}
    )
    assert saved.status_code == 302
    session.refresh(user)
    assert user.display_name == "Kari Nordmann"
    refused = client.post(
        "/account/settings", data={"csrf_token": token, "display_name": "\u200b!"}
    )
    assert refused.status_code == 422
    session.refresh(user)
    assert user.display_name == "Kari Nordmann"
