"""No decision is lost to mail: messages with line breaks, a failing mail server, bulk decisions.

Mail is queued in the request's transaction (mail_outbox) and sent after the commit, so a
moderator's two-line message never reaches a mail header and a mail server that is down never
undoes a decision; the message waits in the outbox and `flask mail send-pending` sends it.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.mail import compose, one_line, send_mail
from app.models import (
    Membership,
    MembershipRole,
    Notification,
    OutboxMail,
    Trace,
    TraceStatus,
    User,
    UserRole,
)

TWO_LINES = "Bildet mangler.\nLegg til et bilde av gropa, takk."
BREAKS = ["\r", "\n", "\r\n", "\x00", "\x0b", "\x0c", "\x1b", "\x85", "\u2028", "\u2029", "\t"]


def is_one_line(text: str) -> bool:
    """No control character and no line or paragraph separator."""
    return not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


# --- a tiny SMTP server in this process --------------------------------------------------


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greeting, EHLO, MAIL, RCPT, DATA, QUIT."""

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 stub ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250 stub")
            elif verb == b"DATA":
                self.reply("354 go ahead")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.received.append(  # type: ignore[attr-defined]
                    BytesParser(policy=default_policy).parsebytes(bytes(data))
                )
                self.reply("250 queued")
            elif verb == b"QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SMTPHandler)
        self.received: list[EmailMessage] = []


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Mail goes to 127.0.0.1; `down()` points it at a closed port, `up()` at a live stub."""
    server = _SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with socket.socket() as probe:  # a port nobody listens on: connections are refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
    monkeypatch.setitem(app.config, "SMTP_USER", "")
    monkeypatch.setitem(app.config, "SMTP_PORT", server.server_address[1])
    control = {
        "received": server.received,
        "down": lambda: app.config.update(SMTP_PORT=closed_port),
        "up": lambda: app.config.update(SMTP_PORT=server.server_address[1]),
    }
    yield control
    server.shutdown()
    server.server_close()


# --- the people and their traces ---------------------------------------------------------


@pytest.fixture
def world(session: Session, make_user, make_project, make_trace) -> dict[str, Any]:
    """A project with a librarian (who may also delete) and a resident who wants e-mail."""
    project = make_project()
    librarian = make_user(UserRole.RESIDENT, name="Lina Librarian")
    author = make_user(name="Rita Resident")
    assert author.notify_by_email  # the default: mail is on
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()

    def entry(title: str = "Fangstgrop ved elva") -> Trace:
        return make_trace(status=TraceStatus.PENDING, author=author, project=project, title=title)

    return {"project": project, "librarian": librarian, "author": author, "entry": entry}


def decide(client, token: str, trace: Trace, action: str, reason: str) -> Any:
    return client.post(
        f"/moderation/decision/{trace.id}",
        data={"csrf_token": token, "action": action, "version": trace.version,
              "reason": reason, "next": "/"},
    )  # fmt: skip


def outbox_rows(session: Session, to: str) -> list[OutboxMail]:
    session.expire_all()
    return list(
        session.execute(
            select(OutboxMail).where(OutboxMail.to_address == to).order_by(OutboxMail.id)
        ).scalars()
    )


def notifications_of(session: Session, user: User) -> list[Notification]:
    return list(
        session.execute(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        ).scalars()
    )


EXPECTED = {
    "request_changes": TraceStatus.NEEDS_CHANGES,
    "reject": TraceStatus.REJECTED,
    "delete": TraceStatus.DELETED,
}


# --- the tests ---------------------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_two_line_message_keeps_the_decision_and_mails_one_line_subject(
    client, login, session: Session, world, logged_mail, action: str
) -> None:
    token = login(world["librarian"])
    trace = world["entry"]()
    response = decide(client, token, trace, action, TWO_LINES)
    assert response.status_code == 302, response.get_data(as_text=True)[:400]

    session.expire_all()
    assert session.get(Trace, trace.id).status == EXPECTED[action]
    (note,) = notifications_of(session, world["author"])
    assert note.params["message"] == TWO_LINES  # kept whole, as typed, for the page
    (row,) = outbox_rows(session, world["author"].email)
    assert is_one_line(row.subject) and row.subject.startswith("Kulturspor: ")
    assert "Fangstgrop ved elva" in row.subject
    assert "Bildet mangler" not in row.subject  # the moderator's text never reaches a header
    assert TWO_LINES in row.body and f"/traces/{trace.id}" in row.body
    assert row.sent_at is not None and row.attempts == 1  # sent after the commit
    (mail,) = logged_mail
    assert mail["Subject"] == row.subject and mail["To"] == world["author"].email


def test_failing_mail_server_never_undoes_a_decision_and_the_mail_is_retried(
    app: Flask, client, login, session: Session, world, smtp
) -> None:
    token = login(world["librarian"])
    trace = world["entry"]()
    smtp["down"]()
    response = decide(client, token, trace, "reject", TWO_LINES)
    assert response.status_code == 302

    session.expire_all()
    assert session.get(Trace, trace.id).status == TraceStatus.REJECTED
    assert len(notifications_of(session, world["author"])) == 1  # the in-app news stands
    (row,) = outbox_rows(session, world["author"].email)
    assert row.sent_at is None and row.attempts == 1
    assert "Refused" in row.last_error or "Errno" in row.last_error
    assert row.next_attempt_at > datetime.now(UTC)  # backs off before the next try
    assert smtp["received"] == []

    # Not due yet: cron changes nothing.
    runner = app.test_cli_runner()
    smtp["up"]()
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "Sent 0" in result.output and smtp["received"] == []

    session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == row.id)
        .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    session.commit()
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "Sent 1" in result.output
    (mail,) = smtp["received"]
    assert mail["Subject"] == row.subject and "Bildet mangler." in mail.get_content()
    (row,) = outbox_rows(session, world["author"].email)
    assert row.sent_at is not None and row.attempts == 2 and row.last_error == ""

    # Sent once: running again sends nothing twice.
    assert "Sent 0" in runner.invoke(args=["mail", "send-pending"]).output
    assert len(smtp["received"]) == 1


def test_bulk_decision_commits_with_the_mail_server_down(
    client, login, session: Session, world, smtp
) -> None:
    token = login(world["librarian"])
    traces = [world["entry"](f"Tuft {n}") for n in range(25)]
    smtp["down"]()
    response = client.post(
        f"/moderation/{world['project'].slug}/bulk",
        data={"csrf_token": token, "action": "reject", "reason": TWO_LINES,
              "selection": [f"{t.id}:{t.version}" for t in traces]},
    )  # fmt: skip
    assert response.status_code == 302
    session.expire_all()
    statuses = session.execute(
        select(Trace.status, func.count())
        .where(Trace.id.in_([t.id for t in traces]))
        .group_by(Trace.status)
    ).all()
    assert statuses == [(TraceStatus.REJECTED, len(traces))]
    assert len(notifications_of(session, world["author"])) == len(traces)
    rows = outbox_rows(session, world["author"].email)
    assert len(rows) == len(traces) and all(is_one_line(r.subject) for r in rows)
    # One failed try ends the round: a server that is down is not asked 25 times.
    assert sorted(r.attempts for r in rows) == [0] * (len(traces) - 1) + [1]
    assert all(r.sent_at is None for r in rows)


def test_a_rolled_back_request_sends_no_mail(
    client, login, session: Session, world, logged_mail
) -> None:
    """A decision refused after its checks (stale version) leaves no mail behind."""
    token = login(world["librarian"])
    trace = world["entry"]()
    response = client.post(
        f"/moderation/decision/{trace.id}",
        data={"csrf_token": token, "action": "reject", "version": trace.version + 5,
              "reason": TWO_LINES, "next": "/"},
    )  # fmt: skip
    assert response.status_code == 409
    assert outbox_rows(session, world["author"].email) == []
    assert logged_mail == []


messages = st.lists(
    st.one_of(st.sampled_from(BREAKS), st.text(min_size=1, max_size=12)), min_size=1, max_size=8
).map("".join)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(message=messages, action=st.sampled_from(sorted(EXPECTED)))
def test_any_message_gives_no_500_and_a_one_line_subject(
    client, login, session: Session, world, logged_mail, message: str, action: str
) -> None:
    token = world.get("token") or login(world["librarian"])
    world["token"] = token
    trace = world["entry"]()
    response = decide(client, token, trace, action, message)
    assert response.status_code < 500, response.get_data(as_text=True)[:400]
    session.expire_all()
    stored = session.get(Trace, trace.id).status
    if response.status_code == 302 and stored == EXPECTED[action]:
        rows = [r for r in outbox_rows(session, world["author"].email) if r.sent_at is not None]
        assert rows and all(is_one_line(r.subject) for r in rows)
    else:  # refused: nothing half-stored
        assert stored == TraceStatus.PENDING
    assert all(is_one_line(m["Subject"]) for m in logged_mail)


@settings(max_examples=40, deadline=None)
@given(subject=st.text(max_size=300), body=st.text(max_size=200))
def test_headers_are_one_line_whatever_is_queued(app: Flask, subject: str, body: str) -> None:
    """Defence in depth: send_mail and compose never let a control character into a header."""
    with app.test_request_context():
        row = send_mail("kari@example.no", subject, body, user_id=None)
        message = compose(row)
    assert is_one_line(row.subject) and len(row.subject) <= 200
    assert is_one_line(message["Subject"]) and "\x00" not in row.body
    assert is_one_line(one_line(subject, 20)) and len(one_line(subject, 20)) <= 20
