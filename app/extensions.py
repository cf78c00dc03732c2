"""Flask extensions, created unbound and attached to an app in init_app (factory pattern)."""

from __future__ import annotations

from flask import Flask, session
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from app.db import db

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
# migrations/env.py wires GeoAlchemy2's alembic helpers in itself.
migrate = Migrate()


def select_locale() -> str:
    """The language the visitor chose on the page, else Bokmål.

    Browsers' Accept-Language is not used: many Norwegians run English-language browsers and
    still expect a Norwegian public service in Norwegian.
    """
    from flask import current_app

    chosen = session.get("lang")
    if chosen in current_app.config["LANGUAGES"]:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    """Bind every extension to the app."""
    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    # Imported here: the limits use account code, which needs login_manager defined above.
    from app import limits

    limits.init_app(app)
