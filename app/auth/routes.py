"""Register, log in, log out, choose a language; the account page and password reset."""

from __future__ import annotations

import logging
from collections.abc import Callable

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
from flask_babel import gettext, refresh
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.access import moderated_projects
from app.auth import operations, reset
from app.auth.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    ResetRequestForm,
    SettingsForm,
)
from app.auth.sessions import current_session_id, end_session, live_session_count, start_session
from app.errors import Forbidden, ValidationFailed
from app.i18n import remember_language
from app.limits import email_key, limiter
from app.web import safe_target

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _configured(name: str, default: str) -> Callable[[], str]:
    """A rate limit read from app.config at request time, with the default from docs/security.md."""
    return lambda: str(current_app.config.get(name) or default)


_login_rate_limit = _configured("LOGIN_RATE_LIMIT", "10/minute")
_login_account_rate_limit = _configured("LOGIN_ACCOUNT_RATE_LIMIT", "10/15 minutes")
_register_rate_limit = _configured("REGISTER_RATE_LIMIT", "10/hour")
_reset_rate_limit_per_ip = _configured("RESET_RATE_LIMIT_PER_IP", "5/hour")
_reset_rate_limit_per_email = _configured("RESET_RATE_LIMIT_PER_EMAIL", "3/hour")


def _failed_login(response: Response) -> bool:
    """Only refused attempts count against the limit: a successful login redirects."""
    return response.status_code not in REDIRECTS


# Keys on a keyed hash of the normalised address (no e-mail in Redis): failed logins on one
# account from any number of addresses, and reset requests for one address.
_login_account_key = email_key("login-account")
_reset_email_key = email_key("reset-email")


def _account_throttled_message() -> str:
    return gettext(
        "Too many failed logins for this account. Wait a few minutes and try again, or choose a "
        "new password with “Forgot your password?”."
    )


def _show_errors(form: FlaskForm, error: ValidationFailed) -> None:
    for field, messages in error.errors.items():
        getattr(form, field).errors = list(messages)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths; anything else goes to the map."""
    return safe_target(target) or url_for("main.index")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_register_rate_limit, methods=["POST"])
def register() -> str | Response | tuple[str, int]:
    """Create a resident account and log in."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
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
            _show_errors(form, error)
        else:
            start_session(user)
            flash(gettext("Welcome! Your account is ready."), "success")
            return redirect(_safe_next(request.args.get("next")))
    status = 422 if form.errors else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_rate_limit, methods=["POST"], deduct_when=_failed_login)
@limiter.limit(
    _login_account_rate_limit,
    methods=["POST"],
    deduct_when=_failed_login,
    key_func=_login_account_key,
    error_message=_account_throttled_message,
)
def login() -> str | Response | tuple[str, int]:
    """Log in with e-mail and password.

    Failed attempts are limited per client address and per account. While an account is
    throttled even the right password waits (or guessing would go on unhindered); the owner
    can still get in at once through a reset link, which logs in without this form.
    """
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
    """Remember the chosen language in this browser (a year), and on the account if logged in."""
    lang = request.form.get("lang", "")
    response = redirect(_safe_next(request.form.get("next")))
    if lang in current_app.config["LANGUAGES"]:
        remember_language(response, lang)
        session.pop("lang", None)  # the session's copy from before the cookie would only go stale
        if current_user.is_authenticated:
            operations.choose_language(current_user, lang)
    return response


def _account_page(status: int = 200, **forms: FlaskForm) -> tuple[str, int]:
    """The account page; forms not being submitted are shown empty (formdata=None)."""
    forms.setdefault("settings_form", SettingsForm(formdata=None, obj=current_user))
    forms.setdefault("password_form", ChangePasswordForm(formdata=None))
    forms.setdefault("email_form", ChangeEmailForm(formdata=None))
    page = render_template(
        "auth/account.html",
        session_count=live_session_count(current_user.id),
        offer_digest=_moderates_something(),
        **forms,
    )
    return page, status


