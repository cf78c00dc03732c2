"""Who receives published data, and so how precisely protected sites are shown to them.

The web download and the OGC API decide it the same way: a partner token (Authorization:
Bearer) sees its projects' protected sites precisely, a logged-in user those they may moderate
or wrote (app.access.precise_allowed), everyone else the generalised location.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Response, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import ColumnElement

from app.access import precise_allowed, viewer_of
from app.errors import DomainError, domain_problem
from app.models import PartnerToken, User
from app.publication.tokens import token_from_request


class InvalidToken(DomainError):
    """A bearer token that is unknown or revoked: refuse rather than answer as to the public."""

    status = 401
    code = "invalid_token"
    title = _l("Invalid partner token")


@dataclass(frozen=True)
class Receiver:
    """Who is asking: a logged-in user, a partner token, both or neither."""

    viewer: User | None
    token: PartnerToken | None
    precise: ColumnElement[bool]

    @property
    def personal(self) -> bool:
        """Whether the answer is this receiver's own (never for shared caches)."""
        return self.viewer is not None or self.token is not None


def receiver_from_request() -> Receiver:
    """The receiver of this request; InvalidToken for a bearer token that does not work."""
    token = token_from_request()
    if token is None and request.headers.get("Authorization", "").lower().startswith("bearer"):
        raise InvalidToken(gettext("The partner token is not valid or has been revoked."))
    viewer = viewer_of(current_user)
    projects = list(token.project_ids or []) if token is not None else None
    return Receiver(viewer, token, precise_allowed(viewer, projects))


def invalid_token_response(error: InvalidToken) -> tuple[Response, int]:
    """Problem details with the WWW-Authenticate challenge RFC 6750 asks for."""
    response, status = domain_problem(error)
    response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response, status
