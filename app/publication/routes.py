"""Partner institutions' API tokens: list, create (the token is shown once), revoke.

For administrators and the librarians of projects: each sees, makes and revokes only tokens
for projects they run (app.publication.tokens.may_cover). Creating and revoking are audited by
app.publication.tokens; only a token's SHA-256 is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import aliased
from werkzeug.wrappers import Response

from app.access import is_admin, viewer_of
from app.db import db
from app.errors import Forbidden, NotFound, ValidationFailed
from app.models import PartnerToken, Project, User
from app.publication.forms import PartnerTokenForm
from app.publication.tokens import (
    coverable_projects,
    create_token,
    manageable_tokens,
    may_cover,
    revoke_token,
)

bp = Blueprint("partners", __name__, url_prefix="/partners")


@dataclass(frozen=True)
class TokenRow:
    """One token as the list shows it (never the token itself: it is not stored)."""

    id: int
    name: str
    projects: list[str]  # names; empty means every project
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@bp.get("")
@login_required
def index() -> str:
    """The tokens the viewer could make or revoke, live ones first."""
    user, _ = _manager()
    return render_template("partners/index.html", tokens=_token_rows(user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> str | tuple[str, int]:
    """Name the institution and choose its projects; the token is shown once, on the answer."""
    user, projects = _manager()
    form = PartnerTokenForm()
    form.fill_choices(projects)
    if form.validate_on_submit():
        chosen = form.chosen(may_choose_all=is_admin(user))
        if chosen is not None:
            try:
                token, plain = create_token(user, form.name.data or "", chosen)
            except ValidationFailed as error:  # e.g. a name with no visible letter
                form.name.errors = [*form.name.errors, *error.errors.get("name", [])]
            else:
                names = _project_names()
                page = render_template(
                    "partners/created.html",
                    token=token,
                    plain=plain,
                    projects=[names.get(i, str(i)) for i in token.project_ids],
                )
                return page, 200
    status = 422 if form.errors else 200
    return render_template("partners/new.html", form=form, may_choose_all=is_admin(user)), status


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Response:
    """Stop the token working from the next request on."""
    user, _ = _manager()
    token = db.session.get(PartnerToken, token_id)
    if token is None:
        raise NotFound(gettext("No such token."))
    if not may_cover(user, token.project_ids):
        raise Forbidden(
            gettext("Only administrators and librarians of every project it covers may revoke it.")
        )
    if token.revoked_at is None:
        revoke_token(user, token)
        flash(gettext("The token of %(name)s no longer works.", name=token.name), "success")
    else:
        flash(gettext("The token of %(name)s was already revoked.", name=token.name), "success")
    return redirect(url_for("partners.index"))


@bp.after_request
def _no_store(response: Response) -> Response:
    """A page holding a new token must not stay in any cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _manager() -> tuple[User, list[Project]]:
    """The user and the projects their tokens may cover; 403 for people who run none."""
    user = viewer_of(current_user)
    projects = coverable_projects(user)
    if user is None or not projects:
        raise Forbidden(
            gettext("Only administrators and the librarians of a project manage partner tokens.")
        )
    return user, projects


def _project_names() -> dict[int, str]:
    return {id_: name for id_, name in db.session.execute(select(Project.id, Project.name))}


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment is not None else None


def _token_rows(user: User) -> list[TokenRow]:
    creator = aliased(User)
    rows = db.session.execute(
        select(PartnerToken, creator.display_name)
        .outerjoin(creator, creator.id == PartnerToken.created_by_id)
        .where(manageable_tokens(user))
        .order_by(PartnerToken.revoked_at.is_not(None), PartnerToken.created_at.desc())
    ).all()
    names = _project_names()
    return [
        TokenRow(
            t.id,
            t.name,
            [names.get(i, str(i)) for i in t.project_ids],
            creator_name,
            _utc(t.created_at),
            _utc(t.last_used_at),
            _utc(t.revoked_at),
        )  # fmt: skip
        for t, creator_name in rows
    ]
