"""Changing the controlled vocabularies: terms are edited or deactivated, never deleted."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext, ngettext
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.access import can_edit_vocabulary, can_suggest_vocabulary_change
from app.db import db
from app.errors import DomainError, Forbidden, ValidationFailed
from app.models import Scheme, Term, User, UserRole
from app.notify import notify
from app.validation import FieldErrors, clean_line, clean_text
from app.vocab.queries import Impact, sensitivity_impact

CODE_MAX = 64
LABEL_MAX = 120
URI_MAX = 300
# KulturNav (the Nordic museums' terminology service) and the Getty AAT, nothing else.
URI_HOSTS = ("kulturnav.org", "vocab.getty.edu")
CODE_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SUGGESTION_MAX = 2000


class ExposureNotConfirmed(DomainError):
    """The change would make protected traces precise for everyone; confirm the count first."""

    status = 409
    code = "exposure_not_confirmed"

    def __init__(self, impact: Impact) -> None:
        super().__init__(exposure_message(impact), traces=impact.traces, projects=impact.projects)
        self.impact = impact


def exposure_message(impact: Impact) -> str:
    """The sentence a librarian confirms before traces lose their protection."""
    return ngettext(
        "This makes %(traces)s traces in %(num)s project visible at their exact "
        "position to everyone.",
        "This makes %(traces)s traces in %(num)s projects visible at their exact "
        "position to everyone.",
        impact.projects,
        traces=impact.traces,
    )


@dataclass(frozen=True)
class TermUpdate:
    """What saving a term did: the changed fields ({field: [old, new]}) and their effect."""

    changes: dict[str, list[Any]]
    impact: Impact


@dataclass(frozen=True)
class TermFields:
    """The editable fields of a term, cleaned."""

    label_nb: str
    label_nn: str | None
    label_en: str
    label_se: str | None
    uri: str | None
    sensitive: bool
    before_1537: bool
    is_active: bool
    sort_order: int


def clean_fields(raw: dict[str, Any]) -> TermFields:
    """Trim and check the fields; ValidationFailed names each bad one and why."""
    errors = FieldErrors()

    def label(name: str, required: bool) -> str | None:
        value = clean_line(str(raw.get(name) or ""), field=name, errors=errors,
                           required=required, max_len=LABEL_MAX)  # fmt: skip
        return value or None

    fields = TermFields(
        label_nb=label("label_nb", required=True) or "",
        label_nn=label("label_nn", required=False),
        label_en=label("label_en", required=True) or "",
        label_se=label("label_se", required=False),
        uri=_check_uri(raw.get("uri"), errors.errors),
        sensitive=bool(raw.get("sensitive")),
        before_1537=bool(raw.get("before_1537")),
        is_active=bool(raw.get("is_active")),
        sort_order=_sort_order(raw.get("sort_order"), errors),
    )
    errors.raise_if_any()
    return fields


def _sort_order(raw: Any, errors: FieldErrors) -> int:
    try:
        value = int(raw or 0)
    except (TypeError, ValueError):
        value = None
    if value is None or not -10_000 <= value <= 10_000:
        errors.add("sort_order", gettext("A whole number from -10000 to 10000."))
        return 0
    return value


def _check_uri(raw: Any, errors: dict[str, list[str]]) -> str | None:
    value = str(raw or "").strip()
    if not value:
        return None
    if len(value) > URI_MAX:
        errors.setdefault("uri", []).append(gettext("At most %(limit)s characters.", limit=URI_MAX))
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme != "https" or any(c.isspace() for c in value):
        errors.setdefault("uri", []).append(
            gettext("The link must be a web address starting with https://.")
        )
        return None
    # No user@host tricks or odd ports: the host must be exactly one of the two services.
    if (
        (parts.hostname or "") not in URI_HOSTS
        or parts.username is not None
        or port not in (None, 443)
        or parts.path in ("", "/")
    ):
        errors.setdefault("uri", []).append(
            gettext(
                "Only links to a concept at kulturnav.org or vocab.getty.edu are accepted, "
                "such as https://vocab.getty.edu/aat/300000000."
            )
        )
        return None
    return value


def clean_code(raw: Any, scheme: Scheme) -> str:
    """A new term's code: a-z, 0-9 and hyphens, unique within its vocabulary."""
    code = str(raw or "").strip()
    message = None
    if not code:
        message = gettext("This field is required.")
    elif len(code) > CODE_MAX or not CODE_PATTERN.fullmatch(code):
        message = gettext(
            "Use small letters a–z, digits and single hyphens (at most %(limit)s), "
            "such as “kullgrop”.",
            limit=CODE_MAX,
        )
    elif _code_taken(scheme, code):
        message = _code_taken_message(code)
    if message:
        raise ValidationFailed({"code": [message]})
    return code


