"""The project's story page and CSV: numbers recomputed in Python from the seeded traces,
consent, protected sites only at their public point, and cells safe in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from flask import session as flask_session
from flask_babel import force_locale, gettext
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Point, Polygon
from sqlalchemy import select

from app.db import db
from app.models import Project, Term, TraceStatus
from app.models.vocab import Scheme
from app.projects.story import month_starts, project_story
from geo.svgmap import frame_for
from tests.conftest import csrf_from, log_in

NOW = datetime.now(UTC)
AREA = MultiPolygon([Polygon([(23.0, 69.85), (23.6, 69.85), (23.6, 70.1), (23.0, 70.1)])])


@pytest.fixture
def seeded(session, make_user, make_project, make_trace, term):
    """A project with approved, pending and rejected traces, informants and a protected site."""
    project = make_project(slug="story")
    project.area = from_shape(AREA, srid=4326)
    session.commit()
    named = make_user(name="Named Nora")
    named.show_name_publicly = True
    hidden = make_user(name="Secret Sigurd")  # never named: no consent
    librarian = make_user(name="Librarian Liv")
    session.commit()
    kinds = [term(Scheme.TRACE_TYPE, "kullgrop"), term(Scheme.TRACE_TYPE, "gravminne")]
    periods = [term(Scheme.PERIOD, "nyere-tid"), term(Scheme.PERIOD, "jernalder")]
    made = []

    def add(status, author, days_ago, hours_to_decide, **fields):
        submitted = NOW - timedelta(days=days_ago)
        decided = submitted + timedelta(hours=hours_to_decide)
        extra = {"submitted_at": submitted}
        if status == TraceStatus.APPROVED:
            extra |= {"decided_at": decided}
        elif status in (TraceStatus.REJECTED, TraceStatus.NEEDS_CHANGES):
            extra |= {"decided_at": decided, "decided_by_id": librarian.id}
        trace = make_trace(status=status, author=author, project=project, **extra, **fields)
        if status == TraceStatus.APPROVED:
            trace.approved_at = decided  # the factory's default is a fixed date
            session.commit()
        made.append(trace)
        return trace

    for index in range(7):
        add(TraceStatus.APPROVED, named, 30 * index + 2, 5 + index * 7,
            trace_type_id=kinds[index % 2].id, period_id=periods[index % 2].id,
            geometry=Point(23.1 + index * 0.05, 69.9 + index * 0.02))  # fmt: skip
    add(TraceStatus.APPROVED, hidden, 100, 48, trace_type_id=kinds[0].id)
    add(TraceStatus.APPROVED, hidden, 400, 1, period_id=periods[1].id)  # older than 12 months
    add(TraceStatus.APPROVED, hidden, 800, 1)  # older than 24 months: not in the month chart
    # Assisted registrations: an informant who consented, one who did not (twice).
    add(TraceStatus.APPROVED, librarian, 10, 3, informant_name="Inga Informant",
        informant_consent=True, recorder_id=librarian.id)  # fmt: skip
    for _ in range(2):
        add(TraceStatus.APPROVED, librarian, 12, 3, informant_name="Quiet Quentin",
            informant_consent=False, recorder_id=librarian.id)  # fmt: skip
    # A protected site, far from its public cell's centre.
    protected = add(TraceStatus.APPROVED, named, 5, 2, sensitivity_override=True,
                    geometry=Point(23.4567891, 69.9876543))  # fmt: skip
    # Not public output: pending, rejected, needs changes (a rejected author is no contributor).
    stranger = make_user(name="Rejected Rolf")
    stranger.show_name_publicly = True
    session.commit()
    add(TraceStatus.PENDING, stranger, 3, 0, trace_type_id=kinds[0].id)
    add(TraceStatus.REJECTED, stranger, 20, 30, trace_type_id=kinds[1].id)
    add(TraceStatus.NEEDS_CHANGES, stranger, 25, 40)
    # An imported record: decided in the instant it was submitted, left out of the median.
    add(TraceStatus.APPROVED, librarian, 50, 0)
    for trace in made:
        session.refresh(trace)  # is_sensitive and public_geom come from the database
    return {"project": project, "traces": made, "protected": protected}


def _story(app, session, project):
    """The story computed as a request would, on the app's session."""
    session.commit()  # both sessions share one connection: end this one's savepoint first
    with app.test_request_context():
        return project_story(db.session.get(Project, project.id), "en")


