"""Near-duplicate groups in the queue and merging them in one submit: the grouping (connected
components under the nearby distance), the merge's rights, versions and refusals."""

from __future__ import annotations

import json
import math
import re
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box, mapping
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from app.models import (
    Comment,
    Membership,
    MembershipRole,
    Notification,
    Revision,
    Trace,
    TraceStatus,
    User,
)
from app.moderation.groups import Group, components, distance_m, group_entries, metres_per_degree
from app.moderation.queries import NEARBY_METRES, Neighbour

GEOD = Geod(ellps="WGS84")
ALTA = (23.27, 69.97)


def at(dx: float, dy: float, origin: tuple[float, float] = ALTA) -> Point:
    """A point `dx` metres east and `dy` metres north of `origin`."""
    kx, ky = metres_per_degree(origin[1])
    return Point(origin[0] + dx / kx, origin[1] + dy / ky)


# --- grouping, a pure function -------------------------------------------------------------


def fake_entry(i: int, point: Point, nearby: list[Neighbour] | None = None) -> dict[str, Any]:
    trace = SimpleNamespace(id=1000 + i, status=TraceStatus.PENDING)
    return {"trace": trace, "geometry": json.dumps(mapping(point)), "nearby": nearby or []}


MARGIN = 0.01  # metres: how closely the app's distance follows the geodesic


def geodesic(a: Point, b: Point) -> float:
    return GEOD.inv(a.x, a.y, b.x, b.y)[2]


# Points up to ~600 m apart around a place anywhere from Lindesnes to the North Cape, so
# chains, pairs and loners all turn up; the distance is checked against pyproj's geodesic.
offsets = st.lists(st.tuples(st.floats(-300, 300), st.floats(-300, 300)), min_size=0, max_size=24)
origins = st.tuples(st.floats(4.5, 31.0), st.floats(57.9, 71.2))


@settings(max_examples=300, deadline=None)
@given(origin=origins, points=offsets)
def test_groups_are_exactly_the_connected_components(
    origin: tuple[float, float], points: list[tuple[float, float]]
) -> None:
    shapes = [at(dx, dy, origin) for dx, dy in points]
    entries = [fake_entry(i, p) for i, p in enumerate(shapes)]
    rows = group_entries(entries, None)
    index = {e["trace"].id: i for i, e in enumerate(entries)}
    parts = [
        [index[m["trace"].id] for m in row.members] if isinstance(row, Group) else
        [index[row["trace"].id]]
        for row in rows
    ]  # fmt: skip
    # Every pending entry appears exactly once, and no group has fewer than two members.
    assert sorted(i for part in parts for i in part) == list(range(len(entries)))
    assert all(len(p) >= 2 for p, row in zip(parts, rows, strict=True) if isinstance(row, Group))
    # Rows keep queue order: a group stands where its oldest member stood, members oldest first.
    assert [p[0] for p in parts] == sorted(p[0] for p in parts)
    assert all(p == sorted(p) for p in parts)
    # The app measures in a local plane, within 1 cm of the geodesic: pairs that close to the
    # limit may fall either way, so "near" and "far" are judged outside that margin.
    distance = {
        (i, j): geodesic(shapes[i], shapes[j])
        for i in range(len(shapes))
        for j in range(len(shapes))
        if i != j
    }
    near = {pair for pair, metres in distance.items() if metres <= NEARBY_METRES - MARGIN}
    linked = {pair for pair, metres in distance.items() if metres <= NEARBY_METRES + MARGIN}
    part_of = {i: k for k, part in enumerate(parts) for i in part}
    # Closed: entries within the distance always share a row ...
    assert all(part_of[i] == part_of[j] for i, j in near)
    # ... and connected: each row's entries are linked by a chain of near pairs.
    for part in parts:
        reached, todo = {part[0]}, [part[0]]
        while todo:
            i = todo.pop()
            for j in part:
                if j not in reached and (i, j) in linked:
                    reached.add(j)
                    todo.append(j)
        assert reached == set(part)


def test_a_chain_is_one_group_though_its_ends_are_far_apart() -> None:
    chain = [at(i * 90.0, 0) for i in range(5)]  # 90 m steps: ends 360 m apart
    lone = at(0, 5000)
    rows = group_entries([fake_entry(i, p) for i, p in enumerate([*chain, lone])], None)
    assert len(rows) == 2 and isinstance(rows[0], Group) and len(rows[0].members) == 5
    assert not isinstance(rows[1], Group)


