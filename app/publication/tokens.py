"""Partner institutions' API tokens: who may make them, creating, revoking, recognising them.

A token reads its projects' protected sites precisely, so making one hands out that right: only
an admin, or a librarian of every project the token covers, may make or revoke it. A token
for every project (an empty list, which also covers projects started later) is for admins only.
An installation librarian without a membership in a project has no say over its sites.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from flask import request
from flask_babel import gettext
from sqlalchemy import ColumnElement, and_, exists, func, select, true, update

from app import audit
from app.access import is_admin
from app.db import db, write_aside
from app.errors import Forbidden
from app.models import Membership, MembershipRole, PartnerToken, Project, User
from app.validation import FieldErrors, clean_line


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _led_by(user: User) -> ColumnElement[bool]:
    """SQL condition: the user is a live librarian of the project in Project.id."""
    return exists().where(
        Membership.user_id == user.id,
        Membership.revoked_at.is_(None),
        Membership.project_id == Project.id,
        Membership.role == MembershipRole.LIBRARIAN,
    )


def coverable_projects(user: User | None) -> list[Project]:
    """The projects a token made by this user may cover, by name: all for admins."""
    if user is None:
        return []
    query = select(Project).order_by(Project.name, Project.id)
    if not is_admin(user):
        query = query.where(_led_by(user))
    return list(db.session.execute(query).scalars())


def may_cover(user: User | None, project_ids: list[int]) -> bool:
    """Whether the user may make or revoke a token for these projects (empty: every project)."""
    if user is None:
        return False
    if is_admin(user):
        return True
    wanted = set(project_ids)
    if not wanted:
        return False  # every project, also those started later: admins only
    led = set(
        db.session.execute(
            select(Project.id).where(Project.id.in_(wanted), _led_by(user))
        ).scalars()
    )
    return led == wanted


def manageable_tokens(user: User) -> ColumnElement[bool]:
    """SQL condition: the tokens this user could make or revoke (the list shows only these)."""
    if is_admin(user):
        return true()
    led = select(Project.id).where(_led_by(user)).scalar_subquery()
    return and_(
        func.cardinality(PartnerToken.project_ids) > 0,
        PartnerToken.project_ids.contained_by(func.array(led)),
    )


def create_token(creator: User, name: str, project_ids: list[int]) -> tuple[PartnerToken, str]:
    """A new token for an institution; the plain token is returned once and never stored."""
    if not may_cover(creator, project_ids):
        raise Forbidden(
            gettext("Only administrators and librarians of every chosen project may do this.")
        )
    errors = FieldErrors()
    name = clean_line(name, field="name", errors=errors, required=True, max_len=160)
    errors.raise_if_any()
    plain = "hp_" + secrets.token_urlsafe(32)
    token = PartnerToken(
        name=name, token_hash=_digest(plain), project_ids=sorted(set(project_ids)),
        created_by_id=creator.id,
    )  # fmt: skip
    db.session.add(token)
    db.session.flush()
    audit.record(creator, "partner_token.created", "partner_token", token.id,
                 projects=token.project_ids)  # fmt: skip
    return token, plain


def revoke_token(actor: User, token: PartnerToken) -> None:
    """Stop a token working from the next request on."""
    if not may_cover(actor, token.project_ids):
        raise Forbidden(
            gettext("Only administrators and librarians of every chosen project may do this.")
        )
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        audit.record(actor, "partner_token.revoked", "partner_token", token.id)


def token_from_request() -> PartnerToken | None:
    """The live partner token in the Authorization header (Bearer), or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    token = db.session.execute(
        select(PartnerToken).where(
            PartnerToken.token_hash == _digest(value.strip()), PartnerToken.revoked_at.is_(None)
        )
    ).scalar_one_or_none()
    if token is not None:
        # A side record of a read: on its own connection, so the request's session stays clean.
        write_aside(
            update(PartnerToken)
            .where(PartnerToken.id == token.id)
            .values(last_used_at=datetime.now(UTC))
        )
    return token
