"""Typed SQLAlchemy 2 models, one module per aggregate; importing this registers them all."""

from app.models.audit import AuditEvent
from app.models.comments import Comment, CommentKind, CommentStatus
from app.models.exports import ExportLog, PartnerToken
from app.models.maps import MapCell
from app.models.notifications import Notification
from app.models.outbox import OutboxMail
from app.models.photos import MediaGarbage, Photo, PhotoStatus
from app.models.places import Place
from app.models.projects import Membership, MembershipRole, Project
from app.models.removals import PublicationRemoval
from app.models.traces import Revision, Trace, TraceStatus
from app.models.users import PasswordResetToken, User, UserRole, UserSession
from app.models.vocab import Scheme, Term

__all__ = [
    "AuditEvent",
    "Comment",
    "CommentKind",
    "CommentStatus",
    "ExportLog",
    "PartnerToken",
    "MapCell",
    "MediaGarbage",
    "Photo",
    "PhotoStatus",
    "Notification",
    "OutboxMail",
    "Place",
    "PublicationRemoval",
    "PasswordResetToken",
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
