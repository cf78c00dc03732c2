"""The parts of the own-data ZIP (GDPR 15, 20): each a function of the person, read from the DB.

Other people's names and e-mail addresses are left out: the editors of a trace, the actors of
audit entries and the people a notification names are "you", their public name if they show
it publicly, else their role or "a contributor". The ZIP itself is written in data_export.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from flask_babel import gettext
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
    MembershipRole,
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

# Parameters of a notification that name or identify another person (vocab_suggestion's
# suggester): left out of notifications.json, and the rendered line names them by person_label.
OTHER_PERSON_PARAMS = ("name", "actor_id")


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
    return _as_allowed(user, editor) or _role_label(project_role(editor, project_id))


def _as_allowed(user: User, person: User) -> str | None:
    """ "you", their public name, or "an administrator"; None when a role must tell."""
    if person.id == user.id:
        return gettext("you")
    if person.show_name_publicly and person.deleted_at is None:
        return person.display_name
    if person.role == UserRole.ADMIN:
        return gettext("an administrator")
    return None


def person_label(user: User, person: User | None) -> str:
    """Another person named outside a project (a suggester): their public name, else a role."""
    if person is None:
        return gettext("a contributor")
    named = _as_allowed(user, person)
    if named:
        return named
    if person.role == UserRole.LIBRARIAN:
        return gettext("a librarian")
    roles = set(
        db.session.execute(
            select(Membership.role).where(
                Membership.user_id == person.id, Membership.revoked_at.is_(None)
            )
        ).scalars()
    )
    for role in (MembershipRole.LIBRARIAN, MembershipRole.CURATOR):
        if role in roles:
            return _role_label(role)
    return gettext("a contributor")


def _role_label(role: MembershipRole | None) -> str:
    if role == MembershipRole.LIBRARIAN:
        return gettext("a librarian")
    if role == MembershipRole.CURATOR:
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
    """Their comments and observations, in every state, each with its trace's link.

    The trace by its link, not its title: the title is another person's text.
    """
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
    """Everything they were told, in their language, with its kind and parameters.

    Another person a notification names (a suggester) is shown as person_label says, and their
    stored name and id are left out of the parameters.
    """
    may_see = events.may_see_for(user)
    rows = list(
        db.session.execute(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        ).scalars()
    )
    out = []
    for n in rows:
        params = dict(n.params or {})
        shown = params
        if any(key in params for key in OTHER_PERSON_PARAMS):
            actor_id = params.get("actor_id")
            actor = db.session.get(User, actor_id) if isinstance(actor_id, int) else None
            shown = {**params, "name": person_label(user, actor)}
        out.append(
            {
                "created_at": _when(n.created_at),
                "read_at": _when(n.read_at),
                "trace_id": n.trace_id,
                "text": events.notification_line(n.kind, shown, n.message, may_see).text(),
                "kind": n.kind,
                "params": {k: v for k, v in params.items() if k not in OTHER_PERSON_PARAMS},
            }
        )
    return out


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


def photo_files(user: User) -> list[tuple[str, str]]:
    """(name in the ZIP, storage key) of every stored file of their photos."""
    storage = current_storage()
    return [
        (name, key)
        for photo in _my_photos(user)
        for name, key in _files_of(photo)
        if storage.exists(key)
    ]
