"""The app's maps: geo.maps builders fed with this installation's tiles and URLs."""

from __future__ import annotations

import functools
import html
import json
from dataclasses import dataclass

import folium
import shapely.wkb
from flask import current_app, url_for
from flask_babel import LazyString, get_locale, gettext, lazy_gettext
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from geo.geojson import geometry_to_geojson
from geo.maps import (
    AREA_SHAPES,
    TileSource,
    add_draw_control,
    add_heritage_layer,
    base_map,
    render_parts,
)


@dataclass(frozen=True)
class TypeFamily:
    """A group of trace types drawn in one colour (Okabe-Ito: told apart with colour blindness)."""

    key: str
    colour: str
    label: LazyString
    codes: tuple[str, ...]


# A legend of 16 types would be a wall: types are grouped into a few families with one colour
# each. A type a librarian adds later, or none, falls into "other" until it is placed here.
TYPE_FAMILIES: tuple[TypeFamily, ...] = (
    TypeFamily("dwelling", "#0072B2", lazy_gettext("Settlements and farming"),
               ("boplass", "seter", "naust", "rydningsroys", "steingjerde")),
    TypeFamily("burial", "#D55E00", lazy_gettext("Graves and rock art"),
               ("gravminne", "bergkunst")),
    TypeFamily("sami", "#CC79A7", lazy_gettext("Sami heritage"), ("samisk",)),
    TypeFamily("craft", "#009E73", lazy_gettext("Hunting, crafts and industry"),
               ("fangstanlegg", "kullgrop", "jernvinne", "industriminne")),
    TypeFamily("route", "#E69F00", lazy_gettext("Roads and paths"), ("ferdselsspor",)),
    TypeFamily("war", "#56B4E9", lazy_gettext("War remains"), ("krigsminne",)),
    TypeFamily("other", "#6E6E6E", lazy_gettext("Place names, stories and other"),
               ("stedsnavn", "annet")),
)  # fmt: skip
OTHER_FAMILY = TYPE_FAMILIES[-1]


def type_family(code: str | None) -> TypeFamily:
    """The colour family of a trace type code (other for unknown or missing codes)."""
    for family in TYPE_FAMILIES:
        if code in family.codes:
            return family
    return OTHER_FAMILY


def tile_sources() -> list[TileSource]:
    """The configured base maps: Kartverket's topographic map first, then the alternative."""
    cfg = current_app.config
    sources = [TileSource(cfg["TILE_URL"], cfg["TILE_ATTRIBUTION"], cfg["TILE_NAME"])]
    if cfg.get("ALT_TILE_URL"):
        sources.append(
            TileSource(cfg["ALT_TILE_URL"], cfg["ALT_TILE_ATTRIBUTION"], cfg["ALT_TILE_NAME"])
        )
    return sources


def _static_base() -> str:
    return url_for("static", filename="").rstrip("/")


def _release() -> str:
    """The release that versions the map's asset URLs (app/offline)."""
    return str(current_app.config.get("RELEASE") or "")


def _layer_options(**extra: object) -> dict[str, object]:
    options: dict[str, object] = {
        "dataUrl": url_for("api.map_data"),
        "traceUrl": url_for("traces.show", trace_id=0).rsplit("0", 1)[0],
        "tileUrl": url_for("api.map_data") + "/tiles/",
        "clusterBelowZoom": current_app.config["MAP_CLUSTER_BELOW_ZOOM"],
        # An open page keeps tiles no longer than a proxy may (an approval shows within it).
        "tileMaxAgeMs": current_app.config["MAP_TILE_MAX_AGE"] * 1000,
        "labels": {
            "open": gettext("Open the trace"),
            "pending": gettext("Waiting for approval"),
            "truncated": gettext("Too many traces here to show at once; zoom in to see all."),
            "loadFailed": gettext("The traces could not be loaded. Check your connection."),
            "approximate": gettext("Approximate location: the site is protected."),
            # {name} and {count} are filled in by the script; names are places or coordinates.
            "area": gettext("{name} ({count} traces)"),
            "areaHint": gettext("Zoom the map to this area"),
            # Compass letters after a coordinate in the list: "69.97° N, 23.27° E".
            "north": gettext("N"),
            "south": gettext("S"),
            "east": gettext("E"),
            "west": gettext("W"),
        },
    }
    options.update(extra)
    return options


