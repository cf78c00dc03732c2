"""Idempotent submissions: the same author and key never make a second trace.

The form's hidden ``submission_key`` and the API's ``Idempotency-Key`` header (or
``properties.submission_key``) name a submission; a resend gets the trace already made
(form: a redirect to it; API: 200 instead of 201). The race between two requests with the
same key is decided by the unique index (uq_traces_submission_key), tested here with two real,
committed transactions.
"""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.auth.passwords import hash_password
from app.db import db
from app.models import Photo, PhotoStatus, Project, Trace, TraceStatus, User
from app.traces import submissions
from app.traces.validation import clean_submission
from tests.conftest import csrf_from, log_in
from tests.integration.photo_support import jpeg, upload

ALTA = {"type": "Point", "coordinates": [23.2715, 69.9689]}


def english(client: FlaskClient) -> None:
    """Messages in English whether or not the Norwegian catalogue is compiled."""
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"


def traces_with_key(session: Session, key: str) -> list[Trace]:
    session.expire_all()
    return list(session.execute(select(Trace).where(Trace.submission_key == key)).scalars())


def post_form(client: FlaskClient, **fields: str) -> Any:
    token = csrf_from(client.get("/traces/new").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "project": "alta-idem",
        "title": "Fangstgrop ved Storvatnet",
        "licence": "CC-BY-4.0",
        "geometry": "",
        "coord_system": "wgs84",
        "coord_shape": "point",
        "coordinates": "69.9689, 23.2715",
        **fields,
    }
    return client.post("/traces/new", data=data)


def post_api(client: FlaskClient, token: str, key: str | None = None, **properties: Any) -> Any:
    headers = {"X-CSRFToken": token}
    if key is not None:
        headers["Idempotency-Key"] = key
    body = {
        "type": "Feature",
        "geometry": ALTA,
        "properties": {"title": "Tuft ved elva", "project": "alta-idem", **properties},
    }
    return client.post("/api/traces", json=body, headers=headers)


def redirected_id(response: Any) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:1500]
    match = re.fullmatch(r"/traces/(\d+)", urlsplit(response.headers["Location"]).path)
    assert match, response.headers["Location"]
    return int(match.group(1))


@pytest.fixture
def project(make_project) -> Project:
    return make_project(slug="alta-idem")


def test_new_form_carries_an_empty_submission_key_for_the_script(
    client: FlaskClient, project: Project, make_user, login
) -> None:
    login(make_user())
    page = client.get("/traces/new").get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="submission_key"[^>]*>', page)
    assert tag, "the new-trace form has no submission_key input"
    assert 'id="submission_key"' in tag.group(0)
    assert 'form="trace-form"' in tag.group(0)
    assert 'type="hidden"' in tag.group(0)
    assert 'value=""' in tag.group(0)


