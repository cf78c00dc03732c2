"""WSGI entry point for gunicorn and for `flask` commands run from the repository root."""

from app import create_app

app = create_app()