def _moderates_something() -> bool:
    """Whether the account page offers the weekly digest: the user moderates some project."""
    return bool(moderated_projects(current_user))


@bp.get("/account")
@login_required
def account() -> tuple[str, int]:
    """Name, e-mail, settings, sessions, and the forms to change password or e-mail."""
    return _account_page()


@bp.post("/account/settings")
@login_required
def account_settings() -> Response | tuple[str, int]:
    """Save the name shown to others, whether it is shown publicly, e-mail choices and the
    language."""
    form = SettingsForm()
    if not form.validate_on_submit():
        return _account_page(422, settings_form=form)
    try:
        operations.update_settings(
            current_user,
            show_name_publicly=bool(form.show_name_publicly.data),
            notify_by_email=bool(form.notify_by_email.data),
            display_name=(form.display_name.data or "").strip() or None,  # empty: keep it
            # Only people who moderate are offered the digest; for others it stays as it is.
            weekly_digest=bool(form.weekly_digest.data) if _moderates_something() else None,
            language=form.language.data or None,  # empty: follow this browser
        )
    except ValidationFailed as error:
        _show_errors(form, error)
        return _account_page(422, settings_form=form)
    refresh()  # the confirmation is in the language just chosen
    flash(gettext("Your settings are saved."), "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/password")
@login_required
def change_password() -> Response | tuple[str, int]:
    """Change the password (needs the current one); other devices are logged out."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(422, password_form=form)
    try:
        revoked = operations.change_password(
            current_user,
            form.current_password.data or "",
            form.new_password.data or "",
            keep_session=current_session_id(),
        )
    except Forbidden as error:
        form.current_password.errors = [error.message]
        return _account_page(403, password_form=form)
    except ValidationFailed as error:
        _show_errors(form, error)
        return _account_page(422, password_form=form)
    message = gettext("Your password is changed.")
    if revoked:
        message += " " + gettext("You are logged out on your other devices.")
    flash(message, "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/email")
@login_required
def change_email() -> Response | tuple[str, int]:
    """Change the e-mail address (needs the current password)."""
    form = ChangeEmailForm()
    if not form.validate_on_submit():
        return _account_page(422, email_form=form)
    try:
        operations.change_email(
            current_user, form.email_password.data or "", form.new_email.data or ""
        )
    except Forbidden as error:
        form.email_password.errors = [error.message]
        return _account_page(403, email_form=form)
    except ValidationFailed as error:
        _show_errors(form, error)
        return _account_page(422, email_form=form)
    flash(gettext("Your e-mail address is changed."), "success")
    return redirect(url_for("auth.account"))


@bp.post("/account/logout-everywhere")
@login_required
def logout_everywhere() -> Response:
    """Revoke every session of this account, this one included."""
    operations.logout_everywhere(current_user)
    end_session()
    flash(gettext("You are logged out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/reset-password", methods=["GET", "POST"])
@limiter.limit(_reset_rate_limit_per_ip, methods=["POST"])
@limiter.limit(_reset_rate_limit_per_email, methods=["POST"], key_func=_reset_email_key)
def reset_request() -> str | tuple[str, int]:
    """Ask for a reset link; the answer is the same whether the account exists or not."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        reset.request_reset(form.email.data or "")
        return render_template("auth/reset_request.html", form=form, sent=True)
    status = 422 if form.errors else 200
    return render_template("auth/reset_request.html", form=form, sent=False), status


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_form(token: str) -> Response | tuple[str, int]:
    """Choose a new password through a link from the e-mail; the link works once."""
    record = reset.valid_token(token)
    if record is None:
        return render_template("auth/reset_form.html", form=None), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset.complete_reset(record, form.new_password.data or "")
        except ValidationFailed as error:
            _show_errors(form, error)
        else:
            start_session(user)
            flash(gettext("Your password is changed and you are logged in."), "success")
            return redirect(url_for("auth.account"))
    status = 422 if form.errors else 200
    return render_template("auth/reset_form.html", form=form), status
