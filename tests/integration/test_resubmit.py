"""Changes asked, changes made (issue 10, item 4): the author's save of a trace the moderators
asked to change sends it back to the queue, and the queue shows what changed since."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask, render_template
from flask import session as flask_session
from flask.testing import FlaskClient
from geoalchemy2.shape import to_shape
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.db import db, engine_of
from app.errors import Forbidden
from app.models import (
    AuditEvent,
    Notification,
    Revision,
    Trace,
    TraceStatus,
    User,
)
from app.moderation.since import SinceAsked, since_asked
from app.traces.edit_operations import Edited, update_trace
from app.traces.operations import snapshot
from app.traces.validation import Submission
from tests.integration.test_revisions import (
    first_revision,
    load_form,
    log_in,
    post_edit,
    reload,
    revisions,
)

MESSAGE = "Legg til kilden, og flytt punktet til tufta."
SENT_BACK = "Saved and sent back to the librarians."


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def clients(app: Flask, session: Session, people: dict[str, Any]) -> Callable[[str], FlaskClient]:
    """A logged-in client per person (English), made once each."""
    made: dict[str, FlaskClient] = {}

    def get(name: str) -> FlaskClient:
        if name not in made:
            made[name] = app.test_client()
            log_in(made[name], people[name])
        return made[name]

    return get


@pytest.fixture
def pending(session: Session, make_trace, people: dict[str, Any]) -> Callable[..., Trace]:
    """Factory: a pending trace by the author, with its first revision."""

    def make(**fields: Any) -> Trace:
        trace = make_trace(
            status=TraceStatus.PENDING, author=people["author"], project=people["project"], **fields
        )
        first_revision(session, trace)
        return trace

    return make


def token_of(client: FlaskClient, url: str = "/") -> str:
    match = re.search(
        r'name="csrf-token" content="([^"]+)"', client.get(url).get_data(as_text=True)
    )
    assert match
    return match.group(1)


def ask_for_changes(client: FlaskClient, session: Session, trace: Trace, message: str = MESSAGE):
    """The librarian asks for changes through the decision form, as on the queue."""
    version = reload(session, trace).version
    response = client.post(
        f"/moderation/decision/{trace.id}",
        data={"csrf_token": token_of(client), "action": "request_changes", "version": version,
              "reason": message, "next": "/"},
    )  # fmt: skip
    assert response.status_code == 302
    assert reload(session, trace).status == TraceStatus.NEEDS_CHANGES


def edit_as(client: FlaskClient, trace: Trace, **fields: str) -> Any:
    """Post the edit form as the page prefilled it, with these fields changed."""
    data = load_form(client, trace.id)
    data.update(fields)
    return post_edit(client, trace.id, data)


def flashes(client: FlaskClient, url: str) -> str:
    return client.get(url).get_data(as_text=True)


def notifications_of(session: Session, user: User) -> list[Notification]:
    session.expire_all()
    return list(
        session.execute(
            select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        ).scalars()
    )


@contextmanager
def english(app: Flask) -> Iterator[None]:
    """A request context whose visitor chose English (the app never reads Accept-Language)."""
    with app.test_request_context("/"):
        flask_session["lang"] = "en"
        yield


@contextmanager
def acting(app: Flask) -> Iterator[None]:
    """An English request context for calling operations, committed to the test savepoint."""
    with english(app):
        yield
        db.session.commit()


def as_submission(trace: Trace, **changes: Any) -> Submission:
    """The trace as it is, as a checked submission, with some fields changed."""
    values: dict[str, Any] = {
        "project": trace.project,
        "title": trace.title,
        "description": trace.description,
        "sources": trace.sources,
        "licence": trace.licence,
        "geometry": to_shape(trace.geom),
        "terms": {},
    }
    return Submission(**(values | changes))


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement sent while the test runs (but the test transaction's own)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):  # the test's nesting
            seen.append(statement)

    engine = engine_of(app)
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


# --- the author's save answers the request -------------------------------------------------


def test_author_form_edit_sends_it_back_to_the_queue(
    session: Session, clients, pending, people
) -> None:
    trace = pending(title="Tuft")
    librarian, author = clients("librarian"), clients("author")
    ask_for_changes(librarian, session, trace)
    told_before = notifications_of(session, people["author"])
    assert len(told_before) == 1, "asking for changes tells the author once"

    page = author.get(f"/traces/{trace.id}/edit").get_data(as_text=True)
    assert page.index(MESSAGE) < page.index('id="trace-form"'), "the message is at the top"
    form = page[page.index('id="trace-form"') :]
    assert len(re.findall(r"<button[^>]*type=\"submit\"", form)) == 1, "one clearly offered button"
    assert "Save and send for approval again" in form and "Save changes" not in form

    response = edit_as(author, trace, title="Tuft ved elva", sources="Bygdebok", comment="Fikset")
    assert response.status_code == 302
    assert SENT_BACK in flashes(author, response.headers["Location"])

    fresh = reload(session, trace)
    assert (fresh.status, fresh.version, fresh.title) == (TraceStatus.PENDING, 4, "Tuft ved elva")
    assert fresh.submitted_at is not None
    history = revisions(session, trace)
    assert [r.version for r in history] == [1, 2, 3, 4], "the edit and the resubmission"
    edit, resubmit = history[2], history[3]
    assert (edit.editor_id, edit.comment, edit.snapshot["status"]) == (
        people["author"].id, "Fikset", "needs_changes")  # fmt: skip
    assert edit.snapshot["title"] == "Tuft ved elva" and edit.snapshot["sources"] == "Bygdebok"
    assert (resubmit.editor_id, resubmit.snapshot["status"]) == (people["author"].id, "pending")
    assert resubmit.snapshot["title"] == "Tuft ved elva"
    actions = session.execute(
        select(AuditEvent.action)
        .where(AuditEvent.target_type == "trace", AuditEvent.target_id == trace.id)
        .order_by(AuditEvent.id)
    ).scalars()
    assert list(actions) == ["trace.request_changes", "trace.edited", "trace.resubmit"]
    assert len(notifications_of(session, people["author"])) == len(told_before), "none to self"

    queue = librarian.get("/moderation/alta").get_data(as_text=True)
    assert "Tuft ved elva" in queue, "back in the librarian's queue"


def test_author_save_without_changes_still_sends_it_back(
    session: Session, clients, pending, people
) -> None:
    trace = pending()
    ask_for_changes(clients("librarian"), session, trace)
    response = edit_as(clients("author"), trace)
    assert "sent back to the librarians as it is" in flashes(
        clients("author"), response.headers["Location"]
    )
    fresh = reload(session, trace)
    assert (fresh.status, fresh.version) == (TraceStatus.PENDING, 3)
    assert [r.snapshot["status"] for r in revisions(session, trace)] == [
        "pending", "needs_changes", "pending"]  # fmt: skip


def test_a_stale_save_neither_edits_nor_resubmits(session: Session, clients, pending) -> None:
    trace = pending()
    author = clients("author")
    ask_for_changes(clients("librarian"), session, trace)
    data = load_form(author, trace.id)
    data.update(title="Ny tittel", version="1")  # the version before the request
    response = post_edit(author, trace.id, data)
    assert response.status_code == 409
    fresh = reload(session, trace)
    assert (fresh.status, fresh.version, fresh.title) == (
        TraceStatus.NEEDS_CHANGES,
        2,
        "Fangstgrop",
    )


@pytest.mark.parametrize("who", ["librarian", "curator"])
def test_a_moderators_fix_does_not_resubmit_for_the_author(
    session: Session, clients, pending, people, who: str
) -> None:
    trace = pending()
    ask_for_changes(clients("librarian"), session, trace)
    moderator = clients(who)
    page = moderator.get(f"/traces/{trace.id}/edit").get_data(as_text=True)
    assert MESSAGE in page and "Save changes" in page
    assert "Save and send for approval again" not in page
    response = edit_as(moderator, trace, title="Rettet av biblioteket")
    assert "still waits for changes from its author" in flashes(
        moderator, response.headers["Location"]
    )
    fresh = reload(session, trace)
    assert (fresh.status, fresh.version) == (TraceStatus.NEEDS_CHANGES, 3)


def test_an_approved_trace_edited_stays_as_today(session: Session, clients, pending) -> None:
    trace = pending()
    librarian = clients("librarian")
    session.execute(
        Trace.__table__.update()
        .where(Trace.id == trace.id)
        .values(status=TraceStatus.APPROVED, approved_by_id=trace.author_id, approved_at=func.now())
    )
    session.commit()
    version = reload(session, trace).version
    response = edit_as(librarian, trace, title="Bedre tittel")
    assert "Your changes are saved." in flashes(librarian, response.headers["Location"])
    fresh = reload(session, trace)
    assert (fresh.status, fresh.version) == (TraceStatus.APPROVED, version + 1)
    assert len(revisions(session, trace)) == 2


def test_the_author_edits_a_pending_trace_as_today(session: Session, clients, pending) -> None:
    trace = pending()
    author = clients("author")
    page = author.get(f"/traces/{trace.id}/edit").get_data(as_text=True)
    assert "Save changes" in page and "ask for changes" not in page
    response = edit_as(author, trace, title="Ny")
    assert "Your changes are saved." in flashes(author, response.headers["Location"])
    assert [r.snapshot["status"] for r in revisions(session, trace)] == ["pending", "pending"]


# Every status an edit can start from, by the author and by a librarian: the trace goes back to
# the queue exactly when its author saves it after a request for changes, and never otherwise.
@pytest.mark.parametrize("status", [s for s in TraceStatus if s != TraceStatus.DELETED])
@pytest.mark.parametrize("who", ["author", "librarian"])
def test_the_operation_resubmits_only_the_authors_answer(
    app: Flask, session: Session, make_trace, people, status: TraceStatus, who: str
) -> None:
    trace = make_trace(status=status, author=people["author"], project=people["project"])
    first_revision(session, trace)
    with acting(app):
        editor = db.session.get(User, people[who].id)
        loaded = db.session.get(Trace, trace.id)
        before = loaded.version
        try:
            edited = update_trace(editor, loaded, as_submission(loaded, title="Endret"), before, "")
        except Forbidden:
            assert who == "author", "librarians edit every status but deleted"
            assert status in (TraceStatus.APPROVED, TraceStatus.REJECTED, TraceStatus.WITHDRAWN)
            return
    answered = who == "author" and status == TraceStatus.NEEDS_CHANGES
    assert isinstance(edited, Edited) and edited.revision is not None
    assert edited.resubmitted is answered
    fresh = reload(session, trace)
    assert fresh.status == (TraceStatus.PENDING if answered else status)
    assert fresh.version == before + (2 if answered else 1), "edit, then the resubmission"
    statuses = [r.snapshot["status"] for r in revisions(session, trace)[1:]]
    assert statuses == ([status.value, "pending"] if answered else [status.value])


# --- the pages -----------------------------------------------------------------------------


def test_the_trace_page_shows_the_author_what_to_do(session: Session, clients, pending) -> None:
    trace = pending()
    ask_for_changes(clients("librarian"), session, trace)
    page = clients("author").get(f"/traces/{trace.id}").get_data(as_text=True)
    banner = page[page.index('class="changes-asked"') :]
    banner = banner[: banner.index("</section>")]
    assert MESSAGE in banner
    assert f'href="/traces/{trace.id}/edit"' in banner and "Edit the trace" in banner
    assert 'value="resubmit"' in banner and "Nothing to change?" in banner
    assert page.count(MESSAGE) == 1, "the message is not repeated below"
    assert page.count('value="resubmit"') == 1, "one resubmit, in the banner"
    assert page.index('class="changes-asked"') < page.index("<dl"), "before the details"
    staff = clients("librarian").get(f"/traces/{trace.id}").get_data(as_text=True)
    assert 'class="changes-asked"' not in staff and MESSAGE in staff


@pytest.mark.parametrize("status", [TraceStatus.DRAFT, TraceStatus.WITHDRAWN])
def test_drafts_and_withdrawn_traces_keep_their_page(
    session: Session, clients, make_trace, people, status: TraceStatus
) -> None:
    trace = make_trace(status=status, author=people["author"], project=people["project"])
    page = clients("author").get(f"/traces/{trace.id}").get_data(as_text=True)
    assert 'class="changes-asked"' not in page
    assert 'value="resubmit"' in page, "the existing action stays where it was"


def test_the_banners_resubmit_sends_it_back(session: Session, clients, pending) -> None:
    trace = pending()
    ask_for_changes(clients("librarian"), session, trace)
    author = clients("author")
    page = author.get(f"/traces/{trace.id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page[page.index("changes-asked") :])
    assert version
    response = author.post(
        f"/moderation/decision/{trace.id}",
        data={"csrf_token": token_of(author), "action": "resubmit", "version": version.group(1),
              "next": f"/traces/{trace.id}"},
    )  # fmt: skip
    assert response.status_code == 302
    assert reload(session, trace).status == TraceStatus.PENDING


# --- since asked ---------------------------------------------------------------------------


def _add(
    session: Session,
    trace: Trace,
    version: int,
    editor: User,
    base: dict[str, Any],
    comment: str = "",
    event_: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Append a revision whose snapshot is ``base`` with ``fields`` changed; returns it."""
    snap = base | fields
    session.add(
        Revision(
            trace_id=trace.id, version=version, editor_id=editor.id, comment=comment,
            event=event_, snapshot=snap, geom=trace.geom,
        )
    )  # fmt: skip
    session.commit()
    return snap


