"""An optional online place-name service (e.g. Kartverket's ws.geonorge.no/stedsnavn/v1/navn).

Asked only when GEOCODER_URL is set, in a worker thread while the database answers, within
GEOCODER_TIMEOUT seconds; any failure (no network, a timeout, an error status, a body it
cannot read) is logged and the search goes on with the local gazetteer alone.

GEOCODER_URL may hold `{q}` (and `{limit}`) where the search text goes; otherwise the
parameters of Kartverket's API are added: sok, treffPerSide, fuzzy, utkoordsys=4258.
Answers read: Kartverket's {"navn": [...]} and GeoJSON FeatureCollections of SSR-like features.
"""

from __future__ import annotations

import json
import logging
import math
import urllib.parse
import urllib.request
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from app.places.readers import api_record, feature_record
from app.places.records import ImportReport, check_place

log = logging.getLogger(__name__)
MAX_BYTES = 1 << 20
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="geocoder")


def geocoder_url(base: str, text: str, limit: int) -> str:
    """The address to ask for `text`."""
    if "{q}" in base:
        return base.replace("{q}", urllib.parse.quote(text)).replace("{limit}", str(limit))
    parts = urllib.parse.urlsplit(base)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k not in ("sok",)]
    query += [("sok", text), ("treffPerSide", str(limit)), ("fuzzy", "true")]
    if not any(k == "utkoordsys" for k, _ in query):
        query.append(("utkoordsys", "4258"))
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def _read(url: str, timeout: float) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the operator's configured http(s) URL
        url, headers={"Accept": "application/json", "User-Agent": "Kulturspor"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = response.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise ValueError("answer too large")
    return json.loads(body)


def parse_answer(body: Any, limit: int) -> list[dict[str, Any]]:
    """Places in an answer, checked like imported ones (name, coordinates, in Norway)."""
    if not isinstance(body, dict):
        return []
    if isinstance(body.get("navn"), list):
        records = [api_record(item, "") for item in body["navn"] if isinstance(item, dict)]
    elif isinstance(body.get("features"), list):
        records = [feature_record(f, n, None) for n, f in enumerate(body["features"], 1)]
    else:
        return []
    report = ImportReport()
    places = []
    for record in records:
        place = check_place(record, report)
        if place is None:
            continue
        places.append(
            {
                "name": place.name,
                "kind": place.kind,
                "municipality": place.municipality,
                "lon": round(place.lon, 7),
                "lat": round(place.lat, 7),
            }
        )
        if len(places) >= limit:
            break
    return places


def _ask(url: str, timeout: float, limit: int) -> list[dict[str, Any]]:
    try:
        return parse_answer(_read(url, timeout), limit)
    except Exception as error:  # noqa: BLE001 - the service is optional: never fail a search
        log.warning("geocoder %s failed: %s", urllib.parse.urlsplit(url).netloc, error)
        return []


def ask_later(base: str, text: str, limit: int, timeout: float) -> Future[list[dict[str, Any]]]:
    """Start asking the service; the future's result is a list of places ([] on failure)."""
    if not base.startswith(("http://", "https://")):
        future: Future[list[dict[str, Any]]] = Future()
        future.set_result([])
        return future
    return _pool.submit(_ask, geocoder_url(base, text, limit), timeout, limit)


def result_of(future: Future[list[dict[str, Any]]], timeout: float) -> list[dict[str, Any]]:
    """The places the service gave, or [] if it has not answered in time."""
    try:
        return future.result(timeout=timeout + 0.5)
    except Exception as error:  # noqa: BLE001 - including the wait's own timeout
        log.warning("geocoder gave no answer in time: %s", error)
        return []


def merge(local: list[dict[str, Any]], remote: list[dict[str, Any]], limit: int) -> list[Any]:
    """The gazetteer's places first, then the service's that are not the same place again."""
    merged = list(local[:limit])
    for place in remote:
        if len(merged) >= limit:
            break
        if not any(_same(place, other) for other in merged):
            merged.append(place)
    return merged


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same name within about a kilometre."""
    if a["name"].casefold() != b["name"].casefold():
        return False
    dx = (a["lon"] - b["lon"]) * math.cos(math.radians(a["lat"]))
    return math.hypot(dx, a["lat"] - b["lat"]) < 0.01
