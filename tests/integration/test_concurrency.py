"""Two moderators deciding on one trace at the same moment: exactly one wins (docs/security.md 31).

This needs real, committed transactions on two connections, so it does not use the rolled-back
`session` fixture; it cleans up after itself.
"""

from __future__ import annotations

import threading

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select, text

from app.auth.passwords import hash_password
from app.db import db
from app.errors import Conflict
from app.models import Membership, MembershipRole, Project, Revision, Trace, TraceStatus, User
from app.moderation.operations import decide
from app.moderation.states import Action

DATA_TABLES = (
    "audit_events, notifications, comments, revisions, traces, memberships, user_sessions, "
    "projects, users, mail_outbox"
)


def _setup(app) -> tuple[int, int, int]:
    with app.app_context():
        project = Project(slug="samtidig", name="Samtidig", library_name="Bibliotek")
        db.session.add(project)
        people = [
            User(email=f"m{i}@example.org", email_normalized=f"m{i}@example.org",
                 display_name=f"Moderator {i}", password_hash=hash_password("x" * 12))
            for i in (1, 2)
        ]  # fmt: skip
        author = User(email="a@example.org", email_normalized="a@example.org",
                      display_name="Author", password_hash=hash_password("x" * 12))  # fmt: skip
        db.session.add_all([*people, author])
        db.session.flush()
        for person in people:
            db.session.add(Membership(project_id=project.id, user_id=person.id,
                                      role=MembershipRole.LIBRARIAN))  # fmt: skip
        trace = Trace(project_id=project.id, author_id=author.id, title="Omstridt tuft",
                      geom=from_shape(Point(23.27, 69.97), srid=4326),
                      status=TraceStatus.PENDING, licence="CC-BY-4.0")  # fmt: skip
        db.session.add(trace)
        db.session.commit()
        ids = (trace.id, people[0].id, people[1].id)
        db.session.remove()
    return ids


def test_two_moderators_at_once_exactly_one_wins(app):
    trace_id, first, second = _setup(app)
    barrier = threading.Barrier(2, timeout=10)
    results: dict[str, str] = {}

    def moderate(name: str, user_id: int, action: Action, reason: str) -> None:
        with app.test_request_context():
            try:
                user = db.session.get(User, user_id)
                trace = db.session.get(Trace, trace_id)
                barrier.wait()  # both have read version 1 before either writes
                decide(user, trace, action, 1, reason)
                db.session.commit()
                results[name] = "won"
            except Conflict:
                db.session.rollback()
                results[name] = "conflict"
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=moderate, args=("approve", first, Action.APPROVE, "")),
        threading.Thread(target=moderate, args=("reject", second, Action.REJECT, "Feil sted")),
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert sorted(results.values()) == ["conflict", "won"], results
        with app.app_context():
            trace = db.session.get(Trace, trace_id)
            winner = "approve" if trace.status == TraceStatus.APPROVED else "reject"
            assert results[winner] == "won"
            assert trace.version == 2
            revisions = db.session.execute(
                select(func.count()).select_from(Revision).where(Revision.trace_id == trace_id)
            ).scalar_one()
            assert revisions == 1  # the loser left nothing behind
            db.session.remove()
    finally:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))
