"""The public history shows only what the public may see, in every version (issue 7, item 3).

Properties over every version of a trace and every viewer:
- a viewer who may not see a protected trace precisely never finds a precise coordinate of any
  version on the history pages (map script, data attributes, text), even of versions from
  before the trace was moved, re-typed or opened; the author and moderators do;
- an editor's name appears only with their consent, to themselves, or to the moderators;
- a moderator's message to the author is shown to the author and the moderators only;
- a hidden trace's history is hidden in every version;
- a bad ?version= is a 400 or a 404, never a 500.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import db
from app.models import (
    Membership,
    MembershipRole,
    Scheme,
    Term,
    Trace,
    TraceStatus,
    User,
    UserRole,
    UserSession,
)
from app.moderation.operations import decide, set_sensitivity
from app.moderation.states import Action
from app.traces.edit_operations import update_trace
from app.traces.operations import submit_trace
from app.traces.validation import Submission
from geo.privacy import generalise_location

CELL_METRES = 1500.0  # the test app's PRIVACY_CELL_METRES (the default)
REQUEST_MARKER = "REQ-MSG-7f3a9c"
APPROVE_MARKER = "APPROVE-NOTE-41d2e8"
EDIT_MARKER = "EDIT-NOTE-5b6c1d"
PUBLIC_VIEWERS = ("anonymous", "other", "outside_curator")
PRECISE_VIEWERS = ("author", "curator", "admin")
NUMBER = re.compile(r"-?\d+\.\d+")


@dataclass
class Story:
    """A trace and, for each of its versions, the precise place recorded then."""

    trace_id: int
    places: dict[int, Point] = field(default_factory=dict)
    requested: bool = False  # a moderator asked the author for changes on the way


# --- helpers -------------------------------------------------------------------------------


def numbers_in(page: str) -> list[float]:
    """Every decimal number on the page, wherever it is written (script, attribute, text)."""
    return [float(n) for n in NUMBER.findall(page)]


def shows_place(numbers: list[float], place: Point, tolerance: float) -> bool:
    """The page carries this place's longitude and latitude, each to within ``tolerance``."""
    return any(abs(n - place.x) < tolerance for n in numbers) and any(
        abs(n - place.y) < tolerance for n in numbers
    )


def leaks(numbers: list[float], place: Point) -> list[float]:
    """Numbers within about 10 m of the precise longitude or latitude (either is a leak)."""
    return [n for n in numbers if abs(n - place.x) < 1e-4 or abs(n - place.y) < 1e-4]


def selected(page: str) -> str:
    """The selected version's section of a history page."""
    return page[page.index('id="selected"') : page.index("</section>")]


