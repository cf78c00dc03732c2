"""My traces with merged duplicates: "Merged with «…»" costs the same few statements whether
one trace or many were merged (no query per merged trace), and still names only originals the
author may see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from app.db import engine_of
from app.models import TraceStatus
from tests.integration.test_informants import _as


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """Every SQL statement sent while the test runs (but the test transaction's savepoints)."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE SAVEPOINT")):
            seen.append(statement)

    engine = engine_of(app)
    event.listen(engine, "before_cursor_execute", count)
    yield seen
    event.remove(engine, "before_cursor_execute", count)


def _merged_traces(make_trace, make_user, author, count: int) -> list[Any]:
    """`count` merged traces of the author, half of them into originals they may not see."""
    other = make_user()
    originals = []
    for n in range(count):
        # Visible: approved. Hidden: another resident's trace still waiting for a decision.
        status = TraceStatus.APPROVED if n % 2 == 0 else TraceStatus.PENDING
        original = make_trace(title=f"Original {n}", status=status, author=other)
        make_trace(title=f"Tuft {n}", status=TraceStatus.REJECTED, author=author,
                   duplicate_of_id=original.id)  # fmt: skip
        originals.append(original)
    return originals


def _page_statements(client, statements: list[str]) -> tuple[str, int]:
    client.get("/me/traces")  # warm: the first request loads the session's user and more
    statements.clear()
    page = client.get("/me/traces").get_data(as_text=True)
    return page, len(statements)


def test_my_traces_asks_once_for_all_merged_originals(
    client, login, make_user, make_trace, statements
) -> None:
    author = make_user()
    _as(client, login, author)
    _merged_traces(make_trace, make_user, author, 1)
    _, one = _page_statements(client, statements)
    originals = _merged_traces(make_trace, make_user, author, 6)
    page, seven = _page_statements(client, statements)
    assert seven == one, statements
    for n, original in enumerate(originals):
        link = f'Merged with “<a href="/traces/{original.id}">Original {n}</a>”'
        assert (link in page) is (original.status == TraceStatus.APPROVED)
    assert page.count("Merged with another trace") == 3  # Original 1, 3 and 5
    assert "Rejected" not in page
