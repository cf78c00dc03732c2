"""The one form on a contributor's own page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from app.params import PG_INT_MAX


class MarkReadForm(FlaskForm):
    """Mark the notifications the page showed as read."""

    up_to = IntegerField(validators=[Optional(), NumberRange(min=1, max=PG_INT_MAX)])
