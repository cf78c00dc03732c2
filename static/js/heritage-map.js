/*
 * Loads traces for the visible part of the map and draws them.
 * Below clusterBelowZoom the data comes as tile-aligned clusters (/api/map/tiles/z/x/y), which a
 * proxy or CDN can cache and which are kept here too, so panning back is instant; at and above it,
 * the traces in the view come from /api/map?bbox=.
 * On the front page (syncUrl) the view and the filters live in the address, so a view can be
 * shared, bookmarked and restored with the back button.
 * User text (titles) is only ever inserted with textContent: never as HTML, never into code
 * (docs/security.md item 20). Folium generates the map; this file adds behaviour to it.
 */
(function () {
  "use strict";

  var DEFAULT_COLOUR = "#8a3b12";
  var DARK = "#1d1d1b";
  var FILTERS = ["type", "period", "project"];
  var MAX_LAT = 85.0511287798;
  var TILE_CACHE_SIZE = 400;
  var TILE_CACHE_MS = 5 * 60 * 1000;
  var tileCache = new Map();  // "filters|z/x/y" -> {time, promise}; shared by the page's maps

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // What the page says about trace types: their family colour (legend) and label (filter).
  function readTypes() {
    var colours = {}, types = {};
    document.querySelectorAll("#map-legend [data-family][data-colour]").forEach(function (li) {
      colours[li.getAttribute("data-family")] = li.getAttribute("data-colour");
    });
    document.querySelectorAll("#filter-type option[data-family]").forEach(function (option) {
      types[option.value] = { colour: colours[option.getAttribute("data-family")],
                              label: option.textContent };
    });
    return { colours: colours, types: types };
  }

  function colourOf(code, known) {
    var type = code && known.types[code];
    return (type && type.colour) || known.colours.other || DEFAULT_COLOUR;
  }

  // Shapes take their type's colour; a point is a coloured dot with a dark ring. Waiting for
  // approval: dashed. Protected: a wide faint circle, not a pin.
  function styleFor(props, isPoint, known) {
    var colour = colourOf(props.type, known);
    var pending = props.status && props.status !== "approved";
    if (props.approximate) {
      return { radius: 16, color: colour, weight: 2, dashArray: "4 4", fillColor: colour,
               fillOpacity: 0.2 };
    }
    if (isPoint) {
      // Waiting: the same colour (a paler one would read as another family), a dashed ring.
      return { radius: 8, color: DARK, weight: pending ? 2.5 : 2, fillColor: colour,
               fillOpacity: 0.9, dashArray: pending ? "3 3" : null };
    }
    return { color: colour, weight: 4, opacity: 0.95, fillColor: colour,
             fillOpacity: pending ? 0.12 : 0.3, dashArray: pending ? "6 5" : null };
  }

  // A trace's first public photo (from the map data: src, width, height, alt) as a small,
  // lazily loaded image with its caption as text alternative; null when there is none. The
  // address must be one of ours (/photos/<id>/thumb), never a URL from elsewhere.
  function thumbnail(photo, width, fallbackAlt, className) {
    if (!photo || typeof photo.src !== "string" || !/^\/photos\/\d+\/thumb$/.test(photo.src)) {
      return null;
    }
    var img = document.createElement("img");
    img.className = className;
    img.src = photo.src;
    img.alt = photo.alt || fallbackAlt || "";
    img.loading = "lazy";
    img.decoding = "async";
    var w = Number(photo.width) || width, h = Number(photo.height) || width;
    img.width = width;
    img.height = Math.max(1, Math.round(width * h / w));
    return img;
  }

  function popupFor(props, options, known) {
    var box = el("div", "trace-popup");
    var picture = thumbnail(props.photo, 160, props.title, "trace-popup-photo");
    if (picture) {
      picture.style.display = "block";
      picture.style.marginBottom = "0.4rem";
      picture.style.borderRadius = "3px";
      box.appendChild(picture);
    }
    box.appendChild(el("strong", "trace-popup-title", props.title || ""));
    var type = props.type && known.types[props.type];
    if (type) { box.appendChild(el("div", "trace-popup-type", type.label)); }
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

  // -- Tiles ------------------------------------------------------------------------------------

  function lonToTileX(lon, n) { return Math.floor((lon + 180) / 360 * n); }

  function latToTileY(lat, n) {
    var clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
    var rad = clamped * Math.PI / 180;
    return Math.floor((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2 * n);
  }

  // The z/x/y tiles covering a view: x wraps round the globe, y outside the world is skipped.
  function tilesFor(bounds, z) {
    var n = Math.pow(2, z);
    var x0 = lonToTileX(bounds.getWest(), n), x1 = lonToTileX(bounds.getEast() - 1e-9, n);
    if (x1 - x0 + 1 >= n) { x0 = 0; x1 = n - 1; }
    var y0 = latToTileY(bounds.getNorth(), n), y1 = latToTileY(bounds.getSouth(), n);
    var tiles = [], seen = {};
    for (var x = x0; x <= x1; x++) {
      var wx = ((x % n) + n) % n;
      for (var y = Math.max(0, y0); y <= Math.min(n - 1, y1); y++) {
        var key = z + "/" + wx + "/" + y;
        if (!seen[key]) { seen[key] = true; tiles.push(key); }
      }
    }
    return tiles;
  }

  // A signed-in visitor's tiles include their own pending traces: never take a public tile
  // the browser cached before they logged in.
  function fetchJson(url) {
    var signedIn = document.body.hasAttribute("data-signed-in");
    return fetch(url, { credentials: "same-origin", cache: signedIn ? "no-store" : "default",
                        headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      });
  }

  function fetchTile(base, key, query, maxAgeMs) {
    var cacheKey = query + "|" + key;
    var hit = tileCache.get(cacheKey);
    if (hit && Date.now() - hit.time < Math.min(maxAgeMs === undefined ? TILE_CACHE_MS : maxAgeMs, TILE_CACHE_MS)) {
      return hit.promise;
    }
    var promise = fetchJson(base + key + (query ? "?" + query : ""));
    promise.catch(function () { tileCache.delete(cacheKey); });
    tileCache.delete(cacheKey);
    tileCache.set(cacheKey, { time: Date.now(), promise: promise });
    while (tileCache.size > TILE_CACHE_SIZE) { tileCache.delete(tileCache.keys().next().value); }
    return promise;
  }

  // The tiles' clusters as one collection; the count is what lies inside the view.
  function mergeTiles(parts, bounds) {
    var features = [], count = 0;
    parts.forEach(function (part) {
      (part.features || []).forEach(function (f) {
        features.push(f);
        var c = f.geometry.coordinates;
        if (bounds.contains([c[1], c[0]])) { count += f.properties.count || 1; }
      });
    });
    return { type: "FeatureCollection", features: features, clustered: true, truncated: false,
             count: count };
  }

  // -- Address: view and filters ------------------------------------------------------------------

  function parseView(text) {
    var parts = (text || "").split("/");
    if (parts.length !== 3) { return null; }
    var z = parseInt(parts[0], 10), lat = parseFloat(parts[1]), lon = parseFloat(parts[2]);
    if (!isFinite(z) || !isFinite(lat) || !isFinite(lon) || z < 0 || z > 22 ||
        Math.abs(lat) > 90 || Math.abs(lon) > 180) { return null; }
    return { zoom: z, center: [lat, lon] };
  }

  function viewFromAddress() {
    var hashed = parseView(window.location.hash.replace(/^#/, ""));
    if (hashed) { return hashed; }
    return parseView(new URLSearchParams(window.location.search).get("at"));
  }

  function viewText(map) {
    var z = Math.round(map.getZoom()), c = map.getCenter().wrap();
    var digits = Math.max(2, Math.ceil(z * 0.3));  // about a metre's worth at z14+
    return z + "/" + parseFloat(c.lat.toFixed(digits)) + "/" + parseFloat(c.lng.toFixed(digits));
  }

  function attach(map, options) {
    var layer = L.featureGroup().addTo(map);
    var statusBox = document.getElementById("map-status");
    var form = options.syncUrl ? document.getElementById("map-filter-form") : null;
    var known = readTypes();
    var tileUrl = options.tileUrl || options.dataUrl + "/tiles/";
    var seq = 0;
    var timer = null;
    var focusList = false;

    var legend = document.getElementById("map-legend");
    if (legend && window.matchMedia && window.matchMedia("(max-width: 40rem)").matches) {
      legend.open = false;  // on a phone the legend is a button until asked for
    }

    var start = options.syncUrl ? viewFromAddress() : null;
    if (start) {
      map.setView(start.center, start.zoom, { animate: false });
    } else if (options.fitNorway) {
      map.fitBounds([[57.8, 4.5], [71.2, 31.0]], { animate: false });
    }

    function filters() {
      var chosen = {};
      if (!form) { return chosen; }
      FILTERS.forEach(function (name) {
        var field = form.elements[name];
        if (field && field.value) { chosen[name] = field.value; }
      });
      return chosen;
    }

    function filterQuery() {
      var chosen = filters(), params = new URLSearchParams();
      FILTERS.forEach(function (name) { if (chosen[name]) { params.set(name, chosen[name]); } });
      return params.toString();
    }

    // "Add a trace" opens the new-trace map on this view (and in the chosen project).
    function updateAddLinks() {
      var project = filters().project;
      document.querySelectorAll("a[data-add-trace]").forEach(function (link) {
        var path = link.pathname;
        link.href = path + "?at=" + viewText(map) +
          (project ? "&project=" + encodeURIComponent(project) : "");
      });
    }

    function writeAddress(push) {
      if (!options.syncUrl || !window.history) { return; }
      var query = filterQuery();
      var url = window.location.pathname + (query ? "?" + query : "") + "#" + viewText(map);
      if (url === window.location.pathname + window.location.search + window.location.hash) {
        return;
      }
      if (push) { window.history.pushState(null, "", url); }
      else { window.history.replaceState(null, "", url); }
    }

    function showFilterState() {
      var active = Object.keys(filters()).length;
      var counter = document.getElementById("map-filter-count");
      if (counter) { counter.textContent = " (" + active + ")"; counter.hidden = !active; }
      var clear = document.getElementById("map-filter-clear");
      if (clear) { clear.hidden = !active; }
    }

    function drawFeatures(collection) {
      layer.clearLayers();
      L.geoJSON(collection, {
        // Leaflet applies this to the points' circles too: they keep their point style.
        style: function (feature) {
          var isPoint = feature.geometry && /Point$/.test(feature.geometry.type);
          return styleFor(feature.properties, isPoint, known);
        },
        pointToLayer: function (feature, latlng) {
          var props = feature.properties;
          if (collection.clustered && props.count > 1) {
            var marker = L.marker(latlng, { icon: clusterIcon(props.count), keyboard: true,
                                            title: areaLabel(props, latlng) });
            marker.on("click", function () {
              map.setView(latlng, Math.min(map.getZoom() + 3, options.clusterBelowZoom));
            });
            return marker;
          }
          return L.circleMarker(latlng, styleFor(props, true, known));
        },
        onEachFeature: function (feature, shape) {
          var props = feature.properties;
          if (collection.clustered && props.count > 1) { return; }
          var id = collection.clustered ? props.id : feature.id;
          shape.bindPopup(popupFor({ id: id, title: props.title, status: props.status,
                                     type: props.type, approximate: props.approximate,
                                     photo: props.photo },
                                   options, known));
        }
      }).addTo(layer);
      var note = collection.truncated ? options.labels.truncated : "";
      status(statusBox, note);
      var counter = document.getElementById("map-count");
      if (counter) { counter.textContent = String(collection.count); }
      fillList(collection);
    }

    function areaName(props, latlng) {
      if (props.place) { return props.place; }
      return Math.abs(latlng.lat).toFixed(2) + "° " +
        (latlng.lat >= 0 ? options.labels.north : options.labels.south) + ", " +
        Math.abs(latlng.lng).toFixed(2) + "° " +
        (latlng.lng >= 0 ? options.labels.east : options.labels.west);
    }

    function areaLabel(props, latlng) {
      return options.labels.area.replace("{name}", areaName(props, latlng))
        .replace("{count}", String(props.count));
    }

    // The same traces as a list: for keyboard and screen-reader users, and for anyone who finds
    // a list easier than markers. Zoomed out, it names the areas in view with their counts; each
    // is a button that zooms the map there.
    function fillList(collection) {
      var list = document.getElementById("trace-list");
      var hint = document.getElementById("trace-list-hint");
      if (!list) { return; }
      list.textContent = "";
      var bounds = map.getBounds();
      var inView = collection.features.filter(function (f) {
        if (!collection.clustered) { return true; }
        var c = f.geometry.coordinates;
        return bounds.contains([c[1], c[0]]);
      });
      var areas = inView.filter(function (f) {
        return collection.clustered && f.properties.count > 1;
      }).sort(function (a, b) { return b.properties.count - a.properties.count; });
      var singles = inView.filter(function (f) {
        return !collection.clustered || f.properties.count === 1;
      });
      if (hint) { hint.hidden = !areas.length; }
      areas.forEach(function (f) {
        var c = f.geometry.coordinates, latlng = L.latLng(c[1], c[0]);
        var li = el("li", "trace-list-area");
        var button = el("button", "link-button", areaLabel(f.properties, latlng));
        button.type = "button";
        button.title = options.labels.areaHint;
        button.addEventListener("click", function () {
          focusList = true;
          map.setView(latlng, Math.min(map.getZoom() + 3, options.clusterBelowZoom));
        });
        li.appendChild(button);
        list.appendChild(li);
      });
      singles.forEach(function (f) {
        var id = collection.clustered ? f.properties.id : f.id;
        var li = el("li");
        var picture = thumbnail(f.properties.photo, 56, f.properties.title, "trace-list-photo");
        if (picture) {
          // Styled here: the list's sheet belongs to the map page (CSSOM, allowed by the CSP).
          picture.style.verticalAlign = "middle";
          picture.style.marginRight = "0.5rem";
          picture.style.borderRadius = "3px";
          picture.style.objectFit = "cover";
          li.appendChild(picture);
        }
        var a = el("a", null, f.properties.title || "");
        a.href = options.traceUrl + encodeURIComponent(String(id));
        li.appendChild(a);
        if (f.properties.status && f.properties.status !== "approved") {
          li.appendChild(el("span", "trace-list-status", " (" + options.labels.pending + ")"));
        }
        list.appendChild(li);
      });
      if (focusList) { focusList = false; list.focus(); }
    }

    function request(zoom) {
      var query = filterQuery();
      if (zoom < options.clusterBelowZoom) {
        var bounds = map.getBounds();
        return Promise.all(tilesFor(bounds, zoom).map(function (key) {
          return fetchTile(tileUrl, key, query, options.tileMaxAgeMs);
        })).then(function (parts) { return mergeTiles(parts, bounds); });
      }
      var b = map.getBounds();
      var bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]
        .map(function (v) { return v.toFixed(5); }).join(",");
      return fetchJson(options.dataUrl + "?bbox=" + bbox + "&zoom=" + zoom +
                       (query ? "&" + query : ""));
    }

    function load() {
      var mine = ++seq;
      document.body.setAttribute("data-map-state", "loading");
      request(Math.round(map.getZoom()))
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

    function filtersChanged() {
      showFilterState();
      updateAddLinks();
      writeAddress(true);
      load();
    }

    if (form) {
      form.addEventListener("change", filtersChanged);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        filtersChanged();
      });
      var clear = document.getElementById("map-filter-clear");
      if (clear) {
        clear.addEventListener("click", function (event) {
          event.preventDefault();
          FILTERS.forEach(function (name) {
            if (form.elements[name]) { form.elements[name].value = ""; }
          });
          filtersChanged();
          form.elements.type.focus();
        });
      }
      // Back and forward: the address holds filters and view; put the page back in step.
      window.addEventListener("popstate", function () {
        var params = new URLSearchParams(window.location.search);
        FILTERS.forEach(function (name) {
          var field = form.elements[name];
          if (!field) { return; }
          field.value = params.get(name) || "";  // a value not on offer leaves the field empty
        });
        showFilterState();
        var view = viewFromAddress(), before = viewText(map);
        if (view) { map.setView(view.center, view.zoom, { animate: false }); }
        updateAddLinks();
        if (viewText(map) === before) { load(); }  // else moveend loads the new view
      });
    }

    map.on("moveend", function () {
      writeAddress(false);
      updateAddLinks();
      document.body.setAttribute("data-map-state", "loading");  // from now, not after the pause
      clearTimeout(timer);
      timer = setTimeout(load, 150);
    });
    // Opening the filters or the list resizes the map's box; Leaflet only watches the window.
    if (window.ResizeObserver) {
      new ResizeObserver(function () { map.invalidateSize({ animate: false }); })
        .observe(map.getContainer());
    }
    if (options.syncUrl) { writeAddress(false); updateAddLinks(); }
    load();
    window.heritageMap = map;  // for tests and the browser console
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

  window.HeritageMap = { attach: attach, bindDrawForm: bindDrawForm };
})();