def neighbour(
    trace_id: int, metres: float, status: TraceStatus, may_link: bool = True
) -> Neighbour:
    trace = SimpleNamespace(id=trace_id, status=status, title=f"#{trace_id}")
    return Neighbour(trace, metres, json.dumps(mapping(at(metres, 0))), may_link)  # type: ignore[arg-type]


def test_existing_traces_are_listed_once_nearest_first_and_never_a_member() -> None:
    first, second = at(0, 0), at(30, 0)
    entries = [fake_entry(0, first), fake_entry(1, second)]
    entries[0]["nearby"] = [
        neighbour(1001, 30, TraceStatus.PENDING),  # the other member: not "existing"
        neighbour(7, 60, TraceStatus.APPROVED),
        neighbour(8, 80, TraceStatus.APPROVED, may_link=False),
    ]
    entries[1]["nearby"] = [
        neighbour(1000, 30, TraceStatus.PENDING),
        neighbour(7, 40, TraceStatus.APPROVED),
        neighbour(9, 10, TraceStatus.REJECTED),
    ]
    (group,) = group_entries(entries, None)
    assert [(n.trace.id, n.metres) for n in group.existing] == [(9, 10), (7, 40), (8, 80)]
    # Kept by default: the nearest approved trace the moderator may merge into.
    assert [n.trace.id for n in group.keepable] == [7]
    assert group.keep_default_id == 7
    assert set(group.labels) == {1000, 1001, 7, 8, 9}
    assert len(set(group.labels.values())) == 5


def test_without_an_approved_trace_to_keep_the_oldest_entry_is_kept() -> None:
    entries = [fake_entry(0, at(0, 0)), fake_entry(1, at(0, 50))]
    entries[1]["nearby"] = [neighbour(8, 20, TraceStatus.APPROVED, may_link=False)]
    (group,) = group_entries(entries, None)
    assert group.keep_default_id == 1000


def test_lines_and_polygons_are_measured_at_their_nearest_edge() -> None:
    line = LineString([at(-500, 0).coords[0], at(-50, 0).coords[0]])
    square = Polygon([c.coords[0] for c in (at(40, -10), at(60, -10), at(60, 10), at(40, 10))])
    assert abs(distance_m(line, square) - 90.0) < 0.01
    assert components([line, square, at(200, 0)]) == [[0, 1], [2]]


def test_distance_agrees_with_postgis_on_the_spheroid(session: Session) -> None:
    """The grouping's distance is PostGIS's (the nearby hints') to a centimetre."""
    samples = [
        (at(0, 0), at(99.5, 3)),
        (at(0, 0, (5.3, 60.4)), at(-40, 70, (5.3, 60.4))),
        (LineString([at(0, 0).coords[0], at(120, 80).coords[0]]), at(100, 0)),
        (box(*at(0, 0).coords[0], *at(30, 30).coords[0]), at(130, 15)),
        (
            Polygon([c.coords[0] for c in (at(0, 0), at(50, 0), at(25, 60))]),
            LineString([at(80, -10).coords[0], at(80, 90).coords[0]]),
        ),
    ]
    for a, b in samples:
        expected = session.execute(
            text(
                "SELECT ST_Distance(ST_GeomFromText(:a, 4326)::geography, "
                "ST_GeomFromText(:b, 4326)::geography)"
            ),
            {"a": a.wkt, "b": b.wkt},
        ).scalar_one()
        assert math.isclose(distance_m(a, b), expected, abs_tol=0.01), (a, b)


# --- the merge ------------------------------------------------------------------------------


