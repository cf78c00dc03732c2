"""Forms for registration, login, the account page and password reset."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.i18n import LANGUAGE_NAMES


class RegisterForm(FlaskForm):
    """A new resident's account: an e-mail address and a password are all it needs.

    The name may be left empty (the account is then called "Resident N"), and the
    password is typed once: a typo is mended with "Forgot your password?", and a phone user
    should not have to type a long passphrase twice (the policy itself, docs/security.md item 1,
    is unchanged).
    """

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired()],
        description=_l("At least 8 characters. A few words in a row make a good password."),
    )
    display_name = StringField(
        _l("Name shown to others (optional)"),
        validators=[Optional(), Length(min=2, max=80)],
        description=_l(
            "Your first name, full name or a nickname. Without one you are called "
            "“Resident” and a number."
        ),
    )
    show_name_publicly = BooleanField(
        _l("Show my name with the traces I contribute when they are published")
    )


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


def language_choices() -> list[SelectChoice]:
    """ "Follow this browser", then each language by its own name, marked with its lang."""
    follow = SelectChoice("", _l("Follow this browser"))
    return [follow] + [
        SelectChoice(code, name, render_kw={"lang": code}) for code, name in LANGUAGE_NAMES.items()
    ]


class SettingsForm(FlaskForm):
    """The name shown to others, whether it is shown with published traces, e-mail and the
    language of pages and mail."""

    display_name = StringField(
        _l("Name shown to others"),
        validators=[Optional(), Length(min=2, max=80)],
        description=_l("Your first name, full name or a nickname."),
    )
    show_name_publicly = BooleanField(
        _l("Show my name with the traces I contribute when they are published")
    )
    notify_by_email = BooleanField(
        _l("Send me an e-mail when something happens to my traces or comments")
    )
    # Shown only to people who moderate a project (the route leaves it out for the others).
    weekly_digest = BooleanField(
        _l("Send me a weekly summary of what waits"),
        description=_l(
            "One e-mail a week with the entries waiting in the projects you moderate, "
            "and only when something waits."
        ),
    )
    language = SelectField(
        _l("Language"),
        choices=language_choices,
        default="",  # a form without the field (an older page) follows the browser
        description=_l(
            "The language of the pages and of the e-mails we send you, on every device you "
            "log in on."
        ),
    )


class NewPasswordFields(FlaskForm):
    """A new password typed twice; shared by the change and reset forms."""

    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired()],
        description=_l("At least 8 characters. A few words in a row make a good password."),
    )
    new_password_confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The passwords differ.")),
        ],
    )


class ChangePasswordForm(NewPasswordFields):
    """A new password, confirmed by the current one (docs/security.md item 5)."""

    # No DataRequired: a missing current password is a refusal (403), not a form error.
    current_password = PasswordField(_l("Current password"), validators=[Length(max=1024)])


class ChangeEmailForm(FlaskForm):
    """A new e-mail address, confirmed by the current password (docs/security.md item 5)."""

    new_email = EmailField(_l("New e-mail address"), validators=[DataRequired(), Length(max=254)])
    email_password = PasswordField(_l("Current password"), validators=[Length(max=1024)])


class ResetRequestForm(FlaskForm):
    """The address to send a reset link to."""

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(NewPasswordFields):
    """The new password chosen through a reset link."""
