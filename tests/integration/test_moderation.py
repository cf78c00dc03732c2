"""Moderation decisions over HTTP: rights, the state machine, locking, audit and notifications."""

from __future__ import annotations

import re

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point, box
from sqlalchemy import func, select

from app.models import (
    AuditEvent,
    Membership,
    MembershipRole,
    Notification,
    Revision,
    Trace,
    TraceStatus,
    UserRole,
)

ALTA = Point(23.27, 69.97)
FAR = Point(24.9, 70.4)


@pytest.fixture
def world(session, make_user, make_project, make_trace):
    """A project with a librarian, a curator limited to an area, and a resident's entry."""
    project = make_project()
    librarian = make_user(UserRole.RESIDENT, name="Lina Librarian")
    curator = make_user(name="Curt Curator")
    resident = make_user(name="Rita Resident")
    session.add_all(
        [
            Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN),
            Membership(
                project_id=project.id,
                user_id=curator.id,
                role=MembershipRole.CURATOR,
                area=from_shape(_multi(box(23.0, 69.8, 23.5, 70.1)), srid=4326),
            ),
        ]
    )
    session.commit()
    inside = make_trace(ALTA, status=TraceStatus.PENDING, author=resident, project=project,
                        title="Tuft i Alta")  # fmt: skip
    outside = make_trace(FAR, status=TraceStatus.PENDING, author=resident, project=project,
                         title="Tuft langt unna")  # fmt: skip
    return {"project": project, "librarian": librarian, "curator": curator,
            "resident": resident, "inside": inside, "outside": outside}  # fmt: skip


def _multi(polygon):
    from shapely.geometry import MultiPolygon

    return MultiPolygon([polygon])


def decide(client, token, trace, action, version=None, reason=""):
    return client.post(
        f"/moderation/decision/{trace.id}",
        data={
            "csrf_token": token,
            "action": action,
            "version": trace.version if version is None else version,
            "reason": reason,
            "next": "/",
        },
    )


def status_of(session, trace):
    session.expire_all()
    return session.get(Trace, trace.id).status


def test_curator_approves_inside_their_area(client, login, session, world):
    token = login(world["curator"])
    response = decide(client, token, world["inside"], "approve")
    assert response.status_code == 302
    session.expire_all()
    trace = session.get(Trace, world["inside"].id)
    assert trace.status == TraceStatus.APPROVED
    assert trace.approved_by_id == world["curator"].id and trace.approved_at is not None
    assert trace.version == 2
    revisions = session.execute(select(Revision).where(Revision.trace_id == trace.id)).scalars()
    assert [r.snapshot["status"] for r in revisions] == ["approved"]
    event = session.execute(
        select(AuditEvent).where(
            AuditEvent.target_id == trace.id, AuditEvent.target_type == "trace"
        )
    ).scalar_one()
    assert (event.action, event.actor_id, event.from_state, event.to_state) == (
        "trace.approve", world["curator"].id, "pending", "approved")  # fmt: skip
    note = session.execute(
        select(Notification).where(Notification.user_id == world["resident"].id)
    ).scalar_one()
    assert note.kind == "trace.approved" and note.params == {"title": "Tuft i Alta"}
    assert note.trace_id == trace.id


def test_curator_cannot_touch_entries_outside_their_area(client, login, session, world):
    token = login(world["curator"])
    response = decide(client, token, world["outside"], "approve")
    assert response.status_code == 404  # not even visible to them
    assert status_of(session, world["outside"]) == TraceStatus.PENDING
    assert session.execute(select(func.count()).select_from(AuditEvent)).scalar_one() == 0


def test_resident_cannot_approve_even_their_own(client, login, session, world):
    token = login(world["resident"])
    assert decide(client, token, world["inside"], "approve").status_code == 403
    assert status_of(session, world["inside"]) == TraceStatus.PENDING


