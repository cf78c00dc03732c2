/*
 * The map's search box (templates/search/_box.html): a combobox over GET /api/search.
 * Typing searches after a pause (250 ms) and cancels the request before; the results are a
 * listbox grouped into places and traces, and temporary markers on window.heritageMap.
 * Arrow keys move through the results, Enter chooses (the first result when none is active),
 * Escape closes the list, then clears the box. Choosing flies the map there: places to zoom
 * 14, traces to 15 (13 for a protected site's approximate point), and offers the trace page.
 * A live region says how many results there are. User text is only ever set with textContent.
 * Without this script the form submits to the server-rendered page GET /search.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 250;
  var PLACE_ZOOM = 14;
  var TRACE_ZOOM = 15;
  var APPROXIMATE_ZOOM = 13;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_m, key) {
      return values[key] !== undefined ? String(values[key]) : "";
    });
  }

  function mapOf() { return window.heritageMap || null; }

  function reducedMotion() {
    return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function setup(root) {
    var labels = {};
    try { labels = JSON.parse(root.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
    var api = root.getAttribute("data-api");
    var form = root.querySelector("form");
    var input = root.querySelector("#map-search-input");
    var list = root.querySelector("#map-search-results");
    var status = root.querySelector("#map-search-status");
    var chosenBox = root.querySelector("#map-search-chosen");
    var timer = null;
    var controller = null;
    var sequence = 0;
    var options = [];     // [{node, item, kind}]
    var active = -1;
    var layer = null;     // the temporary markers
    var lastQuery = null;

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.labels && input.labels[0] ?
                      input.labels[0].textContent : "");

    // Leaflet must not pan or zoom the map when the box is clicked or scrolled.
    if (window.L && L.DomEvent) {
      L.DomEvent.disableClickPropagation(root);
      L.DomEvent.disableScrollPropagation(root);
    }

    function say(text) {
      // A changed text is announced; clearing first makes a repeated message count too.
      status.textContent = "";
      window.setTimeout(function () { status.textContent = text; }, 30);
    }

    function clearMarkers() {
      var map = mapOf();
      if (layer && map) { map.removeLayer(layer); }
      layer = null;
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function setActive(index) {
      if (!options.length) { return; }
      if (active >= 0 && options[active]) {
        options[active].node.setAttribute("aria-selected", "false");
        options[active].node.classList.remove("is-active");
      }
      active = (index + options.length) % options.length;
      var option = options[active];
      option.node.setAttribute("aria-selected", "true");
      option.node.classList.add("is-active");
      input.setAttribute("aria-activedescendant", option.node.id);
      option.node.scrollIntoView({ block: "nearest" });
    }

    function bbox() {
      var map = mapOf();
      if (!map) { return null; }
      var b = map.getBounds();
      var west = Math.max(-180, b.getWest()), east = Math.min(180, b.getEast());
      var south = Math.max(-90, b.getSouth()), north = Math.min(90, b.getNorth());
      if (!(east > west && north > south)) { return null; }
      return [west, south, east, north].map(function (n) { return n.toFixed(5); }).join(",");
    }

    function optionNode(id, kind, title, detail) {
      var node = el("li", "map-search-option map-search-" + kind);
      node.id = id;
      node.setAttribute("role", "option");
      node.setAttribute("aria-selected", "false");
      var name = el("span", "map-search-name");
      name.appendChild(el("bdi", null, title));
      node.appendChild(name);
      if (detail) { node.appendChild(el("span", "map-search-detail", detail)); }
      return node;
    }

    function group(id, heading, items) {
      var wrap = el("ul", "map-search-group");
      wrap.setAttribute("role", "group");
      var head = el("li", "map-search-heading", heading);
      head.id = id + "-heading";
      head.setAttribute("role", "presentation");
      wrap.setAttribute("aria-labelledby", head.id);
      wrap.appendChild(head);
      items.forEach(function (node) { wrap.appendChild(node); });
      return wrap;
    }

    function drawMarkers(results) {
      clearMarkers();
      var map = mapOf();
      if (!map || !window.L) { return; }
      layer = L.layerGroup();
      results.forEach(function (entry) {
        var marker = L.circleMarker([entry.item.lat, entry.item.lon], entry.kind === "place" ?
          { radius: 7, color: "#12416b", weight: 2, fillColor: "#ffffff", fillOpacity: 1,
            className: "map-search-marker" } :
          { radius: entry.item.approximate ? 12 : 7, color: "#1d1d1b", weight: 2,
            fillColor: "#f2c14e", fillOpacity: 0.95, dashArray: entry.item.approximate ? "4 4" : null,
            className: "map-search-marker" });
        var tip = el("span", null, entry.kind === "place" ? entry.item.name : entry.item.title);
        marker.bindTooltip(tip, { direction: "top", offset: [0, -6] });
        marker.on("click", function () { choose(entry); });
        layer.addLayer(marker);
      });
      layer.addTo(map);
    }

    function render(body) {
      list.textContent = "";
      options = [];
      active = -1;
      input.removeAttribute("aria-activedescendant");
      var places = (body.places || []).map(function (item, i) {
        var detail = [item.kind, item.municipality].filter(Boolean).join(", ");
        return { node: optionNode("map-search-place-" + i, "place", item.name, detail),
                 item: item, kind: "place" };
      });
      var traces = (body.traces || []).map(function (item, i) {
        return { node: optionNode("map-search-trace-" + i, "trace", item.title,
                                  item.approximate ? labels.approximate : ""),
                 item: item, kind: "trace" };
      });
      options = places.concat(traces);
      options.forEach(function (entry) {
        entry.node.addEventListener("mousedown", function (event) { event.preventDefault(); });
        entry.node.addEventListener("click", function () { choose(entry); });
      });
      if (places.length) {
        list.appendChild(group("map-search-places", labels.places,
                               places.map(function (e) { return e.node; })));
      }
      if (traces.length) {
        list.appendChild(group("map-search-traces", labels.traces,
                               traces.map(function (e) { return e.node; })));
      }
      if (!options.length) {
        var none = el("p", "map-search-none", labels.nothing);
        list.appendChild(none);
      }
      if (body.cut) { list.appendChild(el("p", "map-search-note", body.note || labels.cut)); }
      list.hidden = false;
      input.setAttribute("aria-expanded", options.length ? "true" : "false");
      drawMarkers(options);
      say(options.length ? format(labels.found, { places: places.length, traces: traces.length })
                         : labels.nothing);
    }

    // Any text can be searched: control characters (which the server refuses in every query
    // string) become spaces, and a lone surrogate, which encodeURIComponent cannot encode, "?".
    function cleaned(value) {
      return value.replace(/[\u0000-\u001f\u007f]/g, " ")
        .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(^|[^\ud800-\udbff])[\udc00-\udfff]/g,
                 function (m, before) { return (before || "") + "?"; })
        .trim();
    }

    function search(now) {
      var text = cleaned(input.value);
      window.clearTimeout(timer);
      if (!text) {
        if (controller) { controller.abort(); }
        lastQuery = null;
        list.textContent = "";
        close();
        clearMarkers();
        return;
      }
      var box = bbox();
      var key = text + "|" + (box || "");
      if (key === lastQuery && !now) { return; }
      timer = window.setTimeout(function () {
        lastQuery = key;
        if (controller) { controller.abort(); }
        controller = window.AbortController ? new AbortController() : null;
        var mine = ++sequence;
        var url = api + "?q=" + encodeURIComponent(text) + (box ? "&bbox=" + box : "");
        root.classList.add("is-busy");
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" },
                     signal: controller ? controller.signal : undefined })
          .then(function (response) {
            if (!response.ok) { throw new Error("HTTP " + response.status); }
            return response.json();
          })
          .then(function (body) {
            if (mine !== sequence) { return; }  // a newer search is on its way
            render(body);
          })
          .catch(function (error) {
            if (error && error.name === "AbortError") { return; }
            if (mine !== sequence) { return; }
            list.textContent = "";
            list.appendChild(el("p", "map-search-none", labels.failed));
            list.hidden = false;
            say(labels.failed);
          })
          .then(function () { if (mine === sequence) { root.classList.remove("is-busy"); } });
      }, now ? 0 : DEBOUNCE_MS);
    }

    function showChosen(entry) {
      chosenBox.textContent = "";
      chosenBox.hidden = false;
      chosenBox.appendChild(document.createTextNode(labels.chosen + " "));
      if (entry.kind === "trace") {
        var link = el("a", "map-search-link");
        link.href = entry.item.url;
        link.appendChild(el("bdi", null, entry.item.title));
        chosenBox.appendChild(link);
        if (entry.item.approximate) {
          chosenBox.appendChild(el("span", "map-search-detail", " " + labels.approximate));
        }
      } else {
        chosenBox.appendChild(el("bdi", null, entry.item.name));
      }
      // On a phone the map's controls move below this line (search.css); tell it how tall.
      document.documentElement.style.setProperty("--search-chosen-height",
                                                 (chosenBox.offsetHeight + 6) + "px");
    }

    function choose(entry) {
      if (!entry) { return; }
      var map = mapOf();
      var item = entry.item;
      var zoom = entry.kind === "place" ? PLACE_ZOOM :
        (item.approximate ? APPROXIMATE_ZOOM : TRACE_ZOOM);
      close();
      input.value = entry.kind === "place" ? item.name : item.title;
      lastQuery = null;
      showChosen(entry);
      say(labels.chosen + " " + input.value);
      if (!map) {
        if (entry.kind === "trace") { window.location.href = item.url; }
        return;
      }
      // Only the chosen result stays on the map.
      drawMarkers([entry]);
      if (layer && entry.kind === "trace") {
        layer.eachLayer(function (marker) {
          var box = el("div", "map-search-popup");
          var link = el("a", null);
          link.href = item.url;
          link.appendChild(el("bdi", null, item.title));
          box.appendChild(link);
          if (item.approximate) { box.appendChild(el("p", null, labels.approximate)); }
          marker.bindPopup(box);
        });
      }
      root.setAttribute("data-chosen", entry.kind + ":" + (entry.kind === "trace" ? item.id : item.name));
      if (reducedMotion()) {
        map.setView([item.lat, item.lon], zoom, { animate: false });
      } else {
        map.flyTo([item.lat, item.lon], zoom, { duration: 0.8 });
      }
    }

    input.addEventListener("input", function () { search(false); });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden && options.length) {
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
        }
        setActive(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        setActive(active < 0 ? options.length - 1 : active - 1);
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (!list.hidden && options.length) {
          choose(options[active >= 0 ? active : 0]);
        } else {
          search(true);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        } else if (input.value) {
          event.preventDefault();
          input.value = "";
          search(true);
          chosenBox.hidden = true;
        }
      }
    });
    input.addEventListener("blur", function () {
      // Leave the list open while a result is being clicked (mousedown keeps the focus).
      window.setTimeout(function () {
        if (document.activeElement !== input) { close(); }
      }, 150);
    });
    input.addEventListener("focus", function () {
      if (options.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    });
    form.addEventListener("submit", function (event) {
      // With the script the results come in place; without it the page /search answers.
      event.preventDefault();
      if (!list.hidden && options.length) {
        choose(options[active >= 0 ? active : 0]);
      } else {
        search(true);
      }
    });
    root.classList.add("is-enhanced");
  }

  function start() {
    document.querySelectorAll(".map-search").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
