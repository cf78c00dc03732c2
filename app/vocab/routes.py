"""The controlled vocabularies: installation librarians and admins edit and add terms;
curators and project librarians read them and suggest changes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.access import can_edit_vocabulary, can_suggest_vocabulary_change, viewer_of
from app.errors import ValidationFailed
from app.models import Scheme
from app.vocab import operations, queries
from app.vocab.forms import NewTermForm, SuggestionForm, TermForm

bp = Blueprint("vocab", __name__, url_prefix="/vocab")

SCHEME_LABELS = {
    Scheme.TRACE_TYPE: _l("Types of trace"),
    Scheme.PERIOD: _l("Periods"),
    Scheme.CONDITION: _l("Condition"),
    Scheme.DATING_METHOD: _l("Dating methods"),
}


@bp.before_request
@login_required
def _readers_only() -> None:
    """Every page here is for vocabulary editors and curators; others get 403."""
    if not can_suggest_vocabulary_change(current_user):
        abort(403)


@bp.app_template_global("may_read_vocabulary")
def may_read_vocabulary() -> bool:
    """Whether the current user may open the vocabulary pages (for links to them)."""
    return can_suggest_vocabulary_change(viewer_of(current_user))


@bp.get("/")
def index() -> str:
    """All vocabularies and their terms, inactive ones included."""
    return render_template(
        "vocab/index.html",
        terms=queries.all_terms_by_scheme(),
        scheme_labels=SCHEME_LABELS,
        may_edit=can_edit_vocabulary(current_user),
    )


@bp.route("/<int:term_id>/edit", methods=["GET", "POST"])
def edit(term_id: int) -> str | Response | tuple[str, int]:
    """Change a term's labels, link, flags and position; deactivate instead of deleting.

    A change that would expose protected traces is shown with its count and saved only
    when that count is confirmed.
    """
    operations.require_editor(viewer_of(current_user))
    term = queries.get_term(term_id) or abort(404)
    form = TermForm(obj=term)
    exposure = None
    if form.validate_on_submit():
        confirmed = request.form.get("confirm_exposure", type=int)
        try:
            result = operations.update_term(term, current_user, form.data, confirmed)
        except ValidationFailed as error:
            _show_errors(form, error.errors)
        except operations.ExposureNotConfirmed as error:
            exposure = error.impact
        else:
            flash(_saved_message(term.code, result), "success" if result.changes else "info")
            return redirect(url_for("vocab.index", _anchor=f"term-{term.id}"))
    status = 422 if form.errors else 409 if exposure else 200
    return render_template(
        "vocab/edit.html",
        form=form,
        term=term,
        scheme_label=SCHEME_LABELS[term.scheme],
        exposure=exposure,
        exposure_text=operations.exposure_message(exposure) if exposure else "",
        toggle=queries.sensitivity_impact(term, not term.sensitive),
        suggestions=queries.suggestions_for(term.id),
    ), status


def _saved_message(code: str, result: operations.TermUpdate) -> str:
    if not result.changes:
        return gettext("Nothing was changed.")
    message = gettext("The term “%(code)s” is saved.", code=code)
    impact = result.impact
    if impact.traces and impact.exposes:
        message += " " + ngettext(
            "%(traces)s traces in %(num)s project are now shown at their exact "
            "position to everyone.",
            "%(traces)s traces in %(num)s projects are now shown at their exact "
            "position to everyone.",
            impact.projects,
            traces=impact.traces,
        )
    elif impact.traces:
        message += " " + ngettext(
            "%(traces)s traces in %(num)s project are now protected.",
            "%(traces)s traces in %(num)s projects are now protected.",
            impact.projects,
            traces=impact.traces,
        )
    return message


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | tuple[str, int]:
    """Add a term to one vocabulary (?scheme=trace_type|period|condition|dating_method)."""
    operations.require_editor(viewer_of(current_user))
    try:
        scheme = Scheme(request.args.get("scheme", ""))
    except ValueError:
        abort(404)
    form = NewTermForm()
    if form.validate_on_submit():
        try:
            term = operations.create_term(scheme, current_user, form.data)
        except ValidationFailed as error:
            _show_errors(form, error.errors)
        else:
            flash(gettext("The term “%(code)s” is added.", code=term.code), "success")
            return redirect(url_for("vocab.index", _anchor=f"term-{term.id}"))
    status = 422 if form.errors else 200
    return render_template(
        "vocab/new.html", form=form, scheme=scheme, scheme_label=SCHEME_LABELS[scheme]
    ), status


@bp.route("/<int:term_id>/suggest", methods=["GET", "POST"])
def suggest(term_id: int) -> str | Response | tuple[str, int]:
    """Suggest a change to a term; the installation librarians and admins are told."""
    term = queries.get_term(term_id) or abort(404)
    form = SuggestionForm()
    if form.validate_on_submit():
        try:
            operations.suggest_change(term, current_user, form.text.data)
        except ValidationFailed as error:
            _show_errors(form, error.errors)
        else:
            flash(
                gettext("Thank you. Your suggestion is sent to the installation librarians."),
                "success",
            )
            return redirect(url_for("vocab.index", _anchor=f"term-{term.id}"))
    status = 422 if form.errors else 200
    return render_template(
        "vocab/suggest.html", form=form, term=term, scheme_label=SCHEME_LABELS[term.scheme]
    ), status


def _show_errors(form: FlaskForm, errors: dict[str, list[str]]) -> None:
    for name, messages in errors.items():
        target = getattr(form, name)
        target.errors = list(target.errors or []) + messages