def leaflet_locale() -> dict[str, object]:
    """Leaflet's and Leaflet.draw's own strings in the page's language (leaflet-locale.js).

    Leaflet.draw writes its tooltips as HTML, so every string is escaped here.
    """

    def t(message: str) -> str:
        return html.escape(message, quote=False)

    # fmt: off
    draw = {
        "draw": {
            "toolbar": {
                "actions": {"title": t(gettext("Cancel drawing")), "text": t(gettext("Cancel"))},
                "finish": {"title": t(gettext("Finish drawing")), "text": t(gettext("Finish"))},
                "undo": {"title": t(gettext("Delete the last point drawn")),
                         "text": t(gettext("Delete last point"))},
                "buttons": {
                    "polyline": t(gettext("Draw a line")),
                    "polygon": t(gettext("Draw an area")),
                    "rectangle": t(gettext("Draw a rectangle")),
                    "circle": t(gettext("Draw a circle")),
                    "marker": t(gettext("Place a point")),
                    "circlemarker": t(gettext("Place a circle marker")),
                },
            },
            "handlers": {
                "circle": {"tooltip": {"start": t(gettext("Click and drag to draw a circle."))},
                           "radius": t(gettext("Radius"))},
                "circlemarker": {"tooltip": {
                    "start": t(gettext("Click the map to place a circle marker."))}},
                "marker": {"tooltip": {"start": t(gettext("Click the map to place the point."))}},
                "polygon": {"tooltip": {
                    "start": t(gettext("Click to start drawing the area.")),
                    "cont": t(gettext("Click to continue drawing the area.")),
                    "end": t(gettext("Click the first point to close the area.")),
                }},
                "polyline": {
                    "error": t(gettext("The edges of the shape must not cross.")),
                    "tooltip": {
                        "start": t(gettext("Click to start drawing the line.")),
                        "cont": t(gettext("Click to continue drawing the line.")),
                        "end": t(gettext("Click the last point again to finish the line.")),
                    },
                },
                "rectangle": {"tooltip": {
                    "start": t(gettext("Click and drag to draw a rectangle."))}},
                "simpleshape": {"tooltip": {
                    "end": t(gettext("Release the mouse button to finish drawing."))}},
            },
        },
        "edit": {
            "toolbar": {
                "actions": {
                    "save": {"title": t(gettext("Save changes")), "text": t(gettext("Save"))},
                    "cancel": {"title": t(gettext("Cancel editing and undo the changes")),
                               "text": t(gettext("Cancel"))},
                    "clearAll": {"title": t(gettext("Remove everything drawn")),
                                 "text": t(gettext("Clear all"))},
                },
                "buttons": {
                    "edit": t(gettext("Change the drawing")),
                    "editDisabled": t(gettext("Nothing to change yet")),
                    "remove": t(gettext("Delete the drawing")),
                    "removeDisabled": t(gettext("Nothing to delete yet")),
                },
            },
            "handlers": {
                "edit": {"tooltip": {
                    "text": t(gettext("Drag the handles or the point to change the shape.")),
                    "subtext": t(gettext("Click Cancel to undo the changes.")),
                }},
                "remove": {"tooltip": {"text": t(gettext("Click a shape to delete it."))}},
            },
        },
    }
    # fmt: on
    return {
        "zoomIn": gettext("Zoom in"),
        "zoomOut": gettext("Zoom out"),
        "layers": gettext("Map layers"),
        "closePopup": gettext("Close"),
        "marker": gettext("Point on the map"),
        "leafletTitle": gettext("The map software"),
        "draw": draw,
    }


def _localised(parts: dict[str, str]) -> dict[str, str]:
    """The map's parts with Leaflet's strings in the page's language added to its header.

    A script after Leaflet and Leaflet.draw and before the nonce'd map script, carrying the
    strings as a JSON data attribute (no inline code), so the controls are built translated.
    """
    return {**parts, "header": parts["header"] + "\n" + _locale_script()}


def _locale_script() -> str:
    """The script tag carrying Leaflet's strings, built once per language and app."""
    cache = current_app.extensions.setdefault("leaflet_locale_script", {})
    locale = str(get_locale())
    if locale not in cache:
        data = html.escape(json.dumps(leaflet_locale(), ensure_ascii=False), quote=True)
        release = _release()
        src = url_for("static", filename="js/leaflet-locale.js")
        src += f"?v={release}" if release else ""
        cache[locale] = f'<script src="{html.escape(src)}" data-strings="{data}"></script>'
    return cache[locale]


