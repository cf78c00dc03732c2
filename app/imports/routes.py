"""Importing known sites into a project: upload, dry-run report, confirmation (librarians)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField

from app import access
from app.auth.sessions import submission_rate_limit, user_rate_key
from app.errors import Forbidden
from app.imports import operations, queries
from app.imports.parse import MAX_FEATURES, FileRefused, ParsedFile, clean_filename
from app.imports.seal import Sealed, seal, sealable
from app.limits import limiter
from app.models import Project, User
from app.projects.queries import get_project
from geo.crs import SYSTEMS

bp = Blueprint("imports", __name__, url_prefix="/projects/<slug>/import")

# The signed report travels back in an url-encoded form field: it must fit MAX_CONTENT_LENGTH
# with room for the rest of the form, and never pass 1.5 MB. (Werkzeug applies
# MAX_FORM_MEMORY_SIZE to multipart text parts only, so it does not limit this form.)
REPORT_MAX = 1_500_000
FORM_ROOM = 16_384


class UploadForm(FlaskForm):
    """The file to import, and the coordinate system of its CSV columns."""

    file = FileField(
        _l("File"),
        validators=[FileRequired(message=_l("Choose a GeoJSON or CSV file."))],
        render_kw={"accept": ".geojson,.json,.csv,.txt,application/geo+json,text/csv"},
        description=_l(
            "GeoJSON (.geojson) or CSV (.csv) in UTF-8, at most %(limit)s sites per file.",
            limit=f"{MAX_FEATURES:,}".replace(",", " "),
        ),
    )
    coord_system = SelectField(
        _l("Coordinate system of the CSV columns"),
        choices=[
            SelectChoice("wgs84", _l("Longitude and latitude (WGS84 degrees)")),
            *(
                SelectChoice(code, _l("%(system)s (easting, northing)", system=SYSTEMS[code][1]))
                for code in ("utm32", "utm33", "utm35")
            ),
        ],
        default="wgs84",
        description=_l(
            "For easting/northing, x/y or wkt columns. Columns named lon and lat are always "
            "degrees; GeoJSON is always WGS84."
        ),
    )


class ConfirmForm(FlaskForm):
    """The signed dry-run report and whether to import possible duplicates as well."""

    report = HiddenField()
    include_duplicates = BooleanField(_l("Import possible duplicates too"))


@bp.route("", methods=["GET", "POST"])
@limiter.limit(submission_rate_limit, key_func=user_rate_key, methods=["POST"])
@login_required
def upload(slug: str) -> tuple[str, int]:
    """Choose a file; posting it shows what an import would do, storing nothing (dry run)."""
    project = _project(slug)
    librarian = _librarian_of(project)
    form = UploadForm()
    if form.validate_on_submit():
        stream = form.file.data
        filename = clean_filename(stream.filename)
        try:
            parsed = queries.review_upload(
                project,
                stream.read(),
                filename,
                form.coord_system.data or "wgs84",
                int(current_app.config["MAX_VERTICES"]),
            )
        except FileRefused as error:
            form.file.errors = [str(error)]
        else:
            return _report(project, librarian, parsed, filename), 200
    status = 422 if form.errors else 200
    return render_template("imports/upload.html", project=project, form=form), status


@bp.post("/confirm")
@login_required
def confirm(slug: str) -> Response:
    """Import the checked sites of a dry-run report as approved traces, all or nothing."""
    project = _project(slug)
    librarian = _librarian_of(project)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    result = operations.confirm_import(
        librarian,
        project,
        form.report.data or "",
        bool(form.include_duplicates.data),
        current_app.secret_key or "",
        int(current_app.config["MAX_VERTICES"]),
    )
    message = ngettext(
        "%(num)s known site imported.", "%(num)s known sites imported.", result.imported
    )
    if result.duplicates_skipped:
        message += " " + ngettext(
            "%(num)s possible duplicate left out.",
            "%(num)s possible duplicates left out.",
            result.duplicates_skipped,
        )
    if result.refused:
        message += " " + ngettext(
            "%(num)s feature could not be imported.",
            "%(num)s features could not be imported.",
            result.refused,
        )
    flash(message, "success" if result.imported else "info")
    return redirect(url_for("projects.show", slug=project.slug))


def _report(project: Project, librarian: User, parsed: ParsedFile, filename: str) -> str:
    candidates = parsed.candidates
    importable = sealable(candidates)
    token = None
    if importable:
        token = seal(
            Sealed(parsed.kind, filename, project.id, librarian.id, importable),
            current_app.secret_key or "",
        )
    too_large = token is not None and len(token) > _report_limit()
    return render_template(
        "imports/report.html",
        project=project,
        filename=filename,
        kind=parsed.kind,
        refused=[c for c in candidates if not c.importable],
        duplicates=[c for c in candidates if c.importable and c.duplicate],
        ready=[c for c in candidates if c.importable and not c.duplicate],
        total=len(candidates),
        protected=sum(1 for c in candidates if c.importable and c.protected),
        unused=parsed.unused,
        too_large=too_large,
        form=ConfirmForm(report=token) if token and not too_large else None,
    )


def _report_limit() -> int:
    content_limit = current_app.config.get("MAX_CONTENT_LENGTH")
    return min(REPORT_MAX, int(content_limit) - FORM_ROOM) if content_limit else REPORT_MAX


def _project(slug: str) -> Project:
    project = get_project(slug)
    if project is None:
        abort(404)
    return project


def _librarian_of(project: Project) -> User:
    """The logged-in user, if they are a librarian of this project (or an admin); else 403."""
    viewer = access.viewer_of(current_user)
    if viewer is None:  # login_required runs first
        abort(401)
    if not access.can_manage_project(viewer, project):
        raise Forbidden(gettext("Only the librarians of this project may import known sites."))
    return viewer
