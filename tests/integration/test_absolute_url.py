"""Absolute links (mails, the printed story, the digest) come from BASE_URL alone: never from
the request's Host header, never with the mount point twice, with or without a request."""

from __future__ import annotations

import pytest
from flask import Flask, url_for
from hypothesis import given, settings
from hypothesis import strategies as st

from app.auth.reset import reset_link
from app.notify import _trace_link
from app.web import absolute_url

BASE = "https://kulturspor.example/lokal/"


@pytest.fixture
def based(app: Flask):
    """The app on a base URL with a path of its own (and a trailing slash)."""
    before = app.config["BASE_URL"]
    app.config["BASE_URL"] = BASE
    yield app
    app.config["BASE_URL"] = before


def test_the_same_link_with_a_request_under_a_mount_point_and_without_one(based, make_trace):
    trace = make_trace()
    expected = f"https://kulturspor.example/lokal/traces/{trace.id}"
    with based.test_request_context(
        "/", base_url="http://evil.example/mounted", environ_base={"SCRIPT_NAME": "/mounted"}
    ):
        assert url_for("traces.show", trace_id=trace.id).startswith("/mounted/")
        assert absolute_url("traces.show", trace_id=trace.id) == expected
        assert _trace_link(trace) == expected
        in_request = reset_link("abc")
    with based.app_context():  # the command line (flask digest send) has no request
        assert absolute_url("traces.show", trace_id=trace.id) == expected
        assert _trace_link(trace) == expected
        assert (
            reset_link("abc") == in_request == "https://kulturspor.example/lokal/reset-password/abc"
        )


@settings(max_examples=40, deadline=None)
@given(token=st.text(min_size=1, max_size=40).filter(lambda t: "/" not in t))
def test_any_token_is_quoted_as_url_for_would(app: Flask, token: str) -> None:
    with app.test_request_context("/"):
        path = url_for("auth.reset_form", token=token)
        assert absolute_url("auth.reset_form", token=token) == "http://localhost" + path
