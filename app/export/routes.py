"""Downloads for museums, archives and everyone: the export page and the streamed file.

A download is a GET: it changes nothing users see; the export log entry it writes is a record,
committed in its own transaction. The public gets generalised locations of sensitive sites;
the project's librarians (precise_allowed) and partner tokens for the project get them precisely.
"""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import select

from app.access import viewer_of
from app.db import db
from app.errors import InvalidParameter, domain_problem
from app.export.forms import ExportForm
from app.export.stream import MEDIA_TYPES, Export, Source, filename
from app.models import Project
from app.publication import harvest
from app.publication.deliveries import record_delivery
from app.publication.receiver import InvalidToken, invalid_token_response, receiver_from_request
from app.traces.queries import terms_by_scheme

bp = Blueprint("export", __name__, url_prefix="/export")
bp.register_error_handler(InvalidToken, invalid_token_response)

# A download may run long; the app's per-statement timeout is meant for pages.
DOWNLOAD_TIMEOUT_MS = 30 * 60 * 1000


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
    receiver = receiver_from_request()
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
    # content_type is sent as written: mimetype= would append a second charset to text/csv.
    response = Response(export.body(), content_type=MEDIA_TYPES[export.format])
    # Also closes the connection when the body is never read (the client went away).
    response.call_on_close(export.close)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(export)}"'
    response.headers["Cache-Control"] = "private, no-store" if receiver.personal else "no-cache"
    response.headers["X-Accel-Buffering"] = "no"  # let a proxy pass the stream on as it comes
    return response


@bp.get("/deletions")
def deletions() -> Response | tuple[Response, int]:
    """Traces that left the public set since `since` (of one project with `project=`), as JSON.

    The other half of an incremental harvest with `updated_since`; see app.publication.harvest.
    """
    try:
        receiver_from_request()  # a token that does not work is refused here too
        query = harvest.query_from_args(request.args)
    except (InvalidParameter, harvest.UnknownProject) as error:
        # Problem details, as a harvesting client expects (the export page answers in HTML).
        return domain_problem(error)
    page = harvest.deletions_page(query)
    base = current_app.config["BASE_URL"].rstrip("/")
    params = {k: v for k, v in request.args.items() if k not in ("offset", "limit")}
    params["limit"] = str(query.limit)
    links = [{"href": base + url_for("export.deletions", **params, offset=query.offset),
              "rel": "self", "type": "application/json"}]  # fmt: skip
    if harvest.has_next(page, query):
        href = base + url_for("export.deletions", **params, offset=query.offset + query.limit)
        links.append({"href": href, "rel": "next", "type": "application/json"})
    body = orjson.dumps(harvest.deletions_body(page, query, links))
    response = Response(body, mimetype="application/json")
    response.headers["Cache-Control"] = "no-cache"
    return response


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
