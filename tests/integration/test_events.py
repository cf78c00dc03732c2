"""Messages in the reader's language: notifications and revision events are stored as kinds
with parameters and rendered at read time (app/events.py), typed text kept as typed.

The whole class of defect is covered: every kind, in both languages, shows no code; any text a
person typed comes through exactly, escaped and never interpreted; a decision taken in one
language reads in the other for a reader who chose it; the history page shows no raw codes;
old rows are converted by the data migration.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import events
from app.db import db
from app.models import (
    Membership,
    MembershipRole,
    Notification,
    OutboxMail,
    Revision,
    Trace,
    TraceStatus,
    User,
    UserRole,
)
from app.moderation.states import Action
from tests.conftest import csrf_from, log_in

LOCALES = ("en", "nb")
ACTIONS = [a.value for a in Action]
REVISION_EVENTS: list[dict[str, Any]] = [
    {"kind": "submitted"},
    {"kind": "submitted", "on_behalf": True},
    {"kind": "demo"},
    *({"kind": "decision", "action": a, "message": ""} for a in ACTIONS),
    {"kind": "merged", "into": 7, "title": "Gammel tuft"},
    *({"kind": "sensitivity", "choice": c} for c in ("rules", "sensitive", "open")),
    {"kind": "revert", "to": 3},
    {"kind": "photos_added", "count": 1},
    {"kind": "photos_added", "count": 4},
    {"kind": "photo_changed"},
    {"kind": "photo_removed"},
    {"kind": "imported", "file": "alta.geojson", "generalised": False},
    {"kind": "imported", "file": "alta.geojson", "generalised": True},
]
NOTIFICATIONS: list[tuple[str, dict[str, Any]]] = [
    ("trace.approved", {"title": "Tuft"}),
    ("trace.needs_changes", {"title": "Tuft", "message": "Legg til et bilde."}),
    ("trace.needs_changes", {"title": "Tuft", "message": ""}),
    ("trace.rejected", {"title": "Tuft", "message": "Ikke et kulturminne."}),
    ("trace.rejected", {"title": "Tuft", "message": ""}),
    ("trace.deleted", {"title": "Tuft", "message": "Personopplysninger."}),
    ("trace.merged", {"title": "Tuft", "original_id": 7, "original_title": "Gammel tuft"}),
    ("comment_approved", {"title": "Tuft"}),
    ("comment_rejected", {"title": "Tuft"}),
    ("photo.rejected", {"title": "Tuft", "message": "Viser et ansikt."}),
    ("photo.rejected", {"title": "Tuft", "message": ""}),
    ("rights", {"change": "granted", "role": "curator", "project": "Alta"}),
    ("rights", {"change": "withdrawn", "role": "librarian", "project": "Alta"}),
    ("vocab_suggestion", {"name": "Kari", "code": "grav", "scheme": "trace_type", "text": "Ja"}),
]
# Every stored code a reader must never see: kinds, actions, parameter names and formats.
CODES = {
    *(e["kind"] for e in REVISION_EVENTS),
    *(kind for kind, _ in NOTIFICATIONS),
    *ACTIONS,
    "trace_type",
    "on_behalf",
    "original_id",
    "original_title",
}
LEFTOVER = re.compile(
    r"%\(|%s|\{|\}|\b\w+_\w+\b|\btrace\.\w+|\b(?:"
    + "|".join(sorted(map(re.escape, CODES)))
    + r")\s*:"
)


def leftover_codes(line: str) -> list[str]:
    """Codes in a rendered line: a stored code on its own, a format, an old "<code>: …"."""
    found = [m.group(0) for m in LEFTOVER.finditer(line)]
    if line.strip() in CODES:
        found.append(line.strip())
    return found


@pytest.fixture
def context(app: Flask) -> Iterator[None]:
    with app.test_request_context("/"):
        yield


def always(_trace_id: int) -> bool:
    return True


def never(_trace_id: int) -> bool:
    return False


# --- every kind, both languages -----------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("event", REVISION_EVENTS, ids=lambda e: "-".join(map(str, e.values())))
def test_every_revision_event_reads_in_both_languages_without_codes(
    context: None, event: dict[str, Any], locale: str
) -> None:
    with force_locale(locale):
        for may_see in (always, never):
            line = events.revision_line(event, may_see)
            assert line, event
            assert leftover_codes(line.text()) == [], (line.text(), event)
            assert leftover_codes(line.html().striptags()) == []


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind,params", NOTIFICATIONS, ids=lambda v: str(v))
def test_every_notification_reads_in_both_languages_without_codes(
    context: None, kind: str, params: dict[str, Any], locale: str
) -> None:
    with force_locale(locale):
        for may_see in (always, never):
            line = events.notification_line(kind, params, "", may_see)
            assert leftover_codes(line.text()) == [], (line.text(), kind)
            for name in ("title", "project", "name", "text"):
                if params.get(name):
                    assert params[name] in line.text()


def test_the_two_languages_differ_where_bokmal_exists(context: None) -> None:
    """Rendering happens at read time: the same stored row reads in each reader's language."""
    stored = ("trace.needs_changes", {"title": "Tuft", "message": "Legg til et bilde."})
    with force_locale("en"):
        english = events.notification_line(*stored, "", never).text()
    with force_locale("nb"):
        bokmal = events.notification_line(*stored, "", never).text()
    assert english == "Your trace “Tuft” needs changes: Legg til et bilde."
    assert bokmal == "Sporet ditt «Tuft» må endres: Legg til et bilde."


