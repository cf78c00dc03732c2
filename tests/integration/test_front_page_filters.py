"""The front page's map filters: the seeded vocabulary grouped by family, a shared address's
choices selected, and a stale one dropped rather than refused."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from app.models import Scheme


def _selected(html: str, name: str) -> list[str]:
    """The values selected in the <select name=...> of the page."""
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no <select name={name}> on the page"
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', match.group(1))


def test_known_choices_are_selected_and_unknown_ones_dropped(
    client: FlaskClient, make_project, term
) -> None:
    project = make_project()
    kullgrop = term(Scheme.TRACE_TYPE, "kullgrop")
    response = client.get(f"/?type={kullgrop.code}&period=no-such-period&project={project.slug}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _selected(html, "type") == ["kullgrop"]
    assert _selected(html, "period") == []
    assert _selected(html, "project") == [project.slug]
    # Charcoal pits are in the "Hunting, crafts and industry" family, labelled in Bokmål.
    assert re.search(r'<option value="kullgrop" data-family="craft"[^>]*>[^<]+</option>', html)
    assert f">{kullgrop.label('nb')}</option>" in html


def test_labels_follow_the_language(client: FlaskClient, term) -> None:
    jernalder = term(Scheme.PERIOD, "jernalder")
    with client.session_transaction() as cookie_session:
        cookie_session["lang"] = "en"  # what the language switch stores
    html = client.get("/").get_data(as_text=True)
    assert jernalder.label("en") != jernalder.label("nb")
    assert f">{jernalder.label('en')}</option>" in html
