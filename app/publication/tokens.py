"""Partner institutions' API tokens: creating, revoking, and recognising them on a request."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime

from flask import request
from sqlalchemy import select, update

from app import audit
from app.db import db, write_aside
from app.models import PartnerToken, User


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(creator: User, name: str, project_ids: list[int]) -> tuple[PartnerToken, str]:
    """A new token for an institution; the plain token is returned once and never stored."""
    plain = "hp_" + secrets.token_urlsafe(32)
    token = PartnerToken(
        name=name.strip()[:160], token_hash=_digest(plain), project_ids=sorted(set(project_ids)),
        created_by_id=creator.id,
    )  # fmt: skip
    db.session.add(token)
    db.session.flush()
    audit.record(creator, "partner_token.created", "partner_token", token.id,
                 projects=token.project_ids)  # fmt: skip
    return token, plain


def revoke_token(actor: User, token: PartnerToken) -> None:
    """Stop a token working from the next request on."""
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
