"""Projects: the list, one project, starting and editing one, and the rights people hold in it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale, gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import access
from app.auth.sessions import might_be_signed_in
from app.errors import Forbidden, ValidationFailed
from app.http_cache import browser_cached, no_store, public_answer
from app.maps import area_drawing_map
from app.models import MembershipRole, Project, User
from app.projects import charts, operations, queries
from app.projects.forms import GrantForm, ProjectEditForm, ProjectForm, clean_project, parse_area
from app.projects.story import project_story, story_csv
from app.text import render_markdown
from app.web import absolute_url
from geo.svgmap import drawing

bp = Blueprint("projects", __name__, url_prefix="/projects")

# How long a browser (anonymous: any cache for the CSV) may show the story without asking.
STORY_MAX_AGE = 300

PROJECT_FIELDS = (
    "name", "slug", "library_name", "description", "default_licence", "is_open",
    "area", "area_bbox", "remove_area",
)  # fmt: skip


@bp.get("/")
def index() -> str:
    """All projects, with their approved traces; librarians see a button to start one."""
    viewer = access.viewer_of(current_user)
    return render_template(
        "projects/index.html",
        rows=queries.list_projects(viewer),
        can_create=access.can_create_project(viewer),
        role_labels=operations.ROLE_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> str | Response | tuple[str, int]:
    """Start a project (installation librarians); its creator becomes its librarian."""
    creator = _viewer()
    if not access.can_create_project(creator):
        raise Forbidden(gettext("Only librarians can start projects."))
    form = ProjectForm()
    if form.validate_on_submit():
        try:
            project = operations.create_project(creator, clean_project(_raw(form), new=True))
        except ValidationFailed as error:
            _show_errors(form, error.errors)
        else:
            flash(gettext("The project is created. You are its librarian."), "success")
            return redirect(url_for("projects.show", slug=project.slug))
    status = 422 if form.errors else 200
    page_map = area_drawing_map(form.area.id)
    return render_template("projects/new.html", form=form, page_map=page_map), status


@bp.get("/<slug>")
def show(slug: str) -> str:
    """One project: what it is, who runs it, and how many traces the viewer may see."""
    project = _project(slug)
    viewer = access.viewer_of(current_user)
    return render_template(
        "projects/show.html",
        project=project,
        description_html=render_markdown(project.description),
        counts=queries.status_counts(project, viewer),
        bounds=queries.area_bounds(project),
        role=access.project_role(viewer, project.id),
        can_manage=access.can_manage_project(viewer, project),
        role_labels=operations.ROLE_LABELS,
    )


@bp.get("/<slug>/story")
def story(slug: str) -> Response:
    """The project's story for the public, the municipality and the funder: printable.

    Caching (docs/story.md): an anonymous visitor's browser may keep the page for
    STORY_MAX_AGE and revalidate it with its ETag (304); the page carries the visitor's CSRF
    token and language (both in the session), so it is never `public`. Logged in: no-store.
    """
    project = _project(slug)
    found = project_story(project, str(get_locale()))
    months = [(format_date(start, "LLL yyyy"), count) for start, count in found.by_month]
    coverage = found.coverage
    body = render_template(
        "projects/story.html",
        project=project,
        story=found,
        months=months,
        type_chart=charts.horizontal_bars([(r.label, r.count) for r in found.by_type]),
        period_chart=charts.horizontal_bars([(r.label, r.count) for r in found.by_period]),
        month_chart=charts.columns(months),
        map_drawing=drawing(coverage.frame, coverage.polygons, coverage.dots) if coverage else None,
        median_days=None if found.median_seconds is None else found.median_seconds / 86400,
        today=format_date(datetime.now(UTC).date(), "long"),
        public_url=absolute_url("projects.story", slug=project.slug),
    )
    if current_user.is_authenticated:
        return no_store(Response(body, mimetype="text/html"))
    return browser_cached(body, STORY_MAX_AGE)


@bp.get("/<slug>/story.csv")
def story_download(slug: str) -> Response:
    """The story's numbers as CSV (UTF-8, one tidy table with a section column).

    The language is in the address (?lang=, else the installation's default), so the file
    depends on the address alone: for anonymous visitors it is `public` with a strong ETag.
    """
    project = _project(slug)
    lang = request.args.get("lang", "")
    if lang not in current_app.config["LANGUAGES"]:
        lang = current_app.config["BABEL_DEFAULT_LOCALE"]
    body = story_csv(project_story(project, lang))
    headers = {"Content-Disposition": f'attachment; filename="{project.slug}-story.csv"'}
    content_type = "text/csv; charset=utf-8"
    if might_be_signed_in() and current_user.is_authenticated:
        return no_store(Response(body, content_type=content_type, headers=headers))
    return public_answer(body, STORY_MAX_AGE, content_type=content_type, headers=headers)


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str) -> str | Response | tuple[str, int]:
    """Change a project's name, description, library, licence, openness and area."""
    project = _project(slug)
    actor = _manager_of(project)
    form = ProjectEditForm(data=_initial(project))
    if form.validate_on_submit():
        try:
            data = clean_project(_raw(form), new=False)
            changed = operations.update_project(actor, project, data)
        except ValidationFailed as error:
            _show_errors(form, error.errors)
        else:
            message = gettext("The project is saved.") if changed else gettext("Nothing changed.")
            flash(message, "success")
            return redirect(url_for("projects.show", slug=project.slug))
    status = 422 if form.errors else 200
    page_map = area_drawing_map(form.area.id)
    return render_template(
        "projects/edit.html", project=project, form=form, page_map=page_map
    ), status


@bp.get("/<slug>/members")
@login_required
def members(slug: str) -> tuple[str, int]:
    """Who holds which rights in the project, and who held them before (librarians only)."""
    project = _project(slug)
    _manager_of(project)
    return _members_page(project, GrantForm())


@bp.post("/<slug>/members/grant")
@login_required
def grant(slug: str) -> Response | tuple[str, int]:
    """Give a registered person a role; an earlier role of theirs is revoked and kept."""
    project = _project(slug)
    actor = _manager_of(project)
    form = GrantForm()
    if form.validate_on_submit():
        try:
            area = parse_area(form.area.data, form.area_bbox.data)
            role = MembershipRole(form.role.data)
            _, changed = operations.grant_role(actor, project, form.email.data or "", role, area)
        except ValidationFailed as error:
            _show_errors(form, error.errors)
        except operations.Conflict as error:
            return _members_page(project, form, status=error.status, problem=error.message)
        else:
            if changed:
                flash(gettext("The rights are granted. They apply from now on."), "success")
            else:
                flash(gettext("This person already has exactly this role; nothing changed."))
            return redirect(url_for("projects.members", slug=project.slug))
    return _members_page(project, form, status=422)


@bp.post("/<slug>/members/<int:membership_id>/revoke")
@login_required
def revoke(slug: str, membership_id: int) -> Response | tuple[str, int]:
    """Withdraw a membership (CSRF is checked for every POST); it stays in the history."""
    project = _project(slug)
    actor = _manager_of(project)
    membership = queries.get_membership(project, membership_id)
    if membership is None:
        abort(404)
    try:
        revoked = operations.revoke_membership(actor, project, membership)
    except operations.Conflict as error:
        return _members_page(project, GrantForm(), status=error.status, problem=error.message)
    if revoked:
        flash(gettext("The rights are withdrawn. This applies from now on."), "success")
    else:
        flash(gettext("These rights were already withdrawn; nothing changed."))
    return redirect(url_for("projects.members", slug=project.slug))


def _viewer() -> User:
    viewer = access.viewer_of(current_user)
    if viewer is None:  # login_required runs first; this keeps the type checker honest
        abort(401)
    return viewer


def _project(slug: str) -> Project:
    project = queries.get_project(slug)
    if project is None:
        abort(404)
    return project


def _manager_of(project: Project) -> User:
    """The logged-in user, if they may run this project; else 403."""
    viewer = _viewer()
    if not access.can_manage_project(viewer, project):
        raise Forbidden(gettext("Only the librarians of this project may do this."))
    return viewer


def _members_page(
    project: Project, form: GrantForm, status: int = 200, problem: str | None = None
) -> tuple[str, int]:
    live, revoked = queries.members(project)
    return render_template(
        "projects/members.html",
        project=project,
        live=live,
        revoked=revoked,
        form=form,
        problem=problem,
        role_labels=operations.ROLE_LABELS,
        page_map=area_drawing_map(form.area.id),
    ), status


def _raw(form: ProjectForm) -> dict[str, Any]:
    return {name: form[name].data for name in PROJECT_FIELDS if name in form}


def _initial(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "library_name": project.library_name,
        "description": project.description,
        "default_licence": project.default_licence,
        "is_open": project.is_open,
        "area": queries.area_geojson(project),
    }


def _show_errors(form: Any, errors: dict[str, list[str]]) -> None:
    for name, messages in errors.items():
        target = form[name] if name in form else form["area"]
        target.errors = list(target.errors or []) + messages
