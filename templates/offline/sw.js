/*
 * Kulturspor's service worker (rendered by app/offline/routes.py for release {{ release }}).
 *
 * - Pages: network first; "/" and "/traces/new" are kept so the map and the form open without
 *   a signal; any other page shows the offline page then. A page's copy is dropped on logout.
 * - Versioned static files (?v=<release>): cache first, fetched when the worker installs.
 * - Other static files (Folium's links to Leaflet): stale-while-revalidate.
 * - Base-map tiles the resident has seen: cache first, at most {{ tile_limit }} (oldest go).
 *   Only tiles a map asked for are stored, never prefetched (Kartverket's and OSM's terms).
 * - Never: POSTs, /api/ answers, photos, this worker, the manifest, /offline/ endpoints.
 * Every cache name but the tiles' carries the release; activating a new release deletes the
 * old caches.
 */
"use strict";

var RELEASE = {{ release|tojson }};
var SHELL = {{ shell|tojson }};
var RUNTIME = {{ runtime|tojson }};
var OFFLINE_URL = {{ offline_url|tojson }};
var PAGES = {{ pages|tojson }};
var TILE_LIMIT = {{ tile_limit|tojson }};
var TILE_PREFIXES = {{ tile_patterns|tojson }}.map(function (prefix) {
  var escaped = prefix.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{s\}/g, "[a-z0-9-]+")
    .replace(/\{[^}]*\}/g, "[^/]+");
  return new RegExp("^" + escaped);
});

var PREFIX = "heritage-";
var STATIC_CACHE = PREFIX + "static-" + RELEASE;
var RUNTIME_CACHE = PREFIX + "runtime-" + RELEASE;
var PAGE_CACHE = PREFIX + "pages-" + RELEASE;
// Tiles are the same in every release: a new release keeps what was seen (the limit holds).
var TILE_CACHE = PREFIX + "tiles";
var CURRENT = [STATIC_CACHE, RUNTIME_CACHE, PAGE_CACHE, TILE_CACHE];
var NEVER = /^\/(api|photos|offline)\//;
var TRIM_EVERY = 20;

// Set when a page came from a newer release than this worker: its unversioned copies may be
// stale, so they are fetched again until the new worker takes over.
var outdated = false;
var tilePuts = 0;

// The worker's own requests carry no cookies: the session cookie is rewritten by every answer,
// so a request still in flight with the old cookie (dozens at install) could undo what the
// page just changed (the language, a login). Static files do not need it; the offline page is
// kept as an anonymous visitor sees it.
function bare(url) {
  return new Request(url, { credentials: "omit" });
}

self.addEventListener("install", function (event) {
  event.waitUntil(Promise.all([
    caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(SHELL.map(bare)); }),
    caches.open(RUNTIME_CACHE).then(function (cache) { return cache.addAll(RUNTIME.map(bare)); }),
    caches.open(PAGE_CACHE).then(function (cache) { return cache.add(bare(OFFLINE_URL)); })
  ]).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && CURRENT.indexOf(name) < 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "release" && event.ports && event.ports[0]) {
    event.ports[0].postMessage({ release: RELEASE, caches: CURRENT });
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET") {
    if (url.origin === self.location.origin && url.pathname === "/logout") {
      // A shared phone: the next person must not be shown the last one's pages offline.
      event.waitUntil(caches.delete(PAGE_CACHE));
    }
    return;  // never cached, never answered from a cache
  }
  if (url.origin !== self.location.origin) {
    if (isTile(request.url)) { event.respondWith(tile(event)); }
    return;
  }
  if (NEVER.test(url.pathname) || url.pathname === "/sw.js" ||
      url.pathname === "/manifest.webmanifest") {
    return;
  }
  if (request.mode === "navigate") { event.respondWith(page(event)); return; }
  if (url.pathname.indexOf("/static/") === 0) {
    if (url.searchParams.get("v") === RELEASE) {
      event.respondWith(cacheFirst(request, STATIC_CACHE));
    } else if (!url.searchParams.has("v")) {
      event.respondWith(outdated ? networkFirst(request, RUNTIME_CACHE)
                                 : staleWhileRevalidate(event, RUNTIME_CACHE));
    }
    // ?v= of another release: the network answers (the server serves the current file).
  }
});

function isTile(href) {
  for (var i = 0; i < TILE_PREFIXES.length; i++) {
    if (TILE_PREFIXES[i].test(href)) { return true; }
  }
  return false;
}

