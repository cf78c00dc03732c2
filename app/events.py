"""What happened, stored as a kind with parameters and told in the reader's language.

Notifications (``Notification.kind`` + ``params``) and the system's revision events
(``Revision.event`` = ``{"kind": ..., **params}``) are stored without any language; they are
rendered here at read time with flask_babel, so a decision taken by a moderator browsing in
Bokmål reads in English for an author whose UI is English. Text a person typed (a moderator's
reason, a suggestion) is a parameter, kept and shown as typed: it is inserted once into the
translated sentence and escaped, never formatted or interpreted itself.

Every kind and its parameters are listed in docs/events.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import url_for
from flask_babel import gettext, lazy_gettext, ngettext
from markupsafe import Markup, escape

from app.db import db
from app.models import Trace, User
from app.text import link_html

# May the reader see the trace with this id? Titles of other traces are named only then.
MaySee = Callable[[int], bool]


@dataclass(frozen=True)
class Link:
    """A trace named in a sentence: a link in HTML, its label alone in plain text."""

    trace_id: int
    label: str


@dataclass(frozen=True)
class Rendered:
    """A translated sentence and the parameters it is filled with, as HTML or plain text.

    ``template`` is already in the reader's language, with ``%(name)s`` placeholders when
    ``params`` is not empty. Jinja prints the escaped HTML (``__html__``).
    """

    template: str
    params: Mapping[str, str | Link] = field(default_factory=dict)

    def html(self) -> Markup:
        """The sentence as HTML: every parameter escaped, a Link as a link to its trace."""
        if not self.params:
            return escape(self.template)
        return escape(self.template) % {k: _html(v) for k, v in self.params.items()}

    def text(self) -> str:
        """The sentence as plain text (for mail): parameters as they are, links as labels."""
        if not self.params:
            return self.template
        return self.template % {
            k: v.label if isinstance(v, Link) else v for k, v in self.params.items()
        }

    def __html__(self) -> str:
        return str(self.html())

    def __str__(self) -> str:
        return self.text()

    def __bool__(self) -> bool:
        return bool(self.template)


def _html(value: str | Link) -> Markup:
    if isinstance(value, Link):
        url = url_for("traces.show", trace_id=value.trace_id)
        return link_html(url, value.label)
    return escape(value)


def _say(template: str, **params: str | Link) -> Rendered:
    """A sentence already translated (``gettext(msgid)`` with no parameters, so that the
    catalog extraction finds it), to be filled with ``params`` when printed."""
    return Rendered(template, params)


def _str(params: Mapping[str, Any], name: str) -> str:
    """A stored text parameter; anything else (a number, a list, nothing) as text or empty."""
    value = params.get(name)
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def _int(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        return int(value)
    return None


def _trace_named(trace_id: int | None, title: str, may_see: MaySee) -> Link | None:
    """The other trace as a link with its title, or None when the reader may not see it."""
    if trace_id is None or not may_see(trace_id):
        return None
    return Link(trace_id, title or f"#{trace_id}")


# --- The history: revision events --------------------------------------------------------

ACTION_LINES = {
    "approve": lazy_gettext("Approved"),
    "reject": lazy_gettext("Rejected"),
    "request_changes": lazy_gettext("Changes requested"),
    "resubmit": lazy_gettext("Sent for approval again"),
    "withdraw": lazy_gettext("Withdrawn by the author"),
    "delete": lazy_gettext("Deleted"),
    "restore": lazy_gettext("Restored"),
}
# Decisions the author takes on their own trace: what they typed is theirs, not a moderator's.
AUTHOR_ACTIONS = frozenset({"resubmit", "withdraw"})
SENSITIVITY_LINES = {
    "rules": lazy_gettext("Location protection: follows the rules for its type and period"),
    "sensitive": lazy_gettext("Location protection: protected"),
    "open": lazy_gettext("Location protection: not protected"),
}


def revision_line(event: Mapping[str, Any] | None, may_see: MaySee) -> Rendered | None:
    """The history line for a revision's event, in the reader's language (None: no event).

    An unknown kind (written by a newer version of the application) gives no line rather
    than its code.
    """
    if not isinstance(event, Mapping):
        return None
    build = REVISION_KINDS.get(_str(event, "kind"))
    return build(event, may_see) if build else None


def decision_message(event: Mapping[str, Any] | None) -> tuple[str, bool]:
    """The text typed with a decision, as typed, and whether the author typed it."""
    if not isinstance(event, Mapping) or event.get("kind") != "decision":
        return "", False
    return _str(event, "message").strip(), _str(event, "action") in AUTHOR_ACTIONS


def _submitted(event: Mapping[str, Any], _may_see: MaySee) -> Rendered:
    if event.get("on_behalf") is True:
        return _say(gettext("Entered for an informant and submitted for approval"))
    return _say(gettext("Submitted for approval"))


def _decision(event: Mapping[str, Any], _may_see: MaySee) -> Rendered | None:
    line = ACTION_LINES.get(_str(event, "action"))
    return Rendered(str(line)) if line is not None else None


def _merged(event: Mapping[str, Any], may_see: MaySee) -> Rendered:
    original = _trace_named(_int(event, "into"), _str(event, "title"), may_see)
    if original is None:
        return _say(gettext("Merged with another trace"))
    return _say(gettext("Merged with “%(title)s”"), title=original)


def _sensitivity(event: Mapping[str, Any], _may_see: MaySee) -> Rendered | None:
    line = SENSITIVITY_LINES.get(_str(event, "choice"))
    return Rendered(str(line)) if line is not None else None


def _revert(event: Mapping[str, Any], _may_see: MaySee) -> Rendered:
    version = _int(event, "to")
    if version is None:
        return _say(gettext("Reverted to an earlier version"))
    return _say(gettext("Reverted to version %(version)s"), version=str(version))


def _photos_added(event: Mapping[str, Any], _may_see: MaySee) -> Rendered:
    count = _int(event, "count") or 1
    return Rendered(ngettext("%(num)s photo added", "%(num)s photos added", count))


def _imported(event: Mapping[str, Any], _may_see: MaySee) -> Rendered:
    file = _str(event, "file")
    if event.get("generalised") is True:
        return _say(
            gettext(
                "Imported from %(file)s. The source gave only a generalised position: the trace "
                "was imported as protected, and its stored position is approximate."
            ),
            file=file,
        )
    return _say(gettext("Imported from %(file)s"), file=file)


REVISION_KINDS: dict[str, Callable[[Mapping[str, Any], MaySee], Rendered | None]] = {
    "submitted": _submitted,
    "demo": lambda _e, _m: _say(gettext("Demo data")),
    "decision": _decision,
    "merged": _merged,
    "sensitivity": _sensitivity,
    "revert": _revert,
    "photos_added": _photos_added,
    "photo_changed": lambda _e, _m: _say(gettext("Photo details changed")),
    "photo_removed": lambda _e, _m: _say(gettext("Photo removed")),
    "imported": _imported,
}


# --- Notifications ------------------------------------------------------------------------


def notification_line(
    kind: str, params: Mapping[str, Any] | None, message: str, may_see: MaySee
) -> Rendered:
    """A notification in the reader's language from its kind and parameters.

    Notifications stored before kinds had parameters (``params`` empty) keep their stored
    message, shown as stored.
    """
    params = params if isinstance(params, Mapping) else {}
    if not params and message:
        return Rendered(message)
    build = NOTIFICATION_KINDS.get(kind)
    if build is not None:
        return build(params, may_see)
    title = _str(params, "title")
    if title:
        return _say(gettext("News about your trace «%(title)s»"), title=title)
    return _say(gettext("News for you"))


def _with_reason(params: Mapping[str, Any], with_reason: str, without: str) -> Rendered:
    reason = _str(params, "message").strip()
    if reason:
        return _say(with_reason, title=_str(params, "title"), reason=reason)
    return _say(without, title=_str(params, "title"))


def _trace_merged(params: Mapping[str, Any], may_see: MaySee) -> Rendered:
    title = _str(params, "title")
    original = _trace_named(_int(params, "original_id"), _str(params, "original_title"), may_see)
    if original is None:
        return _say(
            gettext("Your trace “%(title)s” was merged with another trace of the same place."),
            title=title,
        )
    return _say(
        gettext(
            "Your trace “%(title)s” was merged with “%(original)s”: what you wrote is kept there."
        ),
        title=title,
        original=original,
    )


def _rights(params: Mapping[str, Any], _may_see: MaySee) -> Rendered:
    from app.models import MembershipRole
    from app.projects.operations import ROLE_LABELS

    try:
        role = str(ROLE_LABELS[MembershipRole(_str(params, "role"))])
    except (ValueError, KeyError):
        return _say(gettext("Your rights in a project have changed"))
    project = _str(params, "project")
    if params.get("change") == "withdrawn":
        return _say(
            gettext("Your rights as %(role)s in the project %(project)s were withdrawn."),
            role=role,
            project=project,
        )
    return _say(
        gettext("You are now %(role)s in the project %(project)s."), role=role, project=project
    )


def _vocab_suggestion(params: Mapping[str, Any], _may_see: MaySee) -> Rendered:
    from app.models import Scheme
    from app.vocab.routes import SCHEME_LABELS

    try:
        scheme = str(SCHEME_LABELS[Scheme(_str(params, "scheme"))])
    except (ValueError, KeyError):
        scheme = _str(params, "scheme")
    return _say(
        gettext("%(name)s suggests a change to the term “%(code)s” (%(scheme)s): %(text)s"),
        name=_str(params, "name"),
        code=_str(params, "code"),
        scheme=scheme,
        text=_str(params, "text"),
    )


NOTIFICATION_KINDS: dict[str, Callable[[Mapping[str, Any], MaySee], Rendered]] = {
    "trace.approved": lambda p, _m: _say(
        gettext("Your trace “%(title)s” is approved and now on the map."), title=_str(p, "title")
    ),
    "trace.needs_changes": lambda p, _m: _with_reason(
        p,
        gettext("Your trace “%(title)s” needs changes: %(reason)s"),
        gettext("Your trace “%(title)s” needs changes."),
    ),
    "trace.rejected": lambda p, _m: _with_reason(
        p,
        gettext("Your trace “%(title)s” was not approved: %(reason)s"),
        gettext("Your trace “%(title)s” was not approved."),
    ),
    "trace.deleted": lambda p, _m: _with_reason(
        p,
        gettext("Your trace “%(title)s” was removed: %(reason)s"),
        gettext("Your trace “%(title)s” was removed."),
    ),
    "trace.merged": _trace_merged,
    "comment_approved": lambda p, _m: _say(
        gettext("There is a new comment on your trace “%(title)s”."), title=_str(p, "title")
    ),
    "comment_rejected": lambda p, _m: _say(
        gettext("Your comment on “%(title)s” was not published by the moderators."),
        title=_str(p, "title"),
    ),
    "photo.rejected": lambda p, _m: _with_reason(
        p,
        gettext("A photo you added to “%(title)s” was not approved: %(reason)s"),
        gettext("A photo you added to “%(title)s” was not approved."),
    ),
    "rights": _rights,
    "vocab_suggestion": _vocab_suggestion,
}


def may_see_for(viewer: User | None) -> MaySee:
    """Whether this viewer may see a trace, by id (each trace looked up once)."""
    from app.access import can_view

    seen: dict[int, bool] = {}

    def may_see(trace_id: int) -> bool:
        if trace_id not in seen:
            trace = db.session.get(Trace, trace_id)
            seen[trace_id] = trace is not None and can_view(viewer, trace)
        return seen[trace_id]

    return may_see


def merged_status(trace: Trace, viewer: User | None, may_see: MaySee | None = None) -> Rendered:
    """A merged duplicate's status: "Merged with “original”", the title only if visible.

    A page listing many traces passes its own ``may_see`` (app.me.routes asks once for all
    the originals, which it loads); alone, each call asks for its one original.
    """
    original = _trace_named(trace.duplicate_of_id, "", may_see or may_see_for(viewer))
    if original is None:
        return _say(gettext("Merged with another trace"))
    title = db.session.get(Trace, original.trace_id)
    return _say(
        gettext("Merged with “%(title)s”"),
        title=Link(original.trace_id, title.title if title else ""),
    )
