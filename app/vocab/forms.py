"""Forms for a vocabulary term: labels in four languages, a link, flags and order; and a
suggested change for those who may not change the vocabularies themselves."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.vocab.operations import CODE_MAX, LABEL_MAX, SUGGESTION_MAX, URI_MAX


class TermForm(FlaskForm):
    """The fields a librarian may change on an existing term."""

    label_nb = StringField(
        _l("Label in Bokmål"), validators=[DataRequired(), Length(max=LABEL_MAX)]
    )
    label_nn = StringField(
        _l("Label in Nynorsk"),
        validators=[Optional(), Length(max=LABEL_MAX)],
        description=_l("Leave empty when it is the same as in Bokmål."),
    )
    label_en = StringField(
        _l("Label in English"), validators=[DataRequired(), Length(max=LABEL_MAX)]
    )
    label_se = StringField(
        _l("Label in Northern Sami"),
        validators=[Optional(), Length(max=LABEL_MAX)],
        description=_l("Only a settled term; leave empty otherwise."),
    )
    uri = StringField(
        _l("Link to KulturNav or Getty AAT"),
        validators=[Optional(), Length(max=URI_MAX)],
        description=_l(
            "The concept's https:// address at kulturnav.org or vocab.getty.edu. "
            "A wrong link is worse than none."
        ),
    )
    sensitive = BooleanField(
        _l("Sensitive: traces with this term get a generalised public location by default")
    )
    before_1537 = BooleanField(
        _l("May be older than 1537 (flag new finds for the county heritage office)")
    )
    is_active = BooleanField(
        _l("In use (inactive terms are no longer offered in the forms)"), default=True
    )
    sort_order = IntegerField(
        _l("Position in lists"),
        default=0,
        validators=[Optional(), NumberRange(min=-10_000, max=10_000)],
        description=_l("Lower numbers come first."),
    )


class NewTermForm(TermForm):
    """A new term also needs its code, which never changes afterwards."""

    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=CODE_MAX)],
        description=_l(
            "Small letters a–z, digits and hyphens, such as “kullgrop”. "
            "Exports carry it; it cannot be changed later."
        ),
    )


class SuggestionForm(FlaskForm):
    """A suggested change to a term, in the curator's own words."""

    text = TextAreaField(
        _l("Your suggestion"),
        validators=[DataRequired(), Length(max=SUGGESTION_MAX)],
        description=_l(
            "What should change, and why. The installation librarians are told and decide."
        ),
    )
