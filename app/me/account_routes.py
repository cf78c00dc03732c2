"""The resident's own data: download everything as a ZIP, and delete the account (GDPR 15-20)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, redirect, render_template, stream_with_context, url_for
from flask_babel import gettext
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app.auth.sessions import end_session, user_rate_key
from app.db import db
from app.limits import limiter
from app.me import data_export as own_data
from app.me import deletion
from app.me.forms import DeleteAccountForm
from app.me.routes import bp


def _export_throttled_message() -> str:
    return gettext("You can download your data at most 5 times an hour. Please try again later.")


# Each download reads every file of the person's photos: a few an hour are plenty.
@bp.get("/data.zip")
@limiter.limit("5/hour", key_func=user_rate_key, error_message=_export_throttled_message)
@login_required
def data_export() -> Response:
    """Everything stored about the logged-in person, as a ZIP written while it is sent."""
    collected = own_data.collect(current_user)
    # Every row is read: the transaction ends (a GET writes nothing) and the connection goes
    # back to the pool before the photo files are streamed, so a slow download holds neither.
    db.session.close()
    body = stream_with_context(own_data.archive(collected))
    response = Response(body, mimetype="application/zip")
    name = own_data.filename(datetime.now(UTC).date())
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a proxy passes the stream on as it comes
    return response


def _wrong_password(response: Response) -> bool:
    return response.status_code == 403


# A stolen session must not become a way to guess the password: only refusals count.
@bp.route("/delete", methods=["GET", "POST"])
@limiter.limit("10/hour", methods=["POST"], key_func=user_rate_key, deduct_when=_wrong_password)
@login_required
def delete_account() -> Response | tuple[str, int]:
    """Explain what deleting the account does; with the password, do it and log out."""
    form = DeleteAccountForm()
    status = 200
    if form.validate_on_submit():
        email = current_user.email
        try:
            deletion.delete_account(
                current_user,
                form.password.data or "",
                deletion.Contributions(form.contributions.data),
            )
        except deletion.WrongPassword as error:
            form.password.errors = [error.message]
            status = 403
        else:
            deletion.forget_rate_limits_after_commit(email)
            end_session()
            flash(gettext("Your account is deleted. Thank you for your contributions."), "info")
            return redirect(url_for("main.index"))
    elif form.errors:
        status = 422
    page = render_template(
        "me/delete.html",
        form=form,
        backup_days=int(current_app.config["BACKUP_RETENTION_DAYS"]),
    )
    return page, status
