"""geo.maps: Folium maps that load nothing but self-hosted assets and the configured tiles."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from geo.bounds import NORWAY_CENTER
from geo.maps import (
    TileSource,
    add_draw_control,
    add_heritage_layer,
    base_map,
    render_parts,
    vendor_assets,
)

TOPO_URL = "https://cache.kartverket.example/v1/wmts/1.0.0/topo/default/webmercator/{z}/{y}/{x}.png"
OSM_URL = "https://tile.openstreetmap.example/{z}/{x}/{y}.png"
TILES = [
    TileSource(TOPO_URL, "&copy; Kartverket", "Topografisk"),
    TileSource(OSM_URL, "&copy; OpenStreetMap contributors", "OpenStreetMap", max_zoom=19),
]
EVIL = "</script><script>alert(1)</script>"
OPTIONS: dict[str, Any] = {
    "dataUrl": "/api/map-data",
    "traceUrl": "/traces/",
    "clusterBelowZoom": 9,
    "fitNorway": True,
    "labels": {"open": EVIL, "quote": 'it\'s "quoted" & <b>bold</b>'},
}


# -- helpers ---------------------------------------------------------------------------------


def full_map(
    static_base: str = "/static",
    options: dict[str, Any] | None = None,
    tiles: list[TileSource] | None = None,
    field_id: str = "geometry",
    **map_kwargs: Any,
) -> dict[str, str]:
    fmap = base_map(TILES if tiles is None else tiles, static_base, **map_kwargs)
    add_heritage_layer(fmap, static_base, OPTIONS if options is None else options)
    add_draw_control(fmap, static_base, field_id)
    return render_parts(fmap)


def everything(parts: dict[str, str]) -> str:
    return parts["header"] + parts["html"] + parts["script"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        for name, value in attrs:
            if name in ("src", "href") and value is not None:
                self.links.append((tag, name, value))

    handle_startendtag = handle_starttag


def parse(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    parser.close()
    return parser


def src_href_values(text: str) -> list[str]:
    """Every src=/href= value in text, whether in markup or inside JavaScript strings."""
    pattern = re.compile(r"""\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.I)
    return [next(g for g in m.groups() if g is not None) for m in pattern.finditer(text)]


def absolute_urls(text: str) -> list[str]:
    return re.findall(r"""(?i)\b(?:https?:)?//[^\s"'<>\\)]+""", text)


def attach_options(script: str) -> Any:
    match = re.search(r"HeritageMap\.attach\(\s*\w+\s*,\s*(\{.*\})\s*\);", script)
    assert match, "HeritageMap.attach(...) not found"
    return match.group(1)


# -- no third-party URLs ---------------------------------------------------------------------


def test_only_the_tile_templates_are_absolute_urls() -> None:
    text = everything(full_map())
    urls = absolute_urls(text)
    assert set(urls) == {TOPO_URL, OSM_URL}
    assert text.count("https://") == 2
    assert "http://" not in text


def test_every_src_and_href_is_self_hosted() -> None:
    parts = full_map()
    values = src_href_values(everything(parts))
    assert values, "expected the Leaflet assets to be linked"
    for value in values:
        assert value.startswith("/static/"), value
        assert not value.startswith("//"), value


@pytest.mark.parametrize(
    "marker", ["cdn", "jsdelivr", "unpkg", "bootstrap", "googleapis", "jquery"]
)
def test_no_cdn_assets(marker: str) -> None:
    assert marker not in everything(full_map()).lower()


def test_only_the_map_part_in_html() -> None:
    parsed = parse(full_map()["html"])
    assert [tag for tag, _ in parsed.tags] == ["div"]
    assert parsed.links == []


# -- self-hosted Leaflet ---------------------------------------------------------------------


def test_leaflet_assets_come_from_the_static_base() -> None:
    links = parse(full_map()["header"]).links
    assert ("script", "src", "/static/vendor/leaflet/leaflet.js") in links
    assert ("link", "href", "/static/vendor/leaflet/leaflet.css") in links
    assert ("script", "src", "/static/vendor/leaflet-draw/leaflet.draw.js") in links
    assert ("link", "href", "/static/vendor/leaflet-draw/leaflet.draw.css") in links


def test_leaflet_is_linked_before_leaflet_draw() -> None:
    header = full_map()["header"]
    assert header.index("leaflet/leaflet.js") < header.index("leaflet-draw/leaflet.draw.js")


@pytest.mark.parametrize(
    ("static_base", "prefix"),
    [("/static", "/static"), ("/static/", "/static"), ("/kart/static", "/kart/static")],
)
def test_static_base_is_honoured(static_base: str, prefix: str) -> None:
    parts = full_map(static_base=static_base)
    links = [value for _, _, value in parse(parts["header"]).links]
    assert f"{prefix}/vendor/leaflet/leaflet.js" in links
    assert all(value.startswith(prefix + "/") for value in links)
    assert all("//" not in value for value in links)


def test_vendor_assets_paths() -> None:
    assets = vendor_assets("/static/")
    assert assets["map_js"] == [("leaflet", "/static/vendor/leaflet/leaflet.js")]
    assert assets["map_css"] == [("leaflet_css", "/static/vendor/leaflet/leaflet.css")]
    assert assets["draw_js"] == [("leaflet_draw_js", "/static/vendor/leaflet-draw/leaflet.draw.js")]
    assert assets["draw_css"] == [
        ("leaflet_draw_css", "/static/vendor/leaflet-draw/leaflet.draw.css")
    ]
    assert assets["app_js"] == [("heritage_map_js", "/static/js/heritage-map.js")]


def test_heritage_map_script_is_linked() -> None:
    header = full_map()["header"]
    assert ("script", "src", "/static/js/heritage-map.js") in parse(header).links
    assert header.index("leaflet/leaflet.js") < header.index("js/heritage-map.js")


