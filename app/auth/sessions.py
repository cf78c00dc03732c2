"""Server-side login sessions: the cookie carries a random id that can be revoked at any time."""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from flask import Flask, Response, current_app, g, request, session
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from app.db import db, write_aside
from app.extensions import login_manager
from app.models import User, UserSession

SESSION_KEY = "sid"
# Set while someone is logged in, for reverse proxies only: a shared cache passes requests that
# carry it on uncached (deploy/nginx.conf). The session cookie cannot serve: anonymous visitors
# have one too (a CSRF token, a language), and bypassing on it would cache for nobody. The
# marker holds nothing; deleting it only means being answered with the public map.
SIGNED_IN_COOKIE = "heritage_signed_in"
# last_seen_at is written at most this often per session, so a page view rarely costs a write.
TOUCH_EVERY = timedelta(minutes=5)

log = logging.getLogger(__name__)


def start_session(user: User) -> UserSession:
    """Log the user in on this device and record the session so it can be revoked later."""
    record = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        user_agent=(request.user_agent.string or "")[:200],
        last_seen_at=datetime.now(UTC),
    )
    db.session.add(record)
    db.session.flush()
    _fresh_session()  # no session fixation
    session[SESSION_KEY] = record.id
    # Only logged-in sessions outlive the browser; anonymous visitors get no cookie unless a
    # form needs a CSRF token, so public JSON stays cacheable.
    session.permanent = True
    login_user(user, remember=False)
    return record


def end_session() -> None:
    """Revoke this device's session on the server and clear the cookie."""
    sid = session.get(SESSION_KEY)
    if sid:
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == sid, UserSession.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
    logout_user()
    _fresh_session()


def current_session_id() -> str | None:
    """The id of this device's session, if it is logged in."""
    return session.get(SESSION_KEY)


def revoke_sessions(user_id: int, *, keep: str | None = None) -> int:
    """Revoke every live session of a user except `keep`; returns how many were revoked."""
    statement = (
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    if keep:
        statement = statement.where(UserSession.id != keep)
    return db.session.execute(statement).rowcount or 0


def live_session_count(user_id: int) -> int:
    """Sessions of the user that are neither revoked nor idle past the cookie lifetime."""
    idle_limit = datetime.now(UTC) - current_app.permanent_session_lifetime - TOUCH_EVERY
    return db.session.execute(
        select(func.count())
        .select_from(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.last_seen_at > idle_limit,
        )
    ).scalar_one()


def user_rate_key() -> str:
    """Rate-limit key: the logged-in user when there is one, else the client's address."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return get_remote_address()


def submission_rate_limit() -> str:
    """How many traces one user may send (form or API); SUBMIT_RATE_LIMIT overrides."""
    return str(current_app.config.get("SUBMIT_RATE_LIMIT") or "60/minute")


def _fresh_session() -> None:
    """Drop everything in the cookie session except the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def _touch(sid: str) -> None:
    """Record that the session was used, on a connection of its own (db.write_aside)."""
    now = datetime.now(UTC)
    try:
        write_aside(
            update(UserSession)
            .where(
                UserSession.id == sid,
                UserSession.revoked_at.is_(None),
                UserSession.last_seen_at < now - TOUCH_EVERY,
            )
            .values(last_seen_at=now)
        )
    except SQLAlchemyError:
        # Bookkeeping only: the response is complete, so never let this fail a request.
        log.warning("could not update last_seen_at of a session", exc_info=True)


def might_be_signed_in() -> bool:
    """Whether this request could belong to a logged-in user, without loading anyone.

    Asking Flask-Login (current_user) writes to an anonymous visitor's session (its session
    protection marks it not fresh), which sends a Set-Cookie that keeps shared caches from
    storing public answers. Looking for the keys a login leaves does not.
    """
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        return True
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return False
    return SESSION_KEY in session or "_user_id" in session


def init_login(app: Flask) -> None:
    """Tell Flask-Login how to find the user: only through a live, unrevoked session."""

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        sid = session.get(SESSION_KEY)
        if not sid or not user_id.isdigit():
            return None
        row = db.session.execute(
            select(User, UserSession.last_seen_at)
            .join(UserSession, UserSession.user_id == User.id)
            .where(
                UserSession.id == sid,
                UserSession.revoked_at.is_(None),
                User.id == int(user_id),
                User.is_enabled.is_(True),
            )
        ).first()
        if row is None:
            return None
        user, last_seen = row
        if last_seen is None or last_seen < datetime.now(UTC) - TOUCH_EVERY:
            g.touch_session = sid
        return user

    @app.after_request
    def _signed_in_marker(response: Response) -> Response:
        signed_in = might_be_signed_in() and current_user.is_authenticated
        marked = SIGNED_IN_COOKIE in request.cookies
        if signed_in and not marked:
            response.set_cookie(
                SIGNED_IN_COOKIE, "1", httponly=True, samesite="Lax",
                secure=current_app.config["SESSION_COOKIE_SECURE"],
                max_age=int(current_app.config["PERMANENT_SESSION_LIFETIME"]),
            )  # fmt: skip
        elif marked and not signed_in:
            response.delete_cookie(SIGNED_IN_COOKIE)
        return response

    @app.teardown_request
    def _touch_session(error: BaseException | None) -> None:
        # Runs after every after_request hook, so the request's own commit or rollback (web.py)
        # has happened already: a GET (always rolled back) still records the visit.
        sid = g.pop("touch_session", None)
        if sid is not None and error is None and not g.get("database_down"):
            _touch(sid)