def test_repeating_a_decision_changes_nothing_and_says_so(client, login, session, world):
    token = login(world["librarian"])
    decide(client, token, world["inside"], "approve")
    session.expire_all()
    trace = session.get(Trace, world["inside"].id)
    response = decide(client, token, trace, "approve")
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Nothing changed" in page or "Ingenting ble endret" in page or "allerede" in page
    assert session.get(Trace, trace.id).version == 2
    count = session.execute(select(func.count()).select_from(Revision)).scalar_one()
    assert count == 1


def test_stale_version_gets_a_conflict_page_and_changes_nothing(client, login, session, world):
    token = login(world["librarian"])
    response = decide(
        client, token, world["inside"], "approve", version=world["inside"].version + 5
    )
    assert response.status_code == 409
    assert "Tuft i Alta" in response.get_data(as_text=True)
    assert status_of(session, world["inside"]) == TraceStatus.PENDING


def test_asking_for_changes_needs_a_message(client, login, session, world):
    token = login(world["librarian"])
    decide(client, token, world["inside"], "request_changes", reason="  ")
    assert status_of(session, world["inside"]) == TraceStatus.PENDING
    decide(client, token, world["inside"], "request_changes", reason="Legg til et bilde, takk.")
    session.expire_all()
    trace = session.get(Trace, world["inside"].id)
    assert trace.status == TraceStatus.NEEDS_CHANGES
    assert trace.decision_note == "Legg til et bilde, takk."
    assert trace.decided_by_id == world["librarian"].id


def test_author_withdraws_and_resubmits(client, login, session, world):
    token = login(world["resident"])
    assert decide(client, token, world["inside"], "withdraw").status_code == 302
    assert status_of(session, world["inside"]) == TraceStatus.WITHDRAWN
    trace = session.get(Trace, world["inside"].id)
    assert decide(client, token, trace, "resubmit").status_code == 302
    assert status_of(session, world["inside"]) == TraceStatus.PENDING


def test_an_action_from_the_wrong_state_is_refused(client, login, session, world):
    token = login(world["librarian"])
    decide(client, token, world["inside"], "approve")
    trace = session.get(Trace, world["inside"].id)
    session.expire_all()
    trace = session.get(Trace, world["inside"].id)
    response = decide(client, token, trace, "restore")  # only deleted traces can be restored
    assert response.status_code == 409
    assert status_of(session, trace) == TraceStatus.APPROVED


def test_only_project_librarians_delete(client, login, session, world):
    curator_token = login(world["curator"])
    assert (
        decide(client, curator_token, world["inside"], "delete", reason="spam").status_code == 403
    )
    client.post("/logout", data={"csrf_token": curator_token})
    token = login(world["librarian"])
    assert decide(client, token, world["inside"], "delete", reason="Spam").status_code == 302
    assert status_of(session, world["inside"]) == TraceStatus.DELETED


def test_bulk_decides_each_entry_on_its_own(client, login, session, world, make_trace):
    third = make_trace(ALTA, status=TraceStatus.PENDING, author=world["resident"],
                       project=world["project"], title="Tredje")  # fmt: skip
    token = login(world["librarian"])
    slug = world["project"].slug
    response = client.post(
        f"/moderation/{slug}/bulk",
        data={
            "csrf_token": token,
            "action": "approve",
            "selection": [
                f"{world['inside'].id}:{world['inside'].version}",
                f"{world['outside'].id}:{world['outside'].version}",
                f"{third.id}:{third.version + 1}",  # stale: someone changed it meanwhile
            ],
        },
    )
    assert response.status_code == 302
    assert status_of(session, world["inside"]) == TraceStatus.APPROVED
    assert status_of(session, world["outside"]) == TraceStatus.APPROVED
    assert status_of(session, third) == TraceStatus.PENDING
    events = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    assert events == 2


