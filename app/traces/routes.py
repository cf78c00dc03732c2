"""Pages for traces: the form for a new one and the page of one (edit: edit_routes.py)."""

from __future__ import annotations

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_login import current_user, login_required
from geoalchemy2.shape import to_shape
from werkzeug.wrappers import Response

from app.access import can_edit, can_view, moderated_projects, sees_precisely, viewer_of
from app.auth.sessions import submission_rate_limit, user_rate_key
from app.errors import ValidationFailed
from app.limits import limiter
from app.maps import detail_map, drawing_map
from app.models import Trace
from app.photos import queries as photo_queries
from app.text import render_markdown
from app.traces import edit_routes, queries, submissions
from app.traces.blueprint import bp
from app.traces.forms import (
    NewTraceForm,
    knowledge_suggestions,
    show_errors,
    submitted_geometry,
    typed_place,
)
from app.traces.informants import FIRST_BIRTH_YEAR, InformantNotAllowed, last_birth_year
from app.traces.placement import OutsideProjectArea, project_bounds
from app.traces.provenance import provenance_for

__all__ = ["bp", "edit_routes"]  # importing edit_routes adds edit and revert to bp


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(submission_rate_limit, key_func=user_rate_key, methods=["POST"])
@login_required
def new() -> str | Response | tuple[str, int]:
    """Draw or type a trace and describe it; stored as pending.

    The map opens at ?at=zoom/lat/lon (the view the resident came from), else at the chosen
    project's area, else (in the browser) at the resident's position, else all of Norway.
    """
    form = NewTraceForm()
    locale = str(get_locale())
    projects = queries.open_projects()
    # Registering for an informant is offered in the open projects this user moderates.
    open_ids = {p.id for p in projects}
    recording_in = [p for p in moderated_projects(current_user) if p.id in open_ids]
    if not recording_in:
        form.remove_informant()
    form.fill_choices(projects, queries.terms_by_scheme(), locale)
    form.join_form("trace-form")
    explicit = request.form.get("project_explicit") == "1"
    if request.method == "GET" and request.args.get("project"):
        form.project.data = request.args["project"]  # "Add a trace to this project"
        explicit = True
    # The view survives a refused submit: the page keeps it in a hidden field as the map moves.
    view = parse_view(request.form.get("at") if request.method == "POST" else None)
    view = view or parse_view(request.args.get("at"))
    outside = False
    if form.validate_on_submit():
        try:
            key = submissions.clean_key(form.submission_key.data)
            # A resend (double tap, the outbox after a lost answer) finds the trace it made.
            existing = submissions.already_submitted(current_user, key)
            if existing is not None:
                return _sent_before(existing)
            geometry = submitted_geometry(form, typed_wins=False)
            submission, photos = submissions.clean_with_photos(
                form.submitted_fields(), geometry, form.photos.data
            )
            done = submissions.submit(current_user, submission, photos, key)
        except submissions.BadSubmissionKey as error:
            form.submission_key.errors = [error.message]
        except InformantNotAllowed as error:
            form.informant_name.errors = [*form.informant_name.errors, error.message]
        except ValidationFailed as error:
            outside = isinstance(error, OutsideProjectArea)
            errors = form.informant_errors(error.errors)
            show_errors(form, errors, typed=typed_place(form, typed_wins=False))
        else:
            if not done.created:  # lost a race against its own resend
                return _sent_before(done.trace)
            flash(
                gettext(
                    "Thank you! Your trace is saved and waits for a librarian to check it. "
                    "Until then only you can see it."
                ),
                "success",
            )
            return redirect(url_for("traces.show", trace_id=done.trace.id))
    status = 422 if form.errors else 200
    page_map = drawing_map("geometry", form.geometry.data or "")
    return render_template(
        "traces/new.html",
        form=form,
        page_map=page_map,
        view_at=view,
        project_explicit=explicit,
        project_areas=project_bounds(projects),
        show_confirm=outside or bool(request.form.get("confirm_outside_area")),
        recording_in=recording_in,
        knowledge_suggestions=knowledge_suggestions() if recording_in else [],
        birth_years=(FIRST_BIRTH_YEAR, last_birth_year()),
    ), status


def _sent_before(trace: Trace) -> Response:
    """Redirect to the trace a resend of the same submission already made."""
    flash(gettext("This trace was already sent; here it is."), "info")
    return redirect(url_for("traces.show", trace_id=trace.id))


def parse_view(raw: str | None) -> str | None:
    """A map view "zoom/lat/lon" cleaned to numbers in range, or None for anything else."""
    parts = (raw or "").split("/")
    if len(parts) != 3 or len(raw or "") > 64:
        return None
    try:
        zoom, lat, lon = int(float(parts[0])), float(parts[1]), float(parts[2])
    except (ValueError, OverflowError):
        return None
    if not (0 <= zoom <= 19 and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None  # also refuses NaN, which compares false with everything
    return f"{zoom}/{lat:.5f}/{lon:.5f}"


@bp.get("/<int:trace_id>")
def show(trace_id: int) -> str:
    """One trace with its details and a small map; hidden traces answer 404."""
    trace = queries.get_trace(trace_id)
    viewer = viewer_of(current_user)
    if trace is None or not can_view(viewer, trace):
        abort(404)
    precise = sees_precisely(viewer, trace)
    geometry = to_shape(trace.geom if precise else trace.public_geom)
    return render_template(
        "traces/show.html",
        trace=trace,
        description_html=render_markdown(trace.description),
        page_map=detail_map(geometry, approximate=not precise),
        locale=str(get_locale()),
        is_author=viewer is not None and viewer.id == trace.author_id,
        may_edit=can_edit(viewer, trace),
        approximate=not precise,
        precise_for_staff=precise and trace.is_sensitive,
        cell_metres=current_app.config["PRIVACY_CELL_METRES"],
        photos=photo_queries.visible_photos(trace, viewer),
        provenance=provenance_for(trace, viewer),
    )
