"""No route parameter gives a 500: every GET route of app.url_map, for anonymous visitors and a
logged-in librarian, with ids past PostgreSQL's integer, negative numbers, NUL, emoji and
%-encodings in the path and in the query parameters the views read.

The classes that used to fail (ids of 2**31 and more, NUL in text parameters, out-of-range
page/author) are also checked exhaustively on every route, not only by sampling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from app.models import (
    Term,
    User,
)  # fmt: skip
from app.params import PG_INT_MAX

QUERY_NAMES = (
    "page", "author", "version", "up_to", "bbox", "type", "period", "term", "limit", "offset",
    "datetime", "q", "lang", "next", "zoom", "f", "scheme", "project", "updated_since", "format",
    "lon", "lat", "at",
)  # fmt: skip
INT_EDGES = (PG_INT_MAX, PG_INT_MAX + 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30)
NASTY_TEXT = (
    "\x00", "a\x00b", "%00", "\x1b[31m", "\u202eevil", "🏛", "é", "%", "%zz", "%2F", "..",
    "' OR 1=1 --", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"), "9" * 400,
)  # fmt: skip

INTS = st.one_of(
    st.integers(min_value=0, max_value=2**63),
    st.integers(min_value=-(2**63), max_value=-1),
    st.sampled_from(INT_EDGES),
).map(str)
TEXTS = st.one_of(
    st.sampled_from(NASTY_TEXT),
    st.text(max_size=12),
    st.text(alphabet=st.sampled_from("\x00\x01%/?#&=;,.-_aZ9🏛\u202e\u0301 "), max_size=12),
)
VALUES = st.one_of(INTS, TEXTS, st.sampled_from(("1", "0", "-1", "1,2,3,4", "2026-01-01")))


def _get_rules(app: Flask) -> list[Rule]:
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint != "static"
    ]
    return sorted(rules, key=lambda r: r.rule)


def _url(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with each argument %-encoded as one path segment."""
    path = rule.rule
    for name in rule.arguments:
        placeholder = next(p for p in (f"<{name}>", f"<int:{name}>", f"<path:{name}>")
                           if p in path)  # fmt: skip
        path = path.replace(placeholder, quote(values.get(name, "1"), safe=""))
    assert "<" not in path, path
    return path


def _path_values(rule: Rule) -> st.SearchStrategy[dict[str, str]]:
    parts = {}
    for name, converter in rule._converters.items():
        parts[name] = INTS if type(converter).__name__.endswith("IntConverter") else TEXTS
    return st.fixed_dictionaries(parts)


def _request(client: FlaskClient, url: str, query: dict[str, str]) -> int:
    response = client.get(url, query_string=query)
    status = response.status_code
    assert status < 500, (url, query, status, response.get_data(as_text=True)[:600])
    return status


@pytest.mark.parametrize("who", ["anonymous", "librarian"])
def test_no_get_route_answers_500(
    app: Flask, client: FlaskClient, world: dict[str, Any], login: Callable[[User], str],
    who: str,
) -> None:  # fmt: skip
    """Random path and query values on every GET route: always a page or a clear 4xx."""
    if who == "librarian":
        login(world["librarian"])
    rules = _get_rules(app)

    @settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])  # fmt: skip
    @given(data=st.data())
    def probe(data: st.DataObject) -> None:
        rule = data.draw(st.sampled_from(rules))
        values = data.draw(_path_values(rule))
        names = data.draw(st.lists(st.sampled_from(QUERY_NAMES), max_size=3, unique=True))
        query = {name: data.draw(VALUES) for name in names}
        _request(client, _url(rule, values), query)

    probe()


def test_every_int_route_takes_any_number(
    app: Flask, client: FlaskClient, world: dict[str, Any], login: Callable[[User], str]
) -> None:
    """Ids past PostgreSQL's integer are unknown ids (404), on every `<int:...>` rule."""
    login(world["librarian"])
    int_rules = [r for r in _get_rules(app) if "<int:" in r.rule]
    assert int_rules
    for rule in int_rules:
        for number in (PG_INT_MAX + 1, 2**63, 10**30):
            values = {name: str(number) for name in rule.arguments}
            assert _request(client, _url(rule, values), {}) == 404, rule.rule


