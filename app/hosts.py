"""Absolute links come from BASE_URL, never from the request's Host header.

Every url_for(..., _external=True) and every redirect the router makes is built by the URL
adapter; HeritageFlask gives it the scheme and host of the configured BASE_URL, so a forged
Host or X-Forwarded-Host cannot reach a notification mail, an OGC link that caches keep, or an
export's URIs. Requests for other hosts are refused with 400 in production (TRUSTED_HOSTS).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Request
from werkzeug.exceptions import SecurityError
from werkzeug.routing import MapAdapter


def base_origin(base_url: str) -> tuple[str, str, str]:
    """(scheme, host[:port], path) of the configured base URL."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RuntimeError(f"HERITAGE_BASE_URL must be an absolute http(s) URL, not {base_url!r}")
    return parts.scheme, parts.netloc.lower(), parts.path.rstrip("/")


class HeritageFlask(Flask):
    """Flask whose URL adapter builds absolute URLs on BASE_URL's scheme and host."""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        """Bind the router as Flask does, then put BASE_URL's origin in place of the request's.

        The path prefix stays the mount point the WSGI server reports (SCRIPT_NAME), which a
        client cannot set. Outside a request (CLI, mail from cron) the router is bound to
        BASE_URL itself, so url_for works there too.
        """
        scheme, host, path = base_origin(self.config["BASE_URL"])
        if request is None and self.config["SERVER_NAME"] is None:
            return self.url_map.bind(host, script_name=path or "/", url_scheme=scheme)
        try:
            adapter = super().create_url_adapter(request)
        except SecurityError as error:  # a Host outside TRUSTED_HOSTS
            assert request is not None
            # Answer 400 through the usual error pages, which need a router to build links.
            request.routing_exception = error
            adapter = self.url_map.bind_to_environ(
                request.environ, server_name=host, subdomain=self.url_map.default_subdomain or ""
            )
        if adapter is not None and request is not None:
            adapter.server_name = host
            adapter.url_scheme = scheme
        return adapter
