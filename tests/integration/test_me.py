"""My traces: the contributor's own traces with moderators' messages, and notifications."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Notification, Trace, TraceStatus, User


@pytest.fixture
def resident(client: FlaskClient, make_user, login) -> tuple[User, str]:
    """A logged-in resident with English pages, and their CSRF token."""
    user = make_user(name="Kari")
    token = login(user)
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return user, token


def page_of(client: FlaskClient) -> str:
    response = client.get("/me/traces")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(page: str, css_class: str) -> str:
    match = re.search(rf'<section class="{css_class}".*?</section>', page, re.S)
    assert match, f"no {css_class} section"
    return match.group(0)


def notify(session: Session, user: User, message: str, trace: Trace | None = None) -> Notification:
    note = Notification(
        user_id=user.id, trace_id=trace.id if trace else None, kind="test", message=message
    )
    session.add(note)
    session.commit()
    return note


def unread_ids(session: Session, user: User) -> list[int]:
    session.expire_all()
    return list(
        session.execute(
            select(Notification.id)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
            .order_by(Notification.id)
        ).scalars()
    )


def test_anonymous_is_sent_to_login(client: FlaskClient) -> None:
    response = client.get("/me/traces")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/login"


def test_empty_page_is_friendly(client: FlaskClient, resident) -> None:
    page = page_of(client)
    assert "You have not added any traces yet." in page
    assert 'href="/traces/new"' in section(page, "me-traces")
    assert "No notifications yet." in page
    assert "Mark all as read" not in page


def test_lists_own_traces_newest_first_with_moderators_message(
    client: FlaskClient, resident, make_trace, make_user, session: Session
) -> None:
    user, _token = resident
    make_trace(author=user, title="Oldest approved", status=TraceStatus.APPROVED)
    make_trace(
        author=user,
        title="Needs work",
        status=TraceStatus.NEEDS_CHANGES,
        decision_note="Please add a photo & the <b>period</b>.",
    )
    make_trace(
        author=user,
        title="Refused one",
        status=TraceStatus.REJECTED,
        decision_note="This is a modern fire pit.",
    )
    make_trace(author=user, title="Still waiting", status=TraceStatus.PENDING)
    make_trace(author=user, title="Gone for good", status=TraceStatus.DELETED)
    make_trace(author=make_user(), title="Somebody else's")

    mine = section(page_of(client), "me-traces")
    titles = re.findall(
        r'class="my-trace-title" href="/traces/\d+">(?:<bdi>)?([^<]*)(?:</bdi>)?</a>', mine
    )
    assert titles == ["Still waiting", "Refused one", "Needs work", "Oldest approved"]
    assert "Please add a photo &amp; the &lt;b&gt;period&lt;/b&gt;." in mine
    assert "This is a modern fire pit." in mine
    for label in ("Waiting for approval", "Needs changes", "Rejected", "Approved"):
        assert label in mine
    assert "Project " in mine  # each trace names its project


def test_decision_note_is_not_shown_for_approved_traces(
    client: FlaskClient, resident, make_trace
) -> None:
    user, _token = resident
    make_trace(author=user, title="Fine", decision_note="Old note from an earlier round")
    assert "Old note from an earlier round" not in page_of(client)


def test_notifications_newest_first_unread_highlighted_and_get_marks_nothing(
    client: FlaskClient, resident, make_trace, make_user, session: Session
) -> None:
    user, _token = resident
    trace = make_trace(author=user, title="My pit")
    first = notify(session, user, "Your trace was approved.", trace)
    second = notify(session, user, "There is a new comment on your trace.", trace)
    second_read = notify(session, user, "An old, read message.")
    second_read.read_at = second_read.created_at
    session.commit()
    notify(session, make_user(), "Somebody else's news")

    notes = section(page_of(client), "me-notifications")
    messages = re.findall(r'<span class="notification-message">([^<]*)</span>', notes)
    assert messages == [
        "An old, read message.",
        "There is a new comment on your trace.",
        "Your trace was approved.",
    ]
    assert notes.count("notification-unread") == 2
    assert f'href="/traces/{trace.id}"' in notes
    assert "Mark all as read" in notes
    assert "Somebody else" not in notes
    page_of(client)
    assert unread_ids(session, user) == [first.id, second.id]


def test_mark_read_post_marks_only_what_was_shown(
    client: FlaskClient, resident, make_user, session: Session
) -> None:
    user, token = resident
    notify(session, user, "One")
    shown = notify(session, user, "Two")
    page_of(client)
    later = notify(session, user, "Arrived after the page was shown")
    other_user = make_user()
    other = notify(session, other_user, "Not yours")

    response = client.post(
        "/me/notifications/read", data={"csrf_token": token, "up_to": str(shown.id)}
    )
    assert response.status_code == 302
    assert unread_ids(session, user) == [later.id]
    assert unread_ids(session, other_user) == [other.id]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Notifications marked as read." in page

    response = client.post("/me/notifications/read", data={"csrf_token": token})
    assert response.status_code == 302
    assert unread_ids(session, user) == []
    client.get("/me/traces")  # shows the flash message of the second request

    response = client.post("/me/notifications/read", data={"csrf_token": token})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "There were no unread notifications." in page


def test_mark_read_needs_csrf_and_post(client: FlaskClient, resident, session: Session) -> None:
    user, _token = resident
    note = notify(session, user, "Keep me unread")
    assert client.post("/me/notifications/read", data={}).status_code == 400
    assert client.get("/me/notifications/read").status_code == 405
    assert unread_ids(session, user) == [note.id]


def test_vocabulary_link_only_for_editors(client: FlaskClient, resident) -> None:
    assert "/vocab/" not in page_of(client)
