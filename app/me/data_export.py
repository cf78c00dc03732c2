"""Everything the service holds about one person, as a ZIP streamed while it is built (GDPR 15, 20).

The archive is written to the response part by part: zipfile writes to an unseekable sink
whose bytes are handed on after every step, so neither the archive nor more than one photo
file is ever held in memory. Parts and what they mean are listed in docs/own-data.md; the
README.txt inside says the same in the person's language.

Other people's names and e-mail addresses are left out: the editors of a trace and the actors
of audit entries are "you" or a role, unless they show their name publicly.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import orjson
from flask import current_app
from flask_babel import force_locale, get_locale, gettext
from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import or_, select

from app import events
from app.access import project_role
from app.db import db
from app.media.storage import current_storage
from app.models import (
    AuditEvent,
    Comment,
    Membership,
    Notification,
    Photo,
    Project,
    Revision,
    Term,
    Trace,
    User,
    UserRole,
    UserSession,
)
from app.photos.files import file_key, original_formats
from app.revisions.diff import diff_snapshots

CHUNK = 64 * 1024


class _Sink(io.RawIOBase):
    """A write-only stream that keeps what zipfile wrote until it is taken (no seek, no tell)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        """What was written since the last take."""
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def filename(today: date) -> str:
    """The download's file name."""
    return f"kulturspor-mine-data-{today.isoformat()}.zip"


def archive(user_id: int) -> Iterator[bytes]:
    """The ZIP's bytes, in pieces, as each part is written (run inside the request context)."""
    import zipfile

    user = db.session.get(User, user_id)
    if user is None:  # deleted between the request and the first byte
        return
    sink = _Sink()
    language = user.language or str(get_locale() or "")
    with force_locale(language), zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, build in _json_parts(user):
            zf.writestr(name, _json(build()))
            yield sink.take()
        # The traces one feature at a time: a prolific author's history can be long.
        with zf.open("traces.geojson", "w") as entry:
            entry.write(b'{"type": "FeatureCollection", "features": [\n')
            for n, feature in enumerate(trace_features(user)):
                entry.write((b",\n" if n else b"") + _json(feature))
                yield sink.take()
            entry.write(b"\n]}\n")
        yield sink.take()
        for name, key in _photo_files(user):
            with zf.open(name, "w") as entry:
                data = current_storage().read(key)  # one file at a time
                for start in range(0, len(data), CHUNK):
                    entry.write(data[start : start + CHUNK])
                    yield sink.take()
            yield sink.take()
        zf.writestr("README.txt", readme())
    yield sink.take()


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)


def _json_parts(user: User) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("account.json", lambda: account(user)),
        ("comments.json", lambda: comments(user)),
        ("notifications.json", lambda: notifications(user)),
        ("consents.json", lambda: consents(user)),
        ("audit.json", lambda: audit_entries(user)),
        ("memberships.json", lambda: memberships(user)),
        ("photos/photos.json", lambda: photos(user)),
    ]


def _when(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def consent_meanings() -> dict[str, str]:
    """What each of the account's choices means, in the reader's language."""
    return {
        "show_name_publicly": gettext(
            "Your name is shown with your traces and comments, and museums receive it with "
            "the traces they harvest. Without it you are shown as “A contributor”."
        ),
        "notify_by_email": gettext(
            "You receive an e-mail when something happens to your traces or comments."
        ),
        "weekly_digest": gettext(
            "Librarians and curators: a weekly e-mail of what waits for moderation."
        ),
    }


def _settings(user: User) -> dict[str, dict[str, Any]]:
    return {
        name: {"value": bool(getattr(user, name)), "meaning": meaning}
        for name, meaning in consent_meanings().items()
    }


def account(user: User) -> dict[str, Any]:
    """The account row, its choices with what they mean, and the devices logged in."""
    sessions = db.session.execute(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.created_at)
    ).scalars()
    return {
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role.value,
        "language": user.language,
        "created_at": _when(user.created_at),
        "settings": _settings(user),
        "sessions": [
            {
                "created_at": _when(s.created_at),
                "last_seen_at": _when(s.last_seen_at),
                "revoked_at": _when(s.revoked_at),
                "browser": s.user_agent,
            }
            for s in sessions
        ],
    }


def _term_codes() -> dict[int, str]:
    return {t.id: f"{t.scheme.value}:{t.code}" for t in db.session.execute(select(Term)).scalars()}


