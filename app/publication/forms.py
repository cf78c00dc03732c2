"""The partner-token form: which institution, and which projects the token covers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.models import Project


class PartnerTokenForm(FlaskForm):
    """A new API token for a museum, an archive or a heritage authority."""

    name = StringField(
        _l("Institution"),
        validators=[DataRequired(), Length(max=160)],
        description=_l("Who receives the token, e.g. “Alta museum, collections department”."),
    )
    projects = SelectMultipleField(
        _l("Projects"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[Optional()],
        description=_l("The token sees the protected sites of these projects precisely."),
    )
    all_projects = BooleanField(_l("Every project, also those started later (administrators only)"))

    def fill_choices(self, projects: list[Project]) -> None:
        """Offer these projects by name (those the user may give a token; see tokens.may_cover)."""
        self.projects.choices = [SelectChoice(p.id, p.name) for p in projects]

    def chosen(self, may_choose_all: bool) -> list[int] | None:
        """The project ids (empty: every project), or None after adding an error to the form."""
        if self.all_projects.data:
            if not may_choose_all:
                self.all_projects.errors = [
                    _l("Only administrators may give a token every project.")
                ]
                return None
            return []
        if not self.projects.data:
            self.projects.errors = [_l("Choose at least one project.")]
            return None
        return list(self.projects.data)
