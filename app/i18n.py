"""Which language a visitor gets, and what stands in for a missing translation.

The choice: the account's setting, then the `lang` cookie (the header's picker), then the
browser's Accept-Language, then the installation's default (docs/languages.md). Nynorsk and
Northern Sami fall back to Bokmål, never to the English msgid. Northern Sami covers the
resident's path only (RESIDENT_ENDPOINTS): elsewhere a Sami page is in Bokmål, marks <main>
lang="nb" and says so (templates/_language_note.html).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

from babel import support
from flask import Flask, Response, current_app, g, has_request_context, request, session
from flask.signals import before_render_template
from flask_babel import Babel, Domain, force_locale, get_locale, get_translations, gettext, ngettext
from flask_wtf import FlaskForm
from jinja2 import Template
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path

LANG_COOKIE = "lang"
LANG_COOKIE_DAYS = 365
# Each language by its own name: a reader looks for the name they know.
LANGUAGE_NAMES = {"nb": "Bokmål", "nn": "Nynorsk", "se": "Davvisámegiella", "en": "English"}
# What a language falls back to for a message it lacks (missing, or fuzzy where fuzzy entries
# are not compiled): Bokmål, which every reader of the Norwegian standards reads.
FALLBACK = {"nn": "nb", "se": "nb"}
# Northern Sami is written for the resident's path (issue 11): the map, search, adding a
# trace, a trace's page, registering, logging in and "My traces". Other pages in Sami are
# Bokmål and say so. The shared chrome (header, footer, picker, flashes, error pages) is on it.
PARTIAL_LANGUAGES = frozenset({"se"})
RESIDENT_ENDPOINTS = frozenset(
    {
        "main.index",
        "search_page.results",
        "traces.new",
        "traces.show",
        "auth.register",
        "auth.login",
        "me.traces",
        "auth.set_language",
    }
)
# The Sami catalog holds machine-assisted drafts (fuzzy, compiled with --use-fuzzy) until a
# native speaker has read them; while so, Sami pages on the path say so in one small line.
# Set to False, and compile without --use-fuzzy, once the review is done (docs/languages.md).
SAMI_DRAFT = True
# Accept-Language tags by their primary subtag: "no" is written Bokmål by nearly everyone who
# sends it, and "sme" is the three-letter code some systems use for Northern Sami.
_ACCEPT_PRIMARY = {"nb": "nb", "no": "nb", "nn": "nn", "se": "se", "sme": "se", "en": "en"}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention pybabel extracts
    """Mark a message for the catalog without translating it here."""
    return message


# WTForms' and Flask-WTF's own messages, in our catalog so that Bokmål, Nynorsk and Sami
# readers never meet them in English (CatalogTranslations below asks the catalog first).
WTFORMS_MESSAGES = (
    N_("This field is required."),
    N_("Invalid input."),
    N_("Invalid email address."),
    N_("Invalid value, must be one of: %(values)s."),
    N_("Invalid value, can't be any of: %(values)s."),
    N_("Field must be equal to %(other_name)s."),
    N_("Invalid field name '%s'."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    N_("Not a valid choice."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid float value."),
    N_("Not a valid datetime value."),
    N_("Not a valid date value."),
    N_("Not a valid time value."),
    N_("Not a valid month value."),
    N_("Not a valid week value."),
    N_("Invalid Choice: could not coerce."),
    N_("Choices cannot be None."),
    N_("Invalid CSRF Token."),
    N_("CSRF token missing."),
    N_("CSRF failed."),
    N_("CSRF token expired."),
    N_("The CSRF token is missing."),
    N_("The CSRF session token is missing."),
    N_("The CSRF token has expired."),
    N_("The CSRF token is invalid."),
    N_("The CSRF tokens do not match."),
    N_("File required."),
)


def _wtforms_plural_messages(n: int) -> list[str]:
    """WTForms' messages that depend on a number, as plural pairs for pybabel (never called).

    WTForms asks for them with ngettext, which finds only a plural entry in the catalog.
    """
    return [
        ngettext(
            "Field must be at least %(min)d character long.",
            "Field must be at least %(min)d characters long.",
            n,
        ),
        ngettext(
            "Field cannot be longer than %(max)d character.",
            "Field cannot be longer than %(max)d characters.",
            n,
        ),
        ngettext(
            "Field must be exactly %(max)d character long.",
            "Field must be exactly %(max)d characters long.",
            n,
        ),
        ngettext(
            "'%(value)s' is not a valid choice for this field.",
            "'%(value)s' are not valid choices for this field.",
            n,
        ),
    ]


class FallbackDomain(Domain):
    """The message domain with Bokmål under Nynorsk and Sami, cached per language."""

    def _catalog(self, locale: str) -> support.NullTranslations:
        translations = support.Translations()
        for dirname in self.translation_directories:
            catalog = support.Translations.load(dirname, [locale], self.domain[0])
            translations.merge(catalog)
            if hasattr(catalog, "plural"):
                translations.plural = catalog.plural  # merge() leaves the plural rule behind
        # pybabel compiles an untranslated plural entry with the English msgids as its forms
        # (its tuple of empty forms counts as translated): drop those, so the Bokmål fallback
        # answers instead of English.
        forms = getattr(translations, "_catalog", {})
        english = {
            k[0] for k, v in forms.items() if isinstance(k, tuple) and k[1] == 0 and v == k[0]
        }
        for key in [k for k in forms if isinstance(k, tuple) and k[0] in english]:
            del forms[key]
        return translations

    def get_translations(self) -> support.NullTranslations:
        """The chosen language's catalog over its fallback's (NullTranslations outside an app)."""
        if not g:  # outside an app context, as Flask-Babel's own domain
            return support.NullTranslations()
        locale = str(get_locale())
        key = (locale, self.domain[0])  # as Flask-Babel: one set of directories per process
        cached = self.cache.get(key)
        if cached is None:
            cached = self._catalog(locale)
            if locale in FALLBACK:
                cached.add_fallback(self._catalog(FALLBACK[locale]))
            self.cache[key] = cached
        return cached


class FallbackBabel(Babel):
    """Flask-Babel whose default domain falls back to Bokmål (FallbackDomain)."""

    @cached_property
    def domain_instance(self) -> Domain:
        """The app's message domain."""
        return FallbackDomain(domain=self.domain)


