"""Downloads for museums, archives and everyone: the export page and the streamed file.

A download is a GET: it changes nothing users see; the export log entry it writes is a record,
committed in its own transaction. The public gets generalised locations of sensitive sites;
the project's librarians (precise_allowed) and partner tokens for the project get them precisely.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user
from sqlalchemy import ColumnElement, select

from app.access import precise_allowed, viewer_of
from app.db import db
from app.errors import DomainError, problem
from app.export.forms import ExportForm
from app.export.stream import MEDIA_TYPES, Export, Source, filename, record_delivery
from app.models import PartnerToken, Project, User
from app.partners import token_from_request
from app.traces.queries import terms_by_scheme

bp = Blueprint("export", __name__, url_prefix="/export")

# A download may run long; the app's per-statement timeout is meant for pages.
DOWNLOAD_TIMEOUT_MS = 30 * 60 * 1000


class InvalidToken(DomainError):
    """A bearer token that is unknown or revoked: refuse rather than answer as to the public."""

    status = 401
    code = "invalid_token"


@dataclass(frozen=True)
class Receiver:
    """Who downloads: a logged-in user, a partner token, both or neither."""

    viewer: User | None
    token: PartnerToken | None
    precise: ColumnElement[bool]


@bp.errorhandler(InvalidToken)
def _invalid_token(error: InvalidToken) -> tuple[Response, int]:
    response, status = problem(error.status, error.message, code=error.code)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response, status


@bp.get("")
def index() -> str | tuple[str, int]:
    """The export page: choose format and filters; with filters chosen, the link to harvest."""
    form = _form()
    if not request.args:
        return _page(form, None)
    if not form.validate():
        return _page(form, None), 422
    chosen = {field.name: field.data for field in form if (field.data or "").strip()}
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("export.download", **chosen)
    return _page(form, link)


@bp.get("/download")
def download() -> Response | tuple[str, int]:
    """The export as a streamed attachment; every delivery goes to the export log."""
    receiver = _receiver()
    form = _form()
    if not form.validate():
        return _page(form, None), 422
    source = Source(current_app.config["INSTALLATION_NAME"], current_app.config["BASE_URL"])
    export = Export(form.format.data, form.filters(), receiver.precise, source,
                    timeout_ms=DOWNLOAD_TIMEOUT_MS)  # fmt: skip
    export.open()
    try:
        record_delivery(
            export, "web",
            user_id=receiver.viewer.id if receiver.viewer else None,
            partner_token_id=receiver.token.id if receiver.token else None,
        )  # fmt: skip
    except BaseException:
        export.close()
        raise
    response = Response(export.body(), mimetype=MEDIA_TYPES[export.format])
    # Also closes the connection when the body is never read (the client went away).
    response.call_on_close(export.close)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(export)}"'
    personal = receiver.viewer is not None or receiver.token is not None
    response.headers["Cache-Control"] = "private, no-store" if personal else "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # let a proxy pass the stream on as it comes
    return response


def _receiver() -> Receiver:
    token = token_from_request()
    if token is None and request.headers.get("Authorization", "").lower().startswith("bearer"):
        raise InvalidToken(gettext("The partner token is not valid or has been revoked."))
    viewer = viewer_of(current_user)
    projects = list(token.project_ids or []) if token is not None else None
    return Receiver(viewer, token, precise_allowed(viewer, projects))


def _form() -> ExportForm:
    form = ExportForm(formdata=request.args)
    projects = list(db.session.execute(select(Project).order_by(Project.name)).scalars())
    form.fill_choices(projects, terms_by_scheme(), str(get_locale()))
    return form


def _page(form: ExportForm, link: str | None) -> str:
    return render_template(
        "export/index.html",
        form=form,
        link=link,
        logged_in=viewer_of(current_user) is not None,
        cell_metres=current_app.config["PRIVACY_CELL_METRES"],
    )