@pytest.fixture
def world(session: Session, make_user, make_project, make_trace) -> dict[str, Any]:
    """Three pending entries of one place, an approved trace there, a trace of another
    project there, a librarian, a curator whose area holds only part of it, and an other
    project's curator."""
    project, other = make_project("merge-alta"), make_project("merge-other")
    people = {
        "librarian": make_user(name="Lina Librarian"),
        "area_curator": make_user(name="Arne Area"),
        "other_curator": make_user(name="Otto Other"),
        "resident": make_user(name="Rita Resident"),
        "second": make_user(name="Siri Second"),
    }
    # The area holds the entries and the approved trace, not the point 300 m east.
    area = from_shape(MultiPolygon([box(*at(-150, -150).coords[0], *at(150, 150).coords[0])]),
                      srid=4326)  # fmt: skip
    session.add_all([
        Membership(project_id=project.id, user_id=people["librarian"].id,
                   role=MembershipRole.LIBRARIAN),
        Membership(project_id=project.id, user_id=people["area_curator"].id,
                   role=MembershipRole.CURATOR, area=area),
        Membership(project_id=other.id, user_id=people["other_curator"].id,
                   role=MembershipRole.CURATOR),
    ])  # fmt: skip
    session.commit()

    def pending(title: str, point: Point, author: User, when: str) -> Trace:
        return make_trace(point, status=TraceStatus.PENDING, author=author, project=project,
                          title=title, description=f"{title}: steiner i ring.",
                          submitted_at=when)  # fmt: skip

    entries = [
        pending("Gravrøys A", at(0, 0), people["resident"], "2026-11-01T10:00:00Z"),
        pending("Gravrøys B", at(12, 5), people["second"], "2026-11-02T10:00:00Z"),
        pending("Gravrøys C", at(20, 60), people["resident"], "2026-11-03T10:00:00Z"),
    ]
    approved = make_trace(at(5, 5), project=project, title="Gravrøys ved vannet")
    far = make_trace(at(300, 0), project=project, title="Røys i lia")
    foreign = make_trace(at(3, 0), project=other, title="Røys i nabokommunen")
    return {"project": project, "other": other, "people": people, "entries": entries,
            "approved": approved, "far": far, "foreign": foreign}  # fmt: skip


def post_merge(
    client: FlaskClient,
    token: str,
    project: Any,
    keep: Trace,
    members: list[Trace],
    *,
    merge: list[Trace] | None = None,
    approve: bool = True,
    versions: dict[int, int] | None = None,
    next_url: str = "/moderation/merge-alta",
) -> Any:
    """The group's form as the page sends it: every member's version, the ticked ones."""
    data: list[tuple[str, Any]] = [("csrf_token", token), ("keep", keep.id), ("next", next_url)]
    for trace in [*members, *([] if keep in members else [keep])]:
        data.append((f"version-{trace.id}", (versions or {}).get(trace.id, trace.version)))
    for member in members if merge is None else merge:
        data.append(("merge", member.id))
    if approve:
        data.append(("approve", "y"))
    return client.post(f"/moderation/{project.slug}/merge", data=MultiDict(data))


def as_english(client: FlaskClient, login, user: User) -> str:
    token = login(user)
    response = client.post("/language", data={"lang": "en", "csrf_token": token})
    assert response.status_code == 302
    return token


def flashes(client: FlaskClient) -> list[tuple[str, str]]:
    with client.session_transaction() as stored:
        return list(stored.get("_flashes", []))


def fresh(session: Session, trace: Trace) -> Trace:
    session.expire_all()
    return session.get(Trace, trace.id)


def footprint(session: Session) -> tuple[Any, ...]:
    """What a refused merge must leave as it was."""
    session.expire_all()
    traces = session.execute(
        select(Trace.id, Trace.status, Trace.version, Trace.duplicate_of_id).order_by(Trace.id)
    ).all()

    def count(model: Any) -> int:
        return session.execute(select(func.count()).select_from(model)).scalar_one()

    return (tuple(traces), count(Comment), count(Revision), count(Notification))


def observations_on(session: Session, trace: Trace) -> list[str]:
    return list(
        session.execute(
            select(Comment.body).where(Comment.trace_id == trace.id).order_by(Comment.id)
        ).scalars()
    )


def test_keep_the_oldest_merge_the_others_and_approve_it_in_one_submit(
    client, login, session, world
) -> None:
    a, b, c = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    response = post_merge(client, token, world["project"], a, [a, b, c])
    assert response.status_code == 302
    assert response.headers["Location"] == "/moderation/merge-alta"
    assert ("success", "Merged 2 entries into “Gravrøys A”.") in flashes(client)
    assert fresh(session, a).status == TraceStatus.APPROVED
    for other in (b, c):
        merged = fresh(session, other)
        assert merged.status == TraceStatus.REJECTED and merged.duplicate_of_id == a.id
    bodies = observations_on(session, a)
    assert len(bodies) == 2 and "Gravrøys B: steiner i ring." in bodies[0]
    # Each contributor is told; the kept one's author hears of the approval.
    told = session.execute(
        select(Notification.user_id, Notification.trace_id).order_by(Notification.id)
    ).all()
    assert (world["people"]["second"].id, b.id) in told
    assert (world["people"]["resident"].id, c.id) in told
    assert (world["people"]["resident"].id, a.id) in told


