"""Rate limits (docs/security.md): Redis when REDIS_URL is set, so all workers share counts.

Limits on e-mail addresses (failed logins per account, reset requests per address) key on a
keyed hash of the normalised address, so Redis never holds an address, and a copy of Redis
cannot be used to test whether someone has an account.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from app.auth.operations import normalize_email

limiter = Limiter(key_func=get_remote_address)


def init_app(app: Flask) -> None:
    """Point the limiter at Redis (or memory in development) and bind it to the app."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    app.config["RATELIMIT_ENABLED"] = app.config.get("RATELIMIT_ENABLED", True)
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)


def address_digest(raw: str) -> str:
    """HMAC-SHA256 (keyed by SECRET_KEY) of a normalised e-mail address."""
    secret = str(current_app.config["SECRET_KEY"]).encode("utf-8")
    email = normalize_email(raw).encode("utf-8", "surrogatepass")
    return hmac.new(secret, email, hashlib.sha256).hexdigest()


def email_key(prefix: str, field: str = "email") -> Callable[[], str]:
    """A limiter key function: the prefix and the digest of the address in a form field."""

    def key() -> str:
        return f"{prefix}:{address_digest(request.form.get(field, ''))}"

    return key
