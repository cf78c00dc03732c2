"""Typed SQLAlchemy 2 models, one module per aggregate; importing this registers them all."""

from app.models.projects import Membership, MembershipRole, Project
from app.models.traces import Revision, Trace, TraceStatus
from app.models.users import User, UserRole, UserSession
from app.models.vocab import Scheme, Term

__all__ = [
    "Membership",
    "MembershipRole",
    "Project",
    "Revision",
    "Scheme",
    "Term",
    "Trace",
    "TraceStatus",
    "User",
    "UserRole",
    "UserSession",
]