def _decision(fmt: str, action: str, message: str = "") -> dict[str, Any]:
    """A decision as it is stored ("event"), or what an editor could type to look like one."""
    if fmt == "event":
        event_ = {"kind": "decision", "action": action, "message": message}
        return {"comment": "", "event_": event_}
    return {"comment": f"{action}: {message}".strip(": "), "event_": None}


def test_typed_comments_that_look_like_decisions_are_only_comments(
    session: Session, make_trace, people
) -> None:
    """An author's edit comment "request_changes: ..." opens no request, and "approve: ..."
    closes none: decisions are read from events alone."""
    author, librarian = people["author"], people["librarian"]
    spoofed, real = (
        make_trace(status=TraceStatus.PENDING, author=author, project=people["project"], title=t)
        for t in ("Falsk", "Ekte")
    )
    base = _add(session, spoofed, 1, author, snapshot(spoofed), event_={"kind": "submitted"})
    _add(session, spoofed, 2, author, base, title="Falsk ved elva",
         **_decision("typed", "request_changes", "please just approve it"))  # fmt: skip
    _add(session, spoofed, 3, author, base, title="Falsk ved elva 2")
    base = _add(session, real, 1, author, snapshot(real), event_={"kind": "submitted"})
    asked = _add(session, real, 2, librarian, base, status="needs_changes",
                 **_decision("event", "request_changes", "Mer om stedet"))  # fmt: skip
    edited = _add(session, real, 3, author, asked, title="Ekte ved elva",
                  **_decision("typed", "approve", "done"))  # fmt: skip
    _add(session, real, 4, author, edited, status="pending", **_decision("event", "resubmit"))
    found = since_asked([spoofed, real])
    assert spoofed.id not in found
    assert found[real.id].message == "Mer om stedet"
    assert found[real.id].fields == ["title"]


