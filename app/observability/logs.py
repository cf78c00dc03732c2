"""Request ids and structured (JSON) logs: the app's own log lines and one line per request.

Each line is one JSON object. Request lines go to stderr and, when LOG_DIR is set, to a file
per UTC day (requests-YYYY-MM-DD.log) that `flask purge` removes after LOG_RETENTION_DAYS:
they hold IP addresses, personal data the privacy statement promises to keep only that long.

No line holds a raw URL path: a path can carry a secret (/reset-password/<token> is a working
password-reset link). A matched request is logged by its URL rule and its integer arguments
(ids); only an unmatched one (404, 405, a redirect) by its path, with long segments masked.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Request, g, has_request_context
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
# An id from a proxy or client is kept only when it is short and plain (it lands in logs).
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LOG_FILE_RE = re.compile(r"requests-(\d{4}-\d{2}-\d{2})\.log")
_APP_HANDLER_MARK = "_heritage_json"
# Secrets in paths (reset tokens, signed values) are long runs without a slash; the words of
# a probe (/wp-login.php, /.env) are short. Segments this long are masked, and the path cut.
_LONG_SEGMENT = 20
_MAX_PATH = 200
MASK = "<masked>"


def route_of(req: Request) -> str:
    """The request's URL rule, or "unmatched" (404, 405, a slash redirect)."""
    return req.url_rule.rule if req.url_rule is not None else "unmatched"


def loggable_path(req: Request) -> dict[str, Any]:
    """What a log line may say about where a request went, never a secret in its path.

    Matched: the rule and its integer arguments (ids are not secrets; a token or slug is not
    logged). Unmatched: the path, every segment of 20 characters or more masked, cut to 200.
    """
    if req.url_rule is not None:
        ids = {
            name: value
            for name, value in (req.view_args or {}).items()
            if isinstance(value, int) and not isinstance(value, bool)
        }
        return {"route": req.url_rule.rule, "ids": ids}
    return {"route": "unmatched", "path": mask_path(req.path)}


def mask_path(path: str) -> str:
    """The path with every segment of 20 characters or more replaced by <masked>, cut short."""
    segments = [MASK if len(part) >= _LONG_SEGMENT else part for part in path.split("/")]
    masked = "/".join(segments)
    return masked if len(masked) <= _MAX_PATH else masked[:_MAX_PATH] + "…"


def request_id_from(incoming: str | None) -> str:
    """The incoming X-Request-ID when it is sane, else a new random one."""
    if incoming and _SANE_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """This request's id (None outside requests)."""
    return g.get("request_id") if has_request_context() else None


def json_formatter() -> JsonFormatter:
    """Every line: time (UTC, ISO 8601), level, logger, message, then the extra fields."""
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",
        json_ensure_ascii=False,
    )


class _RequestIdFilter(logging.Filter):
    """Adds the request id to the app's own log lines written during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Set record.request_id (unless the line has its own); never drops a line."""
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes to whatever sys.stderr is at the moment.

    Test runners and servers swap sys.stderr; a handler holding the first one would write to
    a closed file.
    """

    def __init__(self) -> None:
        """No stream of its own: sys.stderr is looked up at each line."""
        logging.Handler.__init__(self)

    @property
    def stream(self) -> Any:  # type: ignore[override]
        """The current standard error."""
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """Ignored: the stream is always the current sys.stderr."""
        pass


class DailyFileHandler(logging.Handler):
    """Appends each line to LOG_DIR/requests-YYYY-MM-DD.log (the UTC day of the line).

    The file is opened for each line with O_APPEND and the line written with one write():
    several gunicorn workers may append to the same file without interleaving inside a line,
    a new day needs no rotation, and a file `flask purge` removed is simply not reopened.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        """Write into directory (created when missing)."""
        super().__init__()
        self.directory = Path(directory)

    def emit(self, record: logging.LogRecord) -> None:
        """Append one formatted line."""
        try:
            day = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d")
            line = (self.format(record) + "\n").encode("utf-8")
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"requests-{day}.log"
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except Exception:  # noqa: BLE001 - logging must never break a request
            self.handleError(record)


def configure_app_logger(app: Flask) -> None:
    """The app's logger (and every app.* module logger) writes JSON lines to stderr.

    Process-wide and idempotent: loggers are global, and tests build many apps. Flask's own
    plain-text handler is taken off so each line is written once.
    """
    from flask.logging import default_handler

    logger = logging.getLogger(app.import_name)
    logger.removeHandler(default_handler)
    if not any(getattr(handler, _APP_HANDLER_MARK, False) for handler in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(json_formatter())
        handler.addFilter(_RequestIdFilter())
        setattr(handler, _APP_HANDLER_MARK, True)
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


def request_logger(app: Flask) -> logging.Logger:
    """This app's logger of request lines: stderr, and the daily file when LOG_DIR is set.

    A logger of the app's own (not in the global registry), so two apps in one process (tests,
    the restore drill) never write into each other's directory.
    """
    logger = logging.Logger("heritage.requests", logging.INFO)
    formatter = json_formatter()
    handlers: list[logging.Handler] = [StderrHandler()]
    if app.config.get("LOG_DIR"):
        handlers.append(DailyFileHandler(app.config["LOG_DIR"]))
    for handler in handlers:
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return logger