def test_unknown_kinds_and_broken_parameters_never_show_a_code(context: None) -> None:
    odd: list[Mapping[str, Any]] = [
        {"kind": "from_the_future", "x": 1},
        {"kind": "decision", "action": "explode"},
        {"kind": "sensitivity", "choice": "maybe"},
        {"kind": "revert", "to": "ten"},
        {"kind": "photos_added", "count": None},
        {"kind": "merged", "into": "seven", "title": ["x"]},
        {},
    ]
    for locale in LOCALES:
        with force_locale(locale):
            for event in odd:
                line = events.revision_line(event, always)
                assert line is None or leftover_codes(line.text()) == [], (event, line)
            assert events.revision_line(None, always) is None
            for kind, params in [("from_the_future", {"y": 2}), ("rights", {"role": "king"})]:
                line = events.notification_line(kind, params, "", always)
                assert line and leftover_codes(line.text()) == []


def test_a_notification_stored_before_parameters_shows_its_message_as_stored(
    context: None,
) -> None:
    stored = "Sporet ditt «Tuft» er godkjent og ligger nå på kartet."
    with force_locale("en"):
        line = events.notification_line("trace.approved", {}, stored, always)
    assert line.text() == stored and str(line.html()) == str(escape(stored))


def test_a_merge_names_the_original_only_to_who_may_see_it(context: None) -> None:
    event = {"kind": "merged", "into": 7, "title": "Hemmelig gravrøys"}
    params = {"title": "Tuft", "original_id": 7, "original_title": "Hemmelig gravrøys"}
    with force_locale("en"):
        seen = events.revision_line(event, always)
        hidden = events.revision_line(event, never)
        told = events.notification_line("trace.merged", params, "", always)
        untold = events.notification_line("trace.merged", params, "", never)
    assert seen is not None and hidden is not None
    assert str(seen.html()) == 'Merged with “<a href="/traces/7">Hemmelig gravrøys</a>”'
    assert "Hemmelig" in told.text() and '<a href="/traces/7">' in str(told.html())
    assert "Hemmelig" not in hidden.text() + untold.text() + str(hidden.html())
    assert "7" not in str(untold.html()) and "rejected" not in untold.text().lower()


# --- typed text: kept exactly, escaped, never interpreted ---------------------------------