# -- accessibility and page-wide side effects ------------------------------------------------


def test_header_does_not_lock_zoom() -> None:
    header = full_map()["header"]
    assert "user-scalable=no" not in header
    assert "user-scalable" not in header
    assert "maximum-scale" not in header
    assert 'name="viewport"' not in header


def test_header_styles_only_the_map() -> None:
    header = full_map()["header"]
    assert "html," not in header
    assert "body" not in header


def test_map_div_has_role_and_label() -> None:
    parts = full_map(aria_label="Kart over spor")
    ((tag, attrs),) = parse(parts["html"]).tags
    assert tag == "div"
    assert attrs["role"] == "region"
    assert attrs["aria-label"] == "Kart over spor"
    assert attrs["id"] and attrs["id"].startswith("map_")
    assert f"L.map(\n                {json.dumps(attrs['id'])}" in parts["script"]


def test_aria_label_with_quotes_stays_one_attribute() -> None:
    label = 'Kart "Norge" x" onmouseover=alert(1) y="'
    ((_, attrs),) = parse(full_map(aria_label=label)["html"]).tags
    assert set(attrs) == {"class", "id", "role", "aria-label"}
    assert attrs["aria-label"] == label


# -- tiles -----------------------------------------------------------------------------------


def test_both_tile_layers_and_a_layer_control() -> None:
    script = full_map()["script"]
    assert script.count("L.tileLayer(") == 2
    assert json.dumps(TOPO_URL) in script
    assert json.dumps(OSM_URL) in script
    assert "L.control.layers(" in script
    assert '"Topografisk"' in script and '"OpenStreetMap"' in script


def test_only_the_first_tile_layer_is_shown() -> None:
    script = full_map()["script"]
    added = re.findall(r"(tile_layer_\w+)\.addTo\(", script)
    assert len(added) == 1
    first = re.search(
        r"var (tile_layer_\w+) = L\.tileLayer\(\s*" + re.escape(json.dumps(TOPO_URL)), script
    )
    assert first and first.group(1) == added[0]


def test_one_tile_source_has_no_layer_control() -> None:
    script = full_map(tiles=TILES[:1])["script"]
    assert script.count("L.tileLayer(") == 1
    assert "L.control.layers(" not in script
    assert absolute_urls(everything(full_map(tiles=TILES[:1]))) == [TOPO_URL]


def test_map_starts_over_norway() -> None:
    script = full_map()["script"]
    assert f"center: {json.dumps(list(NORWAY_CENTER))}" in script
    assert "L.control.scale({imperial: false})" in script


def test_location_and_zoom_are_used() -> None:
    script = full_map(location=(69.6492, 18.9553), zoom=12)["script"]
    assert "center: [69.6492, 18.9553]" in script
    assert '"zoom": 12' in script


def test_operator_text_in_tiles_is_escaped_for_script() -> None:
    tiles = [
        TileSource("https://t.example/{z}/{x}/{y}.png?k=" + EVIL, "A" + EVIL, "T" + EVIL),
        TileSource(OSM_URL, "B", "U"),
    ]
    script = full_map(tiles=tiles)["script"]
    assert "</script" not in script.lower()
    assert "<script" not in script.lower()


# -- JSON-only options -----------------------------------------------------------------------


def test_heritage_layer_options_are_json() -> None:
    script = full_map()["script"]
    assert json.loads(attach_options(script)) == OPTIONS


def test_script_breakout_in_options_is_escaped() -> None:
    script = full_map()["script"]
    assert "</script><script>" not in script
    assert "</script" not in script.lower()
    assert "<script" not in script.lower()
    raw = attach_options(script)
    for character in "<>&'":
        assert character not in raw, character
    assert "\\u003c/script\\u003e" in raw


@pytest.mark.parametrize(
    "value",
    [EVIL, "<!--", "]]>", "\u2028\u2029", "'); alert(1); ('", "${alert(1)}", "\\", 'a"b'],
)
def test_any_option_string_round_trips_through_json(value: str) -> None:
    options = {"dataUrl": "/api/map-data", "labels": {"open": value}}
    script = full_map(options=options)["script"]
    assert json.loads(attach_options(script)) == options
    assert "</script" not in script.lower()
    assert "<!--" not in script


def test_draw_field_id_is_json() -> None:
    script = full_map(field_id="geo" + EVIL)["script"]
    match = re.search(
        r"HeritageMap\.bindDrawForm\(\s*\w+,\s*(drawnItems_\w+),\s*(\"[^\n]*\")\s*\)", script
    )
    assert match, "HeritageMap.bindDrawForm(...) not found"
    assert json.loads(match.group(2)) == "geo" + EVIL
    assert f"var {match.group(1)} =" in script
    assert "</script" not in script.lower()


def test_draw_control_allows_only_point_line_and_polygon() -> None:
    script = full_map()["script"]
    match = re.search(r"draw: (\{.*\}),\n", script)
    assert match
    draw = json.loads(match.group(1))
    assert draw["rectangle"] is False
    assert draw["circle"] is False
    assert draw["circlemarker"] is False
    assert draw["marker"] is True
    assert draw["polygon"]["allowIntersection"] is False
    assert "new L.Control.Draw(" in script


def test_map_without_draw_control_has_no_draw_assets() -> None:
    fmap = base_map(TILES, "/static")
    add_heritage_layer(fmap, "/static", OPTIONS)
    parts = render_parts(fmap)
    assert "leaflet-draw" not in parts["header"]
    assert "L.Control.Draw" not in parts["script"]
    assert "HeritageMap.attach(" in parts["script"]
    assert set(absolute_urls(everything(parts))) == {TOPO_URL, OSM_URL}
