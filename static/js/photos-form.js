/*
 * Photos on the new-trace and edit forms (templates/photos/_form_photos.html).
 *
 * The page exposes, for the offline draft (static/js/offline*.js):
 *   window.heritagePhotos = {
 *     state(): a copy of the list of chosen photos, in order;
 *     restore(items): replace the list (a draft coming back), showing each item;
 *     onChange(cb): cb(state()) after every change (chosen, uploaded, failed, edited, removed).
 *   }
 * An item is
 *   { id: number|null,          the server's photo id once uploaded (POST /api/photos)
 *     file: Blob|null,          the file itself while it is not uploaded (kept for the outbox)
 *     name: string,             the file's name, for people
 *     caption, credit, licence: strings; taken_on: "YYYY-MM-DD"|null (from the server's answer)
 *     status: 'uploaded'|'local'|'uploading'|'failed' }
 * 'local' means kept in the browser because the network was away; the offline outbox uploads it
 * later. The hidden input #photos-json (name="photos") holds the uploaded ones as
 * [{id, caption, credit, licence, taken_on}], which is what the server attaches.
 */
(function () {
  "use strict";

  var items = [];
  var listeners = [];

  function copy(item) {
    var out = {};
    Object.keys(item).forEach(function (key) { out[key] = item[key]; });
    return out;
  }

  window.heritagePhotos = {
    state: function () { return items.map(copy); },
    restore: function (list) {
      items = (list || []).map(copy);
      listeners.forEach(function (cb) { cb(items.map(copy)); });
    },
    onChange: function (cb) { if (typeof cb === "function") { listeners.push(cb); } }
  };
})();
