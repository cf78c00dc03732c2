/*
 * Small preview maps in the moderation queue: the entry's shape (solid) and existing traces
 * within 100 m (dashed). Geometry only, no text (docs/security.md).
 *
 * Each map is drawn on its own: an entry whose data cannot be read gets a short note instead
 * of a map, and the entries after it still get theirs. Maps are created only when shown: the
 * queue calls window.heritagePreviews.drawIn(part) when a row is opened (static/js/queue.js);
 * an entry's own page has its map drawn at load.
 */
(function () {
  "use strict";
  var configNode = document.getElementById("map-config");
  if (!configNode || typeof L === "undefined") { return; }
  var config = JSON.parse(configNode.textContent);

  var ENTRY = { color: "#8a3b12", weight: 3, fillOpacity: 0.3 };
  var NEARBY = { color: "#333", weight: 2, dashArray: "5 5", fillOpacity: 0.1 };

  function layer(geometry, style, radius) {
    return L.geoJSON(geometry, {
      style: style,
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {
          radius: radius, color: style.color, dashArray: style.dashArray
        });
      }
    });
  }

  function nearbyGeometries(node) {
    var list = JSON.parse(node.getAttribute("data-nearby") || "[]");
    return Array.isArray(list) ? list : [];
  }

  function draw(node) {
    var geometry = JSON.parse(node.getAttribute("data-geometry"));
    var map = L.map(node, { scrollWheelZoom: false, attributionControl: true });
    L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: config.maxZoom })
      .addTo(map);
    var entry = layer(geometry, ENTRY, 8).addTo(map);
    var bounds = entry.getBounds();
    nearbyGeometries(node).forEach(function (item) {
      // One unreadable neighbour must not cost the entry its map.
      try {
        var other = layer(typeof item === "string" ? JSON.parse(item) : item, NEARBY, 6);
        other.addTo(map);
        bounds.extend(other.getBounds());
      } catch (error) {
        console.warn("preview map: a nearby trace could not be drawn", error);
      }
    });
    map.fitBounds(bounds.pad(0.5), { maxZoom: 16, animate: false });
    node.setAttribute("data-drawn", "true");
  }

  function drawIn(container) {
    container.querySelectorAll(".preview-map[data-geometry]:not([data-drawn])").forEach(function (node) {
      if (node.closest("details:not([open])")) { return; }  // drawn when its row is opened
      try {
        draw(node);
      } catch (error) {
        console.error("preview map could not be drawn", error);
        node.setAttribute("data-drawn", "failed");
        node.classList.add("preview-map-failed");
        node.textContent = node.getAttribute("data-failed-text") || "";
      }
    });
  }

  window.heritagePreviews = { drawIn: drawIn };
  drawIn(document);
})();