def accept_language_choice(header: Iterable[tuple[str, float]], languages: list[str]) -> str | None:
    """The first offered language of ours, by quality (no, nb-NO → nb; sme → se; en-GB → en)."""
    ranked = sorted(
        ((value, quality) for value, quality in header if quality > 0),
        key=lambda pair: -pair[1],
    )  # sorted() is stable: equal qualities keep the browser's order
    for value, _quality in ranked:
        primary = value.replace("_", "-").split("-")[0].strip().lower()
        chosen = _ACCEPT_PRIMARY.get(primary)
        if chosen in languages:
            return chosen
    return None


def _account_language(languages: list[str]) -> str | None:
    from flask_login import current_user

    from app.auth.sessions import might_be_signed_in

    # Only when the cookies hold a login: asking Flask-Login on an anonymous request writes
    # its session, and a public answer must carry no cookie (app/http_cache.py).
    if not might_be_signed_in() or not current_user.is_authenticated:
        return None
    chosen = getattr(current_user, "language", None)
    return chosen if chosen in languages else None


def select_locale() -> str:
    """The account's language, else the picker's cookie, else Accept-Language, else default."""
    config = current_app.config
    languages: list[str] = config["LANGUAGES"]
    default: str = config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():
        return default
    chosen = _account_language(languages)
    source = "account"
    if chosen is None:
        chosen, source = request.cookies.get(LANG_COOKIE), "cookie"
    if chosen not in languages:
        # Visitors who chose before the cookie existed have it in the session.
        chosen, source = session.get("lang"), "cookie"
    if chosen not in languages:
        chosen, source = accept_language_choice(request.accept_languages, languages), "header"
    if chosen not in languages:
        chosen, source = default, "header"
    g.locale_source = source
    return str(chosen)


def remember_language(response: Response, lang: str) -> None:
    """Set the `lang` cookie for a year (the header's picker)."""
    config = current_app.config
    response.set_cookie(
        LANG_COOKIE, lang, max_age=LANG_COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
        secure=bool(config.get("SESSION_COOKIE_SECURE")),
    )  # fmt: skip


