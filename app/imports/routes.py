"""Importing known sites into a project: upload, dry-run report, confirmation (librarians)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import BooleanField, HiddenField, SelectChoice, SelectField

from app import access
from app.auth.sessions import submission_rate_limit, user_rate_key
from app.errors import Forbidden
from app.imports import holding, operations, queries
from app.imports.parse import MAX_FEATURES, FileRefused, ParsedFile, clean_filename
from app.imports.seal import Sealed, seal
from app.limits import limiter
from app.models import Project, User
from app.projects.queries import get_project
from geo.crs import SYSTEMS

bp = Blueprint("imports", __name__, url_prefix="/projects/<slug>/import")

# Room for the form's other fields and the multipart framing, on top of the file itself.
FORM_ROOM = 64 * 1024
MEGABYTE = 1024 * 1024


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
        filename = clean_filename(form.file.data.filename)
        system = form.coord_system.data or "wgs84"
        hold_dir = _hold_dir()
        holding.sweep(hold_dir, operations.SEAL_MAX_AGE)
        # Werkzeug has spooled the upload to a temporary file; the held copy is what the
        # report describes and what the confirmation reads again, byte for byte.
        try:
            held = holding.hold(form.file.data.stream, hold_dir)
        except OSError:
            current_app.logger.exception("import: the upload could not be held in %s", hold_dir)
            form.file.errors = [
                gettext("The file could not be stored for checking. Try again later.")
            ]
            return render_template("imports/upload.html", project=project, form=form), 503
        try:
            with (hold_dir / held.name).open("rb") as file:
                parsed = queries.review_upload(
                    project, file, filename, system, int(current_app.config["MAX_VERTICES"])
                )
        except FileRefused as error:
            holding.release(hold_dir, held.name)
            form.file.errors = [str(error)]
        else:
            if not any(c.importable for c in parsed.candidates):
                holding.release(hold_dir, held.name)
            sealed = Sealed(parsed.kind, filename, project.id, librarian.id, held, system)
            return _report(project, parsed, filename, sealed), 200
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
        _hold_dir(),
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


def _report(project: Project, parsed: ParsedFile, filename: str, sealed: Sealed) -> str:
    candidates = parsed.candidates
    importable = any(c.importable for c in candidates)
    token = seal(sealed, current_app.secret_key or "") if importable else None
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
        form=ConfirmForm(report=token) if token else None,
    )


def _hold_dir() -> Path:
    """Where uploads wait for their confirmation (IMPORT_HOLD_DIR, else instance/imports)."""
    configured = current_app.config.get("IMPORT_HOLD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "imports"


def _limit_mb() -> int:
    return int(current_app.config["IMPORT_MAX_MB"])


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """An import may weigh IMPORT_MAX_MB, more than other requests.

    Set here because URL value preprocessors run before every before_request function, and
    the CSRF check and the control-character check there read the form: the limit must be in
    place before anything reads the body.
    """
    if endpoint == "imports.upload" and request.method == "POST":
        request.max_content_length = _limit_mb() * MEGABYTE + FORM_ROOM


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """413 with the limit in megabytes, on the upload page (nothing of the body is read)."""
    message = gettext(
        "The file is too large: an import may weigh at most %(limit)s MB. Split it into "
        "smaller files.",
        limit=_limit_mb(),
    )
    slug = (request.view_args or {}).get("slug")
    project = get_project(slug) if isinstance(slug, str) else None
    if project is None:
        return message, 413
    form = UploadForm(formdata=None)
    form.file.errors = [message]
    return render_template("imports/upload.html", project=project, form=form), 413


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
