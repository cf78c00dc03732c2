"""Server-side login sessions: the cookie carries a random id that can be revoked at any time."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import Flask, request, session
from flask_login import login_user, logout_user
from sqlalchemy import select, update

from app.db import db
from app.extensions import login_manager
from app.models import User, UserSession

SESSION_KEY = "sid"


def start_session(user: User) -> UserSession:
    """Log the user in on this device and record the session so it can be revoked later."""
    record = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        user_agent=(request.user_agent.string or "")[:200],
    )
    db.session.add(record)
    db.session.flush()
    _fresh_session()  # no session fixation
    session[SESSION_KEY] = record.id
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


def _fresh_session() -> None:
    """Drop everything in the cookie session except the chosen language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def init_login(app: Flask) -> None:
    """Tell Flask-Login how to find the user: only through a live, unrevoked session."""

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        sid = session.get(SESSION_KEY)
        if not sid or not user_id.isdigit():
            return None
        row = db.session.execute(
            select(User)
            .join(UserSession, UserSession.user_id == User.id)
            .where(
                UserSession.id == sid,
                UserSession.revoked_at.is_(None),
                User.id == int(user_id),
                User.is_enabled.is_(True),
            )
        ).scalar_one_or_none()
        return row