# The views that read each parameter, where a number out of range used to reach PostgreSQL.
READERS = {
    "page": "/moderation/probe", "author": "/moderation/probe", "version": "/traces/{id}/history",
    "up_to": "/traces/{id}/history", "limit": "/ogc/collections/probe/items",
    "offset": "/ogc/collections/probe/items", "zoom": "/api/map",
    "datetime": "/ogc/collections/probe/items", "bbox": "/api/map",
    "type": "/moderation/probe", "period": "/moderation/probe", "term": "/export/download",
    "updated_since": "/export/download", "next": "/login", "scheme": "/vocab/new",
}  # fmt: skip


def test_number_parameters_out_of_range_are_refused_not_500(
    app: Flask, client: FlaskClient, world: dict[str, Any], login: Callable[[User], str]
) -> None:
    """Each parameter on the view that reads it: out-of-range numbers are a 4xx or ignored."""
    login(world["librarian"])
    trace_id = str(world["trace"].id)
    for name, url in READERS.items():
        for number in (PG_INT_MAX + 1, 2**63, -(2**63) - 1, 10**30):
            query = {"bbox": "23,69,24,70", name: str(number)} if name == "zoom" else {}
            _request(client, url.replace("{id}", trace_id), query or {name: str(number)})


def test_nul_in_any_query_parameter_is_refused(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    """Every GET route: a NUL in a query parameter (name or value) is a 400."""
    values = {"slug": "probe", "collection_id": "probe", "trace_id": "1", "feature_id": "1"}
    for index, rule in enumerate(_get_rules(app)):
        name = QUERY_NAMES[index % len(QUERY_NAMES)]
        query = {name: "a\x00b"} if index % 2 else {f"{name}\x00": "1"}
        assert _request(client, _url(rule, values), query) == 400, (rule.rule, query)


def test_nul_in_the_path_is_refused(client: FlaskClient, world: dict[str, Any]) -> None:
    for path in ("/ogc/collections/a%00b", "/ogc/collections/probe/items/1%00",
                 "/projects/pro%00be", "/moderation/a%00"):  # fmt: skip
        assert _request(client, path, {}) == 400, path


def test_queue_page_and_author_name_the_bad_parameter(
    client: FlaskClient, world: dict[str, Any], login: Callable[[User], str]
) -> None:
    login(world["librarian"])
    for query in ({"page": str(2**31)}, {"author": str(2**31)}, {"page": "x"}, {"author": "-1"}):
        response = client.get("/moderation/probe", query_string=query)
        assert response.status_code == 400, query
        assert next(iter(query)) in response.get_data(as_text=True)


def test_nul_in_any_posted_form_field_is_refused(
    app: Flask, client: FlaskClient, world: dict[str, Any], login: Callable[[User], str]
) -> None:
    """Every POST route: a form value with NUL is a 400 before the view runs."""
    token = login(world["librarian"])
    values = {"slug": "probe", "trace_id": "1"}
    posts = [r for r in app.url_map.iter_rules() if "POST" in (r.methods or ())]
    for rule in posts:
        values_here = {name: values.get(name, "1") for name in rule.arguments}
        response = client.post(
            _url(rule, values_here), data={"csrf_token": token, "title": "a\x00b"}
        )
        assert response.status_code == 400, (rule.rule, response.status_code)


def test_numbers_in_posted_forms_past_the_database_integer_are_refused(
    client: FlaskClient, session: Session, world: dict[str, Any], login: Callable[[User], str]
) -> None:
    """Ids, versions and counters in forms: a clear 4xx (or a no-op), never an overflow."""
    token = login(world["librarian"])
    trace = world["trace"].id
    term = session.execute(select(Term.id).limit(1)).scalar_one()
    for big in (str(PG_INT_MAX + 1), str(2**63), "9" * 30):
        posts = [
            (f"/moderation/decision/{trace}", {"action": "approve", "version": big}),
            (f"/moderation/duplicate/{trace}", {"original_id": big, "version": "1"}),
            (f"/moderation/duplicate/{trace}", {"original_id": str(trace), "version": big}),
            (f"/moderation/sensitivity/{trace}", {"choice": "sensitive", "version": big}),
            ("/moderation/probe/bulk", {"selection": f"{trace}:{big}", "action": "approve"}),
            ("/moderation/probe/bulk", {"selection": f"{big}:1", "action": "approve"}),
            ("/me/notifications/read", {"up_to": big}),
            (f"/vocab/{term}/edit", {"label_nb": "x", "label_en": "x", "sort_order": big}),
            (f"/traces/{trace}/edit", {"title": "x", "expected_version": big}),
            ("/partners/new", {"name": "x", "projects": big}),
        ]
        for url, data in posts:
            response = client.post(url, data={"csrf_token": token, **data})
            assert response.status_code < 500, (url, data, response.status_code)