function cacheable(response) {
  return response && response.ok && response.type === "basic" && !response.redirected &&
    !/no-store/.test(response.headers.get("Cache-Control") || "");
}

function keptPage(url) {
  return PAGES.indexOf(url.pathname) >= 0;
}

function page(event) {
  var request = event.request;
  var url = new URL(request.url);
  return fetch(request).then(function (response) {
    var served = response.headers.get("X-Heritage-Release");
    if (served && served !== RELEASE && !outdated) {
      outdated = true;
      event.waitUntil(caches.delete(RUNTIME_CACHE).then(function () {
        return self.registration.update();
      }).catch(function () { /* the next navigation checks again */ }));
    }
    if (keptPage(url) && cacheable(response)) {
      var copy = response.clone();
      event.waitUntil(caches.open(PAGE_CACHE).then(function (cache) {
        return cache.put(url.pathname, copy);
      }));
    }
    return response;
  }, function () {
    return caches.open(PAGE_CACHE).then(function (cache) {
      var key = keptPage(url) ? url.pathname : OFFLINE_URL;
      return cache.match(key, { ignoreVary: true }).then(function (hit) {
        return hit || cache.match(OFFLINE_URL, { ignoreVary: true });
      });
    }).then(function (hit) {
      return hit || Response.error();
    });
  });
}

function cacheFirst(request, name) {
  return caches.open(name).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      if (hit) { return hit; }
      return fetch(bare(request.url)).then(function (response) {
        if (cacheable(response)) { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

function networkFirst(request, name) {
  return fetch(bare(request.url)).then(function (response) {
    if (cacheable(response)) {
      var copy = response.clone();
      caches.open(name).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }, function () {
    return caches.match(request, { cacheName: name, ignoreVary: true }).then(function (hit) {
      return hit || Response.error();
    });
  });
}

function staleWhileRevalidate(event, name) {
  var request = event.request;
  return caches.open(name).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      var fresh = fetch(bare(request.url)).then(function (response) {
        if (cacheable(response)) { return cache.put(request, response.clone()).then(function () {
          return response;
        }); }
        return response;
      });
      if (hit) {
        event.waitUntil(fresh.catch(function () { /* offline: the copy stays */ }));
        return hit;
      }
      return fresh;
    });
  });
}

// Tiles are served from the cache while their server's Cache-Control says they are fresh (a
// week when it says nothing); after that they are fetched again when there is a network and
// the old copy is used only without one (OSM's tile policy: honour the caching headers).
var DEFAULT_TILE_SECONDS = 7 * 24 * 3600;

function freshFor(response) {
  var match = /max-age=(\d+)/.exec(response.headers.get("Cache-Control") || "");
  return match ? Number(match[1]) : DEFAULT_TILE_SECONDS;
}

function stamped(response) {
  // A copy with the time it was fetched (a CORS answer does not expose its Date header).
  return response.blob().then(function (body) {
    var headers = new Headers(response.headers);
    headers.set("X-Heritage-Fetched", String(Date.now()));
    return new Response(body, { status: response.status, statusText: response.statusText,
                                headers: headers });
  });
}

function tile(event) {
  var request = event.request;
  return caches.open(TILE_CACHE).then(function (cache) {
    return cache.match(request.url).then(function (hit) {
      if (hit) {
        var age = (Date.now() - Number(hit.headers.get("X-Heritage-Fetched") || 0)) / 1000;
        if (age < freshFor(hit) || !self.navigator.onLine) { return hit; }
      }
      // A CORS request gives a readable response whose size the browser counts as it is
      // (an opaque one counts as megabytes); servers without CORS are passed through uncached.
      return fetch(request.url, { mode: "cors", credentials: "omit" }).then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          event.waitUntil(stamped(copy).then(function (kept) {
            return cache.put(request.url, kept);
          }).then(function () {
            if (++tilePuts % TRIM_EVERY === 0) { return trimTiles(cache); }
          }));
        }
        return response;
      }, function () {
        return hit || fetch(request);
      });
    });
  });
}

function trimTiles(cache) {
  // Cache keys keep the order they were stored in: the first ones are the oldest.
  return cache.keys().then(function (keys) {
    var extra = keys.length - TILE_LIMIT;
    if (extra <= 0) { return; }
    return Promise.all(keys.slice(0, extra).map(function (key) { return cache.delete(key); }));
  });
}