def test_queue_lists_oldest_first_within_scope_with_nearby(
    client, login, session, world, make_trace
):
    make_trace(Point(23.2705, 69.9702), status=TraceStatus.APPROVED,
                          project=world["project"], title="Kjent gammel tuft")  # fmt: skip
    token = login(world["curator"])
    assert token
    slug = world["project"].slug
    page = client.get(f"/moderation/{slug}").get_data(as_text=True)
    assert "Tuft i Alta" in page
    assert "Tuft langt unna" not in page  # outside the curator's area
    row = _row(page, world["inside"].id)
    assert re.search(r'class="hint hint-nearby">[^<]*1<', row)  # the nearby hint on the row
    assert row.count("th-near") == 1 and row.count("th-entry") == 1  # and on its thumbnail
    # The row's expanded part names the neighbour and how far it is.
    part = client.get(f"/moderation/{slug}/entry/{world['inside'].id}?part=1")
    assert part.status_code == 200
    metres = re.search(r"Kjent gammel tuft(?:</bdi>)?</a>\s*\((\d+) m", part.get_data(as_text=True))
    assert metres and 20 <= int(metres.group(1)) <= 60
    # Outside the curator's area: no part either.
    assert client.get(f"/moderation/{slug}/entry/{world['outside'].id}?part=1").status_code == 404


def test_queue_filters_by_type(client, login, session, world, make_trace, term):
    from app.models import Scheme

    typed = make_trace(ALTA, status=TraceStatus.PENDING, project=world["project"],
                       title="Kullgrop i lia",
                       trace_type_id=term(Scheme.TRACE_TYPE, "kullgrop").id)  # fmt: skip
    assert typed
    login(world["librarian"])
    page = client.get(f"/moderation/{world['project'].slug}?type=kullgrop").get_data(as_text=True)
    assert f'id="entry-{typed.id}"' in page
    assert f'id="entry-{world["inside"].id}"' not in page  # still listed as nearby, not as entry


def test_queue_is_forbidden_to_people_without_rights(client, login, world):
    login(world["resident"])
    assert client.get(f"/moderation/{world['project'].slug}").status_code == 403


def test_duplicate_keeps_the_text_as_an_observation(client, login, session, world, make_trace):
    from app.models import Comment, CommentKind

    original = make_trace(Point(23.2705, 69.9702), status=TraceStatus.APPROVED,
                          project=world["project"], title="Kjent gammel tuft")  # fmt: skip
    token = login(world["librarian"])
    response = client.post(
        f"/moderation/duplicate/{world['inside'].id}",
        data={
            "csrf_token": token,
            "original_id": original.id,
            "version": world["inside"].version,
            "next": "/",
        },  # fmt: skip
    )
    assert response.status_code == 302
    session.expire_all()
    dup = session.get(Trace, world["inside"].id)
    assert dup.status == TraceStatus.REJECTED and dup.duplicate_of_id == original.id
    observation = session.execute(
        select(Comment).where(Comment.trace_id == original.id)
    ).scalar_one()
    assert observation.kind == CommentKind.OBSERVATION
    assert "Tuft i Alta" in observation.body
    assert observation.author_id == world["resident"].id


def test_queue_lists_pending_comments_in_scope(client, login, session, world, make_trace):
    from app.models import Comment, CommentStatus

    approved = make_trace(ALTA, status=TraceStatus.APPROVED, project=world["project"],
                          title="Godkjent tuft")  # fmt: skip
    far = make_trace(FAR, status=TraceStatus.APPROVED, project=world["project"], title="Fjern")
    session.add_all([
        Comment(trace_id=approved.id, author_id=world["resident"].id,
                body="Bestefar kalte den **Stua**.", status=CommentStatus.PENDING),
        Comment(trace_id=far.id, author_id=world["resident"].id,
                body="Utenfor kuratorens område", status=CommentStatus.PENDING),
    ])  # fmt: skip
    session.commit()
    login(world["curator"])
    page = client.get(f"/moderation/{world['project'].slug}").get_data(as_text=True)
    assert "Bestefar kalte den <strong>Stua</strong>." in page
    assert "Utenfor kuratorens område" not in page