def test_merging_into_an_approved_trace_leaves_it_approved(client, login, session, world):
    a, b, c = world["entries"]
    kept = world["approved"]
    version = kept.version
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], kept, [a, b, c])
    assert ("success", "Merged 3 entries into “Gravrøys ved vannet”.") in flashes(client)
    assert fresh(session, kept).status == TraceStatus.APPROVED
    assert len(observations_on(session, kept)) == 3
    assert all(fresh(session, t).duplicate_of_id == kept.id for t in (a, b, c))
    assert fresh(session, kept).version == version  # not approved again, not touched


def test_without_approve_the_kept_entry_waits(client, login, session, world):
    a, b, _ = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], b, [a, b], approve=False)
    assert fresh(session, b).status == TraceStatus.PENDING
    assert fresh(session, a).duplicate_of_id == b.id


def test_unticked_members_are_left_alone(client, login, session, world):
    a, b, c = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], a, [a, b, c], merge=[b])
    assert fresh(session, b).duplicate_of_id == a.id
    assert fresh(session, c).status == TraceStatus.PENDING


def test_a_stale_member_is_refused_and_the_others_merged(client, login, session, world):
    a, b, c = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], a, [a, b, c], versions={b.id: b.version - 1})
    told = flashes(client)
    assert ("success", "Merged 1 entry into “Gravrøys A”.") in told
    assert any(
        kind == "error" and "Gravrøys B" in text and "changed this trace" in text
        for kind, text in told
    ), told
    assert fresh(session, b).status == TraceStatus.PENDING
    assert fresh(session, c).duplicate_of_id == a.id


def test_a_stale_kept_entry_merges_nothing(client, login, session, world):
    a, b, c = world["entries"]
    before = footprint(session)
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], a, [a, b, c], versions={a.id: a.version + 1})
    assert footprint(session) == before
    (kind, text_), *_ = flashes(client)
    assert kind == "error" and "Gravrøys A" in text_ and "Nothing was merged" in text_


def test_a_group_merged_twice_changes_nothing_the_second_time(client, login, session, world):
    """The same form sent again (a double click, a back button) is told, not applied twice."""
    a, b, c = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    versions = {t.id: t.version for t in (a, b, c)}
    post_merge(client, token, world["project"], a, [a, b, c], approve=False)
    flashes(client)
    with client.session_transaction() as stored:
        stored.pop("_flashes", None)
    before = footprint(session)
    post_merge(client, token, world["project"], a, [a, b, c], versions=versions, approve=False)
    assert footprint(session) == before
    told = flashes(client)
    assert ("info", "“Gravrøys B” was already merged into it.") in told
    assert ("info", "“Gravrøys C” was already merged into it.") in told


def test_an_entry_merged_elsewhere_is_refused(client, login, session, world):
    a, b, c = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], a, [a, b], approve=False)
    b_now = fresh(session, b)
    # B is merged into A; a second group tries to merge it into C with its current version.
    post_merge(client, token, world["project"], c, [c, b_now], approve=False)
    assert fresh(session, b).duplicate_of_id == a.id
    assert any(k == "error" and "Gravrøys B" in t for k, t in flashes(client))
    # And a trace merged away cannot be kept: its original is named instead.
    before = footprint(session)
    post_merge(client, token, world["project"], b_now, [b_now, c])
    assert footprint(session) == before
    assert any(k == "error" and f"#{a.id}" in t for k, t in flashes(client))


def test_a_kept_trace_changed_meanwhile_merges_nothing(client, login, session, world):
    a, b, c = world["entries"]
    kept = world["approved"]
    seen = kept.version
    kept.title = "Gravrøys ved vannet (rettet)"
    session.commit()
    before = footprint(session)
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], kept, [a, b, c], versions={kept.id: seen})
    assert footprint(session) == before
    assert any(k == "error" and "Nothing was merged" in t for k, t in flashes(client))


