"""GET /api/search's places: the gazetteer's ranking and the optional online geocoder."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from app.search import geocoder as geocoder_module
from tests.integration.searching import ALTA, RAUFOSS, add_place, search

# --- Places -----------------------------------------------------------------------------------


def test_places_exact_then_prefix_then_similar(client, session):
    add_place(session, "Einafjorden", 10.57, 60.60, kind="Innsjø")
    add_place(session, "Eina", 10.605, 60.632, kind="Tettsted", municipality="Vestre Toten")
    add_place(session, "Reinsvoll", 10.62, 60.676)
    add_place(session, "Seina", 10.0, 60.0)
    names = [p["name"] for p in search(client, "eina")["places"]]
    assert names[:2] == ["Eina", "Einafjorden"]
    assert "Reinsvoll" not in names
    first = search(client, "Eina")["places"][0]
    assert first == {"name": "Eina", "kind": "Tettsted", "municipality": "Vestre Toten",
                     "lon": 10.605, "lat": 60.632}  # fmt: skip


def test_places_misspelt(client, session):
    add_place(session, "Hokksund", 9.911, 59.771)
    add_place(session, "Raufoss", 10.61, 60.726)
    assert [p["name"] for p in search(client, "hoksund")["places"]] == ["Hokksund"]
    assert [p["name"] for p in search(client, "raufos")["places"]] == ["Raufoss"]


def test_among_equal_places_the_nearest_to_the_view_comes_first(client, session):
    add_place(session, "Haugen", *ALTA, municipality="Alta")
    add_place(session, "Haugen", *RAUFOSS, municipality="Vestre Toten")
    near_alta = "23.0,69.8,23.5,70.1"
    near_raufoss = "10.4,60.6,10.8,60.8"
    municipalities = [p["municipality"] for p in search(client, "Haugen", bbox=near_alta)["places"]]
    assert municipalities == ["Alta", "Vestre Toten"]
    municipalities = [
        p["municipality"] for p in search(client, "Haugen", bbox=near_raufoss)["places"]
    ]
    assert municipalities == ["Vestre Toten", "Alta"]


def test_limit_is_clamped(client, session):
    for n in range(12):
        add_place(session, f"Haugen {n}", 10 + n / 100, 60)
    assert len(search(client, "haugen", limit=3)["places"]) == 3
    assert len(search(client, "haugen", limit=0)["places"]) == 1
    assert len(search(client, "haugen", limit="99999999999999999999999")["places"]) == 12


# --- The online geocoder ----------------------------------------------------------------------


class _Geocoder(BaseHTTPRequestHandler):
    delay = 0.0
    asked: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        type(self).asked.append(self.path)
        time.sleep(type(self).delay)
        body = json.dumps(
            {
                "metadata": {"totaltAntallTreff": 2},
                "navn": [
                    {
                        "skrivemåte": "Komsa",
                        "navneobjekttype": "Fjell",
                        "stedsnummer": 1,
                        "representasjonspunkt": {"øst": 23.1501, "nord": 69.9601, "koordsys": 4258},
                        "kommuner": [{"kommunenavn": "Alta", "kommunenummer": "5601"}],
                        "fylker": [{"fylkesnavn": "Finnmark", "fylkesnummer": "56"}],
                    },
                    {
                        "skrivemåte": "Komsaelva",
                        "navneobjekttype": "Elv",
                        "stedsnummer": 2,
                        "representasjonspunkt": {"øst": 23.2, "nord": 69.95, "koordsys": 4258},
                        "kommuner": [{"kommunenavn": "Alta"}],
                    },
                    {"skrivemåte": "Utenfor", "representasjonspunkt": {"øst": 2, "nord": 40}},
                ],
            }
        ).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the app stopped waiting

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def geocoder(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Geocoder]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Geocoder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Geocoder.delay, _Geocoder.asked = 0.0, []
    url = f"http://127.0.0.1:{server.server_address[1]}/stedsnavn/v1/navn"
    monkeypatch.setitem(app.config, "GEOCODER_URL", url)
    monkeypatch.setitem(app.config, "GEOCODER_TIMEOUT", 0.5)
    yield _Geocoder
    server.shutdown()
    server.server_close()


def test_geocoder_places_are_merged_after_the_gazetteer(client, session, geocoder):
    add_place(session, "Komsa", 23.15, 69.96, kind="Fjell")
    body = search(client, "komsa")
    assert [p["name"] for p in body["places"]] == ["Komsa", "Komsaelva"]  # one Komsa, not two
    assert body["places"][1]["municipality"] == "Alta"
    (asked,) = geocoder.asked
    assert "sok=komsa" in asked and "treffPerSide=" in asked


def test_a_slow_or_missing_geocoder_is_ignored(client, session, geocoder, app, monkeypatch):
    add_place(session, "Komsa", 23.15, 69.96, kind="Fjell")
    geocoder.delay = 3.0
    started = time.monotonic()
    assert [p["name"] for p in search(client, "komsa")["places"]] == ["Komsa"]
    assert time.monotonic() - started < 2.5
    monkeypatch.setitem(app.config, "GEOCODER_URL", "http://127.0.0.1:9/nothing-listens-here")
    assert [p["name"] for p in search(client, "komsa")["places"]] == ["Komsa"]


def test_without_a_geocoder_nothing_is_asked(client, session, app, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(geocoder_module, "_ask", lambda url, *_args: asked.append(url) or [])
    assert not app.config["GEOCODER_URL"]
    add_place(session, "Komsa", 23.15, 69.96)
    assert [p["name"] for p in search(client, "komsa")["places"]] == ["Komsa"]
    assert asked == []