TYPED = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80
)
HOSTILE = st.sampled_from(
    ["<script>alert(1)</script>", "%(title)s", "%s %d", "{{ 7*7 }}", "&amp; «»", "a\nb"]
)
# Where a person's text goes: (build a rendered line from the value, how it is stored).
TYPED_SLOTS = {
    "decision-message": lambda v: events.notification_line(
        "trace.rejected", {"title": "T", "message": v}, "", never
    ),
    "title": lambda v: events.notification_line("trace.approved", {"title": v}, "", never),
    "merged-original": lambda v: events.notification_line(
        "trace.merged", {"title": "T", "original_id": 3, "original_title": v}, "", always
    ),
    "photo-reason": lambda v: events.notification_line(
        "photo.rejected", {"title": "T", "message": v}, "", never
    ),
    "project": lambda v: events.notification_line(
        "rights", {"change": "granted", "role": "curator", "project": v}, "", never
    ),
    "suggestion": lambda v: events.notification_line(
        "vocab_suggestion", {"name": "K", "code": "c", "scheme": "period", "text": v}, "", never
    ),
    "imported-file": lambda v: events.revision_line(
        {"kind": "imported", "file": v, "generalised": False}, never
    ),
    "history-merge": lambda v: events.revision_line(
        {"kind": "merged", "into": 3, "title": v}, always
    ),
}


# A reason is shown without the blanks around it (as the decision stored it).
STRIPPED = {"decision-message", "photo-reason"}
PLACEHOLDER = "\ue000typed\ue000"


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.one_of(TYPED, HOSTILE).filter(lambda v: v.strip()),
    slot=st.sampled_from(sorted(TYPED_SLOTS)),
    locale=st.sampled_from(LOCALES),
)
def test_typed_text_is_kept_exactly_and_escaped(
    app: Flask, value: str, slot: str, locale: str
) -> None:
    """The line is the same sentence as with a placeholder, the text put in its place:
    exactly as typed in plain text, escaped in HTML, never read as a format or markup."""
    typed = value.strip() if slot in STRIPPED else value
    with app.test_request_context("/"), force_locale(locale):
        line, shape = TYPED_SLOTS[slot](value), TYPED_SLOTS[slot](PLACEHOLDER)
    assert line is not None and shape is not None
    assert line.text() == shape.text().replace(PLACEHOLDER, typed)
    with app.test_request_context("/"):
        html, shape_html = str(line.html()), str(shape.html())
    assert html == shape_html.replace(PLACEHOLDER, str(escape(typed)))
    assert PLACEHOLDER in shape.text()


def test_a_decisions_message_is_kept_for_the_history_as_typed() -> None:
    for message in ("Legg til et bilde.\nTakk!", "%(title)s <b>", ""):
        for action in ACTIONS:
            stored = {"kind": "decision", "action": action, "message": message}
            typed, by_author = events.decision_message(stored)
            assert typed == message.strip()
            assert by_author == (action in ("resubmit", "withdraw"))
    assert events.decision_message({"kind": "merged"}) == ("", False)
    assert events.decision_message(None) == ("", False)


# --- through the application --------------------------------------------------------------


@pytest.fixture
def desk(session: Session, make_user, make_project, make_trace) -> dict[str, Any]:
    """A project with a librarian and a resident author (who wants no mail unless asked)."""
    project = make_project()
    librarian = make_user(UserRole.RESIDENT, name="Lina Librarian")
    author = make_user(name="Rita Resident")
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()

    def entry(title: str = "Tuft ved elva", **fields: Any) -> Trace:
        return make_trace(
            status=TraceStatus.PENDING, author=fields.pop("author", author), project=project,
            title=title, **fields,
        )  # fmt: skip

    return {"project": project, "librarian": librarian, "author": author, "entry": entry}


def browsing(app: Flask, user: User, lang: str) -> tuple[FlaskClient, str]:
    """A client of its own, logged in, with the interface in ``lang``."""
    client = app.test_client()
    log_in(client, user.email)
    with client.session_transaction() as cookie:
        cookie["lang"] = lang
    return client, csrf_from(client.get("/").get_data(as_text=True))


def decide(client: FlaskClient, token: str, trace: Trace, action: str, reason: str = "") -> None:
    response = client.post(
        f"/moderation/decision/{trace.id}",
        data={"csrf_token": token, "action": action, "version": trace.version,
              "reason": reason, "next": "/"},
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:400]


