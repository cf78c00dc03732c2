"""Register, log in, log out, choose a language."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth import operations
from app.auth.forms import LoginForm, RegisterForm
from app.auth.sessions import end_session, start_session
from app.errors import ValidationFailed

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the map."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("main.index")


@bp.route("/register", methods=["GET", "POST"])
def register() -> str | Response | tuple[str, int]:
    """Create a resident account and log in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = operations.register_user(
                form.email.data or "",
                form.display_name.data or "",
                form.password.data or "",
                show_name_publicly=bool(form.show_name_publicly.data),
            )
        except ValidationFailed as error:
            for field, messages in error.errors.items():
                getattr(form, field).errors = list(messages)
        else:
            start_session(user)
            flash(gettext("Welcome! Your account is ready."), "success")
            return redirect(_safe_next(request.args.get("next")))
    status = 422 if form.errors else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    """Log in with e-mail and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = operations.authenticate(form.email.data or "", form.password.data or "")
        if user is not None:
            start_session(user)
            log.info("login: user=%s", user.id)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = [gettext("Wrong e-mail address or password.")]
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    """End this device's session on the server."""
    if current_user.is_authenticated:
        log.info("logout: user=%s", current_user.id)
    end_session()
    flash(gettext("You are logged out."), "info")
    return redirect(url_for("main.index"))


@bp.post("/language")
def set_language() -> Response:
    """Remember the chosen language for this browser."""
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(_safe_next(request.form.get("next")))


@bp.get("/account")
@login_required
def account() -> str:
    """The user's account page (stub, to be completed)."""
    return render_template("error.html", status=200, title="Account", detail="")