def _expected(traces):
    approved = [t for t in traces if t.status == TraceStatus.APPROVED]
    decided = []
    for t in traces:
        end = t.approved_at if t.status == TraceStatus.APPROVED else t.decided_at
        if t.status in (TraceStatus.APPROVED, TraceStatus.REJECTED, TraceStatus.NEEDS_CHANGES):
            seconds = (end - t.submitted_at).total_seconds()
            if seconds > 0:
                decided.append(seconds)
    people = {
        ("i", t.informant_name.strip().lower(), t.informant_consent)
        if t.informant_name else ("u", t.author_id)
        for t in approved
    }  # fmt: skip
    return approved, decided, people


def test_story_numbers_match_a_count_in_python(app, session, seeded):
    traces = seeded["traces"]
    approved, decided, people = _expected(traces)
    story = _story(app, session, seeded["project"])
    assert story.approved == len(approved)
    types = Counter(t.trace_type.label("en") if t.trace_type else "Not given" for t in approved)
    periods = Counter(t.period.label("en") if t.period else "Not given" for t in approved)
    assert {row.label: row.count for row in story.by_type} == dict(types)
    assert {row.label: row.count for row in story.by_period} == dict(periods)
    assert story.by_type[-1].label == "Not given"  # "not given" comes last
    starts = month_starts(NOW.date())
    months = Counter(
        t.approved_at.astimezone(UTC).date().replace(day=1)
        for t in approved
        if t.approved_at.astimezone(UTC).date() >= starts[0]
    )
    assert story.by_month == [(start, months.get(start, 0)) for start in starts]
    assert story.decisions == len(decided)
    assert story.median_seconds == pytest.approx(statistics.median(decided), abs=1e-3)
    assert story.contributors == len(people)
    assert [(row.label, row.count) for row in story.named] == [
        ("Inga Informant", 1),
        ("Named Nora", 8),
    ]
    assert story.coverage is not None
    assert sum(dot.count for dot in story.coverage.dots) == len(approved)
    assert story.coverage.protected == sum(t.is_sensitive for t in approved) > 1


def test_story_page_shows_no_name_without_consent_and_no_private_output(client, seeded):
    page = client.get("/projects/story/story").get_data(as_text=True)
    body = client.get("/projects/story/story.csv").get_data(as_text=True)
    for text in (page, body):
        assert "Named Nora" in text and "Inga Informant" in text
        for secret in ("Secret Sigurd", "Quiet Quentin", "Librarian Liv", "Rejected Rolf"):
            assert secret not in text
    approved = sum(t.status == TraceStatus.APPROVED for t in seeded["traces"])
    assert f"summary,approved_traces,{approved}\r\n" in body


def test_story_page_links_from_the_project_and_is_public(client, seeded):
    show = client.get("/projects/story").get_data(as_text=True)
    assert 'href="/projects/story/story"' in show
    response = client.get("/projects/story/story")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # Every chart is an image labelled by a caption that exists on the page.
    for label in re.findall(r'<svg[^>]*aria-labelledby="([^"]+)"', html):
        assert f'id="{label}"' in html
    assert html.count('role="img"') == 4
    assert client.get("/projects/nowhere/story").status_code == 404