def _code_taken(scheme: Scheme, code: str) -> bool:
    return bool(
        db.session.execute(
            select(exists().where(Term.scheme == scheme, Term.code == code))
        ).scalar()
    )


def update_term(
    term: Term, editor: User, raw: dict[str, Any], confirmed_exposure: int | None = None
) -> TermUpdate:
    """Check and apply the changed fields and audit them with how many traces they expose
    or protect. Exposing any trace needs `confirmed_exposure` equal to the current count,
    else ExposureNotConfirmed (nothing is changed)."""
    require_editor(editor)
    fields = clean_fields(raw)
    # Counted before anything is set on the term: autoflush would otherwise fire the trigger.
    impact = sensitivity_impact(term, fields.sensitive)
    if impact.exposes and impact.traces and confirmed_exposure != impact.traces:
        raise ExposureNotConfirmed(impact)
    changes: dict[str, list[Any]] = {}
    for name, value in asdict(fields).items():
        old = getattr(term, name)
        if old != value:
            changes[name] = [old, value]
            setattr(term, name, value)
    if changes:
        # The terms_touch_traces trigger re-derives the traces' sensitivity and updated_at.
        db.session.flush()
        audit.record(
            editor, "vocab.term_updated", "term", term.id, changes=changes,
            exposed=impact.traces if impact.exposes else 0,
            protected=0 if impact.exposes else impact.traces,
            projects=impact.projects,
        )  # fmt: skip
    return TermUpdate(changes, impact)


def create_term(scheme: Scheme, editor: User, raw: dict[str, Any]) -> Term:
    """Check a new term (code and fields, all errors at once), add it and audit it."""
    require_editor(editor)
    errors: dict[str, list[str]] = {}
    code = fields = None
    try:
        code = clean_code(raw.get("code"), scheme)
    except ValidationFailed as error:
        errors.update(error.errors)
    try:
        fields = clean_fields(raw)
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors or code is None or fields is None:
        raise ValidationFailed(errors)
    term = Term(scheme=scheme, code=code, parent_id=None, **asdict(fields))
    try:
        with db.session.begin_nested():  # a concurrent twin must not break the whole request
            db.session.add(term)
            db.session.flush()
    except IntegrityError:
        raise ValidationFailed({"code": [_code_taken_message(code)]}) from None
    audit.record(editor, "vocab.term_created", "term", term.id, scheme=scheme.value, code=code)
    return term


def _code_taken_message(code: str) -> str:
    return gettext("This vocabulary already has a term with the code %(code)s.", code=code)


def suggest_change(term: Term, user: User, raw: Any) -> int:
    """Send a curator's suggested change to every installation librarian and admin, and audit
    it; returns how many were told. Only they may change the rules, which hold everywhere."""
    if not can_suggest_vocabulary_change(user):
        raise Forbidden(gettext("You may not suggest changes to the vocabularies."))
    text = clean_text(str(raw or ""), field="text", errors=FieldErrors(), max_len=SUGGESTION_MAX)
    if not text:
        raise ValidationFailed({"text": [gettext("Write what should change, and why.")]})
    if len(text) > SUGGESTION_MAX:
        raise ValidationFailed(
            {"text": [gettext("At most %(limit)s characters.", limit=SUGGESTION_MAX)]}
        )
    audit.record(
        user, "vocab.change_suggested", "term", term.id, reason=text,
        scheme=term.scheme.value, code=term.code,
    )  # fmt: skip
    # One line in the notification list (app/events.py); the edit page shows the text as written.
    # actor_id: deleting the suggester's account pseudonymises these by id (app/me/deletion.py).
    params = {
        "name": user.display_name,
        "actor_id": user.id,
        "code": term.code,
        "scheme": term.scheme.value,
        "text": " ".join(text.split()),
    }
    editors = db.session.execute(
        select(User)
        .where(User.role.in_((UserRole.LIBRARIAN, UserRole.ADMIN)), User.is_enabled)
        .order_by(User.id)
    ).scalars()
    told = 0
    for editor in editors:
        if editor.id != user.id:
            notify(editor, "vocab_suggestion", **params)
            told += 1
    return told


def require_editor(user: User | None) -> None:
    """Refuse (Forbidden, with the reason and what to do instead) anyone but an editor."""
    if not can_edit_vocabulary(user):
        raise Forbidden(
            gettext(
                "Only installation librarians and admins may change the vocabularies: "
                "their rules hold in every project. You may suggest a change instead."
            )
        )
