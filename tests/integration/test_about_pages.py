"""The statements and orientation pages: built from configuration, in both languages, and the
footer that links them from every page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.auth.sessions import SIGNED_IN_COOKIE
from app.i18n import LANG_COOKIE, LANG_COOKIE_DAYS, gettext_in
from app.models import Membership, MembershipRole, Project, Trace, TraceStatus, User
from tests.conftest import PASSWORD, csrf_from

PAGES = ("/privacy", "/accessibility", "/about", "/projects/probe/about")
# One sentence of each page, by its msgid: the translated page must show its translation.
KNOWN_SENTENCES = {
    "/privacy": "We store only what the service needs. We never sell data, show advertising or "
    "build profiles of you.",
    "/accessibility": "The service has not yet been tested by an outside expert or by users "
    "with disabilities. We would welcome help with that.",
    "/about": "A map of the traces people have left in the landscape, made together by "
    "residents and the library.",
    "/projects/probe/about": "Names are shown only for people who chose to show their name "
    "publicly.",
}
# Odd values no default has, so finding them proves the page reads the setting.
SETTINGS = {
    "PRIVACY_CONTROLLER": "Nordkapp kommune, biblioteket",
    "PRIVACY_CONTACT": "personvern@nordkapp.example",
    "PRIVACY_DPO": "Personvernombud Pia, pvo@nordkapp.example",
    "ACCESSIBILITY_CONTACT": "uu@nordkapp.example",
    "OPERATOR_NAME": "Nordkapp folkebibliotek",
    "LOG_RETENTION_DAYS": 11,
    "SESSION_RETENTION_DAYS": 23,
    "MAIL_RETENTION_DAYS": 29,
    "BACKUP_RETENTION_DAYS": 37,
    "MEDIA_REJECTED_DAYS": 6,
    "RESET_TOKEN_MINUTES": 17,
}


@pytest.fixture
def configured(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """The app with distinctive privacy and retention settings (restored after the test)."""
    for name, value in SETTINGS.items():
        monkeypatch.setitem(app.config, name, value)
    yield SETTINGS


def _choose(client: FlaskClient, language: str) -> None:
    """Choose a language with the header's picker, as a visitor does."""
    token = csrf_from(client.get("/privacy").text)
    answer = client.post("/language", data={"lang": language, "csrf_token": token, "next": "/"})
    assert answer.status_code == 302


def _english(client: FlaskClient) -> None:
    _choose(client, "en")


def _text(page: str) -> str:
    """The page's visible words, roughly (tags removed, entities decoded, whitespace collapsed)."""
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))
    return text.replace(" ,", ",").replace(" :", ":").replace(" .", ".")