def test_protected_site_is_drawn_only_at_its_public_point(app, client, session, seeded):
    protected = seeded["protected"]
    precise = to_shape(protected.geom)
    public = to_shape(protected.public_geom)
    story = _story(app, session, seeded["project"])
    frame = story.coverage.frame
    # The public cell's centre is far enough away to land in another grid cell.
    assert frame.cell_of(precise.x, precise.y) != frame.cell_of(public.x, public.y)
    cells = {(dot.column, dot.row) for dot in story.coverage.dots}
    assert frame.cell_of(public.x, public.y) in cells
    assert frame.cell_of(precise.x, precise.y) not in cells
    html = client.get("/projects/story/story").get_data(as_text=True)
    csv_body = client.get("/projects/story/story.csv").get_data(as_text=True)
    for text in (html, csv_body):
        for digits in (f"{precise.x:.4f}", f"{precise.y:.4f}", "23.45", "69.98"):
            assert digits not in text
    # No longitude or latitude at all: the map holds pixels only.
    assert not re.search(r"\b(2[0-9]|6[0-9]|7[01])\.\d{4,}", html)


def test_story_csv_is_utf8_tidy_and_formula_safe(client, session, seeded, term):
    kind = session.execute(
        select(Term).where(Term.scheme == Scheme.TRACE_TYPE, Term.code == "kullgrop")
    ).scalar_one()
    kind.label_en = '=HYPERLINK("http://evil")'
    informant = next(t for t in seeded["traces"] if t.informant_name == "Inga Informant")
    informant.informant_name = "@Inga Ærlig"
    session.commit()
    response = client.get("/projects/story/story.csv?lang=en")
    assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"]
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8"))))
    assert rows[0] == ["section", "label", "count"]
    assert all(len(row) == 3 for row in rows)
    assert {row[0] for row in rows[1:]} <= {"summary", "type", "period", "month", "contributor"}
    assert sum(row[0] == "month" for row in rows) == 24
    for row in rows:
        assert not re.match(r"^[=+\-@\t\r]", row[1]), row
    assert ["contributor", "'@Inga Ærlig", "1"] in rows


def test_story_of_an_empty_project_without_area(client, make_project):
    make_project(slug="empty")
    response = client.get("/projects/empty/story")
    assert response.status_code == 200
    assert "<svg" in response.get_data(as_text=True)  # the month chart, all zeros
    story_csv = client.get("/projects/empty/story.csv").get_data(as_text=True)
    assert "summary,approved_traces,0" in story_csv


def test_frame_keeps_points_inside_the_drawing(seeded):
    frame = frame_for((23.0, 69.85, 23.6, 70.1))
    for lon, lat in ((23.0, 69.85), (23.6, 70.1), (23.3, 69.9)):
        x, y = frame.project(lon, lat)
        assert 0 <= x <= frame.width and 0 <= y <= frame.height


CSV = "/projects/story/story.csv"
PAGE = "/projects/story/story"


def _approve_one_pending(session, seeded):
    pending = next(t for t in seeded["traces"] if t.status == TraceStatus.PENDING)
    pending.status = TraceStatus.APPROVED
    pending.approved_by_id = pending.author_id
    pending.approved_at = NOW
    session.commit()


