/*
 * The new-trace (and edit) form's map: where it opens, "Use my position" with a draggable
 * marker and its accuracy circle, one tap to place a point, and the project chosen from the
 * place (GET /api/where). The hidden #geometry field, written by HeritageMap.bindDrawForm, stays
 * the one source of truth: every point placed here goes through Leaflet.draw's CREATED and
 * EDITED events, so the field, the drawn-note and "one shape per trace" behave as when drawing.
 * Text is only ever set with textContent (docs/security.md item 20).
 *
 * For the photos and the offline draft, the page exposes
 *   window.heritageNewTrace = {
 *     geometry(): the GeoJSON geometry in the form (or null),
 *     restore(geojson): put a geometry back on the map and in the form (null clears it),
 *     setPoint(lat, lon, accuracyMetres): place the draggable point as a tap or "Use my
 *       position" does (with the accuracy circle when accuracyMetres is given), zoom there
 *       and ask /api/where for the project, as a tap does.
 *   }
 * Calls made before the map is ready wait for it; body[data-new-trace=ready] says it is.
 */
(function () {
  "use strict";

  var config = document.getElementById("new-trace-config");
  if (!config) { return; }
  var labels = readJson("data-labels");
  var areas = readJson("data-project-areas");
  var whereUrl = config.getAttribute("data-where-url");
  var field = document.getElementById("geometry");
  var viewField = document.getElementById("map-view");
  var button = document.getElementById("use-position");
  var note = document.getElementById("use-position-status");
  var select = document.getElementById("project");
  if (select && select.tagName !== "SELECT") { select = null; }  // the edit form shows text
  var explicit = document.getElementById("project_explicit");
  var placeText = document.getElementById("project-place-text");
  var switchButton = document.getElementById("project-switch");
  var confirmBox = document.getElementById("confirm-outside");
  var POOR_ACCURACY = 100;  // metres
  var map = null, point = null, accuracy = null, busy = false, lastWhere = null, whereSeq = 0;
  var drawnGroup = null, waiting = [];

  function readJson(name) {
    try { return JSON.parse(config.getAttribute(name) || "{}"); } catch (e) { return {}; }
  }

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (all, key) {
      return values[key] !== undefined ? String(values[key]) : all;
    });
  }

  function say(text, kind) {
    if (!note) { return; }
    note.textContent = text || "";
    note.className = "locate-status" + (kind ? " " + kind : "");
  }

  function parseAt(raw) {
    var parts = String(raw || "").split("/").map(Number);
    if (parts.length !== 3 || parts.some(function (v) { return !isFinite(v); })) { return null; }
    return { zoom: parts[0], lat: parts[1], lon: parts[2] };
  }

  function geometryValue() {
    try { return field && field.value ? JSON.parse(field.value) : null; } catch (e) { return null; }
  }

  // --- Where the map opens ------------------------------------------------------------------

  function fitArea(slug) {
    var box = areas[slug];
    if (!box) { return false; }
    map.fitBounds([[box[0], box[1]], [box[2], box[3]]], { animate: false, maxZoom: 14 });
    return true;
  }

  function openView() {
    if (geometryValue()) { return; }  // bindDrawForm has fitted the shape that came back
    var at = parseAt(config.getAttribute("data-at"));
    // A carried view at country scale says little; a project's area or the position says more.
    if (at && at.zoom >= 7) { map.setView([at.lat, at.lon], at.zoom, { animate: false }); return; }
    if (select && select.value && fitArea(select.value)) { return; }
    if (at) { map.setView([at.lat, at.lon], at.zoom, { animate: false }); }
    if (!navigator.geolocation) { return; }
    var ask = function () {
      navigator.geolocation.getCurrentPosition(function (pos) {
        if (geometryValue() || moved) { return; }  // the resident got there first
        map.setView([pos.coords.latitude, pos.coords.longitude], 14, { animate: false });
      }, function () { /* silence: "Use my position" explains refusals when asked for */ },
      { enableHighAccuracy: false, timeout: 10000, maximumAge: 300000 });
    };
    var moved = false;
    map.once("dragstart zoomstart", function () { moved = true; });
    if (navigator.permissions && navigator.permissions.query) {
      navigator.permissions.query({ name: "geolocation" }).then(function (state) {
        if (state.state !== "denied") { ask(); }
      }, ask);
    } else {
      ask();
    }
  }

  function keepView() {
    if (!viewField) { return; }
    var c = map.getCenter();
    viewField.value = map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5);
  }

  // --- The point: placed by a tap or by the position, dragged to correct it ----------------

  function makeDraggable(marker) {
    if (marker.dragging) { marker.dragging.enable(); }
    if (marker._heritageDrag) { return; }
    marker._heritageDrag = true;
    marker.on("dragend", function () {
      // bindDrawForm writes the field on EDITED: the same path as Leaflet.draw's edit tool.
      map.fire(L.Draw.Event.EDITED, { layers: L.layerGroup([marker]) });
    });
  }

  function placePoint(latlng) {
    var marker = L.marker(latlng, { draggable: true, autoPan: true, keyboard: true,
                                    title: labels.point, alt: labels.point });
    map.fire(L.Draw.Event.CREATED, { layer: marker, layerType: "marker" });
    return marker;
  }

  function onCreated(event) {
    if (accuracy && event.layer !== point) { map.removeLayer(accuracy); accuracy = null; }
    if (!drawnGroup) {
      map.eachLayer(function (layer) {
        if (!drawnGroup && layer instanceof L.FeatureGroup && layer.hasLayer(event.layer)) {
          drawnGroup = layer;
        }
      });
    }
    point = event.layer instanceof L.Marker ? event.layer : null;
    if (point) { makeDraggable(point); }
  }

  function onTap(event) {
    if (busy || geometryValue()) { return; }  // one tap places a point only on an empty map
    var target = event.originalEvent && event.originalEvent.target;
    if (target && target.closest && target.closest(".leaflet-interactive, .leaflet-control")) {
      return;  // a trace on the map or a control, not the ground
    }
    placePoint(event.latlng);
    var ll = event.latlng;
    say(fill(labels.placed, { lat: ll.lat.toFixed(5), lon: ll.lng.toFixed(5) }));
  }

  // A point with the circle of its accuracy, as a position from the phone or a photo gives.
  function showPosition(ll, metres) {
    if (accuracy) { map.removeLayer(accuracy); accuracy = null; }
    point = placePoint(ll);
    if (metres) {
      accuracy = L.circle(ll, { radius: metres, color: "#1f5fbf", weight: 2, fillColor: "#3b82f6",
                                fillOpacity: 0.12, interactive: false }).addTo(map);
      map.fitBounds(accuracy.getBounds(), { maxZoom: 17, animate: false, padding: [20, 20] });
    } else {
      map.setView(ll, Math.max(map.getZoom(), 16), { animate: false });
    }
  }

  function usePosition() {
    if (!navigator.geolocation) { return; }
    say(labels.locating);
    navigator.geolocation.getCurrentPosition(function (pos) {
      var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
      var metres = Math.max(1, Math.round(pos.coords.accuracy || 0));
      showPosition(ll, metres);
      if (metres > POOR_ACCURACY) {
        say(fill(labels.poorAccuracy, { n: metres }), "warning");
      } else {
        say(fill(labels.located, { n: metres }), "ok");
      }
    }, function (error) {
      var key = { 1: "denied", 2: "unavailable", 3: "timeout" }[error && error.code] || "unavailable";
      say(labels[key], "warning");
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
  }

  // --- The API for the photos and the offline draft ---------------------------------------

  // The group Leaflet.draw keeps the shape in (Folium names it drawnItems_<draw>).
  function findDrawnGroup() {
    if (drawnGroup) { return drawnGroup; }
    Object.keys(window).forEach(function (key) {
      if (!drawnGroup && key.indexOf("drawnItems_") === 0 && window[key] instanceof L.FeatureGroup) {
        drawnGroup = window[key];
      }
    });
    return drawnGroup;
  }

  function clearShape() {
    var group = findDrawnGroup();
    if (accuracy) { map.removeLayer(accuracy); accuracy = null; }
    point = null;
    if (!group || !group.getLayers().length) { return; }
    var gone = L.layerGroup(group.getLayers());
    group.clearLayers();
    map.fire(L.Draw.Event.DELETED, { layers: gone });  // bindDrawForm empties the field
  }

  function restoreShape(geojson) {
    if (!geojson || !geojson.type) { clearShape(); return; }
    if (geojson.type === "Point" && geojson.coordinates) {
      showPosition(L.latLng(geojson.coordinates[1], geojson.coordinates[0]), 0);
      return;
    }
    var layer = null;
    L.geoJSON(geojson).eachLayer(function (l) { if (!layer) { layer = l; } });
    if (!layer) { return; }
    if (accuracy) { map.removeLayer(accuracy); accuracy = null; }
    map.fire(L.Draw.Event.CREATED, { layer: layer,
                                     layerType: layer instanceof L.Polygon ? "polygon" : "polyline" });
    map.fitBounds(layer.getBounds(), { maxZoom: 15, animate: false });
  }

  function setPoint(lat, lon, metres) {
    lat = Number(lat); lon = Number(lon);
    if (!isFinite(lat) || !isFinite(lon)) { return; }
    var m = Number(metres);
    showPosition(L.latLng(lat, lon), isFinite(m) && m > 0 ? Math.max(1, Math.round(m)) : 0);
    say(fill(labels.placed, { lat: lat.toFixed(5), lon: lon.toFixed(5) }));
  }

  // Until the map is there, calls wait in line.
  function whenReady(fn) {
    return function () {
      var args = arguments;
      if (map) { return fn.apply(null, args); }
      waiting.push(function () { fn.apply(null, args); });
    };
  }

  window.heritageNewTrace = {
    geometry: function () { return geometryValue(); },
    restore: whenReady(restoreShape),
    setPoint: whenReady(setPoint)
  };

  // --- The project chosen from the place ----------------------------------------------------

  function representative(geometry) {
    var c = geometry && geometry.coordinates;
    if (!c) { return null; }
    if (geometry.type === "Point") { return c; }
    var box = L.geoJSON(geometry).getBounds();
    return box.isValid() ? [box.getCenter().lng, box.getCenter().lat] : null;
  }

  function projectName(slug) {
    if (!select) { return slug; }
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === slug) { return select.options[i].textContent; }
    }
    return slug;
  }

  function showPlacement(text, target, warning) {
    if (placeText) { placeText.textContent = text || ""; }
    var box = document.getElementById("project-place");
    if (box) { box.className = "placement" + (warning ? " warning" : ""); }
    if (switchButton) {
      switchButton.hidden = !target;
      if (target) {
        switchButton.textContent = fill(labels["switch"], { project: target.name });
        switchButton.setAttribute("data-slug", target.slug);
      }
    }
  }

  function judge() {
    if (!select || !lastWhere) { return; }
    var holders = lastWhere.filter(function (p) { return p.contains; });
    var isExplicit = explicit && explicit.value === "1";
    if (!isExplicit) {
      if (holders.length) {
        select.value = holders[0].slug;
        showPlacement(fill(labels.chosen, { project: holders[0].name }), null);
      } else {
        showPlacement("", null);
      }
      if (confirmBox) { confirmBox.hidden = true; }
      return;
    }
    var chosen = lastWhere.filter(function (p) { return p.slug === select.value; })[0];
    var outside = chosen && chosen.has_area && !chosen.contains;
    if (!outside) {
      showPlacement("", null);
      if (confirmBox) {
        confirmBox.hidden = true;
        var box = confirmBox.querySelector("input");
        if (box) { box.checked = false; }
      }
      return;
    }
    var text = fill(labels.outside, { project: projectName(select.value) }) + " " +
      (holders.length ? fill(labels.liesIn, { project: holders.map(function (p) { return p.name; })
        .join(", ") }) : labels.noneCovers);
    showPlacement(text, holders[0] || null, true);
    if (confirmBox) { confirmBox.hidden = false; }
  }

  function askWhere() {
    var spot = representative(geometryValue());
    if (!spot || !whereUrl || !select) { return; }
    var mine = ++whereSeq;
    var url = whereUrl + "?lon=" + spot[0].toFixed(6) + "&lat=" + spot[1].toFixed(6);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (body) {
        if (mine !== whereSeq) { return; }
        lastWhere = body.projects || [];
        judge();
        document.body.setAttribute("data-where-state", "ready");
      })
      .catch(function () { /* the server checks the place again on submit */ });
  }

  // --- Wiring ---------------------------------------------------------------------------

  function start() {
    map = window.heritageMap;
    openView();
    keepView();
    map.on("moveend", keepView);
    // A shape that came back after a refused submit: make its point draggable too.
    map.eachLayer(function (layer) {
      if (layer instanceof L.Marker && !(layer.options.icon instanceof L.DivIcon) &&
          geometryValue() && geometryValue().type === "Point") {
        point = layer;
        makeDraggable(layer);
      }
    });
    map.on(L.Draw.Event.CREATED, onCreated);
    map.on("draw:drawstart draw:editstart draw:deletestart", function () { busy = true; });
    map.on("draw:drawstop draw:editstop draw:deletestop", function () {
      // The click that finishes a drawing arrives after drawstop: let it pass first.
      setTimeout(function () { busy = false; }, 400);
      if (point && map.hasLayer(point)) { makeDraggable(point); }  // the edit tool froze it
    });
    map.on("click", onTap);
    if (button && navigator.geolocation) {
      button.hidden = false;
      button.addEventListener("click", usePosition);
    }
    if (field) { field.addEventListener("change", askWhere); }
    if (select) {
      select.addEventListener("change", function () {
        if (explicit) { explicit.value = "1"; }
        if (!geometryValue()) { fitArea(select.value); }
        judge();
      });
    }
    if (switchButton) {
      switchButton.addEventListener("click", function () {
        select.value = switchButton.getAttribute("data-slug");
        if (explicit) { explicit.value = "1"; }
        judge();
        select.focus();
      });
    }
    askWhere();
    waiting.splice(0).forEach(function (call) { call(); });
    document.body.setAttribute("data-new-trace", "ready");
  }

  var tries = 0;
  (function wait() {
    if (window.heritageMap && window.L && L.Draw) { start(); return; }
    if (++tries < 100) { setTimeout(wait, 50); }
  })();
})();
