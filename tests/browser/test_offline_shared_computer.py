"""A library's public computer: one person's unsent draft is never offered to, or sent by, the
next person who logs in on the same browser (drafts and the outbox are kept per account)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import login
from tests.browser.test_offline import _open_form, _tap_map, _traces


def test_the_next_person_on_a_shared_browser_never_gets_the_last_ones_draft(
    app: Any, new_page: Callable[..., Any], seed_basics: Callable[..., Any], watch: Any
) -> None:
    seed_basics()
    page = new_page(service_workers="allow")
    context = page.context
    login(page, "resident@example.org")
    _open_form(page)
    _tap_map(page)
    page.locator("#title").fill("Rita si kolgrop")
    page.wait_for_function("() => document.getElementById('outbox').dataset.draftSaved")
    # Rita walks away without sending; the browser (cookies, IndexedDB) stays.
    context.clear_cookies()

    page = context.new_page()
    login(page, "librarian@example.org")
    _open_form(page)
    page.wait_for_timeout(500)  # the offer would come from IndexedDB right after ready
    assert not page.locator("#draft-offer").is_visible()
    assert page.locator("#title").input_value() == ""
    assert _traces(app) == []  # and nothing of hers was sent under his name

    # Back as Rita: her draft is still hers to restore.
    context.clear_cookies()
    page = context.new_page()
    login(page, "resident@example.org")
    _open_form(page)
    page.locator("#draft-offer").wait_for(state="visible")
    assert watch.page_errors == []
