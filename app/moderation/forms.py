"""Forms for moderation decisions (CSRF-protected, validated again in the operations)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.params import PG_INT_MAX

# Ids and versions are PostgreSQL integers; a larger number is refused, never queried.
IN_RANGE = NumberRange(min=0, max=PG_INT_MAX)


class DecisionForm(FlaskForm):
    """One action on one trace, with the version the moderator looked at."""

    action = StringField(validators=[DataRequired()])
    version = IntegerField(validators=[Optional(), IN_RANGE])
    reason = TextAreaField(
        _l("Message to the contributor"),
        validators=[Optional(), Length(max=2000)],
        description=_l("Needed when you ask for changes, reject or delete."),
    )
    next = HiddenField()


class BulkForm(FlaskForm):
    """One action on the selected queue entries."""

    action = StringField(validators=[DataRequired()])
    reason = TextAreaField(_l("Reason (for rejecting)"), validators=[Optional(), Length(max=2000)])


class DuplicateForm(FlaskForm):
    """Close an entry as a duplicate of an existing trace."""

    original_id = IntegerField(validators=[DataRequired(), IN_RANGE])
    version = IntegerField(validators=[DataRequired(), IN_RANGE])
    next = HiddenField()


class SensitivityForm(FlaskForm):
    """Whether the public sees this trace's location only approximately."""

    choice = StringField(validators=[DataRequired()])
    version = IntegerField(validators=[DataRequired(), IN_RANGE])