@pytest.mark.parametrize("status", [TraceStatus.REJECTED, TraceStatus.WITHDRAWN])
def test_only_a_waiting_or_approved_trace_can_be_kept(client, login, session, world, status):
    a, b, c = world["entries"]
    kept = world["approved"]
    session.execute(
        text(
            "UPDATE traces SET status = :status, version = version + 1, "
            "decided_by_id = approved_by_id WHERE id = :id"
        ),
        {"id": kept.id, "status": status.value},
    )
    session.commit()
    before = footprint(session)
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], kept, [a, b, c])
    assert footprint(session) == before
    assert any(k == "error" and "only a waiting or approved" in t for k, t in flashes(client))


def test_merging_into_a_deleted_trace_is_refused(client, login, session, world):
    a, b, c = world["entries"]
    kept = world["approved"]
    session.execute(
        text("UPDATE traces SET status = 'deleted', version = version + 1 WHERE id = :id"),
        {"id": kept.id},
    )
    session.commit()
    before = footprint(session)
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], kept, [a, b, c])
    assert footprint(session) == before
    assert any(k == "error" and "deleted" in t for k, t in flashes(client))


@pytest.mark.parametrize(
    ("person", "kept"),
    [
        ("area_curator", "far"),  # the same project, outside the curator's area
        ("area_curator", "foreign"),  # another project
        ("librarian", "foreign"),
        ("other_curator", "foreign"),  # moderates the kept one, not the queue's project
    ],
)
def test_merging_into_a_trace_outside_ones_rights_is_refused(
    client, login, session, world, person, kept
):
    a, b, c = world["entries"]
    before = footprint(session)
    token = as_english(client, login, world["people"][person])
    response = post_merge(client, token, world["project"], world[kept], [a, b, c])
    assert footprint(session) == before
    if person == "other_curator":
        assert response.status_code == 403
    else:
        assert response.status_code == 302
        assert any(k == "error" and "ask its librarian" in t for k, t in flashes(client))


def test_an_area_curator_merges_what_lies_in_the_area_and_hears_what_does_not(
    client, login, session, world, make_trace
):
    a, b, _ = world["entries"]
    outside = make_trace(at(400, 0), status=TraceStatus.PENDING, author=world["people"]["second"],
                         project=world["project"], title="Utenfor området")  # fmt: skip
    token = as_english(client, login, world["people"]["area_curator"])
    response = post_merge(client, token, world["project"], a, [a, b, outside])
    assert response.status_code == 302
    assert fresh(session, b).duplicate_of_id == a.id
    assert fresh(session, outside).status == TraceStatus.PENDING
    # Not in the curator's area, so not theirs to see: named by number, its title kept back.
    refusals = [t for k, t in flashes(client) if k == "error"]
    assert any(f"#{outside.id}" in t for t in refusals), refusals
    assert not any("Utenfor området" in t for t in refusals), refusals


@pytest.mark.parametrize(
    "change",
    [
        {"keep": "abc"},
        {"keep": "99999999999999"},
        {"keep": ""},
        {"csrf_token": ""},
    ],
)
def test_a_malformed_merge_is_refused_never_a_500(client, login, session, world, change):
    a, b, _ = world["entries"]
    before = footprint(session)
    token = login(world["people"]["librarian"])
    data = {"csrf_token": token, "keep": a.id, "merge": [b.id], f"version-{b.id}": b.version,
            f"version-{a.id}": a.version, **change}  # fmt: skip
    response = client.post("/moderation/merge-alta/merge", data=data)
    assert response.status_code == 400
    assert footprint(session) == before


def test_odd_fields_are_ignored_and_an_unseen_version_refused(client, login, session, world):
    a, b, c = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    data = [("csrf_token", token), ("keep", a.id), ("merge", "x"), ("merge", "-3"),
            ("merge", b.id), ("merge", c.id), ("merge", 2**40), ("version-zz", "1"),
            (f"version-{a.id}", a.version), (f"version-{b.id}", b.version),
            ("next", "//evil.example/")]  # fmt: skip
    response = client.post("/moderation/merge-alta/merge", data=MultiDict(data))
    assert response.status_code == 302
    assert response.headers["Location"] == "/moderation/merge-alta"  # not the other host
    assert fresh(session, b).duplicate_of_id == a.id
    assert fresh(session, c).status == TraceStatus.PENDING  # no version sent: not merged
    assert fresh(session, a).status == TraceStatus.PENDING  # approve not ticked


