"""Domain errors and the error responses: HTML pages for people, problem details for the API."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from app.observability.logs import route_of

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A refusal the user can act on; carries an HTTP status and a stable code.

    In problem details the message is the `detail`; the `title` stays the same for every
    error of a kind (the class's `title`, else the status's), so clients can rely on it.
    """

    status = 400
    code = "bad_request"
    title: Any = None  # a lazy_gettext string; None: the title of the status

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class NotFound(DomainError):
    """The object does not exist or is not visible to this user (same answer for both)."""

    status = 404
    code = "not_found"


class InvalidParameter(DomainError):
    """A query parameter an API cannot use (400 with problem details, as OGC API asks)."""

    status = 400
    code = "invalid_parameter"
    title = _l("Bad request parameter")

    @classmethod
    def named(cls, name: str, message: str) -> InvalidParameter:
        """The error for one parameter: its name first, then what is wrong with the value."""
        return cls(f"{name}: {message}", parameter=name)


class Forbidden(DomainError):
    """The user is known but may not do this."""

    status = 403
    code = "forbidden"


class Conflict(DomainError):
    """Someone else changed the object first (optimistic locking); reload and try again."""

    status = 409
    code = "conflict"


class ValidationFailed(DomainError):
    """Input was refused; ``errors`` maps each field to its reasons."""

    status = 422
    code = "validation_failed"

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(message or gettext("Some fields need attention."))
        self.errors = errors


def wants_problem_json() -> bool:
    """API callers get RFC 9457 problem details; browsers get pages."""
    return request.path.startswith("/api/") or request.path.startswith("/ogc")


def problem(
    status: int, title: str, detail: str | None = None, **extra: Any
) -> tuple[Response, int]:
    """An RFC 9457 problem details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    response = jsonify(body)
    response.mimetype = "application/problem+json"
    return response, status


def domain_problem(error: DomainError) -> tuple[Response, int]:
    """The problem details of a refusal: a stable title, the message as detail, its code."""
    extra = dict(error.extra)
    if isinstance(error, ValidationFailed):
        extra["errors"] = [
            {"field": field, "detail": message}
            for field, messages in error.errors.items()
            for message in messages
        ]
    title = str(error.title) if error.title else status_title(error.status)
    return problem(error.status, title, error.message, code=error.code, **extra)


def status_title(status: int) -> str:
    """The short, stable title of an HTTP status in problem details and error pages."""
    titles = {
        400: gettext("Bad request"),
        401: gettext("Please log in"),
        403: gettext("Not allowed"),
        404: gettext("Not found"),
        405: gettext("Method not allowed"),
        409: gettext("Conflict"),
        413: gettext("The upload is too large"),
        415: gettext("Unsupported media type"),
        422: gettext("Some fields need attention"),
        429: gettext("Too many requests"),
        503: gettext("Service unavailable"),
    }
    return titles.get(status, gettext("Something went wrong"))


def _page(status: int, title: str, detail: str) -> tuple[str, int]:
    return render_template("error.html", status=status, title=title, detail=detail), status


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, route_of(request))
        title = gettext("Something went wrong")
        detail = gettext("The error has been logged. Please try again later.")
        if wants_problem_json():
            return problem(500, title, detail)
        return _page(500, title, detail)

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Any:
        if wants_problem_json():
            return domain_problem(error)
        return _page(error.status, error.message, "")

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        detail = gettext(
            "The form had expired or came from another site. Reload the page and try again."
        )
        if wants_problem_json():
            return problem(400, gettext("Missing or invalid CSRF token"), detail, code="csrf")
        return _page(400, gettext("The form could not be sent"), detail)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _database_down(error: Exception) -> Any:
        # Connection-level faults mean the database is away; say so and when to come back.
        if not _is_connection_fault(error):
            return _unexpected(error)
        log.error("database unavailable: %s", error.__class__.__name__)
        g.database_down = True  # the error page must not ask the database who is logged in
        detail = gettext("The database is not reachable right now. Try again in a minute.")
        if wants_problem_json():
            response, status = problem(503, gettext("Service unavailable"), detail)
        else:
            body, status = _page(503, gettext("Service unavailable"), detail)
            response = Response(body, status=status, mimetype="text/html")
        response.headers["Retry-After"] = "30"
        return response, status

    @app.errorhandler(DataError)
    def _value_refused(error: DataError) -> Any:
        # PostgreSQL refused a value no check caught (a number past its `integer`, text it
        # cannot hold): the request was bad, not the server. Logged, so the check gets added;
        # the views check their input (app.params, app.validation) before it gets this far.
        if _is_connection_fault(error):
            return _database_down(error)
        log.warning("value refused by the database on %s %s: %s", request.method,
                    route_of(request), type(getattr(error, "orig", error)).__name__)  # fmt: skip
        from app.db import db

        db.session.rollback()  # the failed statement aborted the transaction
        title = gettext("Bad request")
        detail = gettext("A number or a text in the request is outside what can be stored.")
        if wants_problem_json():
            return problem(400, title, detail, code="value_out_of_range")
        return _page(400, title, detail)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        status = error.code or 500
        title = status_title(status)
        detail = (
            gettext("You have tried this too often. Please wait a little and try again.")
            if status == 429
            else ""
        )
        if status == 429 and getattr(getattr(error, "limit", None), "error_message", None):
            detail = str(error.description)  # a limit with a message of its own
        if wants_problem_json():
            response, status = problem(status, title, detail or None)
        else:
            body, status = _page(status, title, detail)
            response = Response(body, status=status, mimetype="text/html")
        # Keep Retry-After and the rate-limit headers of the original error.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response, status


def _is_connection_fault(error: Exception) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    text = str(getattr(error, "orig", error)).lower()
    return any(
        needle in text
        for needle in ("connection", "could not connect", "server closed", "terminating")
    )
