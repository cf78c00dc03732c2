/*
 * Registers the service worker (/sw.js, served by app/offline/routes.py) on every page: it keeps
 * the app shell, Leaflet and the tiles seen for use without a signal. updateViaCache "none"
 * makes the browser check the worker itself on every navigation, so a release is never missed.
 */
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) { return; }
  window.addEventListener("load", function () {
    navigator.serviceWorker.register("/sw.js", { scope: "/", updateViaCache: "none" })
      .catch(function () { /* the site works without it, only not offline */ });
  });
})();