def test_without_the_kept_ones_version_nothing_is_merged(client, login, session, world):
    a, b, _ = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    before = footprint(session)
    data = [("csrf_token", token), ("keep", a.id), ("merge", b.id),
            (f"version-{b.id}", b.version)]  # fmt: skip
    client.post("/moderation/merge-alta/merge", data=MultiDict(data))
    assert footprint(session) == before
    assert any(k == "error" and "Nothing was merged" in t for k, t in flashes(client))


def test_nothing_ticked_is_told(client, login, session, world):
    a, b, _ = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    before = footprint(session)
    post_merge(client, token, world["project"], a, [a, b], merge=[a])
    assert footprint(session) == before
    assert flashes(client)[0][0] == "error"


def test_a_resident_may_not_merge(client, login, session, world):
    a, b, _ = world["entries"]
    before = footprint(session)
    token = login(world["people"]["resident"])
    assert post_merge(client, token, world["project"], a, [a, b]).status_code == 403
    assert footprint(session) == before


def test_merge_groups_flask_app_has_the_route(app: Flask) -> None:
    rules = {rule.rule: rule.methods for rule in app.url_map.iter_rules()}
    assert "POST" in rules["/moderation/<slug>/merge"]


# --- what the contributor of a merged entry sees ---------------------------------------------


def test_a_merged_entry_is_told_as_merged_not_rejected(client, login, session, world):
    """Issue 10, item 3: the trace page and "My traces" say "Merged with «…»", with a link to
    the kept trace, and the contributor's notification is the merge, not a rejection."""
    a, b, _ = world["entries"]
    token = as_english(client, login, world["people"]["librarian"])
    post_merge(client, token, world["project"], a, [a, b])
    client.post("/logout", data={"csrf_token": token})
    as_english(client, login, world["people"]["second"])  # B's contributor
    link = f'<a href="/traces/{a.id}">Gravrøys A</a>'
    for path in (f"/traces/{b.id}", "/me/traces"):
        page = client.get(path).get_data(as_text=True)
        assert f"Merged with “{link}”" in page, path
        assert "Rejected" not in page and "Avvist" not in page, path
    kinds = session.execute(
        select(Notification.kind).where(Notification.user_id == world["people"]["second"].id)
    ).scalars()
    assert list(kinds) == ["trace.merged"]


# --- the group on the queue page -------------------------------------------------------------


def test_the_queue_shows_one_group_with_what_this_moderator_may_keep(client, login, world):
    a, b, c = world["entries"]
    as_english(client, login, world["people"]["librarian"])
    page = client.get("/moderation/merge-alta").get_data(as_text=True)
    assert page.count('class="dup-group"') == 1
    for entry in (a, b, c):
        assert page.count(f'id="entry-{entry.id}"') == 1
        assert f'name="version-{entry.id}" value="{entry.version}"' in page
        assert f'name="merge" value="{entry.id}"' in page
    # The approved trace of this project is kept by default; the other project's is listed
    # as near, never offered to keep (the librarian does not moderate it).
    assert re.search(rf'name="keep" value="{world["approved"].id}"[^>]*data-approved checked', page)
    assert f'name="keep" value="{world["foreign"].id}"' not in page
    assert "Røys i nabokommunen" in page and "it cannot be kept here" in page
    # The map is one picture with nothing to focus inside.
    (svg,) = re.findall(r'<svg viewBox[^>]*role="img".*?</svg>', page, re.S)
    assert "<a" not in svg and "tabindex" not in svg and svg.count("<circle") == 5


def test_an_area_curator_is_offered_only_what_lies_in_the_area(client, login, world, make_trace):
    # 95 m north of entry C, 5 m outside the curator's area: near, but not theirs to keep.
    border = make_trace(at(20, 155), project=world["project"], title="Røys ved grensen")
    kept = rf'name="keep" value="{border.id}"'
    as_english(client, login, world["people"]["area_curator"])
    page = client.get("/moderation/merge-alta").get_data(as_text=True)
    assert page.count('class="dup-group"') == 1 and "Røys ved grensen" in page
    assert not re.search(kept, page)
    assert re.search(rf'name="keep" value="{world["approved"].id}"[^>]*data-approved checked', page)
    # The librarian moderates the whole project: the same trace is offered to them.
    as_english(client, login, world["people"]["librarian"])
    assert re.search(kept, client.get("/moderation/merge-alta").get_data(as_text=True))
