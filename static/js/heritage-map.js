/*
 * Loads traces for the visible part of the map from the JSON endpoint and draws them.
 * User text (titles) is only ever inserted with textContent: never as HTML, never into code
 * (docs/security.md item 20). Folium generates the map; this file adds behaviour to it.
 */
(function () {
  "use strict";

  var STYLE = {
    approved: { color: "#8a3b12", weight: 3, fillColor: "#d9822b", fillOpacity: 0.35 },
    pending: { color: "#4a4a8a", weight: 3, dashArray: "6 5", fillColor: "#8f8fd6", fillOpacity: 0.25 }
  };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function popupFor(props, options) {
    var box = el("div", "trace-popup");
    box.appendChild(el("strong", "trace-popup-title", props.title || ""));
    if (props.status && props.status !== "approved") {
      box.appendChild(el("div", "trace-popup-status", options.labels.pending));
    }
    if (props.approximate) {
      box.appendChild(el("div", "trace-popup-approx", options.labels.approximate));
    }
    var link = el("a", "trace-popup-link", options.labels.open);
    link.href = options.traceUrl + encodeURIComponent(String(props.id));
    box.appendChild(link);
    return box;
  }

  function clusterIcon(count) {
    var size = count < 10 ? 30 : count < 100 ? 36 : count < 1000 ? 42 : 50;
    var div = el("div", "trace-cluster-count", count);
    return L.divIcon({ html: div, className: "trace-cluster", iconSize: [size, size] });
  }

  function status(node, text) {
    if (!node) { return; }
    node.textContent = text || "";
    node.hidden = !text;
  }

  function attach(map, options) {
    var layer = L.featureGroup().addTo(map);
    var statusBox = document.getElementById("map-status");
    var seq = 0;
    var timer = null;

    if (options.fitNorway) {
      map.fitBounds([[57.8, 4.5], [71.2, 31.0]], { animate: false });
    }

    function drawFeatures(collection) {
      layer.clearLayers();
      L.geoJSON(collection, {
        style: function (feature) {
          var status = feature.properties.status;
          return status && status !== "approved" ? STYLE.pending : STYLE.approved;
        },
        pointToLayer: function (feature, latlng) {
          var props = feature.properties;
          if (collection.clustered && props.count > 1) {
            var marker = L.marker(latlng, { icon: clusterIcon(props.count), keyboard: true,
                                            title: props.count + " " + options.labels.traces });
            marker.on("click", function () {
              map.setView(latlng, Math.min(map.getZoom() + 3, options.clusterBelowZoom));
            });
            return marker;
          }
          var style = props.status && props.status !== "approved" ? STYLE.pending : STYLE.approved;
          if (props.approximate) {  // a protected site: a wide, faint circle, not a pin
            return L.circleMarker(latlng, L.extend({}, style, { radius: 16, dashArray: "4 4",
                                                                fillOpacity: 0.15 }));
          }
          return L.circleMarker(latlng, L.extend({ radius: 8 }, style));
        },
        onEachFeature: function (feature, shape) {
          var props = feature.properties;
          if (collection.clustered && props.count > 1) { return; }
          var id = collection.clustered ? props.id : feature.id;
          shape.bindPopup(popupFor({ id: id, title: props.title, status: props.status,
                                     approximate: props.approximate }, options));
          if (shape.setStyle === undefined && shape.options) { shape.options.alt = props.title; }
        }
      }).addTo(layer);
      var note = collection.truncated ? options.labels.truncated : "";
      status(statusBox, note);
      var counter = document.getElementById("map-count");
      if (counter) { counter.textContent = String(collection.count); }
      fillList(collection);
    }

    // The same traces as a list of links: for keyboard and screen-reader users, and for
    // anyone who finds a list easier than markers.
    function fillList(collection) {
      var list = document.getElementById("trace-list");
      var hint = document.getElementById("trace-list-hint");
      if (!list) { return; }
      list.textContent = "";
      var items = collection.features.filter(function (f) {
        return !collection.clustered || f.properties.count === 1;
      });
      var partial = collection.clustered && items.length < collection.count;
      if (hint) { hint.hidden = !partial; }
      items.forEach(function (f) {
        var id = collection.clustered ? f.properties.id : f.id;
        var li = el("li");
        var a = el("a", null, f.properties.title || "");
        a.href = options.traceUrl + encodeURIComponent(String(id));
        li.appendChild(a);
        if (f.properties.status && f.properties.status !== "approved") {
          li.appendChild(el("span", "trace-list-status", " (" + options.labels.pending + ")"));
        }
        list.appendChild(li);
      });
    }

    function load() {
      var bounds = map.getBounds();
      var bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
        .map(function (v) { return v.toFixed(5); }).join(",");
      var url = options.dataUrl + "?bbox=" + bbox + "&zoom=" + map.getZoom();
      var mine = ++seq;
      document.body.setAttribute("data-map-state", "loading");
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (collection) {
          if (mine !== seq) { return; }  // a newer view is already on its way
          drawFeatures(collection);
          document.body.setAttribute("data-map-state", "ready");
        })
        .catch(function () {
          if (mine !== seq) { return; }
          status(statusBox, options.labels.loadFailed);
          document.body.setAttribute("data-map-state", "error");
        });
    }

    map.on("moveend", function () {
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    });
    load();
    window.heritageMap = map;  // for tests and the browser console
    if (options.locate) { bindLocate("locate-button", options); }
    return layer;
  }

  function bindDrawForm(map, drawnItems, fieldId) {
    var field = document.getElementById(fieldId);
    if (!field) { return; }

    function write() {
      var layers = drawnItems.getLayers();
      field.value = layers.length ? JSON.stringify(layers[0].toGeoJSON().geometry) : "";
      field.dispatchEvent(new Event("change", { bubbles: true }));
      var note = document.getElementById("drawn-note");
      if (note) { note.hidden = !layers.length; }
    }

    // After a refused submit the drawn shape comes back in the field: show it again.
    if (field.value) {
      try {
        var restored = L.geoJSON(JSON.parse(field.value));
        restored.eachLayer(function (l) { drawnItems.addLayer(l); });
        map.fitBounds(restored.getBounds(), { maxZoom: 15, animate: false });
      } catch (e) {
        field.value = "";
      }
    }

    map.on(L.Draw.Event.CREATED, function (event) {
      // A trace has one shape: the newest drawing replaces what was there.
      drawnItems.eachLayer(function (l) {
        if (l !== event.layer) { drawnItems.removeLayer(l); }
      });
      if (!drawnItems.hasLayer(event.layer)) { drawnItems.addLayer(event.layer); }
      write();
    });
    map.on(L.Draw.Event.EDITED, write);
    map.on(L.Draw.Event.DELETED, write);
    write();
  }

  // "Use my position": fills the typed-coordinates field from the device's GPS, for residents
  // standing at the find with a phone. Works with the keyboard like any button.
  function bindLocate(buttonId, options) {
    var button = document.getElementById(buttonId);
    if (!button || !navigator.geolocation) { if (button) { button.hidden = true; } return; }
    var note = document.getElementById(buttonId + "-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      status(note, options.labels.locating);
      navigator.geolocation.getCurrentPosition(function (pos) {
        var lat = pos.coords.latitude.toFixed(6), lon = pos.coords.longitude.toFixed(6);
        document.getElementById("coord_system").value = "wgs84";
        document.getElementById("coord_shape-0").checked = true;
        var field = document.getElementById("coordinates");
        field.value = lat + ", " + lon;
        var details = field.closest("details");
        if (details) { details.open = true; }
        status(note, options.labels.located + " " + lat + ", " + lon +
               " (± " + Math.round(pos.coords.accuracy) + " m)");
        if (window.heritageMap) { window.heritageMap.setView([lat, lon], 16, { animate: false }); }
      }, function () {
        status(note, options.labels.locateFailed);
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });
  }

  window.HeritageMap = { attach: attach, bindDrawForm: bindDrawForm, bindLocate: bindLocate };
})();
