"""The resident's own data: download everything as a ZIP, and delete the account (GDPR 15-20)."""

from __future__ import annotations

from app.me.routes import bp  # noqa: F401 - these routes join the me blueprint
