"""Schemathesis over both OpenAPI documents (/api/openapi.json and /ogc/api): no server error,
every answer declared, and the request schemas tight enough that generated trace submissions
are stored (201), not only refused.

The requests go through the test client of the `client` fixture, so they share the test's
transaction (nothing persists) and its logged-in session cookie.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance
from shapely.geometry import box

from app.models import User
from app.openapi_schemas import REGIONS
from geo import norway

API_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


def _operations(app: Flask, document: str) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi(document, app)
    return [result.ok() for result in schema.get_all_operations()]


def _run(
    client: FlaskClient, operation: Any, headers: dict[str, str], examples: int,
    mode: GenerationMode, checks: list[Any], statuses: Counter,
) -> None:  # fmt: skip
    """Draw cases of one operation, send each through `client`, check the answer."""

    # Derandomized: the same cases on every run, so the count of stored submissions is stable.
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(operation.as_strategy(generation_mode=mode))
    def probe(case: Any) -> None:
        kwargs = case.as_transport_kwargs(headers=headers)
        response = client.open(**kwargs)
        statuses[(operation.method.upper(), operation.path, response.status_code)] += 1
        assert response.status_code < 500, (kwargs, response.get_data(as_text=True)[:500])
        case.validate_response(response, checks=checks)

    probe()


def _run_all(
    client: FlaskClient, operations: list[Any], headers: dict[str, str],
    budget: Callable[[Any, GenerationMode], int], checks: list[Any],
) -> Counter:  # fmt: skip
    statuses: Counter = Counter()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(client, operation, headers, budget(operation, mode), mode, checks, statuses)
    return statuses


def test_json_api_declares_every_answer_and_stores_valid_submissions(
    app: Flask, client: FlaskClient, world: dict[str, Any], login: Callable[[User], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setitem(app.config, "SUBMIT_RATE_LIMIT", "100000/minute")
    token = login(world["librarian"])
    operations = _operations(app, "/api/openapi.json")

    def budget(operation: Any, mode: GenerationMode) -> int:
        # Submissions get the most: a third of the generated geometries are points, which
        # the schema keeps inside Norway; lines and polygons are often refused (422).
        if operation.method.upper() == "POST":
            return 45 if mode == GenerationMode.POSITIVE else 20
        return 12

    statuses = _run_all(client, operations, {"X-CSRFToken": token}, budget, API_CHECKS)
    posts = {status: n for (method, _, status), n in statuses.items() if method == "POST"}
    assert posts.get(201, 0) >= 5, posts  # the schema leads to valid submissions


def test_ogc_api_gives_no_server_error(
    app: Flask, client: FlaskClient, world: dict[str, Any]
) -> None:
    operations = _operations(app, "/ogc/api?f=json")
    statuses = _run_all(
        client, operations, {"Accept": "application/json"}, lambda op, mode: 10, API_CHECKS
    )
    assert any(status == 200 for (_, _, status) in statuses), statuses


def test_every_region_of_the_position_schema_lies_inside_norway() -> None:
    """A position the schema allows is one the server accepts (geo/norway.py's outline)."""
    for name, bounds in REGIONS.items():
        assert box(*bounds).within(norway.boundary()), name