def editor_label(user: User, editor: User | None, project_id: int) -> str:
    """Who made a change, as this person may read it: "you", a public name, or a role."""
    if editor is None:
        return gettext("Deleted account")
    if editor.id == user.id:
        return gettext("you")
    if editor.show_name_publicly and editor.deleted_at is None:
        return editor.display_name
    if editor.role == UserRole.ADMIN:
        return gettext("an administrator")
    role = project_role(editor, project_id)
    if role is not None and role.value == "librarian":
        return gettext("a librarian")
    if role is not None and role.value == "curator":
        return gettext("a curator")
    return gettext("a contributor")


def trace_features(user: User) -> Iterator[dict[str, Any]]:
    """Every trace they wrote, in any state, with its precise place and its revisions."""
    codes = _term_codes()
    may_see = events.may_see_for(user)
    rows = db.session.execute(
        select(Trace).where(Trace.author_id == user.id).order_by(Trace.id)
    ).scalars()
    for trace in rows:
        yield {
            "type": "Feature",
            "id": trace.id,
            "geometry": mapping(to_shape(trace.geom)),
            "properties": {
                "title": trace.title,
                "description": trace.description,
                "sources": trace.sources,
                "licence": trace.licence,
                "status": trace.status.value,
                "project": trace.project.slug,
                "trace_type": codes.get(trace.trace_type_id or 0),
                "period": codes.get(trace.period_id or 0),
                "condition": codes.get(trace.condition_id or 0),
                "dating_method": codes.get(trace.dating_method_id or 0),
                "tags": list(trace.tags or []),
                "is_sensitive": trace.is_sensitive,
                "created_at": _when(trace.created_at),
                "submitted_at": _when(trace.submitted_at),
                "approved_at": _when(trace.approved_at),
                "decision_note": trace.decision_note,
                "recorded_for_informant": trace.recorder_id is not None
                and trace.informant_name is not None,
                "revisions": _revisions(user, trace, may_see),
            },
        }


def _revisions(user: User, trace: Trace, may_see: events.MaySee) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Revision, User)
        .outerjoin(User, User.id == Revision.editor_id)
        .where(Revision.trace_id == trace.id)
        .order_by(Revision.version)
    ).all()
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    for revision, editor in rows:
        line = events.revision_line(revision.event, may_see)
        out.append(
            {
                "version": revision.version,
                "created_at": _when(revision.created_at),
                "editor": editor_label(user, editor, trace.project_id),
                "comment": revision.comment,
                "event": line.text() if line else None,
                "changes": [
                    {"field": c.field, "before": c.before, "after": c.after}
                    for c in diff_snapshots(previous, revision.snapshot)
                ],
            }
        )
        previous = revision.snapshot
    return out


def comments(user: User) -> list[dict[str, Any]]:
    """Their comments and observations, in every state (the trace by its link: its title is
    another person's text)."""
    from app.web import absolute_url

    rows = db.session.execute(
        select(Comment).where(Comment.author_id == user.id).order_by(Comment.created_at, Comment.id)
    ).scalars()
    return [
        {
            "id": c.id,
            "trace_id": c.trace_id,
            "trace_url": absolute_url("traces.show", trace_id=c.trace_id),
            "kind": c.kind.value,
            "status": c.status.value,
            "body": c.body,
            "created_at": _when(c.created_at),
        }
        for c in rows
    ]


def notifications(user: User) -> list[dict[str, Any]]:
    """Everything they were told, in their language, with its kind and parameters."""
    may_see = events.may_see_for(user)
    rows = db.session.execute(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).scalars()
    return [
        {
            "created_at": _when(n.created_at),
            "read_at": _when(n.read_at),
            "trace_id": n.trace_id,
            "text": events.notification_line(n.kind, n.params, n.message, may_see).text(),
            "kind": n.kind,
            "params": n.params,
        }
        for n in rows
    ]


def consents(user: User) -> dict[str, Any]:
    """Their choices, and the informant consents they recorded (never the informant's name)."""
    recorded = db.session.execute(
        select(Trace.id, Trace.title, Trace.informant_consent)
        .where(Trace.recorder_id == user.id, Trace.informant_name.is_not(None))
        .order_by(Trace.id)
    ).all()
    return {
        **_settings(user),
        "informant_consents_recorded": [
            {"trace_id": row.id, "title": row.title, "informant_consent": row.informant_consent}
            for row in recorded
        ],
    }


