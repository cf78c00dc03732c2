"""Forms on a contributor's own pages: notifications, and deleting the account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, RadioField, SelectChoice
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from app.params import PG_INT_MAX

KEEP = "keep"
REMOVE_UNPUBLISHED = "remove_unpublished"


class MarkReadForm(FlaskForm):
    """Mark the notifications the page showed as read."""

    up_to = IntegerField(validators=[Optional(), NumberRange(min=1, max=PG_INT_MAX)])


class DeleteAccountForm(FlaskForm):
    """Delete the account: what becomes of the contributions, and the password to confirm."""

    contributions = RadioField(
        _l("What should happen to your contributions?"),
        choices=[
            SelectChoice(KEEP, _l("Keep my contributions under the name «Tidligere bidragsyter»")),
            SelectChoice(REMOVE_UNPUBLISHED, _l("Remove my unpublished contributions")),
        ],
        default=KEEP,
        validators=[InputRequired(message=_l("Choose what happens to your contributions."))],
    )
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(message=_l("Type your password to confirm."))],
    )
