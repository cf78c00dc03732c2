"""Failed logins are limited per account as well as per address, and a reset request does the
same work whether or not the address has an account.

Decision kept here: while an account is throttled even the right password waits (otherwise
guessing from many addresses would go on unhindered); the owner gets in at once through a
reset link, and other accounts are not affected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.db import engine_of
from app.limits import limiter
from app.models import AuditEvent, OutboxMail, PasswordResetToken, User
from tests.conftest import PASSWORD, csrf_from
from tests.conftest import post_login as log_in
from tests.mailbox import mail_bodies

# Every refused password costs an argon2 verification (slow on purpose), so the tests run with
# a limit of 3; the default is checked on its own.
ACCOUNT_LIMIT = 3
LINK = re.compile(r"\S+/reset-password/(\S+)")
ROOT = Path(__file__).resolve().parents[2]


def device(app: Flask, address: str) -> FlaskClient:
    """A browser at its own client address, with English pages."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return client


@pytest.fixture(autouse=True)
def small_account_limit(app: Flask) -> Iterator[None]:
    default = app.config["LOGIN_ACCOUNT_RATE_LIMIT"]
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = f"{ACCOUNT_LIMIT}/15 minutes"
    yield
    app.config["LOGIN_ACCOUNT_RATE_LIMIT"] = default


def test_default_account_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from app import config

    monkeypatch.delenv("HERITAGE_LOGIN_ACCOUNT_RATE_LIMIT", raising=False)
    assert config.load(ROOT / "instance", {"SECRET_KEY": "x"})["LOGIN_ACCOUNT_RATE_LIMIT"] == (
        "10/15 minutes"
    )


@pytest.fixture
def addresses() -> Iterator[str]:
    """A new client address for every attempt (198.51.100.0/24 is for documentation)."""
    return iter(f"198.51.100.{n}" for n in range(1, 255))


def test_thirty_failures_from_thirty_addresses_are_throttled_after_the_limit(
    app: Flask, session: Session, make_user: Callable[..., User], addresses: Iterator[str]
) -> None:
    user = make_user()
    statuses = [
        log_in(device(app, next(addresses)), user.email, "wrong password").status_code
        for _ in range(30)
    ]
    assert statuses == [422] * ACCOUNT_LIMIT + [429] * (30 - ACCOUNT_LIMIT)

    refused = log_in(device(app, next(addresses)), user.email, "wrong password")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    page = refused.get_data(as_text=True)
    assert "Too many failed logins for this account" in page
    assert "Forgot your password?" in page


def test_the_address_is_normalised_for_the_account_limit(
    app: Flask, session: Session, make_user: Callable[..., User], addresses: Iterator[str]
) -> None:
    user = make_user()
    spellings = [user.email, user.email.upper(), f"  {user.email}  ", user.email.title()]
    for n in range(ACCOUNT_LIMIT):
        email = spellings[n % len(spellings)]
        assert log_in(device(app, next(addresses)), email, "nope nope").status_code == 422
    assert log_in(device(app, next(addresses)), user.email.upper(), "x").status_code == 429


def test_right_password_waits_while_throttled_and_other_accounts_do_not(
    app: Flask, session: Session, make_user: Callable[..., User], addresses: Iterator[str]
) -> None:
    victim, other = make_user(), make_user()
    for _ in range(ACCOUNT_LIMIT):
        log_in(device(app, next(addresses)), victim.email, "wrong password")
    # The owner, from an address never seen before, with the right password: still waits.
    assert log_in(device(app, next(addresses)), victim.email, PASSWORD).status_code == 429
    # Another account, even from an address that just failed on the throttled one.
    assert log_in(device(app, "198.51.100.1"), other.email, PASSWORD).status_code == 302
    assert log_in(device(app, next(addresses)), other.email, "wrong password").status_code == 422


def test_a_reset_link_still_lets_the_owner_in_while_throttled(
    app: Flask, session: Session, make_user: Callable[..., User], addresses: Iterator[str]
) -> None:
    user = make_user()
    for _ in range(ACCOUNT_LIMIT + 1):
        log_in(device(app, next(addresses)), user.email, "wrong password")
    client = device(app, next(addresses))
    before = len(mail_bodies(app, session))
    token = csrf_from(client.get("/reset-password").get_data(as_text=True))
    client.post("/reset-password", data={"email": user.email, "csrf_token": token})
    (mail,) = mail_bodies(app, session)[before:]
    link = LINK.search(mail)
    assert link, mail
    form = client.get(f"/reset-password/{link.group(1)}")
    csrf = csrf_from(form.get_data(as_text=True))
    done = client.post(
        f"/reset-password/{link.group(1)}",
        data={"csrf_token": csrf, "new_password": "a new long passphrase",
              "new_password_confirm": "a new long passphrase"},
    )  # fmt: skip
    assert done.status_code == 302, done.get_data(as_text=True)[:500]
    assert client.get("/account").status_code == 200


def test_no_address_is_kept_in_the_limiter_storage(
    app: Flask, session: Session, make_user: Callable[..., User], addresses: Iterator[str]
) -> None:
    user = make_user()
    log_in(device(app, next(addresses)), user.email, "wrong password")
    client = device(app, next(addresses))
    token = csrf_from(client.get("/reset-password").get_data(as_text=True))
    client.post("/reset-password", data={"email": user.email, "csrf_token": token})
    keys = _limiter_keys()
    assert any("login-account:" in key for key in keys), keys
    assert any("reset-email:" in key for key in keys), keys
    local_part = user.email.split("@")[0]
    assert not [key for key in keys if local_part in key or "example.org" in key]


def _limiter_keys() -> list[str]:
    storage = limiter.storage
    if hasattr(storage, "storage") and isinstance(storage.storage, dict):  # memory://
        return [str(key) for key in storage.storage]
    return [key.decode() for key in storage.storage.scan_iter(match="*")]  # redis


# -- password reset: the same statements either way ------------------------------------------


def _statements_of_reset(app: Flask, email: str) -> list[str]:
    """The SQL statements the POST /reset-password sends up to its commit, in order.

    What runs after the response has gone (sending the queued mail) is left out: it costs the
    person waiting for the answer nothing. Savepoint names are numbered; the number is dropped.
    """
    client = app.test_client()
    token = csrf_from(client.get("/reset-password").get_data(as_text=True))
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = engine_of(app)
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post("/reset-password", data={"email": email, "csrf_token": token})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    committed = next(i for i, s in enumerate(seen) if s.startswith("RELEASE SAVEPOINT"))
    return [re.sub(r"sa_savepoint_\d+", "sa_savepoint", s) for s in seen[: committed + 1]]


def _counts(session: Session) -> tuple[int, int, int]:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(PasswordResetToken)) or 0,
        session.scalar(select(func.count()).select_from(OutboxMail)) or 0,
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "account.password_reset_requested")
        )
        or 0,
    )


def test_reset_request_runs_the_same_statements_for_known_and_unknown_addresses(
    app: Flask, session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user()
    start = _counts(session)
    known = _statements_of_reset(app, user.email)
    after_known = _counts(session)
    unknown = _statements_of_reset(app, "nobody-here@example.org")
    after_unknown = _counts(session)

    assert known == unknown
    assert any(s.lstrip().upper().startswith("INSERT") for s in known)
    # Only the known address got a token, a mail and an audit event.
    assert [b - a for a, b in zip(start, after_known, strict=True)] == [1, 1, 1]
    assert after_unknown == after_known
