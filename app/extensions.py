"""Flask extensions, created unbound and attached to an app in init_app (factory pattern)."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from app import i18n
from app.db import db

# Nynorsk and Northern Sami fall back to Bokmål, not to the English msgid (app/i18n.py).
babel = i18n.FallbackBabel()
csrf = CSRFProtect()
login_manager = LoginManager()
# migrations/env.py wires GeoAlchemy2's alembic helpers in itself.
migrate = Migrate()


def select_locale() -> str:
    """The account's language, else the picker's cookie, else Accept-Language, else Bokmål.

    The order and the mapping of browser languages are in app/i18n.py (docs/languages.md).
    """
    return i18n.select_locale()


def init_app(app: Flask) -> None:
    """Bind every extension to the app."""
    db.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    # Flask-Login's own "Please log in to access this page." is English. Ours is a catalog
    # msgid, translated when flashed (a lazy string cannot be stored in the session).
    login_manager.login_message = i18n.N_("Please log in")
    login_manager.localize_callback = gettext
    login_manager.login_message_category = "info"
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    # Imported here: the limits use account code, which needs login_manager defined above.
    from app import limits

    limits.init_app(app)
    i18n.init_app(app)
