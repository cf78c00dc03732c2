"""Comments on traces: who may post, who sees what, moderation with optimistic locking."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.comments.operations import CommentConflict, Decision, add_observation, moderate_comment
from app.comments.queries import pending_comments
from app.db import db
from app.models import (
    AuditEvent,
    Comment,
    CommentKind,
    CommentStatus,
    Membership,
    MembershipRole,
    Notification,
    Project,
    Trace,
    TraceStatus,
    User,
)
from tests.conftest import PASSWORD, csrf_from

Browser = tuple[FlaskClient, str]


@pytest.fixture
def browser(app: Flask, session: Session) -> Callable[[User | None], Browser]:
    """Factory: a separate client (English pages), logged in as the user if one is given."""

    def make(user: User | None = None) -> Browser:
        client = app.test_client()
        with client.session_transaction() as cookie_session:
            cookie_session["lang"] = "en"
        if user is not None:
            token = csrf_from(client.get("/login").get_data(as_text=True))
            response = client.post(
                "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
            )
            assert response.status_code == 302
        return client, csrf_from(client.get("/login").get_data(as_text=True))

    return make


@pytest.fixture
def make_curator(session: Session, make_user: Callable[..., User]) -> Callable[..., User]:
    """Factory: a user holding curation rights in a project (optionally only in an area)."""

    def make(project: Project, area: MultiPolygon | None = None) -> User:
        user = make_user()
        session.add(
            Membership(
                project_id=project.id,
                user_id=user.id,
                role=MembershipRole.CURATOR,
                area=from_shape(area, srid=4326) if area is not None else None,
            )
        )
        session.commit()
        return user

    return make


def post_comment(browser: Browser, trace: Trace, body: str) -> Any:
    client, token = browser
    return client.post(f"/traces/{trace.id}/comments", data={"body": body, "csrf_token": token})


def moderate(browser: Browser, comment: Comment | int, action: str, version: int) -> Any:
    client, token = browser
    comment_id = comment if isinstance(comment, int) else comment.id
    return client.post(
        f"/comments/{comment_id}/moderate",
        data={"action": action, "version": str(version), "csrf_token": token},
    )


def thread_html(browser: Browser, trace: Trace) -> str:
    """The comment section of the trace page as this browser sees it."""
    response = browser[0].get(f"/traces/{trace.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    match = re.search(r'<section class="comments".*?</section>', page, re.S)
    assert match, "no comment thread on the trace page"
    return match.group(0)


def comments_of(session: Session, trace: Trace) -> list[Comment]:
    session.expire_all()
    return list(
        session.execute(
            select(Comment).where(Comment.trace_id == trace.id).order_by(Comment.id)
        ).scalars()
    )


def audit_actions(session: Session, comment: Comment) -> list[str]:
    return list(
        session.execute(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "comment", AuditEvent.target_id == comment.id)
            .order_by(AuditEvent.id)
        ).scalars()
    )


def notifications_of(session: Session, user: User) -> list[Notification]:
    return list(
        session.execute(select(Notification).where(Notification.user_id == user.id)).scalars()
    )


@pytest.fixture
def scene(make_user, make_project, make_trace, make_curator) -> dict[str, Any]:
    """An approved trace by its author in a project with a curator; a resident and a neighbour."""
    project = make_project()
    author = make_user(name="Trace Author")
    trace = make_trace(author=author, project=project, title="Fangstgrop ved Storvatnet")
    return {
        "project": project,
        "author": author,
        "trace": trace,
        "curator": make_curator(project),
        "resident": make_user(name="Rita Resident"),
        "neighbour": make_user(name="Nils Neighbour"),
    }


# --- posting and seeing ----------------------------------------------------------------------


def test_resident_comment_waits_for_a_moderator(session: Session, browser, scene) -> None:
    trace, resident = scene["trace"], scene["resident"]
    me = browser(resident)
    response = post_comment(me, trace, "I remember **three** pits here.")
    assert response.status_code == 302
    [comment] = comments_of(session, trace)
    assert urlsplit(response.headers["Location"]).fragment == f"comment-{comment.id}"
    assert comment.status == CommentStatus.PENDING
    assert comment.kind == CommentKind.COMMENT
    assert comment.author_id == resident.id

    own_view = thread_html(me, trace)
    assert "<strong>three</strong>" in own_view
    assert "waiting for approval" in own_view
    assert 'value="approve"' not in own_view
    for other in (browser(None), browser(scene["neighbour"]), browser(scene["author"])):
        assert "three" not in thread_html(other, trace)

    curator = browser(scene["curator"])
    moderator_view = thread_html(curator, trace)
    assert "<strong>three</strong>" in moderator_view
    assert 'value="approve"' in moderator_view and 'value="reject"' in moderator_view
    assert resident.display_name in moderator_view

    response = moderate(curator, comment, "approve", comment.version)
    assert response.status_code == 302
    [comment] = comments_of(session, trace)
    assert comment.status == CommentStatus.APPROVED
    assert comment.moderated_by_id == scene["curator"].id
    assert comment.moderated_at is not None
    assert audit_actions(session, comment) == ["comment.approved"]
    event = session.execute(
        select(AuditEvent).where(AuditEvent.target_id == comment.id)
    ).scalar_one()
    assert event.project_id == scene["project"].id
    assert event.actor_id == scene["curator"].id

    anonymous_view = thread_html(browser(None), trace)
    assert "<strong>three</strong>" in anonymous_view
    assert "waiting for approval" not in anonymous_view
    # The resident did not agree to show their name publicly, and no e-mail ever shows.
    assert resident.display_name not in anonymous_view
    assert resident.email not in anonymous_view
    assert "A contributor" in anonymous_view

    [note] = notifications_of(session, scene["author"])
    assert note.kind == "comment_approved" and note.trace_id == trace.id
    assert notifications_of(session, resident) == []


def test_moderator_comment_is_approved_at_once(session: Session, browser, scene) -> None:
    trace = scene["trace"]
    response = post_comment(browser(scene["curator"]), trace, "The pits are from the Iron Age.")
    assert response.status_code == 302
    [comment] = comments_of(session, trace)
    assert comment.status == CommentStatus.APPROVED
    assert comment.moderated_by_id == scene["curator"].id
    assert "Iron Age" in thread_html(browser(None), trace)
    assert [n.kind for n in notifications_of(session, scene["author"])] == ["comment_approved"]


def test_authors_comment_on_own_trace_does_not_notify_them(
    session: Session, browser, scene
) -> None:
    author = scene["author"]
    session.add(
        Membership(project_id=scene["project"].id, user_id=author.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    assert post_comment(browser(author), scene["trace"], "Thanks!").status_code == 302
    [comment] = comments_of(session, scene["trace"])
    assert comment.status == CommentStatus.APPROVED
    assert notifications_of(session, author) == []


def test_rejection_hides_the_comment_and_tells_its_author(session: Session, browser, scene) -> None:
    trace, resident = scene["trace"], scene["resident"]
    post_comment(browser(resident), trace, "Buy cheap watches")
    [comment] = comments_of(session, trace)
    response = moderate(browser(scene["curator"]), comment, "reject", comment.version)
    assert response.status_code == 302
    [comment] = comments_of(session, trace)
    assert comment.status == CommentStatus.REJECTED
    assert audit_actions(session, comment) == ["comment.rejected"]
    assert [n.kind for n in notifications_of(session, resident)] == ["comment_rejected"]
    assert notifications_of(session, scene["author"]) == []
    assert "watches" not in thread_html(browser(resident), trace)
    assert "watches" not in thread_html(browser(None), trace)


def test_stale_version_gets_409_and_changes_nothing(session: Session, browser, scene) -> None:
    trace = scene["trace"]
    post_comment(browser(scene["resident"]), trace, "A question")
    [comment] = comments_of(session, trace)
    seen_version = comment.version
    first, second = browser(scene["curator"]), browser(scene["curator"])
    assert moderate(first, comment, "reject", seen_version).status_code == 302
    response = moderate(second, comment, "approve", seen_version)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Someone else has changed this comment" in page
    assert f"/traces/{trace.id}#comments" in page
    [comment] = comments_of(session, trace)
    assert comment.status == CommentStatus.REJECTED
    assert comment.version == seen_version + 1
    assert audit_actions(session, comment) == ["comment.rejected"]


def test_lost_race_is_a_conflict_and_leaves_the_session_usable(
    session: Session, app: Flask, browser, scene
) -> None:
    trace = scene["trace"]
    post_comment(browser(scene["resident"]), trace, "Race")
    [comment] = comments_of(session, trace)
    session.commit()  # both sessions share one connection: end this one's savepoint first
    with app.test_request_context():
        loaded = db.session.get(Comment, comment.id)
        moderator = db.session.get(User, scene["curator"].id)
        loaded_trace = db.session.get(Trace, trace.id)
        assert loaded is not None and moderator is not None and loaded_trace is not None
        # Another moderator's decision is saved between loading the comment and saving ours.
        session.execute(
            update(Comment)
            .where(Comment.id == comment.id)
            .values(status=CommentStatus.REJECTED, version=Comment.version + 1)
        )
        session.commit()
        with pytest.raises(CommentConflict):
            moderate_comment(loaded, loaded_trace, moderator, Decision.APPROVE, comment.version)
        assert db.session.execute(select(func.count()).select_from(Comment)).scalar_one() == 1
        assert db.session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 0
        status = select(Comment.status).where(Comment.id == comment.id)
        assert db.session.execute(status).scalar_one() == CommentStatus.REJECTED
    db.session.remove()


def test_repeating_a_decision_changes_nothing_and_says_so(session: Session, browser, scene) -> None:
    trace = scene["trace"]
    post_comment(browser(scene["resident"]), trace, "A question")
    [comment] = comments_of(session, trace)
    version = comment.version
    curator = browser(scene["curator"])
    assert moderate(curator, comment, "approve", version).status_code == 302
    curator[0].get("/")  # consume the first flash message
    response = moderate(curator, comment, "approve", version)
    assert response.status_code == 302
    page = curator[0].get(response.headers["Location"]).get_data(as_text=True)
    assert "already approved; nothing changed" in page
    [comment] = comments_of(session, trace)
    assert comment.status == CommentStatus.APPROVED
    assert comment.version == version + 1
    assert audit_actions(session, comment) == ["comment.approved"]
    assert len(notifications_of(session, scene["author"])) == 1


# --- scope ----------------------------------------------------------------------------------


def test_curators_see_and_decide_only_within_their_scope(
    session: Session, browser, scene, make_project, make_trace, make_curator
) -> None:
    trace = scene["trace"]
    post_comment(browser(scene["resident"]), trace, "Pending here")
    [comment] = comments_of(session, trace)
    other_project = make_project()
    outsider = make_curator(other_project)
    far_away = MultiPolygon([Polygon([(5, 60), (5.1, 60), (5.1, 60.1), (5, 60.1)])])
    area_curator = make_curator(scene["project"], area=far_away)
    other_trace = make_trace(project=other_project, title="Elsewhere")
    post_comment(browser(scene["resident"]), other_trace, "Pending elsewhere")
    [other_comment] = comments_of(session, other_trace)

    assert [c.id for c in pending_comments(scene["curator"])] == [comment.id]
    assert [c.id for c in pending_comments(outsider)] == [other_comment.id]
    assert pending_comments(area_curator) == []
    assert pending_comments(scene["resident"]) == []
    assert pending_comments(scene["curator"], project_id=other_project.id) == []
    assert [c.id for c in pending_comments(scene["curator"], project_id=scene["project"].id)] == [
        comment.id
    ]
    db.session.remove()

    for who in (outsider, area_curator, scene["resident"], scene["author"]):
        response = moderate(browser(who), comment, "approve", comment.version)
        assert response.status_code == 403, who
    assert "Approve" not in thread_html(browser(outsider), trace)
    [after] = comments_of(session, trace)
    assert after.status == CommentStatus.PENDING
    assert after.version == comment.version
    assert after.moderated_by_id is None
    assert audit_actions(session, after) == []


def test_moderating_a_comment_on_a_hidden_trace_is_not_found(
    session: Session, browser, scene, make_trace, make_user
) -> None:
    hidden = make_trace(status=TraceStatus.PENDING, project=scene["project"])
    post_comment(browser(scene["curator"]), hidden, "Note for the author")
    [comment] = comments_of(session, hidden)
    assert moderate(browser(make_user()), comment, "reject", comment.version).status_code == 404
    assert moderate(browser(scene["resident"]), 999_999, "reject", 1).status_code == 404


# --- who may post -----------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(session: Session, browser, scene) -> None:
    response = post_comment(browser(None), scene["trace"], "Hello")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"
    assert comments_of(session, scene["trace"]) == []
    assert "Log in to write a comment" in thread_html(browser(None), scene["trace"])


def test_resident_cannot_comment_on_a_trace_they_cannot_see(
    session: Session, browser, scene, make_trace
) -> None:
    pending = make_trace(status=TraceStatus.PENDING, author=scene["author"])
    response = post_comment(browser(scene["resident"]), pending, "Let me in")
    assert response.status_code == 404
    assert "Fangstgrop" not in response.get_data(as_text=True)
    assert comments_of(session, pending) == []
    # The author may talk about their own pending trace with the librarians.
    assert post_comment(browser(scene["author"]), pending, "More details").status_code == 302
    assert len(comments_of(session, pending)) == 1


def test_missing_trace_is_404(browser, scene) -> None:
    client, token = browser(scene["resident"])
    response = client.post("/traces/999999/comments", data={"body": "x", "csrf_token": token})
    assert response.status_code == 404


def test_post_without_csrf_token_is_refused(session: Session, browser, scene) -> None:
    client, _token = browser(scene["resident"])
    response = client.post(f"/traces/{scene['trace'].id}/comments", data={"body": "Hi"})
    assert response.status_code == 400
    assert comments_of(session, scene["trace"]) == []


@pytest.mark.parametrize("body", ["", "   \n ", "x" * 5001])
def test_bad_comment_is_shown_again_with_422(session: Session, browser, scene, body) -> None:
    response = post_comment(browser(scene["resident"]), scene["trace"], body)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="body-error"' in page
    if body.strip():
        assert body in page  # the writer's text is kept
    assert comments_of(session, scene["trace"]) == []


def test_comment_of_5000_characters_is_accepted(session: Session, browser, scene) -> None:
    assert post_comment(browser(scene["resident"]), scene["trace"], "y" * 5000).status_code == 302
    assert len(comments_of(session, scene["trace"])[0].body) == 5000


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![pixel](https://evil.example/track.png)",
    '<svg onload="alert(1)"><script>alert(2)</script></svg>',
    "[rel](//evil.example/x)",
    '<a href="javascript:alert(1)">x</a>',
]


def test_markdown_in_comments_is_sanitised(session: Session, browser, scene) -> None:
    body = "\n\n".join(XSS) + "\n\n[fine](https://example.org/ok)"
    assert post_comment(browser(scene["curator"]), scene["trace"], body).status_code == 302
    html = thread_html(browser(None), scene["trace"])
    assert "<script" not in html
    assert "<img" not in html and "<svg" not in html
    bodies = "".join(re.findall(r'<div class="markdown comment-body"[^>]*>.*?</div>', html, re.S))
    hrefs = re.findall(r'<a\s[^>]*href="([^"]*)"', bodies)
    assert all(href.startswith("https://") for href in hrefs), hrefs
    assert re.search(r"<[^>]+\son\w+=", html) is None
    assert 'href="https://example.org/ok"' in html


# --- deleting and observations ---------------------------------------------------------------


def test_author_deletes_own_comment_others_may_not(session: Session, browser, scene) -> None:
    trace = scene["trace"]
    post_comment(browser(scene["curator"]), trace, "Published remark")
    [comment] = comments_of(session, trace)
    client, token = browser(scene["resident"])
    response = client.post(f"/comments/{comment.id}/delete", data={"csrf_token": token})
    assert response.status_code == 403
    assert comments_of(session, trace)[0].status == CommentStatus.APPROVED

    client, token = browser(scene["curator"])
    assert "Delete my comment" in thread_html((client, token), trace)
    response = client.post(f"/comments/{comment.id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert comments_of(session, trace)[0].status == CommentStatus.DELETED
    assert "Published remark" not in thread_html(browser(None), trace)
    assert "Published remark" not in thread_html((client, token), trace)


def test_observation_from_a_duplicate_is_shown_labelled(
    session: Session, app: Flask, browser, scene, make_user
) -> None:
    reporter = make_user(name="Duplicate Reporter")
    with app.test_request_context():
        add_observation(
            db.session.get(Trace, scene["trace"].id),
            db.session.get(User, reporter.id),
            "Saw _two_ pits in 1998.",
            db.session.get(User, scene["curator"].id),
        )
        db.session.commit()
    db.session.remove()
    [comment] = comments_of(session, scene["trace"])
    assert comment.kind == CommentKind.OBSERVATION
    assert comment.status == CommentStatus.APPROVED
    assert comment.moderated_by_id == scene["curator"].id
    html = thread_html(browser(None), scene["trace"])
    assert "Observation from a duplicate report" in html
    assert "<em>two</em>" in html
    count = session.execute(select(func.count()).select_from(Comment)).scalar_one()
    assert count == 1


def test_posting_is_rate_limited_per_account(session: Session, browser, scene) -> None:
    me = browser(scene["resident"])
    statuses = [post_comment(me, scene["trace"], f"Comment {n}").status_code for n in range(11)]
    assert statuses[:10] == [302] * 10
    assert statuses[10] == 429
    assert len(comments_of(session, scene["trace"])) == 10
    # Another account is not slowed down by the first one's limit.
    assert post_comment(browser(scene["neighbour"]), scene["trace"], "Mine").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/moderation/?project=1", "/moderation/"), ("https://evil.example/", None), ("//evil", None)],
)
def test_moderation_returns_to_same_site_next_only(
    session: Session, browser, scene, next_url: str, expected: str | None
) -> None:
    trace = scene["trace"]
    post_comment(browser(scene["resident"]), trace, "Where to?")
    [comment] = comments_of(session, trace)
    client, token = browser(scene["curator"])
    data = {"action": "approve", "version": str(comment.version), "next": next_url}
    response = client.post(f"/comments/{comment.id}/moderate", data={**data, "csrf_token": token})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert not location.netloc or location.netloc == "localhost"
    assert location.path == (expected or f"/traces/{trace.id}")