def test_anonymous_csv_is_public_validated_and_counted_again_at_once(app, session, seeded):
    """Any cache may keep the CSV a few minutes; the app itself keeps nothing."""
    anonymous = app.test_client()
    approved = sum(t.status == TraceStatus.APPROVED for t in seeded["traces"])
    first = anonymous.get(CSV)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=300"
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong: the same bytes
    assert "Set-Cookie" not in first.headers
    assert "Cookie" not in first.headers.get("Vary", "")
    assert f"summary,approved_traces,{approved}\r\n" in first.text
    again = anonymous.get(CSV, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    _approve_one_pending(session, seeded)
    changed = anonymous.get(CSV, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert f"summary,approved_traces,{approved + 1}\r\n" in changed.text


def test_csv_sets_no_cookie_for_a_visitor_who_chose_a_language(app, session, seeded):
    """A permanent session (the language) must not be written into a public answer."""
    anonymous = app.test_client()
    token = csrf_from(anonymous.get("/projects/").get_data(as_text=True))
    anonymous.post("/language", data={"lang": "en", "csrf_token": token})
    assert anonymous.get_cookie("lang").value == "en"  # the choice is a cookie now
    response = anonymous.get(CSV + "?lang=en")
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Set-Cookie" not in response.headers


def test_csv_language_is_in_the_address(client, session, seeded):
    kind = session.execute(
        select(Term).where(Term.scheme == Scheme.TRACE_TYPE, Term.code == "kullgrop")
    ).scalar_one()
    english = client.get(CSV + "?lang=en").text
    bokmal = client.get(CSV + "?lang=nb").text

    def types(body):
        return {row[1] for row in csv.reader(io.StringIO(body)) if row[0] == "type"}

    assert kind.label("en") in types(english) and kind.label("nb") in types(bokmal)
    assert kind.label("en") != kind.label("nb")
    assert client.get(CSV + "?lang=xx").text == client.get(CSV).text == bokmal  # the default
    page = client.get(PAGE).text
    assert f'href="{CSV}?lang=nb"' in page


def test_logged_in_story_is_never_stored(app, session, seeded, make_user):
    viewer = make_user()
    member = app.test_client()
    log_in(member, viewer.email)
    for url in (PAGE, CSV):
        response = member.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "private, no-store", url
        assert "ETag" not in response.headers


def test_anonymous_page_is_kept_by_the_browser_only_and_revalidated(app, session, seeded):
    """The page holds the visitor's CSRF token and language: private, weak ETag, 304."""
    browser = app.test_client()
    first = browser.get(PAGE)
    assert first.headers["Cache-Control"] == "private, max-age=300"
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = browser.get(PAGE, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    # Another session: the cached page's token would not work there, so the whole page.
    other = app.test_client().get(PAGE, headers={"If-None-Match": etag})
    assert other.status_code == 200 and csrf_from(other.text)
    _approve_one_pending(session, seeded)
    assert browser.get(PAGE, headers={"If-None-Match": etag}).status_code == 200


def test_a_withdrawn_name_leaves_the_story_at_once(app, session, seeded):
    anonymous = app.test_client()
    assert "Named Nora" in anonymous.get(CSV).text
    nora = next(t.author for t in seeded["traces"] if t.author.display_name == "Named Nora")
    nora.show_name_publicly = False
    session.commit()
    assert "Named Nora" not in anonymous.get(CSV).text
    assert "Named Nora" not in anonymous.get(PAGE).text


@pytest.mark.parametrize(("request_lang", "story_lang"), [("nb", "en"), ("en", "nb")])
def test_every_label_follows_the_story_language_not_the_request(
    app, session, seeded, request_lang, story_lang
):
    session.commit()
    with app.test_request_context():
        flask_session["lang"] = request_lang
        story = project_story(db.session.get(Project, seeded["project"].id), story_lang)
    with app.test_request_context(), force_locale(story_lang):
        not_given = gettext("Not given")
    approved = [t for t in seeded["traces"] if t.status == TraceStatus.APPROVED]
    expected = {t.trace_type.label(story_lang) for t in approved if t.trace_type} | {not_given}
    assert {row.label for row in story.by_type} == expected
    assert story.by_period[-1].label == not_given


def test_a_name_counts_only_traces_told_with_consent(app, session, seeded, make_user, make_trace):
    """ "kari n." without consent is never counted under the consenting "Kari N."."""
    before = _story(app, session, seeded["project"]).contributors
    librarian = make_user(name="Recorder Rita")
    for name, consent in (("Kari N.", True), ("kari n.", False), ("KARI N. ", False)):
        make_trace(
            status=TraceStatus.APPROVED, author=librarian, project=seeded["project"],
            informant_name=name, informant_consent=consent, recorder_id=librarian.id,
        )  # fmt: skip
    story = _story(app, session, seeded["project"])
    assert ("Kari N.", 1) in [(row.label, row.count) for row in story.named]
    assert not any(row.label.lower().startswith("kari") and row.count != 1 for row in story.named)
    # Two more people: the one who consented, and the one (either case) who did not.
    assert story.contributors == before + 2