def audit_entries(user: User) -> list[dict[str, Any]]:
    """Audit entries by them, on their account, their traces or their memberships."""
    trace_ids = select(Trace.id).where(Trace.author_id == user.id).scalar_subquery()
    membership_ids = select(Membership.id).where(Membership.user_id == user.id).scalar_subquery()
    rows = db.session.execute(
        select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            or_(
                AuditEvent.actor_id == user.id,
                (AuditEvent.target_type == "user") & (AuditEvent.target_id == user.id),
                (AuditEvent.target_type == "trace") & AuditEvent.target_id.in_(trace_ids),
                (AuditEvent.target_type == "membership") & AuditEvent.target_id.in_(membership_ids),
            )
        )
        .order_by(AuditEvent.id)
    ).all()
    return [
        {
            "created_at": _when(event.created_at),
            "actor": editor_label(user, actor, event.project_id or 0)
            if actor is not None
            else gettext("the system"),
            "action": event.action,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "from_state": event.from_state,
            "to_state": event.to_state,
            "reason": event.reason,
            "details": event.details,
        }
        for event, actor in rows
    ]


def memberships(user: User) -> list[dict[str, Any]]:
    """Their roles in projects, ended ones too, with a curator's area."""
    rows = db.session.execute(
        select(Membership, Project)
        .join(Project, Project.id == Membership.project_id)
        .where(Membership.user_id == user.id)
        .order_by(Membership.granted_at, Membership.id)
    ).all()
    return [
        {
            "project": project.slug,
            "project_name": project.name,
            "role": m.role.value,
            "granted_at": _when(m.granted_at),
            "revoked_at": _when(m.revoked_at),
            "area": mapping(to_shape(m.area)) if m.area is not None else None,
        }
        for m, project in rows
    ]


def _my_photos(user: User) -> list[Photo]:
    return list(
        db.session.execute(
            select(Photo).where(Photo.uploader_id == user.id).order_by(Photo.id)
        ).scalars()
    )


def _files_of(photo: Photo) -> list[tuple[str, str]]:
    """(name in the ZIP, storage key) of a photo's display size and kept original."""
    ext = file_key(photo, "display").rsplit(".", 1)[1]
    files = [(f"photos/{photo.id}-display.{ext}", file_key(photo, "display"))]
    if photo.has_original:
        storage = current_storage()
        for fmt in original_formats(photo):
            key = file_key(photo, "original", fmt)
            if storage.exists(key):
                files.append((f"photos/{photo.id}-original.{key.rsplit('.', 1)[1]}", key))
                break
    return files


def photos(user: User) -> list[dict[str, Any]]:
    """Their photos' details, and the files of each in this ZIP."""
    return [
        {
            "id": p.id,
            "trace_id": p.trace_id,
            "comment_id": p.comment_id,
            "status": p.status.value,
            "caption": p.caption,
            "credit": p.credit,
            "licence": p.licence,
            "taken_on": _when(p.taken_on),
            "created_at": _when(p.created_at),
            "files": [name for name, _key in _files_of(p)],
        }
        for p in _my_photos(user)
    ]


def _photo_files(user: User) -> Iterator[tuple[str, str]]:
    storage = current_storage()
    for photo in _my_photos(user):
        for name, key in _files_of(photo):
            if storage.exists(key):
                yield name, key


def readme() -> str:
    """What every part of the archive holds, in the reader's language."""
    lines = [
        gettext("Your data at %(site)s", site=current_app.config["INSTALLATION_NAME"]),
        "",
        gettext(
            "This archive holds everything the service stores about you. Files ending in "
            ".json and .geojson are plain text in the JSON format; times are in UTC."
        ),
        "",
    ]
    parts = [
        ("account.json", gettext(
            "Your account: e-mail address, name, role, chosen language, when it was created, "
            "your settings with what each means, and the devices you are logged in on."
        )),
        ("traces.geojson", gettext(
            "Every trace you wrote, in every state, with its precise place (GeoJSON, "
            "longitude and latitude in WGS84) and its history: when, by whom (“you”, or "
            "another person's public name or role), the comment typed and what changed."
        )),
        ("comments.json", gettext("Your comments and observations, in every state.")),
        ("notifications.json", gettext(
            "What the service told you, in your language, with its kind and parameters."
        )),
        ("consents.json", gettext(
            "Your choices about your name and e-mail. If you recorded traces for informants: "
            "which of them agreed to be named (their names are not included)."
        )),
        ("audit.json", gettext(
            "The log entries about you: what you did, and what was done to your account, "
            "your traces and your rights. Other people are named only by their role."
        )),
        ("memberships.json", gettext("Your roles in projects, ended ones too.")),
        ("photos/", gettext(
            "Your photos as stored (without location data), and photos.json with the "
            "caption, credit, licence and state of each."
        )),
    ]  # fmt: skip
    for name, text in parts:
        lines += [name, "  " + text, ""]
    lines.append(
        gettext("You can delete your account on your account page: %(url)s", url=_account_url())
    )
    return "\n".join(lines) + "\n"


def _account_url() -> str:
    from app.web import absolute_url

    return absolute_url("auth.account")
