"""How a revision's changes read on the history page: labels and photos.

Plain formatting of what app.revisions.diff found, for app.revisions.queries; the one place
that decides which recorded photo captions and thumbnails a viewer gets. What the system did
(a revision's event) reads as app/events.py renders it; a revision's comment is what a person
typed, shown as typed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext, lazy_gettext
from markupsafe import Markup

from app.models import Photo, TraceStatus, User
from app.photos.queries import can_view_photo, photo_url
from app.revisions.diff import TERM_FIELDS, Change, photo_changes
from app.text import render_markdown
from app.traces.messages import status_label

FIELD_LABELS = {
    "title": lazy_gettext("Title"),
    "trace_type_id": lazy_gettext("Type of trace"),
    "period_id": lazy_gettext("Period"),
    "condition_id": lazy_gettext("Condition"),
    "dating_method_id": lazy_gettext("Dating method"),
    "description": lazy_gettext("Description"),
    "sources": lazy_gettext("Sources"),
    "licence": lazy_gettext("Licence"),
    "status": lazy_gettext("Status"),
    "tags": lazy_gettext("Tags"),
    "geometry": lazy_gettext("Place on the map"),
    "photos": lazy_gettext("Photos"),
}


@dataclass(frozen=True)
class PhotoView:
    """A photo a revision added, removed or recaptioned, as this viewer may see it.

    ``caption`` is the one recorded then; empty when the viewer may not read it (a photo
    not yet approved, or removed since, is described only to its author and moderators).
    ``thumbnail`` only when the viewer may see the photo itself (can_view_photo).
    """

    caption: str
    thumbnail: str | None
    removed_since: bool


@dataclass(frozen=True)
class PhotoChangeView:
    """The photos one revision added, removed and gave a new caption."""

    added: list[PhotoView]
    removed: list[PhotoView]
    recaptioned: list[PhotoView]


@dataclass(frozen=True)
class ChangeView:
    """One changed field as the page shows it; descriptions also as sanitised HTML."""

    field: str
    label: str
    before: str
    after: str
    before_html: Markup | None = None
    after_html: Markup | None = None
    photos: PhotoChangeView | None = None


def photo_view(
    recorded: Mapping[str, Any],
    photos: dict[int, Photo],
    viewer: User | None,
    may_read_captions: bool,
) -> PhotoView:
    """One recorded photo as this viewer may see it: the picture only with can_view_photo.

    ``may_read_captions``: the trace's author and moderators read every recorded caption
    (also of photos not yet approved or removed since); others only those of photos they see.
    """
    photo_id = recorded.get("id")
    photo = photos.get(photo_id) if isinstance(photo_id, int) else None
    visible = photo is not None and can_view_photo(viewer, photo)
    caption = str(recorded.get("caption") or "") if visible or may_read_captions else ""
    return PhotoView(
        caption=caption,
        thumbnail=photo_url(photo, "thumb") if visible and photo is not None else None,
        removed_since=photo is None,
    )


def change_view(
    change: Change,
    labels: dict[int, str],
    with_html: bool,
    photos: dict[int, Photo],
    viewer: User | None,
    may_read_captions: bool,
) -> ChangeView:
    """One changed field as the page shows it (labels in the locale, photos as allowed)."""
    label = str(FIELD_LABELS[change.field])
    if change.field == "photos":
        done = photo_changes(change.before, change.after)
        views = [
            [photo_view(p, photos, viewer, may_read_captions) for p in group]
            for group in (done.added, done.removed, done.recaptioned)
        ]
        return ChangeView(change.field, label, "", "", photos=PhotoChangeView(*views))
    before, after = (_text(change.field, v, labels) for v in (change.before, change.after))
    html: tuple[Markup | None, Markup | None] = (None, None)
    if with_html and change.field == "description":
        html = (render_markdown(before), render_markdown(after))
    return ChangeView(change.field, label, before, after, *html)


def _text(name: str, value: Any, labels: dict[int, str]) -> str:
    if name == "geometry":
        return ""  # never coordinates in text: the map shows the place as the viewer may see it
    if name in TERM_FIELDS:
        return labels.get(value, gettext("Not known")) if value else gettext("Not known")
    if name == "status":
        try:
            return status_label(TraceStatus(value))
        except ValueError:
            return str(value)
    if name == "tags":
        return ", ".join(value or []) or gettext("No tags")
    return "" if value is None else str(value)
