"""The service worker and the manifest, served from the site's root so they cover every page."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("offline", __name__)
