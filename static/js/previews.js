/*
 * Small preview maps in the moderation queue: the entry's shape (solid) and existing traces
 * within 100 m (dashed). Geometry only, no text (SECURITY.md item 20).
 */
(function () {
  "use strict";
  var configNode = document.getElementById("map-config");
  if (!configNode || typeof L === "undefined") { return; }
  var config = JSON.parse(configNode.textContent);
  document.querySelectorAll(".preview-map[data-geometry]").forEach(function (node) {
    var map = L.map(node, { scrollWheelZoom: false, attributionControl: true });
    L.tileLayer(config.tileUrl, { attribution: config.attribution, maxZoom: config.maxZoom }).addTo(map);
    var entry = L.geoJSON(JSON.parse(node.dataset.geometry), {
      style: { color: "#8a3b12", weight: 3, fillOpacity: 0.3 },
      pointToLayer: function (f, latlng) { return L.circleMarker(latlng, { radius: 8, color: "#8a3b12" }); }
    }).addTo(map);
    var bounds = entry.getBounds();
    JSON.parse(node.dataset.nearby || "[]").forEach(function (text) {
      var other = L.geoJSON(JSON.parse(text), {
        style: { color: "#333", weight: 2, dashArray: "5 5", fillOpacity: 0.1 },
        pointToLayer: function (f, latlng) {
          return L.circleMarker(latlng, { radius: 6, color: "#333", dashArray: "3 3" });
        }
      }).addTo(map);
      bounds.extend(other.getBounds());
    });
    map.fitBounds(bounds.pad(0.5), { maxZoom: 16, animate: false });
  });
})();