def test_form_sent_twice_with_one_key_makes_one_trace(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    login(make_user())
    english(client)
    key = str(uuid.uuid4())
    first = redirected_id(post_form(client, submission_key=key))
    again = post_form(client, submission_key=key)
    assert redirected_id(again) == first
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "This trace was already sent" in page
    assert [t.id for t in traces_with_key(session, key)] == [first]


def test_form_without_a_key_makes_a_trace_each_time(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    user = make_user()
    login(user)
    first = redirected_id(post_form(client))
    second = redirected_id(post_form(client))
    assert first != second
    session.expire_all()
    stored = session.execute(select(Trace).where(Trace.author_id == user.id)).scalars().all()
    assert len(stored) == 2 and all(t.submission_key is None for t in stored)


def test_api_sent_twice_with_one_key_answers_201_then_200_with_the_same_trace(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    token = login(make_user())
    key = str(uuid.uuid4())
    first = post_api(client, token, key)
    assert first.status_code == 201, first.get_json()
    again = post_api(client, token, key)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert len(traces_with_key(session, key)) == 1


def test_api_takes_the_key_from_properties_and_the_header_wins(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    token = login(make_user())
    key = str(uuid.uuid4())
    first = post_api(client, token, submission_key=key)
    assert first.status_code == 201
    assert post_api(client, token, submission_key=key).status_code == 200
    # The header names another submission: a new trace, whatever the body says.
    other = str(uuid.uuid4())
    third = post_api(client, token, other, submission_key=key)
    assert third.status_code == 201
    assert third.get_json()["id"] != first.get_json()["id"]
    assert len(traces_with_key(session, key)) == 1
    assert len(traces_with_key(session, other)) == 1


def test_form_and_api_share_the_key(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    """The outbox may send by the API what the form already sent: still one trace."""
    token = login(make_user())
    key = str(uuid.uuid4())
    first = redirected_id(post_form(client, submission_key=key))
    again = post_api(client, token, key)
    assert again.status_code == 200
    assert again.get_json()["id"] == first


def test_two_authors_with_the_same_key_get_two_traces(
    app: Flask, session: Session, project: Project, make_user
) -> None:
    key = "shared-key-1"
    ids = []
    for user in (make_user(), make_user()):
        client = app.test_client()
        token = log_in(client, user.email)
        response = post_api(client, token, key)
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["id"])
        redirected_id(post_form(client, submission_key="shared-key-2"))
    assert ids[0] != ids[1]
    assert {t.author_id for t in traces_with_key(session, key)} == {
        t.author_id for t in traces_with_key(session, "shared-key-2")
    }
    assert len(traces_with_key(session, key)) == 2
    assert len(traces_with_key(session, "shared-key-2")) == 2


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("x" * 65, "too long"),
        ("bad\u00e9key", "printable"),
        ("tab\tkey", "printable"),
    ],
)
def test_api_refuses_a_bad_key_with_400(
    client: FlaskClient, session: Session, project: Project, make_user, login, key: str, says: str
) -> None:
    token = login(make_user())
    english(client)
    before = session.execute(select(func.count()).select_from(Trace)).scalar_one()
    response = post_api(client, token, submission_key=key)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "bad_submission_key"
    assert says in body["detail"]
    session.expire_all()
    assert session.execute(select(func.count()).select_from(Trace)).scalar_one() == before


def test_api_key_of_64_characters_is_accepted(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    token = login(make_user())
    key = "k" * 64
    assert post_api(client, token, key).status_code == 201
    assert post_api(client, token, key).status_code == 200


def test_form_shows_a_bad_key_as_an_error_and_stores_nothing(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    login(make_user())
    english(client)
    response = post_form(client, submission_key="y" * 65)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="submission-key-error"' in page
    assert "too long" in page
    assert 'id="error-summary"' in page
    assert traces_with_key(session, "y" * 65) == []


def test_clean_key_rules(app: Flask) -> None:
    with app.test_request_context():
        assert submissions.clean_key(None) is None
        assert submissions.clean_key("   ") is None
        assert submissions.clean_key(" abc ") == "abc"
        for bad in ("a" * 65, "nul\x00", "line\nbreak", 12):
            with pytest.raises(submissions.BadSubmissionKey):
                submissions.clean_key(bad)


# --- the race, on real committed transactions ------------------------------------------------

DATA_TABLES = "audit_events, revisions, photos, traces, memberships, projects, users"


def test_a_lost_race_on_the_key_gives_back_the_winners_trace(app: Flask) -> None:
    """The loser's lookup misses (the winner has not committed); its insert waits on the
    unique index and fails once the winner commits: it answers the winner's trace."""
    with app.app_context():
        project = Project(slug="kapp", name="Kapp", library_name="Bibliotek")
        author = User(email="k@example.org", email_normalized="k@example.org",
                      display_name="Kari", password_hash=hash_password("x" * 12))  # fmt: skip
        db.session.add_all([project, author])
        db.session.commit()
        author_id, project_slug = author.id, project.slug
        db.session.remove()
    key = "race-key"
    inserted = threading.Event()
    release = threading.Event()
    results: dict[str, Any] = {}

    def winner() -> None:
        # Holds an uncommitted trace with the key until the loser is waiting on the index.
        with app.app_context(), db.engine.connect() as conn:
            with conn.begin():
                conn.execute(
                    text(
                        "INSERT INTO traces (project_id, author_id, title, geom, status, "
                        "licence, version, submission_key) SELECT id, :author, 'Vinner', "
                        "ST_SetSRID(ST_MakePoint(23.27, 69.97), 4326), 'pending', "
                        "'CC-BY-4.0', 1, :key FROM projects WHERE slug = :slug RETURNING id"
                    ),
                    {"author": author_id, "key": key, "slug": project_slug},
                )
                inserted.set()
                release.wait(timeout=20)

    def loser() -> None:
        inserted.wait(timeout=20)
        with app.test_request_context():
            try:
                author = db.session.get(User, author_id)
                assert author is not None
                submission = clean_submission({"title": "Taper", "project": project_slug}, {**ALTA})
                done = submissions.submit(author, submission, [], key)
                db.session.commit()
                results["loser"] = (done.trace.title, done.created)
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                results["loser"] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=winner), threading.Thread(target=loser)]
    try:
        for thread in threads:
            thread.start()
        # Let the loser reach the INSERT and wait on the index, then commit the winner.
        deadline = threading.Event()
        with app.app_context(), db.engine.connect() as watch:
            for _ in range(200):
                waiting = watch.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                ).scalar_one()
                if waiting:
                    break
                deadline.wait(0.05)
        release.set()
        for thread in threads:
            thread.join(timeout=30)
        assert results.get("loser") == ("Vinner", False), results
        with app.app_context():
            count = db.session.execute(
                select(func.count()).select_from(Trace).where(Trace.submission_key == key)
            ).scalar_one()
            assert count == 1
            status = db.session.execute(
                select(Trace.status).where(Trace.submission_key == key)
            ).scalar_one()
            assert status == TraceStatus.PENDING
            db.session.remove()
    finally:
        release.set()
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {DATA_TABLES} RESTART IDENTITY CASCADE"))


def test_outbox_resend_with_a_real_photo_makes_one_trace_with_its_photo(
    client: FlaskClient, session: Session, project: Project, make_user, login
) -> None:
    """What the offline outbox does: upload the photo, send the trace, send it again (the
    first answer was lost). One trace, one photo on it, the photo served to its author."""
    token = login(make_user())
    uploaded = upload(client, token, jpeg(1200, 900))
    assert uploaded.status_code == 201, uploaded.get_json()
    photo_id = uploaded.get_json()["id"]
    key = str(uuid.uuid4())
    photos = [{"id": photo_id, "caption": "Tufta", "credit": "Kari", "licence": "CC0-1.0"}]
    first = post_api(client, token, key, photos=photos)
    assert first.status_code == 201, first.get_json()
    again = post_api(client, token, key, photos=photos)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["photos"] == [photo_id]
    (trace,) = traces_with_key(session, key)
    stored = session.execute(select(Photo).where(Photo.trace_id == trace.id)).scalars().all()
    assert [(p.id, p.status, p.caption, p.licence) for p in stored] == [
        (photo_id, PhotoStatus.PENDING, "Tufta", "CC0-1.0")
    ]
    thumb = client.get(f"/photos/{photo_id}/thumb")
    assert thumb.status_code in (200, 302)
