"""Privacy statement, accessibility statement and about pages (built from configuration)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, render_template, url_for
from flask_babel import format_date, format_decimal

from app.about import queries
from app.auth.sessions import SIGNED_IN_COOKIE
from app.i18n import LANG_COOKIE, LANG_COOKIE_DAYS
from app.projects.queries import area_bounds, get_project, list_projects
from app.text import render_markdown

bp = Blueprint("about", __name__)

# When the accessibility statement was last checked against the service (docs/accessibility.md:
# change it whenever the statement's content is reviewed, not when wording is touched).
ACCESSIBILITY_STATEMENT_DATE = date(2026, 11, 30)
# The widths the statement says axe runs at: the browser tests' desktop and phone viewports
# (tests/browser/conftest.py new_page), which tests/browser/test_about_browser.py holds it to.
TESTED_WIDTHS = {"desktop": 1280, "phone": 390}

# The settings the privacy statement states; each is shown as configured, never as a default.
RETENTION_SETTINGS = (
    "LOG_RETENTION_DAYS", "SESSION_RETENTION_DAYS", "MAIL_RETENTION_DAYS",
    "BACKUP_RETENTION_DAYS", "MEDIA_REJECTED_DAYS", "MEDIA_STAGED_HOURS",
    "RESET_TOKEN_MINUTES",
)  # fmt: skip


@bp.get("/privacy")
def privacy() -> str:
    """The privacy statement: what is stored, why, on what basis, for how long, and rights."""
    config = current_app.config
    return render_template(
        "about/privacy.html",
        controller=config["PRIVACY_CONTROLLER"],
        contact=config["PRIVACY_CONTACT"],
        dpo=(config.get("PRIVACY_DPO") or "").strip(),
        operator=config["OPERATOR_NAME"],
        days={name.lower(): int(config[name]) for name in RETENTION_SETTINGS},
        session_days=int(config["PERMANENT_SESSION_LIFETIME"]) // 86400,
        session_cookie=config["SESSION_COOKIE_NAME"],
        signed_in_cookie=SIGNED_IN_COOKIE,
        lang_cookie=LANG_COOKIE,
        lang_cookie_days=LANG_COOKIE_DAYS,
        data_export_url=_data_export_url(),
    )


@bp.get("/accessibility")
def accessibility() -> str:
    """The accessibility statement in the Digitalisation Agency's format (WCAG 2.1 AA)."""
    return render_template(
        "about/accessibility.html",
        contact=current_app.config["ACCESSIBILITY_CONTACT"],
        operator=current_app.config["OPERATOR_NAME"],
        service_url=current_app.config["BASE_URL"],
        statement_date=ACCESSIBILITY_STATEMENT_DATE,
        statement_date_text=format_date(ACCESSIBILITY_STATEMENT_DATE, "long"),
        tested_widths=TESTED_WIDTHS,
    )


@bp.get("/about")
def about() -> str:
    """What a trace is, who runs the installation, how moderation works, and every project."""
    return render_template(
        "about/about.html",
        operator=current_app.config["OPERATOR_NAME"],
        contact=current_app.config["PRIVACY_CONTACT"],
        cell_km=format_decimal(current_app.config["PRIVACY_CELL_METRES"] / 1000),
        projects=list_projects(None),
    )


@bp.get("/projects/<slug>/about")
def project_about(slug: str) -> str:
    """One project for newcomers: what it is, where, who checks the traces, how to take part."""
    project = get_project(slug)
    if project is None:
        abort(404)
    return render_template(
        "about/project.html",
        project=project,
        description_html=render_markdown(project.description),
        bounds=area_bounds(project),
        moderators=queries.moderators(project),
        approved=queries.approved_count(project),
    )


def _data_export_url() -> str:
    """The account page's "Download my data", by endpoint once it exists, else by its path."""
    if "me.data_export" in current_app.view_functions:
        return url_for("me.data_export")
    return "/me/data.zip"


def statement_context() -> dict[str, Any]:
    """What the footer shows on every page: operator and contact (configuration only).

    The footer must render on the "database unavailable" page too, so it reads no table.
    """
    return {
        "footer_operator": current_app.config["OPERATOR_NAME"],
        "footer_contact": current_app.config["PRIVACY_CONTACT"],
    }


bp.app_context_processor(statement_context)
