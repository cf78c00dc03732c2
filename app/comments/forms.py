"""Forms for writing a comment and for deciding on one."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, Optional

from app.comments.operations import BODY_MAX, Decision


class CommentForm(FlaskForm):
    """A question, an answer or something the writer knows about the trace."""

    body = TextAreaField(
        _l("Your comment"),
        validators=[DataRequired(), Length(max=BODY_MAX)],
        description=_l(
            "Questions, answers and what you know about this place. Markdown: *italic*, "
            "**bold**, lists and links. Comments are shown after a librarian has checked them."
        ),
    )
    # One photo may come with a comment (read from request.files by the view: multipart).
    photo = FileField(
        _l("A photo (optional)"),
        description=_l("JPEG, PNG, WebP or HEIC. It is shown with your comment once checked."),
    )
    photo_caption = StringField(
        _l("What the photo shows (read aloud for those who cannot see it)"),
        validators=[Optional(), Length(max=300)],
    )


class ModerateCommentForm(FlaskForm):
    """Approve or reject, with the version the moderator saw (optimistic locking)."""

    action = StringField(validators=[InputRequired(), AnyOf([d.value for d in Decision])])
    version = IntegerField(validators=[InputRequired()])
    next = HiddenField(validators=[Optional()])


class DeleteCommentForm(FlaskForm):
    """Only the CSRF token: the author withdraws their comment."""

    next = HiddenField(validators=[Optional()])