def notification_texts(page: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", m)
        for m in re.findall(r'<span class="notification-message">(.*?)</span>', page, re.S)
    ]


REASON = "Bildet mangler.\nLegg til et bilde av gropa, <takk>."
# (moderator's language, author's language, what the author reads, what must not appear).
CROSSINGS = [
    ("nb", "en", "Your trace “Tuft ved elva” needs changes: ", "må endres"),
    ("en", "nb", "Sporet ditt «Tuft ved elva» må endres: ", "needs changes"),
]


@pytest.mark.parametrize("moderator_lang,author_lang,expected,foreign", CROSSINGS)
def test_a_decision_reads_in_the_authors_language_not_the_moderators(
    app: Flask, session: Session, desk: dict[str, Any],
    moderator_lang: str, author_lang: str, expected: str, foreign: str,
) -> None:  # fmt: skip
    trace = desk["entry"]()
    moderator, token = browsing(app, desk["librarian"], moderator_lang)
    decide(moderator, token, trace, "request_changes", REASON)
    author, _ = browsing(app, desk["author"], author_lang)
    page = author.get("/me/traces").get_data(as_text=True)
    (line,) = notification_texts(page)
    assert line == expected + str(escape(REASON))  # the reason as typed, escaped
    assert foreign not in page
    # The same stored row, read again in the other language, follows the reader.
    with author.session_transaction() as cookie:
        cookie["lang"] = moderator_lang
    (again,) = notification_texts(author.get("/me/traces").get_data(as_text=True))
    assert again != line and str(escape(REASON)) in again


def test_the_mail_is_written_in_the_installations_language(
    app: Flask, session: Session, desk: dict[str, Any]
) -> None:
    """Until people choose a language for mail, it is the installation's (Bokmål here)."""
    assert app.config["BABEL_DEFAULT_LOCALE"] == "nb"
    trace = desk["entry"]()
    moderator, token = browsing(app, desk["librarian"], "en")
    decide(moderator, token, trace, "reject", REASON)
    session.expire_all()
    (mail,) = session.execute(
        select(OutboxMail).where(OutboxMail.to_address == desk["author"].email)
    ).scalars()
    assert mail.body.startswith("Sporet ditt «Tuft ved elva» ble ikke godkjent: ")
    assert REASON in mail.body  # plain text: the typed message exactly, not escaped
    note = session.execute(
        select(Notification).where(Notification.user_id == desk["author"].id)
    ).scalar_one()
    assert (note.kind, note.params, note.message) == (
        "trace.rejected", {"title": "Tuft ved elva", "message": REASON}, ""
    )  # fmt: skip


def history_lines(page: str) -> str:
    """The text of the list of versions (what the page says about each revision)."""
    match = re.search(r'<ul class="revision-list">(.*?)</ul>\s*(?:<p|</div>)', page, re.S)
    assert match, page[:2000]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))