def _main(page: str) -> str:
    """The page's <main> element's content (the shared header and footer left out)."""
    return page.split("<main", 1)[1].split(">", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("language", ["nb", "nn", "en"])
def test_every_statement_and_about_page_answers_translated_in_each_language(
    app: Flask, anonymous: FlaskClient, world: dict[str, Any], language: str
) -> None:
    if language != "nb":  # Bokmål is the default
        _choose(anonymous, language)
    for path, msgid in KNOWN_SENTENCES.items():
        answer = anonymous.get(path)
        assert answer.status_code == 200, path
        assert f'<html lang="{language}">' in answer.text, path
        assert answer.text.count("<footer") == 1, path
        with app.test_request_context():
            expected = gettext_in(language, msgid)
        if language != "en":
            assert expected != msgid, f"no {language} translation of {msgid!r}"
        assert expected in _text(_main(answer.text)), (path, expected)


def test_the_privacy_statement_states_the_configured_controller_contact_and_retention(
    anonymous: FlaskClient, configured: dict[str, Any]
) -> None:
    _english(anonymous)
    page = anonymous.get("/privacy").text
    text = _text(page)
    assert "Nordkapp kommune, biblioteket is the data controller" in text
    assert 'href="mailto:personvern@nordkapp.example"' in page
    assert "Nordkapp folkebibliotek runs the service" in text
    assert 'id="dpo"' in page and "Personvernombud Pia, pvo@nordkapp.example" in text
    assert "Removed 23 days after the session ends." in text
    assert "11 days, then deleted automatically." in text
    assert "29 days after it was sent." in text
    assert "37 days. Data deleted from the service is gone from the backups" in text
    assert "after 37 days the data is gone from the backups too" in text
    assert "Rejected photos are removed after 6 days" in text
    # The legal bases are named, and consent is only the basis for showing names.
    assert text.count("Consent (GDPR art. 6(1)(a))") == 2
    assert "Public task (GDPR art. 6(1)(e))" in text
    assert "CC BY 4.0" in text and "never your e-mail address" in text
    assert "datatilsynet.no" in page and 'href="/me/data.zip"' in page
    assert "no cookies for tracking" in text
    # The national basis for the public task (art. 6(3)), and the wording the translators asked
    # for: typographic quotes, never straight ones.
    assert "Public Libraries Act (folkebibliotekloven) § 1" in text
    assert "“Tidligere bidragsyter”" in text and "(“Delete my account”)" in text
    assert '"' not in _text(_main(page))
    # What a withdrawal does, and that removal exists (app/traces/informants.py columns(None)).
    assert "their name is no longer shown, but the project’s librarians and curators" in text
    assert "removes them on the trace’s edit page" in text
    # The delivery log holds queries, not traces; harvesters have the deletions feed.
    assert "but not which traces" in text and "deletions feed" in text
    # The mail log keeps a reset mail, link included, and the link is short-lived.
    assert "The copy of a reset mail holds its link" in text
    assert "only once and only for 17 minutes" in text


def _cookie_names(answer: Any) -> set[str]:
    """The names of the cookies an answer sets (or deletes)."""
    return {header.split("=", 1)[0] for header in answer.headers.getlist("Set-Cookie")}


def _listed_cookies(page: str) -> set[str]:
    """The cookie names the privacy statement lists (each in <code>, in the cookies section)."""
    section = page.split('id="cookies"', 1)[1].split("</section>", 1)[0]
    return set(re.findall(r"<code>([^<]+)</code>", section))


def test_the_privacy_statement_lists_every_cookie_the_app_sets_with_its_lifetime(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", 9 * 86400)
    user = make_user()
    expected = {app.config["SESSION_COOKIE_NAME"], SIGNED_IN_COOKIE, LANG_COOKIE}
    # A visitor's whole path: a form, the language picker, login, a page, logout.
    seen: set[str] = set()
    page = client.get("/login")
    seen |= _cookie_names(page)
    token = csrf_from(page.text)
    chosen = client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/"})
    seen |= _cookie_names(chosen)
    lang_header = next(
        h for h in chosen.headers.getlist("Set-Cookie") if h.startswith(f"{LANG_COOKIE}=")
    )
    assert f"Max-Age={LANG_COOKIE_DAYS * 86400}" in lang_header
    logged_in = client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert logged_in.status_code == 302
    seen |= _cookie_names(logged_in)
    statement = client.get("/privacy")
    seen |= _cookie_names(statement)
    seen |= _cookie_names(client.post("/logout", data={"csrf_token": csrf_from(statement.text)}))
    listed = _listed_cookies(statement.text)
    assert listed == expected
    assert seen <= listed, f"cookies set but not in the statement: {seen - listed}"
    assert seen == expected, f"cookies in the statement the app never set: {expected - seen}"
    assert app.config.get("REMEMBER_COOKIE_NAME", "remember_token") not in listed
    text = _text(statement.text)
    assert "While you are logged in it lasts 9 days from your last visit" in text
    assert f"Set only when you choose one, and kept for {LANG_COOKIE_DAYS} days." in text


def test_the_data_protection_officer_section_is_left_out_when_none_is_configured(
    app: Flask, anonymous: FlaskClient, configured: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PRIVACY_DPO", "  ")
    page = anonymous.get("/privacy").text
    assert 'id="dpo"' not in page
    assert "Pia" not in page
    assert "personvern@nordkapp.example" in page


def test_the_privacy_statement_in_bokmal_still_carries_the_settings(
    anonymous: FlaskClient, configured: dict[str, Any]
) -> None:
    text = _text(anonymous.get("/privacy").text)
    for value in ("Nordkapp kommune, biblioteket", "personvern@nordkapp.example", "23", "37"):
        assert value in text


def test_the_accessibility_statement_names_its_contact_date_and_enforcement(
    anonymous: FlaskClient, configured: dict[str, Any]
) -> None:
    _english(anonymous)
    page = anonymous.get("/accessibility").text
    text = _text(page)
    assert 'href="mailto:uu@nordkapp.example"' in page
    assert '<time datetime="2026-11-30">November 30, 2026</time>' in page
    assert "Partly compliant" in text and "WCAG 2.1, level AA" in text
    assert "uutilsynet.no" in page
    for known in ("1.1.1", "2.1.1", "3.1.2", "1.4.3 Contrast (Minimum)", "“My traces”"):
        assert known in text
    assert '"' not in _text(_main(page))


def test_the_about_page_names_the_operator_and_links_every_project(
    anonymous: FlaskClient, configured: dict[str, Any], make_project: Callable[..., Project]
) -> None:
    make_project(slug="alta-spor")
    make_project(slug="gjesdal")
    _english(anonymous)
    page = anonymous.get("/about").text
    assert "Nordkapp folkebibliotek runs" in _text(page)
    assert 'href="/projects/alta-spor/about"' in page
    assert 'href="/projects/gjesdal/about"' in page
    assert "hunting pits" in page and "1,5" not in page and "1.5 km" in page
    text = _text(page)
    assert "Remains from before 1537" in text and "automatically protected" in text
    assert "Cultural Heritage Act" in text and "(in Norwegian “kulturspor”)" in text


def test_a_project_about_page_names_only_moderators_who_chose_to_be_shown(
    anonymous: FlaskClient,
    session: Session,
    make_user: Callable[..., User],
    make_project: Callable[..., Project],
    make_trace: Callable[..., Trace],
) -> None:
    project = make_project(slug="alta")
    shown = make_user(name="Librarian Synnøve")
    shown.show_name_publicly = True
    hidden_librarian = make_user(name="Librarian Hemmelig")
    hidden_curator = make_user(name="Curator Skjult")
    revoked = make_user(name="Curator Tidligere")
    revoked.show_name_publicly = True
    for person, role in (
        (shown, MembershipRole.LIBRARIAN),
        (hidden_librarian, MembershipRole.LIBRARIAN),
        (hidden_curator, MembershipRole.CURATOR),
    ):
        session.add(Membership(project_id=project.id, user_id=person.id, role=role))
    session.add(
        Membership(
            project_id=project.id,
            user_id=revoked.id,
            role=MembershipRole.CURATOR,
            revoked_at=project.created_at,
        )
    )
    session.commit()
    for status in (TraceStatus.APPROVED, TraceStatus.APPROVED, TraceStatus.PENDING):
        make_trace(project=project, status=status)
    _english(anonymous)
    text = _text(anonymous.get("/projects/alta/about").text)
    assert "Librarian Synnøve" in text
    assert "Hemmelig" not in text and "Skjult" not in text and "Tidligere" not in text
    assert "Librarians: Librarian Synnøve, 1 more" in text
    assert "Curators (residents the library trusts): 1 curator" in text
    assert "Approved traces 2 " in text


def test_a_project_about_page_for_an_unknown_project_is_404(anonymous: FlaskClient) -> None:
    answer = anonymous.get("/projects/no-such-project/about")
    assert answer.status_code == 404
    assert 'href="/privacy"' in answer.text  # the error page has the footer too


@pytest.mark.parametrize("path", ["/", "/traces/{trace}", "/no-such-page", "/register"])
def test_the_footer_links_the_statements_from_ordinary_pages(
    anonymous: FlaskClient, world: dict[str, Any], configured: dict[str, Any], path: str
) -> None:
    answer = anonymous.get(path.format(trace=world["trace"].id))
    assert answer.status_code == (404 if path == "/no-such-page" else 200)
    footer = answer.text.split("<footer", 1)[1].split("</footer>", 1)[0]
    for link in ("/privacy", "/accessibility", "/about", "mailto:personvern@nordkapp.example"):
        assert f'href="{link}"' in footer, (path, link)
    assert "Nordkapp folkebibliotek" in footer


def test_registration_links_the_privacy_statement_without_asking_for_consent(
    anonymous: FlaskClient,
) -> None:
    _english(anonymous)
    main = anonymous.get("/register").text.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'How we handle your data: <a href="/privacy">privacy statement</a>.' in main
    assert "agree" not in main.lower()


def test_the_front_page_welcomes_a_newcomer_and_a_project_page_links_its_about_page(
    anonymous: FlaskClient, world: dict[str, Any]
) -> None:
    _english(anonymous)
    front = anonymous.get("/").text
    assert "Mark the traces people left in the landscape near you" in front
    assert 'href="/projects/probe/about"' in anonymous.get("/projects/probe").text
