"""What the comment thread under a trace shows to the current viewer (the template's data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup

from app.access import can_moderate, viewer_of
from app.comments import queries
from app.comments.forms import CommentForm
from app.models import Comment, CommentKind, CommentStatus, Photo, Trace, User
from app.text import render_markdown


@dataclass(frozen=True)
class Entry:
    """One comment as shown: rendered text and a name that is safe to show this viewer."""

    comment: Comment
    author_name: str
    html: Markup
    is_own: bool
    is_pending: bool
    is_observation: bool
    photos: tuple[Photo, ...] = ()


@dataclass
class Thread:
    """The entries, and what the viewer may do: write, decide on pending ones."""

    trace: Trace
    entries: list[Entry] = field(default_factory=list)
    can_post: bool = False
    is_moderator: bool = False
    form: CommentForm | None = None


def author_name(comment: Comment, viewer: User | None, moderator: bool) -> str:
    """The author's display name (never the e-mail), if they allow it or the viewer may know."""
    author = comment.author
    if author is None:
        return gettext("Former contributor")
    if author.show_name_publicly or moderator or (viewer is not None and viewer.id == author.id):
        return author.display_name
    return gettext("A contributor")


def comments_for(trace: Trace) -> Thread:
    """The thread under a trace for the logged-in user (or an anonymous visitor)."""
    viewer = viewer_of(current_user)
    moderator = can_moderate(viewer, trace)
    comments = queries.thread(trace, viewer, moderator)
    photos = queries.comment_photos([c.id for c in comments], viewer)
    entries = [
        Entry(
            comment=comment,
            author_name=author_name(comment, viewer, moderator),
            html=render_markdown(comment.body),
            is_own=viewer is not None and comment.author_id == viewer.id,
            is_pending=comment.status == CommentStatus.PENDING,
            is_observation=comment.kind == CommentKind.OBSERVATION,
            photos=tuple(photos.get(comment.id, ())),
        )
        for comment in comments
    ]
    return Thread(
        trace=trace,
        entries=entries,
        can_post=viewer is not None,
        is_moderator=moderator,
        form=CommentForm() if viewer is not None else None,
    )
