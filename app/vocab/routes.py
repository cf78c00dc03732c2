"""Editing the controlled vocabularies: list, edit and add terms (librarians and curators)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.access import can_edit_vocabulary
from app.errors import ValidationFailed
from app.models import Scheme
from app.vocab import operations, queries
from app.vocab.forms import NewTermForm, TermForm

bp = Blueprint("vocab", __name__, url_prefix="/vocab")

SCHEME_LABELS = {
    Scheme.TRACE_TYPE: _l("Types of trace"),
    Scheme.PERIOD: _l("Periods"),
    Scheme.CONDITION: _l("Condition"),
    Scheme.DATING_METHOD: _l("Dating methods"),
}


@bp.before_request
@login_required
def _editors_only() -> None:
    """Every page here is for librarians, admins and curators; others get 403."""
    if not can_edit_vocabulary(current_user):
        abort(403)


@bp.get("/")
def index() -> str:
    """All vocabularies and their terms, inactive ones included."""
    return render_template(
        "vocab/index.html", terms=queries.all_terms_by_scheme(), scheme_labels=SCHEME_LABELS
    )


@bp.route("/<int:term_id>/edit", methods=["GET", "POST"])
def edit(term_id: int) -> str | Response | tuple[str, int]:
    """Change a term's labels, link, flags and position; deactivate instead of deleting."""
    term = queries.get_term(term_id)
    if term is None:
        abort(404)
    form = TermForm(obj=term)
    if form.validate_on_submit():
        try:
            changes = operations.update_term(term, current_user, form.data)
        except ValidationFailed as error:
            _show_errors(form, error.errors)
        else:
            if changes:
                flash(gettext("The term “%(code)s” is saved.", code=term.code), "success")
            else:
                flash(gettext("Nothing was changed."), "info")
            return redirect(url_for("vocab.index", _anchor=f"term-{term.id}"))
    status = 422 if form.errors else 200
    return render_template(
        "vocab/edit.html", form=form, term=term, scheme_label=SCHEME_LABELS[term.scheme]
    ), status


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | Response | tuple[str, int]:
    """Add a term to one vocabulary (?scheme=trace_type|period|condition|dating_method)."""
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


def _show_errors(form: FlaskForm, errors: dict[str, list[str]]) -> None:
    for name, messages in errors.items():
        target = getattr(form, name)
        target.errors = list(target.errors or []) + messages
