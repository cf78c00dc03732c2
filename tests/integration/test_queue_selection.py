"""Selecting in the compact queue: "all matching the filter" decides exactly what the page was
rendered with (bounded, each at the version seen), never what arrived or changed later."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from shapely.geometry import Point
from sqlalchemy import select

from app.models import Membership, MembershipRole, Trace, TraceStatus

ALTA = Point(23.27, 69.97)


@pytest.fixture
def queue(session, make_user, make_project, make_trace):
    """A project, its librarian and five pending entries an hour apart, oldest first."""
    project = make_project()
    librarian = make_user(name="Lina Librarian")
    resident = make_user(name="Rita Resident")
    session.add(Membership(project_id=project.id, user_id=librarian.id,
                           role=MembershipRole.LIBRARIAN))  # fmt: skip
    session.commit()
    start = datetime.now(UTC) - timedelta(days=2)
    entries = [
        make_trace(Point(23.0 + 0.05 * k, 69.97), status=TraceStatus.PENDING, author=resident,
                   project=project, title=f"Spor {k}", submitted_at=start + timedelta(hours=k))
        for k in range(5)
    ]  # fmt: skip
    return {"project": project, "librarian": librarian, "resident": resident,
            "entries": entries}  # fmt: skip


def _matching(page: str) -> list[tuple[int, int]]:
    found = re.search(r'<input type="hidden" name="matching" value="([^"]*)"', page)
    if not found:
        return []
    return [tuple(int(x) for x in item.split(":")) for item in found.group(1).split()]


def _status(session, trace_id: int) -> TraceStatus:
    session.expire_all()
    return session.execute(select(Trace.status).where(Trace.id == trace_id)).scalar_one()


def test_all_matching_decides_what_the_page_showed_and_nothing_later(
    client, login, session, queue, make_trace, monkeypatch
):
    from app.moderation import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 2)  # more match than one page shows
    token = login(queue["librarian"])
    slug = queue["project"].slug
    page = client.get(f"/moderation/{slug}").get_data(as_text=True)
    entries = queue["entries"]
    offered = _matching(page)
    assert offered == [(t.id, t.version) for t in entries]  # oldest first, with versions
    assert re.search(r'id="select-matching" data-count="5"', page)
    # After the page was rendered: a new entry arrives, and one entry is edited.
    later = make_trace(ALTA, status=TraceStatus.PENDING, author=queue["resident"],
                       project=queue["project"], title="Kom etterpå",
                       submitted_at=datetime.now(UTC))  # fmt: skip
    edited = entries[3]
    edited.title = "Endret etter at siden ble vist"
    session.commit()
    assert edited.version != offered[3][1]
    response = client.post(
        f"/moderation/{slug}/bulk",
        data={"csrf_token": token, "action": "approve", "all_matching": "1",
              "matching": " ".join(f"{i}:{v}" for i, v in offered),
              "next": f"/moderation/{slug}?page=2"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/moderation/{slug}?page=2")
    for trace in entries:
        expected = TraceStatus.PENDING if trace is edited else TraceStatus.APPROVED
        assert _status(session, trace.id) == expected, trace.title
    assert _status(session, later.id) == TraceStatus.PENDING


def test_all_matching_is_bounded_and_says_so(client, login, session, queue, monkeypatch):
    from app.moderation import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    monkeypatch.setattr(queries, "MATCHING_MAX", 3)
    login(queue["librarian"])
    with client.session_transaction() as cookie:
        cookie["lang"] = "en"
    page = client.get(f"/moderation/{queue['project'].slug}").get_data(as_text=True)
    assert [i for i, _ in _matching(page)] == [t.id for t in queue["entries"][:3]]
    assert "The oldest 3 matching the filter" in page


def test_all_matching_follows_the_filter_and_is_only_offered_beyond_the_page(
    client, login, session, queue, monkeypatch
):
    from app.moderation import queries

    login(queue["librarian"])
    slug = queue["project"].slug
    # Everything fits on the page: "select all on this page" is the same thing.
    assert _matching(client.get(f"/moderation/{slug}").get_data(as_text=True)) == []
    monkeypatch.setattr(queries, "PAGE_SIZE", 1)
    author = queue["resident"].id
    page = client.get(f"/moderation/{slug}?author={author}&bbox=22.99,69.9,23.11,70")
    assert [i for i, _ in _matching(page.get_data(as_text=True))] == [
        t.id for t in queue["entries"][:3]
    ]


def test_bulk_refuses_other_sites_as_the_way_back(client, login, session, queue):
    token = login(queue["librarian"])
    slug = queue["project"].slug
    first = queue["entries"][0]
    response = client.post(
        f"/moderation/{slug}/bulk",
        data={"csrf_token": token, "action": "approve",
              "selection": f"{first.id}:{first.version}", "next": "https://evil.example/"},
    )  # fmt: skip
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/moderation/{slug}")
    assert _status(session, first.id) == TraceStatus.APPROVED


def test_an_entry_part_is_only_for_the_entries_of_ones_queue(
    client, login, session, queue, make_user
):
    slug = queue["project"].slug
    first = queue["entries"][0]
    login(queue["librarian"])
    part = client.get(f"/moderation/{slug}/entry/{first.id}?part=1")
    assert part.status_code == 200
    body = part.get_data(as_text=True)
    assert "<html" not in body and 'class="decide-form"' in body
    assert (
        client.get(f"/moderation/{slug}/entry/{first.id}")
        .get_data(as_text=True)
        .count('class="decide-form"')
        == 1
    )  # the page of its own, for browsers without script
    login(queue["resident"])
    assert client.get(f"/moderation/{slug}/entry/{first.id}?part=1").status_code == 403
    login(queue["librarian"])
    client.post(
        f"/moderation/{slug}/bulk",
        data={"csrf_token": login(queue["librarian"]), "action": "approve",
              "selection": f"{first.id}:{first.version}"},
    )  # fmt: skip
    assert client.get(f"/moderation/{slug}/entry/{first.id}?part=1").status_code == 404


def test_a_bulk_names_a_few_refusals_and_counts_the_rest(
    client, login, session, queue, monkeypatch
):
    from app.moderation import routes

    monkeypatch.setattr(routes, "REFUSALS_NAMED", 2)
    token = login(queue["librarian"])
    slug = queue["project"].slug
    stale = " ".join(f"{t.id}:{t.version + 1}" for t in queue["entries"])  # all changed since
    with client.session_transaction() as cookie:
        cookie["lang"] = "en"
    client.post(
        f"/moderation/{slug}/bulk",
        data={"csrf_token": token, "action": "approve", "all_matching": "1", "matching": stale},
    )
    with client.session_transaction() as cookie:
        errors = [m for c, m in cookie.get("_flashes", []) if c == "error"]
    assert [m.split(":")[0] for m in errors if m.startswith("#")] == [
        f"#{t.id}" for t in queue["entries"][:2]
    ]
    assert "And 3 more not possible." in errors
    assert all(_status(session, t.id) == TraceStatus.PENDING for t in queue["entries"])
