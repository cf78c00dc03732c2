"""Photos where people look: the trace page's gallery, the map's popups and list, the moderation
queue (per-photo decisions, new photos on approved traces), "My traces" and comments.

Photos are real: JPEGs made here with Pillow, uploaded through the trace page's form and
processed and stored by the photos backend.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from shapely.geometry import Point
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from app.db import engine_of
from app.models import (
    Comment,
    Membership,
    MembershipRole,
    Photo,
    PhotoStatus,
    Project,
    Trace,
    TraceStatus,
    User,
)
from tests.conftest import log_in
from tests.integration.test_map_tiles import get_tile

# A corner of Troms no other test uses.
HERE = Point(19.05, 69.65)
THERE = Point(19.15, 69.70)
BBOX = "18.9,69.5,19.3,69.8"


def jpeg(colour: tuple[int, int, int] = (150, 90, 40), size: tuple[int, int] = (800, 600)) -> bytes:
    """A real JPEG made here."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=80)
    return out.getvalue()


def add_photo(
    client: FlaskClient, token: str, trace: Trace, caption: str = "", credit: str = "",
    licence: str = "CC-BY-4.0", colour: tuple[int, int, int] = (150, 90, 40),
) -> int:  # fmt: skip
    """Add a photo through the trace page's form; the new photo's id."""
    response = client.post(
        f"/traces/{trace.id}/photos",
        data={
            "csrf_token": token,
            "file": (io.BytesIO(jpeg(colour)), "bilde.jpg"),
            "caption": caption,
            "credit": credit,
            "licence": licence,
            "taken_on": "2026-05-01",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:600]
    match = re.search(r"#photo-(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def decide(client: FlaskClient, token: str, photo_id: int, action: str, **extra: str) -> Any:
    """Post a per-photo decision as the queue's form does."""
    return client.post(
        f"/photos/{photo_id}/decide",
        data={"csrf_token": token, "action": action, "next": "/", **extra},
    )


def photo_ids_in(html: str) -> set[int]:
    """Every photo id the page refers to (in any address, id or data attribute)."""
    found = set(re.findall(r"/photos/(\d+)/", html))
    found |= set(re.findall(r'photo-(\d+)"', html))
    found |= set(re.findall(r'data-photo-id="(\d+)"', html))
    return {int(i) for i in found}


@pytest.fixture
def place(
    session: Session, make_user: Callable[..., User], make_project: Callable[..., Project],
    make_trace: Callable[..., Trace], app: Flask,
) -> dict[str, Any]:  # fmt: skip
    """A project with its librarian, a resident, and their approved trace."""
    librarian = make_user(name="Lise Bibliotekar")
    resident = make_user(name="Rolf Resident")
    project = make_project()
    session.add(
        Membership(project_id=project.id, user_id=librarian.id, role=MembershipRole.LIBRARIAN)
    )
    session.commit()
    trace = make_trace(HERE, author=resident, project=project, title="Hustuft ved elva")
    return {
        "librarian": librarian, "resident": resident, "project": project, "trace": trace,
        "author": _client(app, resident), "moderator": _client(app, librarian),
    }  # fmt: skip


def _client(app: Flask, user: User) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, log_in(client, user.email)


def _english(client: FlaskClient) -> None:
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"  # what the language switch stores


def _version(session: Session, trace: Trace) -> int:
    session.expire_all()
    current = session.get(Trace, trace.id)
    assert current is not None
    return current.version


def _status(session: Session, photo_id: int) -> PhotoStatus | None:
    session.expire_all()
    photo = session.get(Photo, photo_id)
    return photo.status if photo is not None else None


# --- the gallery -------------------------------------------------------------------------------


def test_gallery_alt_is_the_caption_with_credit_licence_and_sizes(
    place: dict[str, Any], anonymous: FlaskClient, session: Session
) -> None:
    author, token = place["author"]
    trace = place["trace"]
    photo_id = add_photo(author, token, trace, caption="Tufta sett fra sør", credit="Kari Nordmann",
                         licence="CC0-1.0")  # fmt: skip
    moderator, mtoken = place["moderator"]
    assert decide(moderator, mtoken, photo_id, "approve").status_code == 303

    html = anonymous.get(f"/traces/{trace.id}").get_data(as_text=True)
    photo = session.get(Photo, photo_id)
    assert photo is not None
    item = re.search(rf'<li class="photo-item" id="photo-{photo_id}">(.*?)</li>', html, re.S)
    assert item, html[html.find('id="photos"') :][:2000]
    block = item.group(1)
    assert f'href="/photos/{photo_id}/display"' in block
    assert f'src="/photos/{photo_id}/thumb"' in block
    assert f'width="{photo.thumb_width}" height="{photo.thumb_height}"' in block
    assert 'alt="Tufta sett fra sør"' in block
    assert "Kari Nordmann" in block and "CC0-1.0" in block and "2026-05-01" in block
    assert 'loading="lazy"' in block
    # The public gets neither the forms nor the state.
    assert "/decide" not in html and "/delete" not in html and "Add a photo" not in html
    # And the thumbnail it links is served to them.
    served = anonymous.get(f"/photos/{photo_id}/thumb")
    assert served.status_code == 200 and served.mimetype.startswith("image/")


def test_public_sees_nothing_of_pending_rejected_or_protected_photos(
    place: dict[str, Any], anonymous: FlaskClient, session: Session,
    make_trace: Callable[..., Trace],
) -> None:  # fmt: skip
    author, token = place["author"]
    moderator, mtoken = place["moderator"]
    trace = place["trace"]
    shown = add_photo(author, token, trace, caption="Godkjent")
    waiting = add_photo(author, token, trace, caption="Venter")
    refused = add_photo(author, token, trace, caption="Avvist")
    assert decide(moderator, mtoken, shown, "approve").status_code == 303
    assert decide(moderator, mtoken, refused, "reject", reason="Uskarpt bilde").status_code == 303
    protected = make_trace(THERE, author=place["resident"], project=place["project"],
                           title="Helleristning", sensitivity_override=True)  # fmt: skip
    assert protected.is_sensitive
    hidden = add_photo(author, token, protected, caption="Ristningen på nært hold")
    assert decide(moderator, mtoken, hidden, "approve").status_code == 303

    public = anonymous.get(f"/traces/{trace.id}").get_data(as_text=True)
    assert photo_ids_in(public) == {shown}
    assert "Venter" not in public and "Avvist" not in public and "Uskarpt" not in public
    public_protected = anonymous.get(f"/traces/{protected.id}").get_data(as_text=True)
    assert photo_ids_in(public_protected) == set()
    assert "Ristningen" not in public_protected
    for photo_id in (waiting, refused, hidden):
        assert anonymous.get(f"/photos/{photo_id}/thumb").status_code == 404

    # The author sees every state, with the librarian's reason.
    _english(author)
    own = author.get(f"/traces/{trace.id}").get_data(as_text=True)
    assert {shown, waiting, refused} <= photo_ids_in(own)
    assert 'class="photo-item photo-pending"' in own and "Uskarpt bilde" in own
    assert "Waiting for a librarian" in own

    # The librarian's word that the picture does not reveal the place makes it public.
    _english(moderator)
    page = moderator.get(f"/traces/{protected.id}").get_data(as_text=True)
    assert "This picture does not reveal the place (may be public)" in page
    assert decide(moderator, mtoken, hidden, "approve",
                  public_when_protected="1").status_code == 303  # fmt: skip
    assert hidden in photo_ids_in(anonymous.get(f"/traces/{protected.id}").get_data(as_text=True))


def test_author_adds_edits_and_removes_a_photo_from_the_gallery_forms(
    place: dict[str, Any], session: Session
) -> None:
    author, token = place["author"]
    trace = place["trace"]
    _english(author)
    page = author.get(f"/traces/{trace.id}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="/traces/\d+/photos"[^>]*>', page)
    assert form and 'enctype="multipart/form-data"' in form.group(0)
    assert "Up to 10 photos per trace" in page
    photo_id = add_photo(author, token, trace, caption="Første")
    page = author.get(f"/traces/{trace.id}").get_data(as_text=True)
    assert f'action="/photos/{photo_id}/edit"' in page
    assert f'action="/photos/{photo_id}/delete"' in page
    assert f'action="/photos/{photo_id}/decide"' not in page  # the author does not decide

    edited = author.post(f"/photos/{photo_id}/edit", data={
        "csrf_token": token, "caption": "Ny tekst", "credit": "Rolf", "licence": "CC-BY-4.0",
        "taken_on": "", "next": f"/traces/{trace.id}"})  # fmt: skip
    assert edited.status_code == 303
    assert 'alt="Ny tekst"' in author.get(f"/traces/{trace.id}").get_data(as_text=True)
    removed = author.post(f"/photos/{photo_id}/delete", data={"csrf_token": token, "next": "/"})
    assert removed.status_code == 303
    assert _status(session, photo_id) is None


# --- the map -----------------------------------------------------------------------------------


def _feature(body: dict[str, Any], trace_id: int) -> dict[str, Any]:
    for feature in body["features"]:
        if feature.get("id") == trace_id or feature["properties"].get("id") == trace_id:
            return feature
    raise AssertionError(f"trace {trace_id} not on the map: {body}")


def test_map_data_and_tiles_carry_only_a_public_photo(
    place: dict[str, Any], anonymous: FlaskClient, session: Session,
    make_trace: Callable[..., Trace],
) -> None:  # fmt: skip
    author, token = place["author"]
    moderator, mtoken = place["moderator"]
    trace = place["trace"]
    second = add_photo(author, token, trace, caption="Andre")
    first = add_photo(author, token, trace, caption="Første")
    # The first by position is the one shown: make the later upload come first.
    session.execute(text("UPDATE photos SET position = 5 WHERE id = :id"), {"id": second})
    session.execute(text("UPDATE photos SET position = 1 WHERE id = :id"), {"id": first})
    session.commit()
    protected = make_trace(THERE, author=place["resident"], project=place["project"],
                           title="Helleristning", sensitivity_override=True)  # fmt: skip
    secret = add_photo(author, token, protected, caption="Ristningen")
    assert decide(moderator, mtoken, secret, "approve").status_code == 303

    # Pending photos: no photo anywhere on the public map.
    zoomed = anonymous.get(f"/api/map?bbox={BBOX}&zoom=14").get_json(force=True)
    assert _feature(zoomed, trace.id)["properties"]["photo"] is None
    assert _feature(get_tile(anonymous, HERE, 6), trace.id)["properties"]["photo"] is None

    assert decide(moderator, mtoken, second, "approve").status_code == 303
    assert decide(moderator, mtoken, first, "approve").status_code == 303
    photo = session.get(Photo, first)
    assert photo is not None
    expected = {"src": f"/photos/{first}/thumb", "width": photo.thumb_width,
                "height": photo.thumb_height, "alt": "Første"}  # fmt: skip
    for client in (anonymous, moderator):  # the public statement and the built one
        zoomed = client.get(f"/api/map?bbox={BBOX}&zoom=14").get_json(force=True)
        assert _feature(zoomed, trace.id)["properties"]["photo"] == expected
        assert _feature(zoomed, protected.id)["properties"]["photo"] is None
        tile = get_tile(client, HERE, 6)
        assert _feature(tile, trace.id)["properties"]["photo"] == expected
        assert secret not in photo_ids_in(json.dumps(tile) + json.dumps(zoomed))
    # The signed-in tile is built from map_cells plus extras: the same answer.
    body = get_tile(anonymous, THERE, 6)
    assert _feature(body, protected.id)["properties"]["photo"] is None


def test_first_public_photo_probes_the_partial_index(session: Session) -> None:
    """EXPLAIN of the popup's subquery: one index probe of ix_photos_trace per trace."""
    from app.traces.tiles import first_public_photo_sql

    sql = first_public_photo_sql("t.id")
    session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: force the choice
    plan = "\n".join(
        session.execute(text(f"EXPLAIN SELECT t.id, {sql} FROM traces t LIMIT 50")).scalars()  # noqa: S608
    )
    assert "ix_photos_trace" in plan, plan


# --- the moderation queue ------------------------------------------------------------------------


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements run while the test looks (to hold the queue to no N+1)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    engine = engine_of(app)
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def test_queue_shows_thumbnails_and_decides_per_photo(
    place: dict[str, Any], make_trace: Callable[..., Trace], session: Session,
    statements: list[str],
) -> None:  # fmt: skip
    author, token = place["author"]
    moderator, mtoken = place["moderator"]
    entry = make_trace(THERE, status=TraceStatus.PENDING, author=place["resident"],
                       project=place["project"], title="Kullgrop")  # fmt: skip
    keep = add_photo(author, token, entry, caption="Gropa")
    drop = add_photo(author, token, entry, caption="Feil bilde")
    _english(moderator)
    queue_url = f"/moderation/{place['project'].slug}"
    # An entry's photos are in its part, fetched when its queue row opens (issue 10).
    section = moderator.get(f"{queue_url}/entry/{entry.id}?part=1").get_data(as_text=True)
    assert f'src="/photos/{keep}/thumb"' in section and f'src="/photos/{drop}/thumb"' in section
    assert f'action="/photos/{drop}/decide"' in section
    assert "2 photos" in section

    assert decide(moderator, mtoken, drop, "reject", reason="Ikke fra stedet").status_code == 303
    assert _status(session, drop) == PhotoStatus.REJECTED
    approved = moderator.post(f"/moderation/decision/{entry.id}", data={
        "csrf_token": mtoken, "action": "approve", "version": _version(session, entry),
        "next": queue_url})  # fmt: skip
    assert approved.status_code == 302
    # The photo that came with the trace is approved with it; the rejected one stays so.
    assert _status(session, keep) == PhotoStatus.APPROVED
    assert _status(session, drop) == PhotoStatus.REJECTED

    # Photos added later to an approved trace are their own entries, with counts.
    later = add_photo(author, token, place["trace"], caption="Ny vinkel")
    also = add_photo(author, token, place["trace"], caption="Enda en")
    page = moderator.get(queue_url).get_data(as_text=True)
    assert "2 new photos wait" in page
    index = moderator.get("/moderation/").get_data(as_text=True)
    assert f'href="{queue_url}#new-photos">2 new photos</a>' in index
    block = page[page.find(f'id="new-photos-{place["trace"].id}"') :]
    assert "New photos on" in block and f'src="/photos/{later}/thumb"' in block
    assert f'src="/photos/{also}/thumb"' in block
    assert decide(moderator, mtoken, later, "approve").status_code == 303
    assert _status(session, later) == PhotoStatus.APPROVED
    page = moderator.get(queue_url).get_data(as_text=True)
    assert "1 new photo waits" in page

    # More entries with photos: the page costs the same number of statements (no N+1).
    one = make_trace(Point(19.0, 69.61), status=TraceStatus.PENDING, author=place["resident"],
                     project=place["project"], title="Grop")  # fmt: skip
    add_photo(author, token, one, caption="Grop")
    statements.clear()
    moderator.get(queue_url)
    few = len(statements)
    for n in range(3):
        more = make_trace(Point(19.0 + n / 100, 69.6), status=TraceStatus.PENDING,
                          author=place["resident"], project=place["project"],
                          title=f"Grop {n}")  # fmt: skip
        add_photo(author, token, more, caption=f"Grop {n}")
    add_photo(author, token, entry, caption="Uten betydning")  # on an approved trace: new photo
    statements.clear()
    page = moderator.get(queue_url).get_data(as_text=True)
    assert page.count('class="hint hint-photos"') == 4  # each row says how many photos it has
    assert len(statements) == few, "\n".join(statements)


def test_deleting_a_trace_removes_its_photos_and_their_files(
    place: dict[str, Any], session: Session, app: Flask
) -> None:
    author, token = place["author"]
    moderator, mtoken = place["moderator"]
    trace = place["trace"]
    ids = [add_photo(author, token, trace, caption=f"Bilde {n}") for n in range(2)]
    keys = [session.get(Photo, i).storage_key for i in ids]  # type: ignore[union-attr]
    media = Path(app.config["MEDIA_DIR"])
    assert all(any((media / key).iterdir()) for key in keys)  # stored before
    response = moderator.post(f"/moderation/decision/{trace.id}", data={
        "csrf_token": mtoken, "action": "delete", "reason": "Dobbeltregistrert",
        "version": _version(session, trace), "next": "/"})  # fmt: skip
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Trace, trace.id).status == TraceStatus.DELETED  # type: ignore[union-attr]
    assert session.execute(select(Photo).where(Photo.id.in_(ids))).first() is None
    # The files went right after the request's commit (the photos' own removal).
    for key in keys:
        assert not (media / key).exists(), list((media / key).iterdir())


# --- My traces and comments -------------------------------------------------------------------


def test_my_traces_shows_a_thumbnail_and_the_photos_waiting(
    place: dict[str, Any], session: Session
) -> None:
    author, token = place["author"]
    moderator, mtoken = place["moderator"]
    trace = place["trace"]
    first = add_photo(author, token, trace, caption="Fra sør")
    add_photo(author, token, trace, caption="Fra nord")
    _english(author)
    page = author.get("/me/traces").get_data(as_text=True)
    assert f'src="/photos/{first}/thumb"' in page and 'alt="Fra sør"' in page
    assert "2 photos wait for a librarian" in page
    assert decide(moderator, mtoken, first, "approve").status_code == 303
    page = author.get("/me/traces").get_data(as_text=True)
    assert "1 photo waits for a librarian" in page


def test_a_comment_carries_a_photo_moderated_with_it(
    place: dict[str, Any], anonymous: FlaskClient, session: Session,
    make_user: Callable[..., User], app: Flask,
) -> None:  # fmt: skip
    trace = place["trace"]
    neighbour = make_user(name="Nabo")
    client, token = _client(app, neighbour)
    response = client.post(
        f"/traces/{trace.id}/comments",
        data={"csrf_token": token, "body": "Her lå det en bu.", "photo_caption": "Buet i 1950",
              "photo": (io.BytesIO(jpeg((30, 120, 60))), "bu.jpg")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    comment = session.execute(
        select(Comment).where(Comment.trace_id == trace.id, Comment.author_id == neighbour.id)
    ).scalar_one()
    photo = session.execute(select(Photo).where(Photo.comment_id == comment.id)).scalar_one()
    assert photo.status == PhotoStatus.PENDING and photo.caption == "Buet i 1950"
    # Not in the gallery, and nothing of it for the public while the comment waits.
    own = client.get(f"/traces/{trace.id}").get_data(as_text=True)
    assert 'alt="Buet i 1950"' in own
    assert f'id="photo-{photo.id}"' not in own  # shown under the comment, not in the gallery
    assert photo.id not in photo_ids_in(anonymous.get(f"/traces/{trace.id}").get_data(as_text=True))

    moderator, mtoken = place["moderator"]
    decided = moderator.post(f"/comments/{comment.id}/moderate", data={
        "csrf_token": mtoken, "action": "approve", "version": comment.version})  # fmt: skip
    assert decided.status_code == 302
    assert _status(session, photo.id) == PhotoStatus.APPROVED
    public = anonymous.get(f"/traces/{trace.id}").get_data(as_text=True)
    assert f'src="/photos/{photo.id}/thumb"' in public and 'alt="Buet i 1950"' in public
