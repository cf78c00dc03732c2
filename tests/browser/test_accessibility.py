"""axe-core (WCAG 2.1 A/AA rules) finds no violations on the pages of this slice."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import login

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js").read_text()
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
  });
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
}"""


def _violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE)  # evaluated through the DevTools protocol, so the page's CSP allows it
    return page.evaluate(RUN_AXE)


@pytest.mark.parametrize("path", ["/", "/login", "/register"])
def test_public_pages_have_no_axe_violations(new_page, seed_basics, path):
    seed_basics()
    page = new_page()
    page.goto(path)
    page.wait_for_load_state("load")
    assert _violations(page) == []


def test_form_and_trace_pages_have_no_axe_violations(new_page, seed_basics):
    seed_basics()
    page = new_page()
    login(page, "resident@example.org")
    page.goto("/traces/new")
    page.wait_for_selector("body[data-map-state=ready]")
    assert _violations(page) == []
    # The same page after a refused submit, with the error summary and field errors.
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_selector(".error-summary")
    assert _violations(page) == []
    page.get_by_text("Skriv inn koordinater i stedet").click()
    page.get_by_label("Koordinater", exact=True).fill("69.9689, 23.2715")
    page.get_by_label("Tittel").fill("Kullgrop")
    page.get_by_role("button", name="Send til godkjenning").click()
    page.wait_for_url(re.compile(r"/traces/\d+$"))
    page.wait_for_selector(".trace-map .leaflet-container")
    assert _violations(page) == []


def test_the_axe_check_itself_catches_a_violation(new_page, seed_basics):
    """Guards the guard: an image without alt text must be reported."""
    seed_basics()
    page = new_page()
    page.goto("/login")
    page.evaluate("document.querySelector('main').appendChild(document.createElement('img'))")
    assert "image-alt" in {v["id"] for v in _violations(page)}
