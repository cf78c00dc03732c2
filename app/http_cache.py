"""HTTP caching of answers: public ones any cache may keep, pages only a browser may keep,
and answers for logged-in visitors that nothing keeps (docs/deployment-cache.md)."""

from __future__ import annotations

import hashlib

from flask import Response, request, session
from werkzeug.datastructures import HeaderSet


class SharedResponse(Response):
    """An answer that is the same for every visitor without a session: no `Vary: Cookie`.

    Flask adds `Vary: Cookie` whenever anything looked at the session, and Flask-Login's
    after-request hook always does. A shared cache would then keep one copy per cookie
    header (analytics, consent banners...), so this answer leaves the header out.
    """

    @property
    def vary(self) -> HeaderSet:
        """An empty set: additions go nowhere."""
        return HeaderSet()


def public_answer(body: str | bytes, max_age: int, **response_args: object) -> Response:
    """An answer that is the same for every anonymous visitor, for any cache to keep.

    `public, max-age`, a strong ETag (a hash of the body), 304 on a matching If-None-Match,
    no `Vary: Cookie` (SharedResponse) and no Set-Cookie: an anonymous visitor's permanent
    session (a chosen language) would otherwise be written again into every answer, and a
    shared cache must never hand one visitor's cookie to the next. Only for answers that
    depend on the address alone; never for a logged-in visitor.
    """
    response = SharedResponse(body, **response_args)  # type: ignore[arg-type]
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.set_etag(hashlib.blake2b(response.get_data(), digest_size=16).hexdigest())
    _not_modified_if_matched(response)
    leave_session_cookie_alone()
    return response


def browser_cached(html: str, max_age: int) -> Response:
    """A page for an anonymous visitor that only their browser may keep (`private`).

    Such a page holds the visitor's CSRF token and is in the language of their `lang` cookie
    or browser (app/i18n.py adds Vary for those), so no shared cache may keep it. Its weak
    ETag covers the page without the signed token (which changes every second) but with the
    session's CSRF secret, so a browser whose session changed gets the whole page again, with
    a token that works.
    """
    from flask_wtf.csrf import generate_csrf

    token = generate_csrf() if "csrf_token" in session else ""
    stable = html.replace(token, "") if token else html
    secret = str(session.get("csrf_token", ""))
    digest = hashlib.blake2b((stable + "\0" + secret).encode(), digest_size=16).hexdigest()
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    response.set_etag(digest, weak=True)
    _not_modified_if_matched(response)
    return response


def no_store(response: Response) -> Response:
    """Mark an answer for a logged-in visitor: kept by no cache, not even the browser's."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _not_modified_if_matched(response: Response) -> None:
    """Turn the answer into a body-less 304 when the request's If-None-Match holds its ETag."""
    if request.if_none_match.contains_weak(response.get_etag()[0]):
        response.status_code = 304
        response.set_data(b"")
        del response.headers["Content-Type"]


def leave_session_cookie_alone() -> None:
    """Answer without writing the session cookie (unless this request changed the session).

    A permanent session (a chosen language, a login) is written into every answer as it was
    when the request began (Flask's should_set_cookie); one neither modified nor permanent is
    not written, and the browser keeps the cookie it has, permanence included.
    """
    if not session.modified:
        session.permanent = False
        session.modified = False