def test_a_curator_does_not_decide_on_their_own_entry(client, login, session, world, make_trace):
    own = make_trace(ALTA, status=TraceStatus.PENDING, author=world["curator"],
                     project=world["project"], title="Kuratorens egen")  # fmt: skip
    token = login(world["curator"])
    assert decide(client, token, own, "approve").status_code == 403
    assert status_of(session, own) == TraceStatus.PENDING
    page = client.get(f"/traces/{own.id}").get_data(as_text=True)
    assert 'value="approve"' not in page and 'value="withdraw"' in page


def _row(page: str, trace_id: int) -> str:
    """One compact queue row's article."""
    pattern = rf'<article class="queue-entry queue-row" id="entry-{trace_id}".*?</article>'
    article = re.search(pattern, page, re.S)
    assert article, trace_id
    return article.group(0)


def _entry_actions(client, slug: str, trace_id: int) -> set[str]:
    """The action buttons of one queue entry's expanded part (fetched as the row opens)."""
    part = client.get(f"/moderation/{slug}/entry/{trace_id}?part=1")
    assert part.status_code == 200, trace_id
    return set(re.findall(r'name="action" value="([a-z_]+)"', part.get_data(as_text=True)))


def test_queue_count_stops_at_the_cap_and_says_more_than(
    client, login, session, world, monkeypatch
):
    from app.moderation import queries

    login(world["librarian"])
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    url = f"/moderation/{world['project'].slug}"
    assert "2 entries wait" in client.get(url).get_data(as_text=True)
    monkeypatch.setattr(queries, "COUNT_CAP", 1)
    page = client.get(url).get_data(as_text=True)
    assert "more than 1 entries wait" in page
    assert 'id="entry-{}"'.format(world["inside"].id) in page  # the page itself is complete
    assert 'id="entry-{}"'.format(world["outside"].id) in page
    index = client.get("/moderation/").get_data(as_text=True)
    assert "more than 1 entries wait" in index


def test_queue_contributor_filter_lists_each_author_with_pending_entries_once(
    client, login, session, world, make_user, make_trace
):
    other = make_user(name="Olav Other")
    only_approved = make_user(name="Anne Approved")
    for _ in range(3):
        make_trace(ALTA, status=TraceStatus.PENDING, author=other, project=world["project"])
    make_trace(ALTA, status=TraceStatus.APPROVED, author=only_approved, project=world["project"])
    login(world["librarian"])
    page = client.get(f"/moderation/{world['project'].slug}").get_data(as_text=True)
    select_html = re.search(r'<select id="f-author".*?</select>', page, re.S).group(0)
    values = re.findall(r'<option value="(\d+)"', select_html)
    assert sorted(values) == sorted([str(world["resident"].id), str(other.id)])
    assert "Olav Other" in select_html and "Anne Approved" not in select_html


def test_queue_entries_offer_the_actions_the_trace_page_offers(
    client, login, session, world, make_trace
):
    own = make_trace(ALTA, status=TraceStatus.PENDING, author=world["librarian"],
                     project=world["project"], title="Bibliotekarens egen")  # fmt: skip
    slug = world["project"].slug
    login(world["librarian"])
    for trace in (world["inside"], own):
        on_trace_page = client.get(f"/traces/{trace.id}").get_data(as_text=True)
        offered = set(re.findall(r'name="action" value="([a-z_]+)"', on_trace_page))
        assert _entry_actions(client, slug, trace.id) == offered, trace.title
    assert "delete" in _entry_actions(client, slug, world["inside"].id)  # librarians delete
    assert "withdraw" in _entry_actions(client, slug, own.id)  # and withdraw their own
    login(world["curator"])
    assert _entry_actions(client, slug, world["inside"].id) == {
        "approve",
        "reject",
        "request_changes",
    }
