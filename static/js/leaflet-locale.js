/*
 * Leaflet and Leaflet.draw in the page's language: their built-in English ("Zoom in",
 * "Draw a marker", "Finish", "Error: shape edges cannot cross!"...) is replaced by the strings
 * the server translated from our catalog (app/maps.py: leaflet_locale), read from this
 * script element's data-strings attribute (JSON). Loaded after leaflet.js
 * and leaflet.draw.js and before the map script, so every control is built in the language.
 * No inline script: the page keeps one (the nonce'd map script).
 */
(function () {
  "use strict";

  var source = document.currentScript;
  if (!source || typeof L === "undefined") { return; }
  var t;
  try { t = JSON.parse(source.getAttribute("data-strings") || ""); } catch (e) { return; }

  // Copies the translated leaves over the English ones, keeping any key we do not know.
  function merge(target, from) {
    Object.keys(from).forEach(function (key) {
      if (from[key] && typeof from[key] === "object" && target[key] && typeof target[key] === "object") {
        merge(target[key], from[key]);
      } else if (typeof from[key] === "string") {
        target[key] = from[key];
      }
    });
  }

  L.Control.Zoom.prototype.options.zoomInTitle = t.zoomIn;
  L.Control.Zoom.prototype.options.zoomOutTitle = t.zoomOut;
  // The library's name without its English tooltip.
  var prefix = document.createElement("a");
  prefix.href = "https://leafletjs.com";
  prefix.title = t.leafletTitle;
  prefix.textContent = "Leaflet";
  L.Control.Attribution.prototype.options.prefix = prefix.outerHTML;
  L.Marker.prototype.options.alt = t.marker;

  // Titles Leaflet writes into the page itself when a control or popup is laid out.
  var layersLayout = L.Control.Layers.prototype._initLayout;
  L.Control.Layers.prototype._initLayout = function () {
    layersLayout.apply(this, arguments);
    if (this._layersLink) {
      this._layersLink.title = t.layers;
      this._layersLink.setAttribute("aria-label", t.layers);
    }
  };
  var popupLayout = L.Popup.prototype._initLayout;
  L.Popup.prototype._initLayout = function () {
    popupLayout.apply(this, arguments);
    if (this._closeButton) { this._closeButton.setAttribute("aria-label", t.closePopup); }
  };

  if (L.drawLocal && t.draw) { merge(L.drawLocal, t.draw); }
}());
