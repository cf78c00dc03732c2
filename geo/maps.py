"""Folium map builders that load nothing from the internet but the configured base-map tiles.

Every Leaflet asset comes from our own static folder; user text never enters the generated
JavaScript (docs/security.md item 20): features are fetched as JSON by static/js/heritage-map.js and
rendered with textContent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import Draw
from folium.template import Template

from geo.bounds import NORWAY_CENTER


@dataclass(frozen=True)
class TileSource:
    """A base map: XYZ tile URL template, attribution HTML (operator-configured) and a name."""

    url: str
    attribution: str
    name: str
    max_zoom: int = 18


def vendor_assets(static_base: str, release: str = "") -> dict[str, list[tuple[str, str]]]:
    """The self-hosted Leaflet files, as (name, URL) lists for Folium's default_js/default_css.

    With a release, each URL carries ``?v=<release>``, so a new release is never served from
    a browser's or service worker's old copy.
    """
    base = static_base.rstrip("/") + "/vendor"
    v = f"?v={release}" if release else ""
    return {
        "map_js": [("leaflet", f"{base}/leaflet/leaflet.js{v}")],
        "map_css": [("leaflet_css", f"{base}/leaflet/leaflet.css{v}")],
        "draw_js": [("leaflet_draw_js", f"{base}/leaflet-draw/leaflet.draw.js{v}")],
        "draw_css": [("leaflet_draw_css", f"{base}/leaflet-draw/leaflet.draw.css{v}")],
        "app_js": [("heritage_map_js", f"{static_base.rstrip('/')}/js/heritage-map.js{v}")],
    }


class HeritageMap(folium.Map):
    """folium.Map without the page-wide styles and the zoom-locking viewport meta of the original.

    Folium's header sets ``user-scalable=no`` (a WCAG 1.4.4 failure) and styles html/body for a
    stand-alone page; ours is embedded in a normal page, so only the map's own size is styled.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            <style>
                #{{ this.get_name() }} {
                    position: {{this.position}};
                    width: {{this.width[0]}}{{this.width[1]}};
                    height: {{this.height[0]}}{{this.height[1]}};
                    left: {{this.left[0]}}{{this.left[1]}};
                    top: {{this.top[0]}}{{this.top[1]}};
                }
            </style>
        {% endmacro %}

        {% macro html(this, kwargs) %}
            <div class="folium-map" id={{ this.get_name()|tojson }}
                 role="region" aria-label="{{ this.aria_label|e }}"></div>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.map(
                {{ this.get_name()|tojson }},
                {
                    center: {{ this.location|tojson }},
                    crs: L.CRS.{{ this.crs }},
                    ...{{this.options|tojavascript}}
                }
            );
            {%- if this.control_scale %}
            L.control.scale({imperial: false}).addTo({{ this.get_name() }});
            {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(self, *args: Any, aria_label: str = "Map", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.aria_label = aria_label


class HeritageLayer(JSCSSMixin, MacroElement):
    """Attaches static/js/heritage-map.js to a map with JSON-only options (no user text)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            HeritageMap.attach({{ this._parent.get_name() }}, {{ this.options|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, options: dict[str, Any], js: list[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "HeritageLayer"
        self.options = options
        self.default_js = js


class DrawToForm(MacroElement):
    """Writes the drawn, edited or deleted shape's GeoJSON geometry into a hidden form field.

    Folium's Draw plugin only handles the created event and keeps every shape; a trace has one
    geometry, so a new drawing replaces the old one. The server validates the field again.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            HeritageMap.bindDrawForm(
                {{ this._parent.get_name() }},
                drawnItems_{{ this.draw.get_name() }},
                {{ this.field_id|tojson }}
            );
        {% endmacro %}
        """
    )

    def __init__(self, draw: Draw, field_id: str) -> None:
        super().__init__()
        self._name = "DrawToForm"
        self.draw = draw
        self.field_id = field_id


def base_map(
    tiles: list[TileSource],
    static_base: str,
    *,
    location: tuple[float, float] = NORWAY_CENTER,
    zoom: int = 5,
    aria_label: str = "Map",
    height: str = "100%",
    release: str = "",
) -> HeritageMap:
    """A map with the configured base maps (first one shown) and self-hosted Leaflet."""
    assets = vendor_assets(static_base, release)
    fmap = HeritageMap(
        location=list(location),
        zoom_start=zoom,
        tiles=None,
        control_scale=True,
        height=height,
        aria_label=aria_label,
        prefer_canvas=False,
    )
    fmap.default_js = assets["map_js"]
    fmap.default_css = assets["map_css"]
    for index, source in enumerate(tiles):
        folium.TileLayer(
            tiles=source.url,
            attr=source.attribution,
            name=source.name,
            max_zoom=source.max_zoom,
            overlay=False,
            control=len(tiles) > 1,
            show=index == 0,
        ).add_to(fmap)
    return fmap


def add_heritage_layer(
    fmap: folium.Map, static_base: str, options: dict[str, Any], release: str = ""
) -> None:
    """Load traces by viewport from the JSON endpoint named in options (see heritage-map.js)."""
    HeritageLayer(options, vendor_assets(static_base, release)["app_js"]).add_to(fmap)


TRACE_SHAPES = {
    "polyline": {"shapeOptions": {"color": "#7a3e00"}},
    "polygon": {"allowIntersection": False, "showArea": False},
    "rectangle": False,
    "circle": False,
    "circlemarker": False,
    "marker": True,
}
AREA_SHAPES = {
    "polyline": False,
    "marker": False,
    "circle": False,
    "circlemarker": False,
    # showArea on rectangles trips a bug in Leaflet.draw 1.0.4's area formatting.
    "rectangle": {"showArea": False},
    "polygon": {"allowIntersection": False, "showArea": False},
}


def add_draw_control(
    fmap: folium.Map,
    static_base: str,
    field_id: str,
    shapes: dict[str, Any] | None = None,
    release: str = "",
) -> None:
    """Let the user draw one shape (a trace's by default), written as GeoJSON into field_id."""
    assets = vendor_assets(static_base, release)
    draw = Draw(
        export=False,
        show_geometry_on_click=False,
        position="topleft",
        draw_options=shapes or TRACE_SHAPES,
        edit_options={"remove": True},
    )
    draw.default_js = assets["draw_js"]
    draw.default_css = assets["draw_css"]
    draw.add_to(fmap)
    DrawToForm(draw, field_id).add_to(fmap)


def render_parts(fmap: folium.Map) -> dict[str, str]:
    """Render a map into the three pieces a Jinja page embeds: header, html and script."""
    tile_layers = [c for c in fmap._children.values() if isinstance(c, folium.TileLayer)]
    if len(tile_layers) > 1 and not any(
        isinstance(c, folium.LayerControl) for c in fmap._children.values()
    ):
        # Added last: the control refers to every layer's variable, which must exist by then.
        folium.LayerControl(position="topright", collapsed=True).add_to(fmap)
    figure = fmap.get_root()
    figure.render()
    return {
        "header": figure.header.render(),
        "html": figure.html.render(),
        "script": figure.script.render(),
    }