def version_pages(client: FlaskClient, story: Story) -> Iterator[tuple[str, str]]:
    """The history list and every version's page, as (url, page); each must answer 200."""
    urls = [f"/traces/{story.trace_id}/history"] + [
        f"/traces/{story.trace_id}/history?version={v}" for v in story.places
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        yield url, response.get_data(as_text=True)


@contextmanager
def acting(app: Flask) -> Iterator[None]:
    """An English request context for calling operations, committed (to the test savepoint)."""
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield
        db.session.commit()


def submission(trace: Trace | None, project: Any, place: Point, type_code: str) -> Submission:
    trace_type = db.session.execute(
        select(Term).where(Term.scheme == Scheme.TRACE_TYPE, Term.code == type_code)
    ).scalar_one()
    return Submission(
        project=project,
        title=trace.title if trace else "Gammel tuft",
        description=trace.description if trace else "Ved bekken.",
        sources="",
        licence="CC-BY-4.0",
        geometry=place,
        terms={"trace_type": trace_type},
    )


def far_from_its_cell_centre(*places: Point) -> None:
    """The test means something only if no precise coordinate is near any public one."""
    publics = [generalise_location(place, CELL_METRES) for place in places]
    for place in places:
        for public in publics:
            assert abs(public.x - place.x) > 3e-4 and abs(public.y - place.y) > 3e-4, place


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def cast(session: Session, make_user, make_project) -> dict[str, Any]:
    """An author (no consent to show the name), a curator (consent) and others around them."""
    project, elsewhere = make_project(slug="alta"), make_project(slug="gjesdal")
    users = {
        "author": make_user(name="Anna Forfatter"),
        "other": make_user(name="Ola Annen"),
        "curator": make_user(name="Kari Kurator"),
        "outside_curator": make_user(name="Gro Gjesdal"),
        "admin": make_user(role=UserRole.ADMIN, name="Arne Admin"),
    }
    users["curator"].show_name_publicly = True
    session.add_all(
        [
            Membership(
                project_id=project.id, user_id=users["curator"].id, role=MembershipRole.CURATOR
            ),
            Membership(
                project_id=elsewhere.id,
                user_id=users["outside_curator"].id,
                role=MembershipRole.LIBRARIAN,
            ),
        ]
    )
    session.commit()
    return {"project": project, **users}


class Clients(dict):
    """One client per viewer, made on first use; logged in as the real login does it.

    The server-side session row and the cookie are written directly: the login form itself
    (and its deliberately slow password hash) is tested elsewhere.
    """

    def __init__(self, app: Flask, session: Session, cast: dict[str, Any]) -> None:
        super().__init__()
        self.app, self.session, self.cast = app, session, cast

    def __missing__(self, name: str) -> FlaskClient:
        # Imported once the app is built: app.auth.sessions must not be the first app module
        # a process imports (it and app.limits import each other).
        from app.auth.sessions import SESSION_KEY

        client = self.app.test_client()
        with client.session_transaction() as cookie:
            cookie["lang"] = "en"
            if name != "anonymous":
                user = self.cast[name]
                sid = secrets.token_urlsafe(32)
                self.session.add(
                    UserSession(id=sid, user_id=user.id, last_seen_at=datetime.now(UTC))
                )
                self.session.commit()
                cookie.update({SESSION_KEY: sid, "_user_id": str(user.id), "_fresh": True})
        self[name] = client
        return client


@pytest.fixture
def clients(app: Flask, session: Session, cast: dict[str, Any]) -> Clients:
    """The viewers' clients: anonymous, residents, curators and an admin."""
    return Clients(app, session, cast)


@pytest.fixture
def protected_later(app: Flask, session: Session, cast: dict[str, Any]) -> Story:
    """Submitted open at P1, moved to P2, changes requested, re-typed as a grave and moved to
    P3, resubmitted and approved: protected now, but its first versions were not."""
    p1 = Point(23.2611357, 69.9613579)
    p2 = Point(23.2934567, 69.9771234)
    p3 = Point(23.3172468, 69.9835792)
    far_from_its_cell_centre(p1, p2, p3)
    with acting(app):
        author, curator = (db.session.get(User, cast[n].id) for n in ("author", "curator"))
        project = db.session.merge(cast["project"])
        trace = submit_trace(author, submission(None, project, p1, "kullgrop"))
        story = Story(trace.id, {trace.version: p1})
        update_trace(
            author, trace, submission(trace, project, p2, "kullgrop"), trace.version, EDIT_MARKER
        )
        story.places[trace.version] = p2
        decide(curator, trace, Action.REQUEST_CHANGES, trace.version, REQUEST_MARKER)
        story.places[trace.version], story.requested = p2, True
        update_trace(author, trace, submission(trace, project, p3, "gravminne"), trace.version, "")
        # The author's save answers the request: the edit, then the resubmission it makes.
        story.places[trace.version - 1] = story.places[trace.version] = p3
        assert trace.status == TraceStatus.PENDING
        decide(curator, trace, Action.APPROVE, trace.version, APPROVE_MARKER)
        story.places[trace.version] = p3
        assert trace.is_sensitive and trace.status == TraceStatus.APPROVED
    assert len(story.places) == 6
    return story


@pytest.fixture
def opened_later(app: Flask, session: Session, cast: dict[str, Any]) -> Story:
    """A grave submitted at Q1 and approved, moved by the curator to Q2, then opened (no longer
    protected) and moved to Q3: its protected versions stay protected."""
    q1 = Point(23.2413579, 69.9513571)
    q2 = Point(23.2691357, 69.9624682)
    q3 = Point(23.2972461, 69.9735793)
    far_from_its_cell_centre(q1, q2, q3)
    with acting(app):
        author, curator = (db.session.get(User, cast[n].id) for n in ("author", "curator"))
        project = db.session.merge(cast["project"])
        trace = submit_trace(author, submission(None, project, q1, "gravminne"))
        story = Story(trace.id, {trace.version: q1})
        decide(curator, trace, Action.APPROVE, trace.version, APPROVE_MARKER)
        story.places[trace.version] = q1
        update_trace(curator, trace, submission(trace, project, q2, "gravminne"), trace.version, "")
        story.places[trace.version] = q2
        set_sensitivity(curator, trace, "open", trace.version)
        story.places[trace.version] = q2
        update_trace(curator, trace, submission(trace, project, q3, "gravminne"), trace.version, "")
        story.places[trace.version] = q3
        assert not trace.is_sensitive and trace.status == TraceStatus.APPROVED
    assert len(story.places) == 5
    return story


@pytest.fixture(params=["protected_later", "opened_later"])
def story(request: pytest.FixtureRequest) -> Story:
    return request.getfixturevalue(request.param)


# --- every version, every viewer -----------------------------------------------------------


def test_every_version_shows_each_viewer_only_what_they_may_see(
    clients: Clients, story: Story
) -> None:
    """Places: precise for the author and moderators, generalised points for everyone else,
    in every version; moderators' messages: for the author and the moderators only."""
    for viewer in PUBLIC_VIEWERS + PRECISE_VIEWERS:
        precise = viewer in PRECISE_VIEWERS
        pages = dict(version_pages(clients[viewer], story))
        for url, page in pages.items():
            numbers = numbers_in(page)
            for version, place in story.places.items():
                if not precise:
                    assert not leaks(numbers, place), (viewer, url, version, leaks(numbers, place))
                    for text in (f"{place.x:.4f}", f"{place.y:.4f}"):
                        assert text not in page, (viewer, url, version, text)
            version = int(url.rpartition("=")[2]) if "version=" in url else None
            if version is not None:
                place = story.places[version]
                shown = place if precise else generalise_location(place, CELL_METRES)
                assert shows_place(numbers, shown, 1e-6), (viewer, url)
                assert ('id="places-approximate"' in page) is not precise, (viewer, url)
        everything = "".join(pages.values())
        assert (APPROVE_MARKER in everything) is precise, viewer
        assert 'class="revision-event">Approved<' in everything
        if story.requested:
            assert (REQUEST_MARKER in everything) is precise, viewer
            assert 'class="revision-event">Changes requested<' in everything
            assert EDIT_MARKER in everything, "an edit comment is public: the form says so"


def test_a_move_within_one_cell_is_no_change_for_the_public(
    app: Flask, clients: Clients, protected_later: Story, cast: dict[str, Any]
) -> None:
    p3 = protected_later.places[max(protected_later.places)]
    nudged = Point(p3.x + 0.00002, p3.y + 0.00001)  # a few metres, inside the same cell
    assert generalise_location(nudged, CELL_METRES) == generalise_location(p3, CELL_METRES)
    with acting(app):
        curator = db.session.get(User, cast["curator"].id)
        trace = db.session.get(Trace, protected_later.trace_id)
        project = db.session.merge(cast["project"])
        update_trace(
            curator, trace, submission(trace, project, nudged, "gravminne"), trace.version, ""
        )
        version = trace.version
    url = f"/traces/{protected_later.trace_id}/history?version={version}"
    public = selected(clients["anonymous"].get(url).get_data(as_text=True))
    assert "No field changed in this version." in public and "Place on the map" not in public
    staff = selected(clients["curator"].get(url).get_data(as_text=True))
    assert "Place on the map" in staff


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize("consents", [False, True])
def test_the_authors_name_only_with_consent(
    session: Session,
    clients: Clients,
    protected_later: Story,
    cast: dict[str, Any],
    consents: bool,
) -> None:
    cast["author"].show_name_publicly = consents
    session.commit()
    base = f"/traces/{protected_later.trace_id}/history"
    for viewer in PUBLIC_VIEWERS + PRECISE_VIEWERS:
        may_know = consents or viewer in ("author", "curator", "admin")
        for url in (base, f"{base}?version=1"):
            page = clients[viewer].get(url).get_data(as_text=True)
            assert ("Anna Forfatter" in page) is may_know, (viewer, url)
            assert "Kari Kurator" in page, (viewer, url)  # the curator consented
            assert "@example.org" not in page, (viewer, url)
            if not may_know:
                assert "A contributor" in page, (viewer, url)


# --- hidden traces -------------------------------------------------------------------------


def test_a_hidden_traces_history_is_hidden_in_every_version(
    session: Session, clients: Clients, protected_later: Story
) -> None:
    trace = session.get(Trace, protected_later.trace_id)
    assert trace is not None
    base = f"/traces/{protected_later.trace_id}/history"
    # The visibility check comes before the version is read: the first, the last, and none.
    urls = [base, f"{base}?version=1", f"{base}?version={max(protected_later.places)}"]
    for status in (
        TraceStatus.PENDING,
        TraceStatus.NEEDS_CHANGES,
        TraceStatus.REJECTED,
        TraceStatus.WITHDRAWN,
        TraceStatus.DELETED,
    ):
        trace.status = status
        session.commit()
        for viewer in PUBLIC_VIEWERS:
            for url in [*urls, f"{base}?version=99"]:
                assert clients[viewer].get(url).status_code == 404, (status, viewer, url)
        author_sees = status != TraceStatus.DELETED
        assert (clients["author"].get(base).status_code == 200) is author_sees, status


# --- bad query parameters ------------------------------------------------------------------


BAD_VERSIONS = {
    "2147483648": 404,
    "2147483647": 404,
    "99999999999999999999999999": 404,
    "9" * 5000: 400,
    "-1": 404,
    "0": 404,
    "abc": 400,
    "1.5": 400,
    "1e3": 400,
    "0x10": 400,
    "1_0": 400,
    "\u0661": 400,  # an Arabic-Indic one: int() would read it, the route does not
    "1\x00": 400,
}


def test_a_bad_version_is_a_clear_4xx(clients: Clients, protected_later: Story) -> None:
    for value, status in BAD_VERSIONS.items():
        response = clients["anonymous"].get(
            f"/traces/{protected_later.trace_id}/history", query_string={"version": value}
        )
        assert response.status_code == status, value[:40]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.one_of(
        st.text(max_size=12),
        st.integers().map(str),
        st.integers(min_value=0, max_value=9).map(lambda n: f"0{n}"),
    )
)
def test_any_version_parameter_answers_without_a_server_error(
    clients: Clients, protected_later: Story, value: str
) -> None:
    response = clients["anonymous"].get(
        f"/traces/{protected_later.trace_id}/history", query_string={"version": value}
    )
    number = re.fullmatch(r"[0-9]{1,30}", value)
    known = value == "" or (number is not None and int(value) in protected_later.places)
    assert response.status_code in ((200,) if known else (400, 404)), (value, response.status_code)
