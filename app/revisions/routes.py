"""The history of a trace: every revision, what it changed, and a map before and after.

Editing and reverting live with the trace (app/traces/edit_routes.py); this package only reads.
"""

from __future__ import annotations

import re

import folium
from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from app import events
from app.access import can_edit, can_revert, can_view, viewer_of
from app.errors import DomainError, NotFound
from app.maps import tile_sources
from app.models import Trace, User
from app.revisions import queries
from app.revisions.diff import same_geometry
from app.traces import queries as trace_queries
from geo.geojson import geometry_to_geojson
from geo.maps import base_map, render_parts

bp = Blueprint("revisions", __name__, url_prefix="/traces")

BEFORE_STYLE = {"color": "#4a4a4a", "weight": 3, "dashArray": "8 6", "fillOpacity": 0.1}
AFTER_STYLE = {"color": "#8a3b12", "weight": 3, "fillOpacity": 0.25}
# The trace page's zoom for a protected site: no closer than the cell is wide.
APPROXIMATE_ZOOM = 13
VERSION_ARG = re.compile(r"-?[0-9]{1,30}")


@bp.get("/<int:trace_id>/history")
def history(trace_id: int) -> str:
    """Every revision, newest first, with what it changed; ?version=N compares N with N-1.

    Each version is shown as this viewer may see the trace (queries.audience): a protected
    place only as its generalised point, in every version.
    """
    viewer = viewer_of(current_user)
    trace = _visible_trace(trace_id, viewer)
    locale = str(get_locale())
    selected = _version_arg()
    audience = queries.audience(viewer, trace)
    detail = page_map = None
    if selected is not None:
        detail = queries.revision_detail(trace.id, selected, locale, audience)
        if detail is None:
            abort(404)
        if detail.approximate:
            page_map = _approximate_map(detail.previous_geometry, detail.geometry)
        else:
            page_map = _comparison_map(detail.previous_geometry, detail.geometry)
    return render_template(
        "revisions/history.html",
        trace=trace,
        history=queries.history(trace.id, locale, audience),
        detail=detail,
        page_map=page_map,
        may_revert=can_revert(viewer, trace),
        may_edit=can_edit(viewer, trace),
        cell_metres=current_app.config["PRIVACY_CELL_METRES"],
    )


@bp.app_template_global("merged_status")
def merged_status(trace: Trace) -> events.Rendered:
    """A merged duplicate's status for the viewer: "Merged with «original»" (traces/_status)."""
    return events.merged_status(trace, viewer_of(current_user))


def _visible_trace(trace_id: int, viewer: User | None) -> Trace:
    """The trace, or 404 when it does not exist or the viewer may not see it (same answer)."""
    trace = trace_queries.get_trace(trace_id)
    if trace is None or not can_view(viewer, trace):
        abort(404)
    return trace


def _version_arg() -> int | None:
    """?version=N: absent is none; not a whole number is a 400; out of range is no version."""
    raw = request.args.get("version")
    if raw is None or raw == "":
        return None
    if not VERSION_ARG.fullmatch(raw):
        raise DomainError(gettext("The version must be a whole number, such as 2."))
    version = int(raw)
    if not 0 < version <= queries.VERSION_MAX:
        raise NotFound(gettext("No such version of this trace."))
    return version


def _comparison_map(before: BaseGeometry | None, after: BaseGeometry) -> dict[str, str]:
    """The shape before (dashed) and after (solid) a revision; no text on the map (item 20)."""
    everything = unary_union([g for g in (before, after) if g is not None])
    centre = everything.representative_point()
    fmap = base_map(
        tile_sources(),
        url_for("static", filename="").rstrip("/"),
        location=(centre.y, centre.x),
        zoom=15,
        aria_label=gettext("Map of the place before and after this version"),
        release=current_app.config["RELEASE"],
    )
    if before is not None and not same_geometry(before, after):
        _add_shape(fmap, before, BEFORE_STYLE)
    _add_shape(fmap, after, AFTER_STYLE)
    if not isinstance(everything, Point):
        west, south, east, north = everything.bounds
        fmap.fit_bounds([[south, west], [north, east]], max_zoom=16, padding=(20, 20))
    return render_parts(fmap)


def _approximate_map(before: BaseGeometry | None, after: BaseGeometry) -> dict[str, str]:
    """The generalised points before (dashed) and after (solid), as wide circles.

    Only the public points enter the page: the centre, the zoom and the extent come from them,
    so the map reveals nothing finer than the cell.
    """
    radius = current_app.config["PRIVACY_CELL_METRES"] / 2
    fmap = base_map(
        tile_sources(),
        url_for("static", filename="").rstrip("/"),
        location=(after.y, after.x),
        zoom=APPROXIMATE_ZOOM,
        aria_label=gettext("Map of the approximate place before and after this version"),
        release=current_app.config["RELEASE"],
    )
    moved = before is not None and not same_geometry(before, after)
    if moved:
        _add_circle(fmap, before, radius, BEFORE_STYLE)
    _add_circle(fmap, after, radius, AFTER_STYLE)
    if moved:
        west, south, east, north = unary_union([before, after]).bounds
        fmap.fit_bounds([[south, west], [north, east]], max_zoom=APPROXIMATE_ZOOM, padding=(40, 40))
    return render_parts(fmap)


def _add_circle(
    fmap: folium.Map, point: BaseGeometry, radius: float, style: dict[str, object]
) -> None:
    folium.Circle(
        location=(point.y, point.x),
        radius=radius,
        weight=2,
        fill=True,
        fill_opacity=0.12,
        **_marker(style),
    ).add_to(fmap)


def _add_shape(fmap: folium.Map, geometry: BaseGeometry, style: dict[str, object]) -> None:
    folium.GeoJson(
        geometry_to_geojson(geometry),
        style_function=lambda _feature: style,
        marker=folium.CircleMarker(radius=9, fill=True, fill_opacity=0.5, **_marker(style)),
        control=False,
    ).add_to(fmap)


def _marker(style: dict[str, object]) -> dict[str, object]:
    options: dict[str, object] = {"color": style["color"]}
    if "dashArray" in style:
        options["dash_array"] = style["dashArray"]
    return options