def test_the_history_page_shows_no_raw_codes_in_either_language(
    app: Flask, session: Session, desk: dict[str, Any]
) -> None:
    from app.moderation.operations import decide as decide_now
    from app.moderation.operations import set_sensitivity
    from app.traces.operations import record_revision

    trace = desk["entry"]("Tuft i lia")
    message = "Legg til et bilde, takk."
    with app.test_request_context("/"):
        librarian = db.session.get(User, desk["librarian"].id)
        author = db.session.get(User, desk["author"].id)
        fresh = db.session.get(Trace, trace.id)
        record_revision(fresh, author, event={"kind": "submitted"})
        decide_now(librarian, fresh, Action.REQUEST_CHANGES, fresh.version, message)
        decide_now(author, fresh, Action.RESUBMIT, fresh.version)
        decide_now(librarian, fresh, Action.APPROVE, fresh.version)
        set_sensitivity(librarian, fresh, "sensitive", fresh.version)
        for event in (
            {"kind": "photos_added", "count": 2},
            {"kind": "photo_changed"},
            {"kind": "photo_removed"},
            {"kind": "revert", "to": 1},
        ):
            fresh.updated_at = func.now()  # a new version for each, as the operations do
            db.session.flush()
            record_revision(fresh, librarian, event=event)
        db.session.commit()
    revisions = session.execute(select(Revision).where(Revision.trace_id == trace.id)).scalars()
    assert all(r.comment == "" for r in revisions)  # only typed text goes in a comment
    anonymous = app.test_client()
    for lang in LOCALES:
        with anonymous.session_transaction() as cookie:
            cookie["lang"] = lang
        author_client, _ = browsing(app, desk["author"], lang)
        for client in (author_client, anonymous):
            lines = history_lines(client.get(f"/traces/{trace.id}/history").get_data(as_text=True))
            assert leftover_codes(lines) == [], (lang, lines)
            assert ("Legg til et bilde, takk." in lines) == (client is author_client)
    with author_client.session_transaction() as cookie:
        cookie["lang"] = "en"
    page = author_client.get(f"/traces/{trace.id}/history").get_data(as_text=True)
    english = history_lines(page)
    for line in ("Submitted for approval", "Changes requested", "Sent for approval again",
                 "Approved", "Location protection: protected", "2 photos added",
                 "Photo details changed", "Photo removed", "Reverted to version 1",
                 "Message to the author: Legg til et bilde, takk."):  # fmt: skip
        assert line in english, line


def test_a_duplicate_is_told_as_merged_with_its_original(
    app: Flask, session: Session, desk: dict[str, Any], make_trace, make_user
) -> None:
    from app.moderation.operations import mark_duplicate

    original = make_trace(project=desk["project"], title="Gammel tuft")  # approved: public
    hidden = make_trace(status=TraceStatus.PENDING, author=make_user(), project=desk["project"],
                        title="Hemmelig utkast")  # fmt: skip
    first, second = desk["entry"]("Tuft 1"), desk["entry"]("Tuft 2")
    with app.test_request_context("/"):
        librarian = db.session.get(User, desk["librarian"].id)
        for duplicate, into in ((first, original), (second, hidden)):
            trace = db.session.get(Trace, duplicate.id)
            target = db.session.get(Trace, into.id)
            assert mark_duplicate(librarian, trace, target, trace.version).changed
        db.session.commit()
    session.expire_all()
    latest = (
        session.execute(
            select(Revision).where(Revision.trace_id == first.id).order_by(Revision.version.desc())
        )
        .scalars()
        .first()
    )
    assert latest is not None and latest.comment == ""
    assert latest.event == {"kind": "merged", "into": original.id, "title": "Gammel tuft"}
    kinds = session.execute(
        select(Notification.kind).where(Notification.user_id == desk["author"].id)
    ).scalars()
    assert set(kinds) == {"trace.merged"}  # never "rejected"

    client, _ = browsing(app, desk["author"], "en")
    page = client.get("/me/traces").get_data(as_text=True)
    link = f'Merged with “<a href="/traces/{original.id}">Gammel tuft</a>”'
    assert page.count(link) == 1  # the status of "Tuft 1"
    assert "Merged with another trace" in page  # "Tuft 2": its original is not theirs to see
    assert "Hemmelig" not in page and "Rejected" not in page
    assert f'<a href="/traces/{original.id}">Gammel tuft</a>' in page  # in the notification too
    shown = client.get(f"/traces/{first.id}").get_data(as_text=True)
    assert link in shown and "Rejected" not in shown
    nb, _ = browsing(app, desk["author"], "nb")
    assert "Avvist" not in nb.get("/me/traces").get_data(as_text=True)


# --- the data migration -------------------------------------------------------------------

MIGRATION = next(
    Path(__file__).resolve().parents[2].glob("migrations/versions/*_20261203c7d8_*.py")
)