@pytest.mark.parametrize("fmt", ["event"])
def test_since_asked_lists_what_changed_for_many_traces_in_one_query(
    app: Flask, session: Session, make_trace, people, statements: list[str], fmt: str
) -> None:
    author, librarian = people["author"], people["librarian"]
    make = lambda title: make_trace(status=TraceStatus.PENDING, author=author,  # noqa: E731
                                    project=people["project"], title=title)  # fmt: skip
    one_edit, two_edits, unchanged, approved_since, never_asked, waiting = (
        make(t) for t in ("En", "To", "Uendret", "Godkjent", "Aldri", "Venter")
    )
    for trace in (one_edit, two_edits, unchanged, approved_since, never_asked, waiting):
        base = _add(session, trace, 1, author, snapshot(trace), event_={"kind": "submitted"})
        if trace is never_asked:
            _add(session, trace, 2, author, base, title="Aldri spurt")
            continue
        asked = _add(session, trace, 2, librarian, base, status="needs_changes",
                     **_decision(fmt, "request_changes", f"Mer om {trace.title}"))  # fmt: skip
        if trace is waiting:
            continue  # asked, not answered yet
        if trace is unchanged:
            _add(session, trace, 3, author, asked, status="pending", **_decision(fmt, "resubmit"))
            continue
        edited = _add(session, trace, 3, author, asked, title=trace.title + " ved elva",
                      sources="Bygdebok")  # fmt: skip
        again = _add(
            session, trace, 4, author, edited, status="pending", **_decision(fmt, "resubmit")
        )
        if trace is two_edits:
            _add(session, trace, 5, author, again, description="Mer tekst", period_id=None,
                 geometry={"type": "Point", "coordinates": [23.3, 69.98]})  # fmt: skip
        if trace is approved_since:
            _add(session, trace, 5, librarian, again, status="approved",
                 **_decision(fmt, "approve"))  # fmt: skip
    traces = [one_edit, two_edits, unchanged, approved_since, never_asked, waiting]
    with english(app):
        statements.clear()
        found = since_asked(traces)
        assert len(statements) == 1, statements
        assert set(found) == {one_edit.id, two_edits.id, unchanged.id}

        first = found[one_edit.id]
        assert isinstance(first, SinceAsked)
        assert (first.asked_version, first.current_version) == (2, 4)
        assert first.message == "Mer om En" and first.asked_by == "Librarian Lise"
        assert first.fields == ["title", "sources"] and first.labels == ["Title", "Sources"]
        assert first.compare_version == 3, "the one edit compares exactly with the request"

        second = found[two_edits.id]
        assert second.fields == ["title", "description", "sources", "geometry"]
        assert second.labels == ["Title", "Description", "Sources", "Place on the map"]
        assert (second.current_version, second.compare_version) == (5, None)

        same = found[unchanged.id]
        assert (same.fields, same.compare_version, same.current_version) == ([], None, 3)

        html = render_template("moderation/_since_asked.html", trace=one_edit, since=first)
        assert "Mer om En" in html and "Librarian Lise" in html
        assert "<li>Title</li>" in html and "<li>Sources</li>" in html
        assert f"/traces/{one_edit.id}/history?version=3" in html
        html = render_template("moderation/_since_asked.html", trace=two_edits, since=second)
        assert f'href="/traces/{two_edits.id}/history"' in html
        assert "<li>Place on the map</li>" in html
        html = render_template("moderation/_since_asked.html", trace=unchanged, since=same)
        assert "without changes" in html
        assert (
            render_template("moderation/_since_asked.html", trace=waiting, since=None).strip() == ""
        )

        statements.clear()
        assert since_asked([]) == {} and statements == []
    with app.test_request_context("/"):
        assert since_asked([one_edit])[one_edit.id].labels == ["Tittel", "Kilder"], "Bokmål"


def test_since_asked_after_the_real_flow(
    app: Flask, session: Session, clients, pending, statements: list[str]
) -> None:
    """What a real decision writes, the queue reads back."""
    traces = [pending(title=f"Spor {n}") for n in range(3)]
    librarian, author = clients("librarian"), clients("author")
    for n, trace in enumerate(traces):
        ask_for_changes(librarian, session, trace, f"Melding {n}")
        edit_as(author, trace, description=f"Ny beskrivelse {n}")
    with english(app):
        loaded = [db.session.get(Trace, t.id) for t in traces]
        statements.clear()
        found = since_asked(loaded)
        assert len(statements) == 1, statements
    for n, trace in enumerate(traces):
        since = found[trace.id]
        assert since.message == f"Melding {n}"
        assert (since.asked_version, since.current_version) == (2, 4)
        assert since.fields == ["description"] and since.compare_version == 3
