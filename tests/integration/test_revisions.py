"""Editing traces, their history, reverting and tagging (traces.edit, traces.revert, history)."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point, Polygon, shape
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import db
from app.errors import Forbidden, ValidationFailed
from app.models import (
    AuditEvent,
    Membership,
    MembershipRole,
    Revision,
    Scheme,
    Trace,
    TraceStatus,
    User,
)
from app.revisions.diff import Change, diff_snapshots, term_ids
from app.traces import edit_operations as operations
from app.traces.compare import same_geometry
from app.traces.operations import snapshot
from tests.conftest import PASSWORD, csrf_from

ALTA = Point(23.27, 69.97)
# A small square around ALTA and one far away (Kautokeino), for curators' areas.
NEAR = Polygon([(23.2, 69.9), (23.4, 69.9), (23.4, 70.0), (23.2, 70.0)])
FAR = Polygon([(22.9, 68.95), (23.1, 68.95), (23.1, 69.05), (22.9, 69.05)])
CONFLICT_TEXT = "Someone else changed this trace while you were editing"


# --- helpers -------------------------------------------------------------------------------


class FormFields(HTMLParser):
    """What a browser would send for the form with the given id, as the page prefilled it."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside = form_id, False
        self.fields: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "name" not in a and tag != "option":
            return
        if tag == "input" and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("radio", "checkbox") and "checked" not in a:
                return
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea, self.fields[a["name"]] = a["name"], ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select:
            if self._select not in self.fields or "selected" in a:
                self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self._textarea:
            value = self.fields[self._textarea]
            self.fields[self._textarea] = value[2:] if value.startswith("\r\n") else value
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea] += data


def load_form(client: FlaskClient, trace_id: int) -> dict[str, str]:
    """GET the edit page and return its fields as a browser would post them untouched."""
    response = client.get(f"/traces/{trace_id}/edit")
    assert response.status_code == 200, response.status_code
    parser = FormFields("trace-form")
    parser.feed(response.get_data(as_text=True))
    assert "csrf_token" in parser.fields and "version" in parser.fields
    return parser.fields


def post_edit(client: FlaskClient, trace_id: int, data: dict[str, str]) -> Any:
    return client.post(f"/traces/{trace_id}/edit", data=data)


def log_in(client: FlaskClient, user: User) -> str:
    """Log a user in on this client with English messages; returns a CSRF token."""
    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"
    return csrf_from(client.get("/").get_data(as_text=True))


def first_revision(session: Session, trace: Trace, editor: User | None = None) -> Revision:
    """What submit_trace records: version 1 with the full snapshot."""
    revision = Revision(
        trace_id=trace.id,
        version=trace.version,
        editor_id=(editor.id if editor else trace.author_id),
        event={"kind": "submitted"},
        snapshot={**snapshot(trace), "tags": list(trace.tags or [])},
        geom=trace.geom,
    )
    session.add(revision)
    session.commit()
    return revision


def revisions(session: Session, trace: Trace) -> list[Revision]:
    session.expire_all()
    return list(
        session.execute(
            select(Revision).where(Revision.trace_id == trace.id).order_by(Revision.version)
        ).scalars()
    )


def reload(session: Session, trace: Trace) -> Trace:
    session.expire_all()
    fresh = session.get(Trace, trace.id)
    assert fresh is not None
    return fresh


def audit_actions(session: Session, trace: Trace) -> list[str]:
    return list(
        session.execute(
            select(AuditEvent.action)
            .where(AuditEvent.target_type == "trace", AuditEvent.target_id == trace.id)
            .order_by(AuditEvent.id)
        ).scalars()
    )


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def trace_of(session: Session, make_trace, people: dict[str, Any]) -> Callable[..., Trace]:
    """Factory: a trace by the author in the project, with its first revision."""

    def make(status: TraceStatus = TraceStatus.PENDING, **fields: Any) -> Trace:
        trace = make_trace(
            status=status, author=people["author"], project=people["project"], **fields
        )
        first_revision(session, trace)
        return trace

    return make