def migration() -> Any:
    spec = importlib.util.spec_from_file_location("revision_events_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_turns_old_system_comments_into_events(
    session: Session, make_trace, make_user
) -> None:
    module = migration()
    original = make_trace(title="Originalen")
    merged = make_trace(status=TraceStatus.REJECTED, duplicate_of_id=original.id)
    plain = make_trace()
    imported = make_trace()
    author = make_user()
    photos = [{"id": 1, "caption": ""}, {"id": 2, "caption": ""}, {"id": 3, "caption": ""}]
    # (trace, status then, photos then, the old comment, the event expected, comment kept)
    rows: list[tuple[Trace, str, list[Any], str, dict[str, Any] | None, str]] = [
        (plain, "pending", [], "submitted", {"kind": "submitted"}, ""),
        (plain, "pending", [], "approve: looks fine", None, "approve: looks fine"),  # an edit
        (plain, "needs_changes", [], "request_changes: Legg til\net bilde.",
         {"kind": "decision", "action": "request_changes", "message": "Legg til\net bilde."}, ""),
        (plain, "pending", [], "resubmit",
         {"kind": "decision", "action": "resubmit", "message": ""}, ""),
        (plain, "approved", [], "approve", {"kind": "decision", "action": "approve",
                                            "message": ""}, ""),
        (plain, "approved", [], "sensitivity: open", {"kind": "sensitivity", "choice": "open"}, ""),
        (plain, "approved", photos[:1], "photo added", {"kind": "photos_added", "count": 1}, ""),
        (plain, "approved", photos, "photos added", {"kind": "photos_added", "count": 2}, ""),
        (plain, "approved", photos, "photo changed", {"kind": "photo_changed"}, ""),
        (plain, "approved", photos[:2], "photo removed", {"kind": "photo_removed"}, ""),
        (plain, "approved", [], "Reverted to version 2", {"kind": "revert", "to": 2}, ""),
        (plain, "approved", [], "demo data", None, "demo data"),  # not the first revision
        (plain, "approved", [], "Retta skrivefeil", None, "Retta skrivefeil"),
        (merged, "pending", [], "submitted", {"kind": "submitted"}, ""),
        (merged, "rejected", [], f"reject: Duplikat av «Originalen» (#{original.id}).",
         {"kind": "merged", "into": original.id, "title": "Originalen"}, ""),
        (imported, "approved", [],
         f"imported from alta v2.geojson; {module.GENERALISED}",
         {"kind": "imported", "file": "alta v2.geojson", "generalised": True}, ""),
    ]  # fmt: skip
    versions: dict[int, int] = {}
    for trace, status, recorded, comment, _event, _kept in rows:
        versions[trace.id] = versions.get(trace.id, 0) + 1
        session.add(
            Revision(
                trace_id=trace.id, version=versions[trace.id], editor_id=author.id,
                comment=comment, geom=trace.geom,
                snapshot={"title": trace.title, "status": status, "photos": recorded},
            )
        )  # fmt: skip
    session.add(Revision(trace_id=original.id, version=1, comment="demo data", geom=original.geom,
                         snapshot={"title": "Originalen", "status": "approved"}))  # fmt: skip
    session.commit()

    session.execute(module._bound(module.UPGRADE_SQL))
    session.expire_all()
    stored = session.execute(
        select(Revision).where(Revision.trace_id.in_([plain.id, merged.id, imported.id]))
        .order_by(Revision.trace_id, Revision.version)
    ).scalars().all()  # fmt: skip
    ordered = sorted(rows, key=lambda r: r[0].id)  # same order: by trace, then as inserted
    assert [(r.event, r.comment) for r in stored] == [(e, k) for _t, _s, _p, _c, e, k in ordered]
    first_of_original = session.execute(
        select(Revision.event).where(Revision.trace_id == original.id)
    ).scalar_one()
    assert first_of_original == {"kind": "demo"}

    # Converted again, nothing changes; down again, the old strings come back.
    session.execute(module._bound(module.UPGRADE_SQL))
    session.execute(module._bound(module.DOWNGRADE_SQL))
    session.expire_all()
    back = session.execute(
        select(Revision.comment).where(Revision.trace_id.in_([plain.id, imported.id]))
        .order_by(Revision.trace_id, Revision.version)
    ).scalars().all()  # fmt: skip
    assert back == [c for t, _s, _p, c, _e, _k in ordered if t.id in (plain.id, imported.id)]
