"""GET /api/search and GET /search: the traces found, for whom, where, and that any text is fine.

The places (gazetteer and geocoder) are in test_search_places.py.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from geoalchemy2.shape import to_shape
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point

from app.models import Revision, TraceStatus, UserRole
from tests.integration.searching import ALTA, RAUFOSS, add_place, search, titles

GEOD = Geod(ellps="WGS84")


# --- Finding traces ---------------------------------------------------------------------------


def test_partial_and_misspelt_words_find_the_title(client, make_trace):
    trace = make_trace(title="Fangstgroper ved Komsa")
    make_trace(title="Kullgrop sør for Bossekop")
    for q in ("fangstg", "fangsgrop", "Fangstgroper", "fangstgroper komsa"):
        body = search(client, q)
        assert titles(body)[:1] == ["Fangstgroper ved Komsa"], q
        assert body["traces"][0]["id"] == trace.id
    assert client.get(search(client, "fangstg")["traces"][0]["url"]).status_code == 200


def test_description_tags_and_sources_are_searched_with_norwegian_stemming(
    client, make_trace
) -> None:
    make_trace(title="Tuft", description="Fire rotvelter ved den gamle vegen.")
    make_trace(title="Røys", tags=["rydningsrøyser"])
    make_trace(title="Vei", sources="Bygdeboka for Vestre Toten, bind 2")
    assert titles(search(client, "rotvelt")) == ["Tuft"]
    assert titles(search(client, "rydningsrøyser")) == ["Røys"]
    assert titles(search(client, "bygdeboka")) == ["Vei"]


def test_title_outranks_description(client, make_trace):
    make_trace(title="Gammel vei", description="Ved siden av ligger en kvernstein.")
    make_trace(title="Kvernstein i bekken", description="Stor og hel.")
    assert titles(search(client, "kvernstein"))[0] == "Kvernstein i bekken"


# --- Privacy ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [TraceStatus.PENDING, TraceStatus.REJECTED, TraceStatus.NEEDS_CHANGES]
)
def test_words_of_unpublished_traces_find_nothing_for_the_public(
    client, make_trace, status: TraceStatus
) -> None:
    make_trace(title="Zyxvandor-tuft", description="Qwopplid ligger her.", status=status)
    for q in ("Zyxvandor", "zyxvand", "qwopplid"):
        body = search(client, q)
        assert body["traces"] == [], (q, body)


def test_words_only_in_history_or_moderators_notes_find_nothing(client, session, make_trace):
    """Only the current title, tags, description and sources are searched: not an earlier
    revision's text, not a moderator's note."""
    trace = make_trace(title="Gammel tuft", decision_note="Zyxvandor sa dette i telefonen.")
    old = {"title": "Qwopplid-tuft", "description": "Qwopplid"}
    session.add(
        Revision(trace_id=trace.id, version=1, comment="Qwopplid", geom=trace.geom, snapshot=old)
    )
    session.commit()
    for q in ("zyxvandor", "qwopplid", "Qwopplid-tuft"):
        assert search(client, q)["traces"] == [], q
    assert titles(search(client, "tuft")) == ["Gammel tuft"]


def test_the_author_finds_their_own_pending_trace(client, make_trace, make_user, login):
    author = make_user()
    make_trace(title="Zyxvandor-tuft", status=TraceStatus.PENDING, author=author)
    login(author)
    assert titles(search(client, "zyxvandor")) == ["Zyxvandor-tuft"]
    assert client.get("/api/search?q=zyxvandor").headers["Cache-Control"] == "private, no-store"


def test_deleted_traces_are_never_found_even_by_an_admin(client, make_trace, make_user, login):
    make_trace(title="Zyxvandor-tuft", status=TraceStatus.DELETED)
    login(make_user(UserRole.ADMIN))
    assert search(client, "zyxvandor")["traces"] == []


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return GEOD.inv(a[0], a[1], b[0], b[1])[2]


def test_a_protected_site_is_found_only_at_its_public_point(
    client, session, make_trace, make_user, login
) -> None:
    precise = (23.3012, 69.9512)
    author = make_user()
    trace = make_trace(
        Point(*precise), title="Helleristning ved Zyxvandor", author=author,
        sensitivity_override=True,
    )  # fmt: skip
    session.refresh(trace)
    public = to_shape(trace.public_geom)
    assert _metres((public.x, public.y), precise) > 150
    # A view around the precise spot only: the site is not "in view" there.
    tight = f"{precise[0] - 0.002},{precise[1] - 0.001},{precise[0] + 0.002},{precise[1] + 0.001}"
    for params in ({}, {"bbox": tight}):
        body = search(client, "zyxvandor", **params)
        (found,) = body["traces"]
        assert found["approximate"] is True
        assert _metres((found["lon"], found["lat"]), (public.x, public.y)) < 1
        assert f"{precise[1]:.4f}" not in json.dumps(body)
    # The author sees it precisely.
    login(author)
    (own,) = search(client, "zyxvandor")["traces"]
    assert own["approximate"] is False
    assert _metres((own["lon"], own["lat"]), precise) < 1


def test_the_view_does_not_rank_a_protected_site_by_its_precise_position(
    client, session, make_trace
) -> None:
    """Ranking on the precise point inside the view would tell where the site is."""
    precise = (23.3012, 69.9512)
    elsewhere = make_trace(Point(*RAUFOSS), title="Helleristning Zyxvandor")
    protected = make_trace(Point(*precise), title="Helleristning Zyxvandor",
                           sensitivity_override=True)  # fmt: skip
    session.refresh(protected)
    public = to_shape(protected.public_geom)
    assert _metres((public.x, public.y), precise) > 150
    tight = f"{precise[0] - 0.002},{precise[1] - 0.001},{precise[0] + 0.002},{precise[1] + 0.001}"
    ids = [t["id"] for t in search(client, "zyxvandor", bbox=tight)["traces"]]
    assert ids == [elsewhere.id, protected.id]  # equals: by id, as without a view
    around_public = f"{public.x - 0.01},{public.y - 0.005},{public.x + 0.01},{public.y + 0.005}"
    ids = [t["id"] for t in search(client, "zyxvandor", bbox=around_public)["traces"]]
    assert ids == [protected.id, elsewhere.id]


# --- The view ---------------------------------------------------------------------------------


def test_traces_in_the_view_come_first_but_others_are_still_found(client, make_trace):
    far = make_trace(Point(*ALTA), title="Kullgrop ved elva")
    near = make_trace(Point(*RAUFOSS), title="Kullgrop ved elva")
    raufoss = "10.5,60.65,10.7,60.8"
    alta = "23.1,69.9,23.4,70.05"
    assert [t["id"] for t in search(client, "kullgrop", bbox=raufoss)["traces"]] == [
        near.id,
        far.id,
    ]
    assert [t["id"] for t in search(client, "kullgrop", bbox=alta)["traces"]] == [far.id, near.id]


def test_a_country_wide_view_ranks_as_without_a_view(client, make_trace):
    """Everything is in view at the country view: no preference, the best matches first."""
    far = make_trace(Point(*ALTA), title="Kullgrop ved elva")
    best = make_trace(Point(*RAUFOSS), title="Kullgrop", tags=["kullgrop"])
    without = [t["id"] for t in search(client, "kullgrop")["traces"]]
    assert without == [best.id, far.id]
    assert [t["id"] for t in search(client, "kullgrop", bbox="4,57,31,71")["traces"]] == without


def test_a_bad_view_is_a_400_with_problem_details(client):
    response = client.get("/api/search?q=alta&bbox=1,2,3")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "bbox" in response.get_json()["detail"]


# --- Any text ---------------------------------------------------------------------------------

AWKWARD = [
    "", " ", '"', '"unclosed', "'", "a & b", "a | b", "!a", "a <-> b", "a:*", "(", ")", "&|!<->",
    "\\", "\\\\\\", "%", "_", "%_%", "--", "/*", "*/", ";", "' OR 1=1 --", "🙂", "🏔️ fjell",
    "…", "...", "!!!", "«»", "ʼ", "\u200b", "\u202e", "\t", "\n\n", "a\r\nb", "é" * 300,
    "Ø", "ÆØÅ", "ᚠᚢᚦ", "\ufeff", "x" * 10_000, "fangst " * 2000,
]  # fmt: skip


@pytest.mark.parametrize("q", AWKWARD, ids=range(len(AWKWARD)))
def test_any_text_is_a_valid_search(client, make_trace, q: str):
    make_trace(title="Fangstgroper ved Komsa")
    body = search(client, q)
    assert set(body) >= {"query", "cut", "traces", "places"}
    assert isinstance(body["traces"], list) and isinstance(body["places"], list)
    assert len(body["query"]) <= 200


def test_empty_and_punctuation_give_empty_lists(client, make_trace, session):
    make_trace(title="Fangstgroper ved Komsa")
    add_place(session, "Komsa", 23.15, 69.96)
    for q in ("", "   ", "...", "&|!", '"'):
        body = search(client, q)
        assert body["traces"] == [] and body["places"] == [], q


def test_long_queries_are_cut_with_a_note(client, make_trace, app: Flask):
    make_trace(title="Fangstgroper ved Komsa")
    body = search(client, "fangstgroper " + "x" * 10_000, lang="en")
    assert body["cut"] is True
    assert len(body["query"]) == app.config["SEARCH_MAX_CHARS"]
    assert body["note"]
    short = search(client, "fangstgroper")
    assert short["cut"] is False and "note" not in short


def test_nul_is_refused_like_everywhere_else_but_line_breaks_are_searched(client, make_trace):
    """The app refuses NUL and C0 controls in every query string (app/params.py) with a 400;
    search keeps that one rule rather than an exception. Tabs and line breaks, which the rule
    lets through, are searched as spaces."""
    make_trace(title="Fangstgroper ved Komsa")
    response = client.get("/api/search?q=fangst%00groper")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = search(client, "fangstgroper\n\tkomsa")
    assert body["query"] == "fangstgroper komsa"
    assert titles(body) == ["Fangstgroper ved Komsa"]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=st.text(max_size=300))
def test_arbitrary_text_never_a_500_and_always_json(client, q: str):
    response = client.get("/api/search", query_string={"q": q})
    assert response.status_code in (200, 400), response.status_code
    body = json.loads(response.get_data())
    if response.status_code == 400:  # only for the control characters the app refuses
        assert any(ord(c) < 32 and c not in "\t\n\r" or ord(c) == 127 for c in q)
        assert body["code"] == "bad_parameter"
    else:
        assert isinstance(body["traces"], list) and isinstance(body["places"], list)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(q=st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cs"]), max_size=60))
def test_arbitrary_printable_text_is_always_answered(client, q: str):
    response = client.get("/api/search", query_string={"q": q, "bbox": "4,57,31,71"})
    assert response.status_code == 200
    assert isinstance(response.get_json()["places"], list)


# --- Without script --------------------------------------------------------------------------


def test_the_page_without_script_lists_the_same_results_with_links(client, make_trace, session):
    trace = make_trace(title="Fangstgroper ved Komsa")
    add_place(session, "Komsa", 23.15, 69.96, kind="Fjell")
    page = client.get("/search?q=komsa&lang=en")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'href="/traces/{trace.id}"' in html
    assert 'id="search-places"' in html and "Komsa" in html
    assert "at=14/69.96000/23.15000" in html
    # Any text there too, and a mangled view only loses the preference.
    for q in ('"', "x" * 5000, "🙂", ""):
        assert client.get("/search", query_string={"q": q, "bbox": "a,b"}).status_code == 200


def test_the_box_is_a_form_for_the_page_without_script(app: Flask):
    with app.test_request_context("/"):
        from flask import render_template

        html = render_template("search/_box.html")
    assert 'action="/search"' in html and 'name="q"' in html
    assert 'src="/static/js/map-search.js?v=' in html and "defer" in html
    assert 'role="status"' in html and 'aria-live="polite"' in html


def test_anonymous_answers_may_be_cached_briefly(client):
    response = client.get("/api/search?q=alta")
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Cookie" in response.headers["Vary"]
    assert "Set-Cookie" not in response.headers