def index_map() -> dict[str, str]:
    """The big map of all visible traces, loaded by viewport.

    The same for every visitor with the same language (the data comes by JSON), so it is
    built once per language and process: building a Folium map costs tens of milliseconds.
    """
    cache = current_app.extensions.setdefault("index_map_cache", {})
    key = (str(get_locale()), _static_base())
    if key not in cache:
        fmap = base_map(
            tile_sources(), _static_base(), aria_label=gettext("Map of traces"), release=_release()
        )
        # syncUrl: the view and the filters live in the address, so a view can be shared.
        add_heritage_layer(
            fmap, _static_base(), _layer_options(fitNorway=True, syncUrl=True), _release()
        )
        cache[key] = _localised(render_parts(fmap))
    return cache[key]


def drawing_map(field_id: str, current_geometry: str) -> dict[str, str]:
    """A map to draw the new trace on; the existing traces are shown for orientation."""
    fmap = base_map(
        tile_sources(),
        _static_base(),
        aria_label=gettext("Map for drawing the trace"),
        release=_release(),
    )
    add_heritage_layer(fmap, _static_base(), _layer_options(fitNorway=True), _release())
    add_draw_control(fmap, _static_base(), field_id, release=_release())
    del current_geometry  # the draw binding reads the hidden field itself after a failed submit
    return _localised(render_parts(fmap))


def area_drawing_map(field_id: str) -> dict[str, str]:
    """A map to draw one area on (a polygon or a box); the traces are shown for orientation."""
    fmap = base_map(
        tile_sources(),
        _static_base(),
        aria_label=gettext("Map for drawing the area"),
        release=_release(),
    )
    add_heritage_layer(fmap, _static_base(), _layer_options(fitNorway=True), _release())
    add_draw_control(fmap, _static_base(), field_id, AREA_SHAPES, _release())
    return _localised(render_parts(fmap))


def detail_map(geometry: BaseGeometry, approximate: bool = False) -> dict[str, str]:
    """A small map of one trace's shape, with no text on it.

    A protected site is drawn as a wide circle around its public point, at a zoom that does
    not pretend a precision it does not have. Building a Folium map took 15 ms of the trace
    page's 26, and the map depends only on the shape, the language and the configuration:
    kept in a bounded cache keyed on exactly those (the shape shown, so a precise map is never
    handed to a viewer of the public point).
    """
    return _localised(
        _detail_parts(
            str(get_locale()), _static_base(), tuple(tile_sources()),
            float(current_app.config["PRIVACY_CELL_METRES"]), geometry.wkb, approximate,
        )
    )  # fmt: skip


@functools.lru_cache(maxsize=512)
def _detail_parts(
    locale: str,
    static_base: str,
    sources: tuple[TileSource, ...],
    cell_metres: float,
    wkb: bytes,
    approximate: bool,
) -> dict[str, str]:
    """detail_map's rendering (gettext answers in `locale`, the request's language)."""
    del locale  # part of the cache key only
    geometry = shapely.wkb.loads(wkb)
    centroid = geometry.representative_point()
    fmap = base_map(
        list(sources),
        static_base,
        location=(centroid.y, centroid.x),
        zoom=13 if approximate else 15,
        aria_label=gettext("Map of where the trace is"),
        height="100%",
        release=_release(),
    )
    if approximate:
        folium.Circle(
            location=(centroid.y, centroid.x),
            radius=cell_metres / 2,
            color="#8a3b12", weight=2, dash_array="6 6", fill=True, fill_opacity=0.12,
        ).add_to(fmap)  # fmt: skip
        return render_parts(fmap)
    folium.GeoJson(
        geometry_to_geojson(geometry),
        style_function=lambda _feature: {"color": "#8a3b12", "weight": 3, "fillOpacity": 0.25},
        marker=folium.CircleMarker(radius=9, color="#8a3b12", fill=True, fill_opacity=0.6),
        control=False,
    ).add_to(fmap)
    if not isinstance(geometry, Point):
        west, south, east, north = geometry.bounds
        fmap.fit_bounds([[south, west], [north, east]], max_zoom=16, padding=(20, 20))
    return render_parts(fmap)