@pytest.fixture
def as_user(
    app: Flask, client: FlaskClient, people: dict[str, Any]
) -> Callable[[str], FlaskClient]:
    """Log one of the people in on the shared client and return it."""

    def do(name: str) -> FlaskClient:
        log_in(client, people[name])
        return client

    return do


# --- editing -------------------------------------------------------------------------------


def test_author_edits_own_pending_trace(session: Session, as_user, trace_of, people) -> None:
    trace = trace_of()
    client = as_user("author")
    data = load_form(client, trace.id)
    assert '"Point"' in data["geometry"], "the map must be prefilled with the current shape"
    data.update(title="Fangstgrop ved Storvatnet", description="To groper.", comment="Nytt navn")
    response = post_edit(client, trace.id, data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/traces/{trace.id}")
    fresh = reload(session, trace)
    assert (fresh.title, fresh.description, fresh.version) == (
        "Fangstgrop ved Storvatnet", "To groper.", 2,
    )  # fmt: skip
    assert fresh.status == TraceStatus.PENDING
    latest = revisions(session, trace)[-1]
    assert (latest.version, latest.comment, latest.editor_id) == (
        2,
        "Nytt navn",
        people["author"].id,
    )
    assert latest.snapshot["title"] == "Fangstgrop ved Storvatnet"
    assert shape(latest.snapshot["geometry"]).equals(ALTA)
    assert to_shape(latest.geom).equals(ALTA)
    assert audit_actions(session, trace) == ["trace.edited"]
    assert "Your changes are saved." in client.get(f"/traces/{trace.id}").get_data(as_text=True)


def test_untouched_form_saves_nothing(session: Session, as_user, trace_of) -> None:
    trace = trace_of(geometry=Polygon(NEAR.exterior.coords))
    client = as_user("author")
    response = post_edit(client, trace.id, load_form(client, trace.id))
    assert response.status_code == 302
    assert "Nothing changed." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(session, trace).version == 1
    assert len(revisions(session, trace)) == 1


def test_a_shape_rounded_by_the_map_is_no_move(session: Session, as_user, trace_of) -> None:
    """Leaflet writes six decimals: a shape that went through the map untouched keeps its own."""
    trace = trace_of(geometry=Point(23.2712345, 69.9687654))
    client = as_user("author")
    data = load_form(client, trace.id)
    data["geometry"] = '{"type": "Point", "coordinates": [23.271235, 69.968765]}'
    assert post_edit(client, trace.id, data).status_code == 302
    fresh = reload(session, trace)
    assert fresh.version == 1 and to_shape(fresh.geom).equals(Point(23.2712345, 69.9687654))


def test_typed_coordinates_move_the_trace(session: Session, as_user, trace_of) -> None:
    trace = trace_of()
    client = as_user("author")
    data = load_form(client, trace.id)
    data.update(coord_system="wgs84", coord_shape="point", coordinates="69.9689, 23.2715")
    assert post_edit(client, trace.id, data).status_code == 302
    fresh = reload(session, trace)
    assert to_shape(fresh.geom).equals(Point(23.2715, 69.9689))
    latest = revisions(session, trace)[-1]
    assert to_shape(latest.geom).equals(Point(23.2715, 69.9689))
    assert latest.snapshot["geometry"]["coordinates"] == [23.2715, 69.9689]


def test_refused_edit_keeps_input_and_changes_nothing(session: Session, as_user, trace_of) -> None:
    trace = trace_of()
    client = as_user("author")
    data = load_form(client, trace.id)
    data.update(title="", description="Kept text", period="no-such-period")
    response = post_edit(client, trace.id, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Kept text" in page and 'id="title-error"' in page and 'id="period-error"' in page
    assert reload(session, trace).version == 1


def test_author_cannot_edit_an_approved_trace(session: Session, as_user, trace_of) -> None:
    trace = trace_of(status=TraceStatus.APPROVED)
    client = as_user("author")
    assert client.get(f"/traces/{trace.id}/edit").status_code == 403
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = post_edit(client, trace.id, {"csrf_token": token, "title": "Nytt", "version": "1"})
    assert response.status_code == 403
    fresh = reload(session, trace)
    assert (fresh.title, fresh.version) == ("Fangstgrop", 1)
    assert len(revisions(session, trace)) == 1


def test_another_resident_gets_404_on_pending_and_403_on_approved(
    session: Session, as_user, trace_of
) -> None:
    pending, approved = trace_of(), trace_of(status=TraceStatus.APPROVED)
    client = as_user("other")
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.get(f"/traces/{pending.id}/edit").status_code == 404
    assert client.get(f"/traces/{approved.id}/edit").status_code == 403
    for trace, status in ((pending, 404), (approved, 403)):
        data = {"csrf_token": token, "title": "Hacked", "version": "1"}
        assert post_edit(client, trace.id, data).status_code == status
        assert reload(session, trace).title == "Fangstgrop"
    assert client.get(f"/traces/{pending.id}/history").status_code == 404


@pytest.mark.parametrize(
    ("who", "pending", "approved"),
    [
        ("author", 200, 403),
        ("other", 404, 403),
        ("curator", 200, 200),
        ("librarian", 200, 200),
        ("admin", 200, 200),
    ],
)
def test_who_may_open_the_edit_page(
    as_user, trace_of, who: str, pending: int, approved: int
) -> None:
    client = as_user(who)
    for status, expected in ((TraceStatus.PENDING, pending), (TraceStatus.APPROVED, approved)):
        trace = trace_of(status=status)
        assert client.get(f"/traces/{trace.id}/edit").status_code == expected, status
        history = client.get(f"/traces/{trace.id}/history").status_code
        assert history == (404 if expected == 404 else 200), status


def test_anonymous_visitors_are_sent_to_log_in(client: FlaskClient, trace_of) -> None:
    trace = trace_of(status=TraceStatus.APPROVED)
    response = client.get(f"/traces/{trace.id}/edit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get(f"/traces/{trace.id}/history").status_code == 200
    assert client.get(f"/traces/{trace_of().id}/history").status_code == 404


def test_curator_edits_an_approved_trace_and_tags_it(
    session: Session, as_user, trace_of, people
) -> None:
    trace = trace_of(status=TraceStatus.APPROVED)
    client = as_user("curator")
    data = load_form(client, trace.id)
    assert "tags" in data
    data.update(tags=" Fangst ,fangst, Reindeer   Fence,, SAMISK ", comment="Tagget")
    assert post_edit(client, trace.id, data).status_code == 302
    fresh = reload(session, trace)
    assert fresh.tags == ["fangst", "reindeer fence", "samisk"]
    assert fresh.status == TraceStatus.APPROVED and fresh.version == 2
    latest = revisions(session, trace)[-1]
    assert latest.snapshot["tags"] == ["fangst", "reindeer fence", "samisk"]
    assert latest.editor_id == people["curator"].id
    assert load_form(client, trace.id)["tags"] == "fangst, reindeer fence, samisk"


@pytest.mark.parametrize(
    ("tags", "message"),
    [("x" * 65, "too long"), (",".join(f"t{n}" for n in range(31)), "At most 30 tags")],
)
def test_bad_tags_are_refused(session: Session, as_user, trace_of, tags: str, message: str) -> None:
    trace = trace_of()
    client = as_user("librarian")
    data = load_form(client, trace.id)
    data["tags"] = tags
    response = post_edit(client, trace.id, data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    fresh = reload(session, trace)
    assert fresh.tags == [] and fresh.version == 1


def test_residents_cannot_write_tags_status_author_or_project(
    session: Session, as_user, trace_of, people, make_project
) -> None:
    trace = trace_of()
    elsewhere = make_project(slug="elsewhere")
    client = as_user("author")
    data = load_form(client, trace.id)
    assert "tags" not in data, "residents get no tags field"
    data.update(
        title="Ny tittel",
        tags="spam",
        status="approved",
        author_id=str(people["other"].id),
        project="elsewhere",
        project_id=str(elsewhere.id),
        is_sensitive="y",
        version="1",
    )
    assert post_edit(client, trace.id, data).status_code == 302
    fresh = reload(session, trace)
    assert fresh.title == "Ny tittel"
    assert fresh.tags == [] and fresh.status == TraceStatus.PENDING
    assert fresh.author_id == people["author"].id and fresh.project_id == people["project"].id
    assert fresh.is_sensitive is False and fresh.approved_by_id is None


def test_a_resident_cannot_tag_through_the_operation(
    app: Flask, session: Session, trace_of, people
) -> None:
    trace = trace_of()
    with app.test_request_context():
        author = db.session.get(User, people["author"].id)
        mine = db.session.get(Trace, trace.id)
        submission = _submission(mine)
        with pytest.raises(Forbidden):
            operations.update_trace(author, mine, submission, 1, "", tags=["spam"])


def test_curator_cannot_move_a_trace_out_of_their_area(
    session: Session, client: FlaskClient, make_user, trace_of, people
) -> None:
    trace = trace_of(status=TraceStatus.APPROVED)
    local = make_user(name="Local Curator")
    session.add(
        Membership(
            project_id=people["project"].id,
            user_id=local.id,
            role=MembershipRole.CURATOR,
            area=from_shape(
                shape({"type": "MultiPolygon", "coordinates": [[list(NEAR.exterior.coords)]]}),
                srid=4326,
            ),
        )
    )
    session.commit()
    log_in(client, local)
    data = load_form(client, trace.id)
    data.update(coordinates="69.0, 23.0", coord_system="wgs84", coord_shape="point")
    response = post_edit(client, trace.id, data)
    assert response.status_code == 422
    assert "outside the area you curate" in response.get_data(as_text=True)
    fresh = reload(session, trace)
    assert fresh.version == 1 and to_shape(fresh.geom).equals(ALTA)
    assert len(revisions(session, trace)) == 1


def test_curator_outside_their_area_cannot_edit(
    session: Session, client: FlaskClient, make_user, trace_of, people
) -> None:
    approved = trace_of(status=TraceStatus.APPROVED)
    pending = trace_of()
    remote = make_user(name="Remote Curator")
    area = shape({"type": "MultiPolygon", "coordinates": [[list(FAR.exterior.coords)]]})
    session.add(
        Membership(
            project_id=people["project"].id,
            user_id=remote.id,
            role=MembershipRole.CURATOR,
            area=from_shape(area, srid=4326),
        )
    )
    session.commit()
    log_in(client, remote)
    assert client.get(f"/traces/{approved.id}/edit").status_code == 403
    assert client.get(f"/traces/{pending.id}/edit").status_code == 404


# --- optimistic locking --------------------------------------------------------------------


def test_stale_version_gets_the_conflict_page(session: Session, as_user, trace_of) -> None:
    trace = trace_of()
    client = as_user("author")
    data = load_form(client, trace.id)
    data.update(version="7", title="Mitt utkast", description="Lang tekst jeg ikke vil miste")
    response = post_edit(client, trace.id, data)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert CONFLICT_TEXT in page
    assert re.search(
        r"<textarea[^>]*readonly[^>]*>\s*Lang tekst jeg ikke vil miste</textarea>", page
    )
    assert f'href="/traces/{trace.id}/edit"' in page
    fresh = reload(session, trace)
    assert (fresh.title, fresh.version) == ("Fangstgrop", 1)
    assert len(revisions(session, trace)) == 1 and audit_actions(session, trace) == []


def test_missing_version_is_a_conflict_not_a_silent_overwrite(
    session: Session, as_user, trace_of
) -> None:
    trace = trace_of()
    client = as_user("author")
    data = load_form(client, trace.id)
    del data["version"]
    data["title"] = "Uten versjon"
    assert post_edit(client, trace.id, data).status_code == 409
    assert reload(session, trace).title == "Fangstgrop"


def test_of_two_concurrent_edits_exactly_one_wins(
    app: Flask, session: Session, trace_of, people
) -> None:
    trace = trace_of()
    author, curator = app.test_client(), app.test_client()
    log_in(author, people["author"])
    log_in(curator, people["curator"])
    first, second = load_form(author, trace.id), load_form(curator, trace.id)
    assert first["version"] == second["version"] == "1"
    first["title"] = "Forfatterens tittel"
    second["title"] = "Kuratorens tittel"
    assert post_edit(author, trace.id, first).status_code == 302
    response = post_edit(curator, trace.id, second)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert CONFLICT_TEXT in page and "Forfatterens tittel" in page and "Kuratorens tittel" in page
    fresh = reload(session, trace)
    assert (fresh.title, fresh.version) == ("Forfatterens tittel", 2)
    assert [r.version for r in revisions(session, trace)] == [1, 2]


def test_a_concurrent_update_during_flush_is_a_conflict(
    app: Flask, session: Session, trace_of, people
) -> None:
    """Between reading the trace and writing it another request commits: StaleDataError -> 409."""
    trace = trace_of()
    with app.test_request_context():
        editor = db.session.get(User, people["author"].id)
        loaded = db.session.get(Trace, trace.id)
        submission = _submission(loaded, title="Mine")
        db.session.execute(
            update(Trace)
            .where(Trace.id == trace.id)
            .values(title="Theirs", version=Trace.version + 1)
            .execution_options(synchronize_session=False)
        )
        with pytest.raises(operations.Conflict):
            operations.update_trace(editor, loaded, submission, 1, "")
        db.session.rollback()
    assert reload(session, trace).title == "Fangstgrop"


# --- history -------------------------------------------------------------------------------


def test_history_lists_revisions_newest_first_with_changed_fields(
    session: Session, as_user, trace_of, term
) -> None:
    trace = trace_of()
    client = as_user("author")
    data = load_form(client, trace.id)
    data.update(title="Ny tittel", period="jernalder", comment="Periode fra bygdeboka")
    post_edit(client, trace.id, data)
    data = load_form(client, trace.id)
    data.update(sources="Bygdebok for Alta, s. 12", comment="Kilde")
    post_edit(client, trace.id, data)
    page = client.get(f"/traces/{trace.id}/history").get_data(as_text=True)
    assert page.index("Version 3") < page.index("Version 2") < page.index("Version 1")
    assert "Periode fra bygdeboka" in page and "Author Anna" in page
    assert "Changed: Sources" in page and "Changed: Title, Period" in page
    assert "Submitted for approval" in page and "user1@example.org" not in page

    detail = client.get(f"/traces/{trace.id}/history?version=2").get_data(as_text=True)
    iron_age = term(Scheme.PERIOD, "jernalder").label_en
    assert iron_age in detail and "Not known" in detail
    assert "Before (version 1)" in detail and "After (version 2)" in detail


def test_selected_version_maps_old_dashed_and_new_solid_without_text(
    session: Session, as_user, trace_of
) -> None:
    trace = trace_of(title="${globalThis.PWNED=1}<img src=x onerror=alert(1)>")
    client = as_user("author")
    data = load_form(client, trace.id)
    data["geometry"] = '{"type": "Point", "coordinates": [23.3, 69.98]}'
    post_edit(client, trace.id, data)
    response = client.get(f"/traces/{trace.id}/history?version=2")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    script = page[page.index("<script nonce") :]
    assert script.count("L.geoJson(") == 2, "before and after"
    assert '"dashArray": "8 6"' in script
    assert "PWNED" not in script and "onerror" not in script
    assert "bindPopup" not in script and "bindTooltip" not in script
    assert "Dashed: before (version 1)" in page and "Solid: after (version 2)" in page
    assert "Place on the map" in page


def test_history_shows_no_old_places_of_a_sensitive_trace_to_the_public(
    session: Session, client: FlaskClient, trace_of
) -> None:
    trace = trace_of(status=TraceStatus.APPROVED, sensitivity_override=True)
    page = client.get(f"/traces/{trace.id}/history?version=1").get_data(as_text=True)
    # Only the generalised point, as a wide circle (tests/integration/test_history_public.py
    # holds this for every version and every viewer).
    public = to_shape(reload(session, trace).public_geom)
    assert "L.geoJson(" not in page and "69.97," not in page and "23.27]" not in page
    assert f"[{public.y}, {public.x}]" in page and "L.circle(" in page
    assert 'id="places-approximate"' in page


def test_markdown_is_sanitised_on_the_history_page(session: Session, as_user, trace_of) -> None:
    trace = trace_of()
    client = as_user("author")
    data = load_form(client, trace.id)
    data["description"] = (
        "**Fett** <script>alert(1)</script> [klikk](javascript:alert(1)) "
        "[ok](https://example.org/) "
        "[data](data:text/html,<script>alert(1)</script>) "
        '<img src=x onerror="alert(1)"> <svg onload=alert(1)>'
    )
    post_edit(client, trace.id, data)
    page = client.get(f"/traces/{trace.id}/history?version=2").get_data(as_text=True)
    assert "<strong>Fett</strong>" in page
    assert "<script>alert" not in page and "<img" not in page and "<svg onload" not in page
    assert 'href="javascript:' not in page and 'href="data:' not in page
    assert 'href="https://example.org/"' in page


def test_unknown_version_is_404(client: FlaskClient, trace_of) -> None:
    trace = trace_of(status=TraceStatus.APPROVED)
    assert client.get(f"/traces/{trace.id}/history?version=9").status_code == 404


# --- revert --------------------------------------------------------------------------------


def _edit_as(client: FlaskClient, trace: Trace, **fields: str) -> None:
    data = load_form(client, trace.id)
    data.update(fields)
    assert post_edit(client, trace.id, data).status_code == 302


def test_librarian_reverts_to_an_earlier_version(
    session: Session, as_user, trace_of, people
) -> None:
    trace = trace_of(status=TraceStatus.APPROVED, description="Original")
    client = as_user("librarian")
    _edit_as(
        client, trace, title="Vandalisert", description="Tull", tags="tull", period="vikingtid",
        geometry='{"type": "Point", "coordinates": [23.5, 69.9]}',
    )  # fmt: skip
    original = revisions(session, trace)[0].snapshot
    token = csrf_from(client.get(f"/traces/{trace.id}/history").get_data(as_text=True))
    response = client.post(
        f"/traces/{trace.id}/revert/1", data={"csrf_token": token, "expected_version": "2"}
    )
    assert response.status_code == 302
    fresh = reload(session, trace)
    assert (fresh.title, fresh.description, fresh.tags, fresh.period_id) == (
        "Fangstgrop", "Original", [], None,
    )  # fmt: skip
    assert fresh.status == TraceStatus.APPROVED and fresh.version == 3
    history = revisions(session, trace)
    assert [r.version for r in history] == [1, 2, 3], "nothing is lost"
    latest = history[-1]
    assert (latest.comment, latest.event) == ("", {"kind": "revert", "to": 1})
    assert {k: v for k, v in latest.snapshot.items() if k != "status"} == {
        k: v for k, v in original.items() if k != "status"
    }
    assert to_shape(latest.geom).equals(ALTA)
    assert audit_actions(session, trace) == ["trace.edited", "trace.reverted"]
    page = client.get(f"/traces/{trace.id}/history").get_data(as_text=True)
    assert "Reverted to version 1" in page


@pytest.mark.parametrize("who", ["curator", "author", "other"])
def test_others_cannot_revert(session: Session, as_user, trace_of, people, who: str) -> None:
    trace = trace_of(status=TraceStatus.APPROVED)
    session.execute(update(Trace).where(Trace.id == trace.id).values(title="Endret"))
    session.commit()
    client = as_user(who)
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post(
        f"/traces/{trace.id}/revert/1", data={"csrf_token": token, "expected_version": "2"}
    )
    assert response.status_code == 403
    assert "Revert to version" not in client.get(f"/traces/{trace.id}/history").get_data(
        as_text=True
    )
    fresh = reload(session, trace)
    assert fresh.title == "Endret" and len(revisions(session, trace)) == 1


def test_revert_without_csrf_or_with_stale_version_changes_nothing(
    session: Session, as_user, trace_of
) -> None:
    trace = trace_of(status=TraceStatus.APPROVED)
    client = as_user("librarian")
    _edit_as(client, trace, title="Andre")
    assert (
        client.post(f"/traces/{trace.id}/revert/1", data={"expected_version": "2"}).status_code
        == 400
    )
    token = csrf_from(client.get("/").get_data(as_text=True))
    stale = client.post(
        f"/traces/{trace.id}/revert/1", data={"csrf_token": token, "expected_version": "1"}
    )
    assert stale.status_code == 409 and CONFLICT_TEXT in stale.get_data(as_text=True)
    missing = client.post(
        f"/traces/{trace.id}/revert/9", data={"csrf_token": token, "expected_version": "2"}
    )
    assert missing.status_code == 404
    assert reload(session, trace).title == "Andre" and len(revisions(session, trace)) == 2


def test_revert_links_are_shown_to_librarians(session: Session, as_user, trace_of) -> None:
    trace = trace_of(status=TraceStatus.APPROVED)
    client = as_user("librarian")
    _edit_as(client, trace, title="Andre")
    page = client.get(f"/traces/{trace.id}/history").get_data(as_text=True)
    assert f'action="/traces/{trace.id}/revert/1"' in page
    assert f'action="/traces/{trace.id}/revert/2"' not in page, "not to the current version"


# --- pure parts ----------------------------------------------------------------------------

BASE = {
    "title": "A", "description": "d", "sources": "", "licence": "CC-BY-4.0", "status": "pending",
    "trace_type_id": None, "period_id": 3, "condition_id": None, "dating_method_id": None,
    "tags": ["a", "b"], "geometry": {"type": "Point", "coordinates": [23.27, 69.97]},
}  # fmt: skip


def test_diff_names_the_changed_fields_in_display_order() -> None:
    new = {**BASE, "title": "B", "period_id": 4, "status": "approved", "tags": ["b", "c"]}
    assert diff_snapshots(BASE, new) == [
        Change("title", "A", "B"),
        Change("period_id", 3, 4),
        Change("status", "pending", "approved"),
        Change("tags", ["a", "b"], ["b", "c"]),
    ]
    assert term_ids(diff_snapshots(BASE, new)) == {3, 4}


def test_diff_of_the_first_revision_and_of_equal_snapshots_is_empty() -> None:
    assert diff_snapshots(None, BASE) == []
    assert diff_snapshots(BASE, dict(BASE)) == []
    assert diff_snapshots(BASE, {**BASE, "tags": ["b", "a", "a"]}) == [], "tags are a set"


def test_diff_treats_missing_keys_as_unknown() -> None:
    older = {k: v for k, v in BASE.items() if k != "tags"}
    assert diff_snapshots(older, {**BASE, "tags": ["x"]}) == []


def test_diff_compares_shapes_not_their_spelling() -> None:
    ring = [[23.27, 69.96], [23.28, 69.96], [23.28, 69.97], [23.27, 69.97], [23.27, 69.96]]
    rotated = ring[1:] + [ring[1]]
    old = {**BASE, "geometry": {"type": "Polygon", "coordinates": [ring]}}
    same = {**BASE, "geometry": {"type": "Polygon", "coordinates": [rotated[::-1]]}}
    moved = {**BASE, "geometry": {"type": "Point", "coordinates": [23.27, 69.971]}}
    assert diff_snapshots(old, same) == []
    assert [c.field for c in diff_snapshots(BASE, moved)] == ["geometry"]
    assert [c.field for c in diff_snapshots(BASE, {**BASE, "geometry": None})] == ["geometry"]


def test_same_geometry_tolerates_the_maps_six_decimals_only() -> None:
    assert same_geometry(Point(23.2712345, 69.9687654), Point(23.271235, 69.968765))
    assert not same_geometry(Point(23.27, 69.97), Point(23.27001, 69.97))
    assert not same_geometry(Point(23.27, 69.97), Polygon(NEAR.exterior.coords))


def test_normalise_tags(app: Flask) -> None:
    with app.test_request_context():
        assert operations.normalise_tags([" Fangst", "FANGST ", "", "  two   words "]) == [
            "fangst",
            "two words",
        ]
        assert operations.normalise_tags(["x" * 64]) == ["x" * 64]
        with pytest.raises(ValidationFailed):
            operations.normalise_tags(["x" * 65])
        with pytest.raises(ValidationFailed):
            operations.normalise_tags([f"t{n}" for n in range(31)])
        assert len(operations.normalise_tags([f"t{n % 30}" for n in range(60)])) == 30


def _submission(trace: Trace, **changes: Any) -> Any:
    from app.traces.validation import Submission

    return Submission(
        project=trace.project,
        title=changes.get("title", trace.title),
        description=trace.description,
        sources=trace.sources,
        licence=trace.licence,
        geometry=to_shape(trace.geom),
        terms={},
    )
