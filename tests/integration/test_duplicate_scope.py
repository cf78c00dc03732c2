"""Marking a duplicate publishes the entry's text on the original, so it is allowed only to
someone who moderates both traces: never across projects, never outside a curator's area."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import (
    AuditEvent,
    Comment,
    Membership,
    MembershipRole,
    Notification,
    Revision,
    Trace,
    TraceStatus,
    User,
    UserRole,
)

GJESDAL_IN = Point(6.05, 58.77)  # inside the area curator's box
GJESDAL_OUT = Point(6.30, 58.90)  # the same project, outside the box
ALTA = Point(23.27, 69.97)
ORIGINALS = ("alta", "gjesdal_outside", "gjesdal_inside")
# Who may mark the Gjesdal entry as a duplicate of which original.
ALLOWED = {
    "gjesdal_curator": {"gjesdal_outside", "gjesdal_inside"},
    "area_curator": {"gjesdal_inside"},
    "gjesdal_librarian": {"gjesdal_outside", "gjesdal_inside"},
    "curator_of_both": set(ORIGINALS),
    "admin": set(ORIGINALS),
}


@pytest.fixture
def world(session: Session, make_user, make_project, make_trace) -> dict[str, Any]:
    """Gjesdal and Alta, a pending Gjesdal entry, three possible originals, and moderators."""
    gjesdal, alta = make_project("gjesdal-d"), make_project("alta-d")
    resident = make_user(name="Rita Resident")
    people = {"admin": make_user(UserRole.ADMIN)}
    area = from_shape(MultiPolygon([box(6.0, 58.7, 6.1, 58.8)]), srid=4326)
    grants = {
        "gjesdal_curator": [(gjesdal, MembershipRole.CURATOR, None)],
        "area_curator": [(gjesdal, MembershipRole.CURATOR, area)],
        "gjesdal_librarian": [(gjesdal, MembershipRole.LIBRARIAN, None)],
        "curator_of_both": [
            (gjesdal, MembershipRole.CURATOR, None),
            (alta, MembershipRole.CURATOR, None),
        ],
    }
    for kind, roles in grants.items():
        people[kind] = make_user(name=kind)
        for project, role, limit in roles:
            session.add(Membership(project_id=project.id, user_id=people[kind].id, role=role,
                                   area=limit))  # fmt: skip
    session.commit()
    entry = make_trace(GJESDAL_IN, status=TraceStatus.PENDING, author=resident, project=gjesdal,
                       title="Gravrøys ved vannet", description="Tre steiner i ring.")  # fmt: skip
    originals = {
        "alta": make_trace(ALTA, project=alta, title="Alta-røys"),
        "gjesdal_outside": make_trace(GJESDAL_OUT, project=gjesdal, title="Røys i lia"),
        "gjesdal_inside": make_trace(GJESDAL_IN, project=gjesdal, title="Røys ved vannet"),
    }
    return {"entry": entry, "originals": originals, "people": people}


def stored(session: Session, world: dict[str, Any]) -> tuple[Any, ...]:
    """What a refused attempt must leave untouched."""
    session.expire_all()
    entry = session.get(Trace, world["entry"].id)

    def count(model: Any) -> int:
        return session.execute(select(func.count()).select_from(model)).scalar_one()

    return (
        entry.status,
        entry.version,
        entry.duplicate_of_id,
        entry.decision_note,
        count(Comment),
        count(AuditEvent),
        count(Revision),
        count(Notification),
    )


def post_duplicate(client: FlaskClient, login, user: User, entry: Trace, original: Trace) -> Any:
    token = login(user)
    return client.post(
        f"/moderation/duplicate/{entry.id}",
        data={
            "csrf_token": token,
            "original_id": original.id,
            "version": entry.version,
            "next": "/moderation/",
        },  # fmt: skip
    )


@pytest.mark.parametrize("original", ORIGINALS)
@pytest.mark.parametrize("person", sorted(ALLOWED))
def test_only_moderators_of_both_traces_may_mark_a_duplicate(
    app: Flask, session: Session, world, person: str, original: str
) -> None:
    """The operation itself refuses, whichever channel calls it; nothing is stored."""
    from app.db import db
    from app.errors import Forbidden
    from app.moderation.operations import mark_duplicate

    before = stored(session, world)
    with app.test_request_context():
        user = db.session.get(User, world["people"][person].id)
        entry = db.session.get(Trace, world["entry"].id)
        target = db.session.get(Trace, world["originals"][original].id)
        if original in ALLOWED[person]:
            assert mark_duplicate(user, entry, target, entry.version).changed
        else:
            with pytest.raises(Forbidden, match="når du modererer begge sporene"):
                mark_duplicate(user, entry, target, entry.version)
        db.session.flush()  # anything left pending would show up now, before the context ends
        after = stored(session, world)
        observations = session.execute(
            select(Comment.body).where(Comment.trace_id == target.id)
        ).scalars()
        bodies = list(observations)
    if original in ALLOWED[person]:
        assert after[0] == TraceStatus.REJECTED and after[2] == target.id
        assert len(bodies) == 1 and "Tre steiner i ring." in bodies[0]
    else:
        assert after == before and bodies == []


@pytest.mark.parametrize(
    ("person", "original"),
    [
        ("gjesdal_curator", "alta"),
        ("gjesdal_librarian", "alta"),
        ("area_curator", "alta"),
        ("area_curator", "gjesdal_outside"),
    ],
)
def test_the_web_form_refuses_a_duplicate_outside_scope(
    client: FlaskClient, login, session: Session, world, person: str, original: str
) -> None:
    before = stored(session, world)
    target = world["originals"][original]
    response = post_duplicate(client, login, world["people"][person], world["entry"], target)
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "når du modererer begge sporene" in page and f"#{target.id}" in page
    assert stored(session, world) == before
    assert not session.execute(select(Comment).where(Comment.trace_id == target.id)).first()


def test_the_web_form_still_marks_a_duplicate_within_scope(
    client: FlaskClient, login, session: Session, world
) -> None:
    target = world["originals"]["gjesdal_inside"]
    response = post_duplicate(client, login, world["people"]["area_curator"], world["entry"],
                              target)  # fmt: skip
    assert response.status_code == 302
    session.expire_all()
    entry = session.get(Trace, world["entry"].id)
    assert entry.status == TraceStatus.REJECTED and entry.duplicate_of_id == target.id


def test_no_other_route_marks_duplicates(app: Flask) -> None:
    """The web form is the only way in; an API route added later must get a test here."""
    rules = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "duplicate" in rule.rule or rule.rule.endswith("/merge")
    )
    # merge: tests/integration/test_merge_groups.py
    assert rules == ["/moderation/<slug>/merge", "/moderation/duplicate/<int:trace_id>"]


def test_the_queue_offers_only_originals_in_scope(
    client: FlaskClient, login, session: Session, world, make_trace
) -> None:
    """Nearby traces of other projects stay listed as a hint, without the duplicate button."""
    entry = world["entry"]
    near = Point(6.0502, 58.7701)  # about 20 m from the entry
    other = make_trace(near, project=world["originals"]["alta"].project, title="Alta-nabo")
    own = make_trace(near, project=entry.project, title="Gjesdal-nabo")
    login(world["people"]["gjesdal_curator"])
    page = client.get(f"/moderation/{entry.project.slug}/entry/{entry.id}?part=1").get_data(
        as_text=True
    )
    assert "Alta-nabo" in page and "Gjesdal-nabo" in page
    assert f'name="original_id" value="{own.id}"' in page
    assert f'name="original_id" value="{other.id}"' not in page