def mail_locale(user: Any) -> str:
    """The language to write to a person in: their account's choice, else the default."""
    chosen = getattr(user, "language", None)
    if chosen in current_app.config["LANGUAGES"]:
        return str(chosen)
    return str(current_app.config["BABEL_DEFAULT_LOCALE"])


def content_language(locale: str, endpoint: str | None) -> str | None:
    """The language of <main> when it is not the page's (None: the page's own).

    Bokmål for a Sami page off the resident's path.
    """
    if locale in PARTIAL_LANGUAGES and endpoint not in RESIDENT_ENDPOINTS and endpoint:
        return FALLBACK[locale]
    return None


def gettext_in(locale: str, message: str, **variables: Any) -> str:
    """A message in a language other than the page's (the two-language notes)."""
    with force_locale(locale):
        return gettext(message, **variables)


def term_lang(term: Any, locale: str | None = None) -> str | None:
    """The language of a term's label when it is not the page's, else None.

    Term.label falls back to Bokmål for a missing label.
    """
    locale = locale or str(get_locale())
    if term is None or locale == "nb" or getattr(term, f"label_{locale}", None):
        return None
    return "nb"


def term_choice(term: Any, locale: str) -> SelectChoice:
    """A vocabulary term as a select option, marked lang="nb" when its label falls back."""
    fallback = term_lang(term, locale)
    return SelectChoice(
        term.code, term.label(locale), render_kw={"lang": fallback} if fallback else {}
    )


class CatalogTranslations:
    """WTForms' translations: our catalog first, then WTForms' own Bokmål; never English.

    Our catalog has Bokmål under Nynorsk and Sami; WTForms' Bokmål covers a message our
    catalog does not have yet, so a Norwegian or Sami form never shows English.
    """

    def _wtforms(self) -> support.NullTranslations:
        locale = str(get_locale())
        if locale == "en":
            return support.NullTranslations()
        cache = current_app.extensions.setdefault("wtforms_catalogs", {})
        language = FALLBACK.get(locale, locale)
        if language not in cache:
            cache[language] = support.Translations.load(messages_path(), [language], "wtforms")
        return cache[language]

    def gettext(self, string: str) -> str:
        """A WTForms message in the reader's language."""
        translated = get_translations().ugettext(string)
        return translated if translated != string else self._wtforms().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """A WTForms message with a number in the reader's language."""
        translated = get_translations().ungettext(singular, plural, n)
        if translated not in (singular, plural):
            return translated
        return self._wtforms().ungettext(singular, plural, n)


CATALOG_TRANSLATIONS = CatalogTranslations()


def _form_translations(_meta: Any, _form: Any) -> CatalogTranslations:
    return CATALOG_TRANSLATIONS


def _fill_content_lang(_app: Flask, template: Template, context: dict[str, Any], **_: Any) -> None:
    # A signal, not a context processor: it runs after every processor (web.py's sets
    # content_lang None) and leaves a value a view passed itself alone.
    if context.get("content_lang") is not None or not has_request_context():
        return
    if template.name == "error.html":
        return  # error pages are part of the shared chrome, written in every language
    context["content_lang"] = content_language(str(get_locale()), request.endpoint)


def init_app(app: Flask) -> None:
    """Forms, templates and caches learn about the languages."""
    # Every FlaskForm (all of the app's forms) takes its default messages from our catalog.
    FlaskForm.Meta.get_translations = _form_translations  # type: ignore[method-assign]
    before_render_template.connect(_fill_content_lang, app)
    # A global, not only a context value: macros imported without context (the queue's rows)
    # mark a label that falls back to Bokmål too.
    app.jinja_env.globals["term_lang"] = term_lang

    @app.context_processor
    def _language_helpers() -> dict[str, object]:
        return {
            "language_names": LANGUAGE_NAMES,
            "gettext_in": gettext_in,
            "term_lang": term_lang,
            "sami_draft": SAMI_DRAFT,
            "resident_path": request.endpoint in RESIDENT_ENDPOINTS
            if has_request_context()
            else False,
        }

    @app.after_request
    def _vary_on_language(response: Response) -> Response:
        # A page whose language came from the cookie or the browser differs by them; answers
        # any cache may share (SharedResponse) ignore this and stay language-free.
        source = g.get("locale_source")
        if source in ("cookie", "header"):
            response.vary.add("Cookie")
            response.vary.add("Accept-Language")
        return response
