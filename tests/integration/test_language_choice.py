"""Which language a visitor gets (account > cookie > Accept-Language > default), the picker,
the account setting, Sami's Bokmål pages with their note, and mail in the recipient's language
(app/i18n.py, docs/languages.md)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from app.db import db
from app.i18n import LANGUAGE_NAMES, accept_language_choice, gettext_in, term_choice, term_lang
from app.models import OutboxMail, Trace, User
from app.models.vocab import Scheme, Term
from app.notify import notify
from tests.conftest import csrf_from, log_in

LANGS = ["nb", "nn", "se", "en"]


def html_lang(page: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', page)
    assert match, page[:300]
    return match.group(1)


def main_tag(page: str) -> str:
    match = re.search(r"<main [^>]*>", page)
    assert match
    return match.group(0)


@pytest.mark.parametrize(
    "header,expected",
    [
        ("no", "nb"),
        ("nb-NO", "nb"),
        ("nb", "nb"),
        ("nn-NO,nb;q=0.8", "nn"),
        ("nn", "nn"),
        ("se-NO", "se"),
        ("sme", "se"),
        ("se", "se"),
        ("en-GB,en;q=0.9", "en"),
        ("en-US", "en"),
        ("de-DE,en;q=0.5,nb;q=0.9", "nb"),  # quality decides, not the order
        ("en;q=0,nn;q=0.1", "nn"),  # q=0 means "not this one"
        ("de,fr", None),
        ("", None),
    ],
)
def test_accept_language_maps_to_our_languages(header: str, expected: str | None) -> None:
    offered = parse_accept_header(header, LanguageAccept)
    assert accept_language_choice(offered, LANGS) == expected


def test_the_browser_language_is_used_when_nothing_was_chosen(
    anonymous: FlaskClient, session: Session
) -> None:
    assert html_lang(anonymous.get("/projects/").get_data(as_text=True)) == "nb"
    for header, lang in (("nn-NO", "nn"), ("en-US,en", "en"), ("de", "nb"), ("sme", "se")):
        page = anonymous.get("/projects/", headers={"Accept-Language": header})
        assert html_lang(page.get_data(as_text=True)) == lang, header
        # The page differs by the header and by the cookie: caches must know.
        assert {"Accept-Language", "Cookie"} <= set(page.vary), page.vary


def test_the_cookie_beats_the_browser_and_the_account_beats_both(
    client: FlaskClient, session: Session, make_user: Callable[..., User]
) -> None:
    client.set_cookie("lang", "nn")
    page = client.get("/projects/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert html_lang(page) == "nn"
    user = make_user()
    user.language = "en"
    session.commit()
    log_in(client, user.email)
    page = client.get("/projects/", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert html_lang(page) == "en"
    user.language = None  # not chosen on the account: the cookie again
    session.commit()
    assert html_lang(client.get("/projects/").get_data(as_text=True)) == "nn"


def test_a_language_chosen_before_the_cookie_is_still_honoured(
    client: FlaskClient, session: Session
) -> None:
    with client.session_transaction() as cookie:
        cookie["lang"] = "en"
    page = client.get("/projects/", headers={"Accept-Language": "nb"})
    assert html_lang(page.get_data(as_text=True)) == "en"


def test_the_picker_offers_every_language_by_its_own_name(
    anonymous: FlaskClient, session: Session
) -> None:
    page = anonymous.get("/projects/").get_data(as_text=True)
    picker = page[page.index('class="inline-form lang-form"') :]
    picker = picker[: picker.index("</form>")]
    for code, name in LANGUAGE_NAMES.items():
        assert f'lang="{code}"' in picker and name in picker, code
    assert re.search(r'<span [^>]*lang="nb" aria-current="true"[^>]*>Bokmål</span>', picker)
    assert 'name="lang" value="nb"' not in picker  # the current one is not offered again
    for code in ("nn", "se", "en"):
        assert f'name="lang" value="{code}"' in picker


def test_the_picker_sets_a_cookie_for_a_year(anonymous: FlaskClient, session: Session) -> None:
    token = csrf_from(anonymous.get("/projects/").get_data(as_text=True))
    answer = anonymous.post(
        "/language", data={"lang": "nn", "csrf_token": token, "next": "/projects/"}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/projects/"
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("lang="))
    assert "lang=nn" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert "Max-Age=31536000" in cookie
    page = anonymous.get("/projects/", headers={"Accept-Language": "en"})
    assert html_lang(page.get_data(as_text=True)) == "nn"
    # Nothing else is accepted.
    anonymous.post("/language", data={"lang": "xx", "csrf_token": token})
    assert html_lang(anonymous.get("/projects/").get_data(as_text=True)) == "nn"


def test_the_picker_stores_the_language_on_the_account(
    client: FlaskClient, session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user()
    token = log_in(client, user.email)
    client.post("/language", data={"lang": "se", "csrf_token": token})
    session.expire_all()
    assert session.get(User, user.id).language == "se"
    # On another device (no cookie), the account's language follows the person.
    other = client.application.test_client()
    log_in(other, user.email)
    assert html_lang(other.get("/").get_data(as_text=True)) == "se"


def test_the_account_page_sets_or_clears_the_language(
    client: FlaskClient, session: Session, make_user: Callable[..., User]
) -> None:
    user = make_user()
    token = log_in(client, user.email)
    page = client.get("/account").get_data(as_text=True)
    found = re.search(r'<select [^>]*id="language".*?</select>', page, re.S)
    assert found, "no language select on the account page"
    select_html = found.group(0)
    assert re.search(r'<option value="">[^<]+</option>', select_html)  # follow this browser
    for code, name in LANGUAGE_NAMES.items():
        assert re.search(rf'<option lang="{code}"[^>]*value="{code}">{name}</option>', select_html)
    form = {"csrf_token": token, "display_name": user.display_name, "language": "nn"}
    assert client.post("/account/settings", data=form).status_code == 302
    session.expire_all()
    assert session.get(User, user.id).language == "nn"
    page = client.get("/account").get_data(as_text=True)
    assert html_lang(page) == "nn"
    assert re.search(r'<option lang="nn" selected value="nn">', page), re.findall(
        r"<option[^>]*nn[^>]*>", page
    )
    form["language"] = ""  # follow this browser
    client.post("/account/settings", data=form)
    session.expire_all()
    assert session.get(User, user.id).language is None
    form["language"] = "de"
    assert client.post("/account/settings", data=form).status_code == 422


def test_sami_off_the_residents_path_is_bokmal_and_says_so(
    anonymous: FlaskClient, session: Session
) -> None:
    anonymous.set_cookie("lang", "se")
    page = anonymous.get("/projects/").get_data(as_text=True)
    assert html_lang(page) == "se"
    assert 'lang="nb"' in main_tag(page)
    note = page[page.index('class="language-note') :][:600]
    assert '<span lang="nb">' in note
    front = anonymous.get("/").get_data(as_text=True)
    assert "lang=" not in main_tag(front)  # the map is on the path: Sami, no fallback
    assert "This page is not yet available" not in front
    login = anonymous.get("/login").get_data(as_text=True)
    assert "lang=" not in main_tag(login)
    # On the path, one small line says the Sami text is a draft awaiting a native reader.
    draft = login[login.index('class="language-note help"') :][:600]
    assert '<span lang="nb">' in draft


def test_bokmal_and_nynorsk_pages_carry_no_fallback_note(
    anonymous: FlaskClient, session: Session
) -> None:
    for lang in ("nb", "nn", "en"):
        anonymous.set_cookie("lang", lang)
        page = anonymous.get("/projects/").get_data(as_text=True)
        assert "lang=" not in main_tag(page) and "language-note" not in page, lang


def test_the_login_wall_speaks_bokmal(anonymous: FlaskClient, session: Session) -> None:
    answer = anonymous.get("/me/traces", follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "Please log in to access this page." not in page
    assert "Du må logge inn" in page


def test_form_defaults_speak_bokmal(anonymous: FlaskClient, session: Session) -> None:
    token = csrf_from(anonymous.get("/register").get_data(as_text=True))
    page = anonymous.post("/register", data={"csrf_token": token}).get_data(as_text=True)
    assert "This field is required." not in page
    assert "Dette feltet må fylles ut." in page  # our catalog's wording before WTForms' own
    # Nynorsk and Sami fall back to Bokmål for WTForms' messages, never to English.
    anonymous.set_cookie("lang", "nn")
    page = anonymous.post("/register", data={"csrf_token": token}).get_data(as_text=True)
    assert "This field is required." not in page


@pytest.mark.parametrize("lang", ["nb", "nn", "se", "en", None])
def test_mail_is_written_in_the_recipients_language(
    app: Flask, session: Session, make_trace: Callable[..., Trace], lang: str | None
) -> None:

    trace = make_trace(title="Tuft ved elva")
    author = trace.author
    author.language = lang
    author.notify_by_email = True
    session.commit()
    # Whoever acts browses in English: the mail follows the recipient, not them.
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        notify(author, "trace.rejected", trace, title=trace.title, message="")
        db.session.flush()
        mail = db.session.execute(
            select(OutboxMail).where(OutboxMail.to_address == author.email)
        ).scalar_one()
        english = gettext_in("en", "Your trace “%(title)s” was not approved.", title=trace.title)
        expected = gettext_in(lang or "nb", "Your trace “%(title)s” was not approved.",
                              title=trace.title)  # fmt: skip
    assert mail.body.startswith(expected), (lang, mail.body)
    if lang in ("nb", "nn", "se", None):
        # Nynorsk and Sami fall back to Bokmål for what they lack, never to English.
        assert not mail.body.startswith(english), (lang, mail.body)
    else:
        assert mail.body.startswith(english)


def test_nynorsk_falls_back_to_bokmal_not_english(app: Flask) -> None:
    with app.test_request_context("/"):
        bokmal = gettext_in("nb", "Log in")
        nynorsk = gettext_in("nn", "Log in")
        sami = gettext_in("se", "Log in")
    assert bokmal == "Logg inn"
    assert "Log in" not in (nynorsk, sami)


def test_a_term_label_that_falls_back_is_marked_bokmal(
    app: Flask, term: Callable[[Scheme, str], Term]
) -> None:
    with app.test_request_context("/"):
        boplass = term(Scheme.TRACE_TYPE, "boplass")
        boplass.label_nn, boplass.label_se = "Buplass", None
        assert term_lang(boplass, "nn") is None
        assert term_lang(boplass, "se") == "nb"
        assert term_lang(boplass, "nb") is None and term_lang(boplass, "en") is None
        option = term_choice(boplass, "se")
        assert (option.label, option.render_kw) == (boplass.label_nb, {"lang": "nb"})
        assert term_choice(boplass, "nn").render_kw == {}


RESET_CASES = [("nn", "en", "nn"), (None, "en", "en"), ("en", "nb", "en"), (None, "nb", "nb")]


@pytest.mark.parametrize(("own", "page", "expected"), RESET_CASES)
def test_the_reset_mail_follows_the_accounts_language_else_the_page(
    app: Flask, session: Session, anonymous: FlaskClient, make_user: Callable[..., User],
    own: str | None, page: str, expected: str,
) -> None:  # fmt: skip
    user = make_user()
    user.language = own
    session.commit()
    headers = {"Accept-Language": page}
    token = csrf_from(anonymous.get("/reset-password", headers=headers).get_data(as_text=True))
    anonymous.post("/reset-password", headers=headers,
                   data={"email": user.email, "csrf_token": token})  # fmt: skip
    session.expire_all()
    mail = session.execute(
        select(OutboxMail).where(OutboxMail.to_address == user.email)
    ).scalar_one()
    with app.app_context():
        subjects = {lang: gettext_in(lang, "Reset your password") for lang in ("nb", "nn", "en")}
    assert mail.subject == subjects[expected]
    assert len(set(subjects.values())) == 3  # the languages tell apart, so the check can fail
    assert "/reset-password/" in mail.body


def test_a_label_shown_in_bokmal_on_a_sami_page_is_marked_so(
    anonymous: FlaskClient, session: Session, make_trace: Callable[..., Trace],
    term: Callable[[Scheme, str], Term],
) -> None:  # fmt: skip
    """A term with no Sami label shows its Bokmål label marked lang="nb"; one with a label not."""
    boplass, bronse = term(Scheme.TRACE_TYPE, "boplass"), term(Scheme.PERIOD, "bronsealder")
    boplass.label_se = None
    assert bronse.label_se  # the migration gave it one
    trace = make_trace(trace_type_id=boplass.id, period_id=bronse.id)
    anonymous.set_cookie("lang", "se")
    page = anonymous.get(f"/traces/{trace.id}").get_data(as_text=True)
    assert f'<dd lang="nb">{boplass.label_nb}</dd>' in page
    assert f"<dd>{bronse.label_se}</dd>" in page


def test_an_untranslated_sami_plural_falls_back_to_bokmal(app: Flask) -> None:
    """pybabel writes an untranslated plural with the English forms; Sami must show Bokmål."""
    from babel.messages.pofile import read_po
    from flask_babel import force_locale, ngettext

    with open("translations/se/LC_MESSAGES/messages.po", "rb") as po:
        untranslated = [
            m.id for m in read_po(po)
            if isinstance(m.id, tuple) and not any(m.string)
            and re.findall(r"%\((\w+)\)", m.id[0]) == ["num"]
        ]  # fmt: skip
    assert untranslated, "no untranslated Sami plural left to check the fallback with"
    singular, plural = untranslated[0]
    with app.test_request_context("/"):
        for n in (1, 2, 3):
            with force_locale("se"):
                shown = ngettext(singular, plural, n)
            with force_locale("nb"):
                bokmal = ngettext(singular, plural, n)
            assert shown == bokmal != (singular if n == 1 else plural) % {"num": n}, (singular, n)
