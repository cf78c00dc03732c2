"""The librarian's backlog on the moderation index and the weekly digest e-mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import select

from app.db import db
from app.models import Membership, MembershipRole, OutboxMail, Project, TraceStatus, User
from app.moderation.backlog import project_backlog
from tests.conftest import csrf_from

NOW = datetime.now(UTC)
WEST = MultiPolygon([Polygon([(23.0, 69.8), (23.3, 69.8), (23.3, 70.1), (23.0, 70.1)])])
EAST = MultiPolygon([Polygon([(23.3, 69.8), (23.6, 69.8), (23.6, 70.1), (23.3, 70.1)])])


@pytest.fixture
def desk(session, make_user, make_project, make_trace):
    """A project with a librarian, two area curators, a whole-project curator and pending
    entries of known ages in the west, the east and outside both areas."""
    project = make_project(slug="desk")
    librarian = make_user(name="Librarian Liv")
    west = make_user(name="West Wenche")
    east = make_user(name="East Erik")
    anywhere = make_user(name="Anywhere Anne")
    resident = make_user(name="Resident Rita")
    session.add_all([
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN),
        Membership(project_id=project.id, user_id=west.id, role=MembershipRole.CURATOR,
                   area=from_shape(WEST, srid=4326)),
        Membership(project_id=project.id, user_id=east.id, role=MembershipRole.CURATOR,
                   area=from_shape(EAST, srid=4326)),
        Membership(project_id=project.id, user_id=anywhere.id, role=MembershipRole.CURATOR),
    ])  # fmt: skip
    session.commit()
    ages = {"west": [3, 10, 1], "east": [5], "outside": [20, 2]}
    places = {"west": Point(23.1, 69.9), "east": Point(23.5, 69.9), "outside": Point(24.5, 69.9)}
    for where, days in ages.items():
        for age in days:
            make_trace(status=TraceStatus.PENDING, project=project, author=resident,
                       geometry=places[where], submitted_at=NOW - timedelta(days=age))  # fmt: skip
    # Not waiting: approved and rejected entries, however old.
    make_trace(project=project, author=resident, submitted_at=NOW - timedelta(days=90))
    make_trace(status=TraceStatus.REJECTED, project=project, author=resident,
               submitted_at=NOW - timedelta(days=90))  # fmt: skip
    return {"project": project, "librarian": librarian, "west": west, "east": east,
            "anywhere": anywhere, "resident": resident, "ages": ages}  # fmt: skip


def _backlog(app, session, user, project):
    session.commit()  # both sessions share one connection: end this one's savepoint first
    with app.test_request_context():
        return project_backlog(
            db.session.get(User, user.id), db.session.get(Project, project.id), NOW
        )


def test_librarian_sees_oldest_age_and_waiting_per_curator_area(app, session, desk):
    ages = desk["ages"]
    backlog = _backlog(app, session, desk["librarian"], desk["project"])
    assert backlog.oldest_age == timedelta(days=max(max(days) for days in ages.values()))
    rows = [(row.curator, row.count, row.oldest_age) for row in backlog.areas]
    assert rows == [
        ("East Erik", len(ages["east"]), timedelta(days=max(ages["east"]))),
        ("West Wenche", len(ages["west"]), timedelta(days=max(ages["west"]))),
        (None, len(ages["outside"]), timedelta(days=max(ages["outside"]))),
    ]


def test_curator_sees_only_the_oldest_in_their_own_area(app, session, desk):
    backlog = _backlog(app, session, desk["west"], desk["project"])
    assert backlog.oldest_age == timedelta(days=max(desk["ages"]["west"]))
    assert backlog.areas == []  # per-area counts are for librarians
    anywhere = _backlog(app, session, desk["anywhere"], desk["project"])
    assert anywhere.oldest_age == timedelta(days=20)


def test_nothing_waiting_gives_no_backlog(app, session, make_user, make_project):
    project = make_project()
    librarian = make_user()
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    assert _backlog(app, session, librarian, project) is None


def test_moderation_index_shows_the_backlog(client, login, desk):
    login(desk["librarian"])
    client.post("/language", data={"lang": "en", "csrf_token": csrf_from(client.get("/").text)})
    html = client.get("/moderation/").get_data(as_text=True)
    assert "The oldest entry has waited 20 days." in html
    assert "Area of West Wenche" in html and "Outside every curator area" in html
    row = re.search(r"Area of West Wenche</th>\s*<td>(\d+)</td>\s*<td>([^<]+)</td>", html)
    assert row and row.group(1) == "3" and row.group(2) == "10 days"


# --- the weekly digest ---------------------------------------------------------------------


def _run(app):
    result = app.test_cli_runner().invoke(args=["digest", "send"])
    assert result.exit_code == 0, result.output
    return result.output


def _digests(session, to=None):
    session.expire_all()
    rows = session.execute(select(OutboxMail).order_by(OutboxMail.id)).scalars().all()
    rows = [row for row in rows if "wait" in row.subject or "venter" in row.subject]
    return [row for row in rows if to is None or row.to_address == to]


def _opt_in(session, *users):
    for user in users:
        user.weekly_digest = True
    session.commit()


def test_digest_goes_to_those_who_asked_once_and_only_with_something_waiting(
    app, session, desk, make_user, make_project
):
    idle = make_user(name="Idle Ivar")  # moderates a project where nothing waits
    quiet = make_project(slug="quiet")
    session.add(Membership(project_id=quiet.id, user_id=idle.id, role=MembershipRole.LIBRARIAN))
    _opt_in(session, desk["librarian"], desk["west"], desk["resident"], idle)
    output = _run(app)
    assert "Digests queued: 2; nothing waiting for 2." in output
    assert len(_digests(session, desk["librarian"].email)) == 1
    assert len(_digests(session, desk["west"].email)) == 1
    # Never to people who did not ask (east), who moderate nothing (resident), or who have
    # nothing waiting (idle).
    for user in (desk["east"], desk["anywhere"], desk["resident"], idle):
        assert _digests(session, user.email) == []
    # Idempotent: a second run in the same week sends nothing more.
    assert "Digests queued: 0" in _run(app)
    assert len(_digests(session)) == 2
    # A week later it is due again.
    session.expire_all()
    for user in (desk["librarian"], desk["west"]):
        session.get(User, user.id).digest_sent_at = NOW - timedelta(days=6, minutes=1)
    session.commit()
    assert "Digests queued: 2" in _run(app)


def test_digest_content_counts_oldest_age_and_links(app, session, desk, logged_mail):
    _opt_in(session, desk["west"])
    app.config["BABEL_DEFAULT_LOCALE"], default = "en", app.config["BABEL_DEFAULT_LOCALE"]
    try:
        _run(app)
    finally:
        app.config["BABEL_DEFAULT_LOCALE"] = default
    (row,) = _digests(session, desk["west"].email)
    west = len(desk["ages"]["west"])
    assert row.subject == f"Kulturspor: {west} entries wait for you"
    assert f"{desk['project'].name}: {west} entries wait (the oldest for 10 days)" in row.body
    base = app.config["BASE_URL"].rstrip("/")
    assert f"{base}/moderation/desk" in row.body and f"{base}/account" in row.body
    assert "Hello West Wenche," in row.body
    assert session.get(User, desk["west"].id).digest_sent_at is not None
    assert [m["To"] for m in logged_mail] == [desk["west"].email]  # sent by the command


def test_digest_speaks_the_installation_language(app, session, desk):
    _opt_in(session, desk["librarian"])
    _run(app)
    (row,) = _digests(session, desk["librarian"].email)
    assert app.config["BABEL_DEFAULT_LOCALE"] == "nb"
    # A line already translated: the count per project, in Bokmål whatever the request was.
    waiting = sum(len(days) for days in desk["ages"].values())
    assert f"{desk['project'].name}: {waiting} bidrag venter" in row.body


def test_digest_checkbox_only_for_moderators_and_saved(client, login, session, desk):
    token = login(desk["resident"])
    assert 'name="weekly_digest"' not in client.get("/account").get_data(as_text=True)
    # A resident's settings form (without the box) leaves the choice untouched.
    session.get(User, desk["resident"].id).weekly_digest = True
    session.commit()
    form = {"csrf_token": token, "display_name": "Resident Rita", "notify_by_email": "y"}
    assert client.post("/account/settings", data=form).status_code == 302
    session.expire_all()
    assert session.get(User, desk["resident"].id).weekly_digest is True

    client.post("/logout", data={"csrf_token": token})
    token = login(desk["west"])
    page = client.get("/account").get_data(as_text=True)
    assert 'name="weekly_digest"' in page
    form = {"csrf_token": token, "display_name": "West Wenche", "weekly_digest": "y"}
    assert client.post("/account/settings", data=form).status_code == 302
    session.expire_all()
    assert session.get(User, desk["west"].id).weekly_digest is True
    del form["weekly_digest"]
    assert client.post("/account/settings", data=form).status_code == 302
    session.expire_all()
    assert session.get(User, desk["west"].id).weekly_digest is False
