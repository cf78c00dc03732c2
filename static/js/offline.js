/*
 * Field capture without a signal: the new-trace form's draft and the outbox, in IndexedDB.
 *
 * - As the resident works, every field of #trace-form (also those joined by form="trace-form"),
 *   the drawn geometry and the photos (window.heritagePhotos, local files included) are kept
 *   as a draft on this device. A draft that was never sent is offered back on the next visit.
 * - "Send for approval" without a network puts the entry in the outbox instead. The outbox is
 *   sent on `online`, on page load and every half minute: local photos first
 *   (POST /api/photos), then the trace (POST /api/traces) with its submission key as the
 *   Idempotency-Key, so an entry sent twice (a lost answer, two tabs) makes one trace.
 * - The same script shows the outbox's status on other pages (templates/offline/_outbox_status).
 * Messages come translated in data-labels; text is only ever set with textContent.
 */
(function () {
  "use strict";

  var root = document.getElementById("outbox");
  if (!root) { return; }
  var labels = readJson(root.getAttribute("data-labels"));
  var mode = root.getAttribute("data-outbox");  // "form" or "status"
  var urls = {
    token: root.getAttribute("data-token-url"),
    sent: root.getAttribute("data-sent-url"),
    geometry: root.getAttribute("data-geometry-url"),
    photos: root.getAttribute("data-photos-url"),
    traces: root.getAttribute("data-traces-url"),
    form: root.getAttribute("data-form-url")
  };
  var note = document.getElementById("outbox-note");
  var listBox = document.getElementById("outbox-entries");
  var list = document.getElementById("outbox-list");
  var form = mode === "form" ? document.getElementById("trace-form") : null;

  // One database per account: on a shared computer (a library's public PC) a draft or an
  // outbox entry is offered and sent only to the person who made it.
  var userMeta = document.querySelector('meta[name="heritage-user"]');
  var userId = userMeta ? userMeta.getAttribute("content") : "";
  if (!userId) { return; }  // not logged in: nothing of anyone's is shown or sent
  var DB_NAME = "heritage-offline-" + userId;
  var DRAFT_ID = "new-trace";
  var SKIP = { csrf_token: true, submission_key: true, geometry: true, photos: true };
  var WRITABLE = ["project", "title", "description", "trace_type", "period", "condition",
                  "dating_method", "sources", "licence"];
  var KEEP_SENT_MS = 14 * 24 * 3600 * 1000;  // sent entries stay listed for two weeks
  var FLUSH_EVERY_MS = 30000;
  var PROBE_MS = 5000;

  var dbPromise = null;
  var currentKey = "";
  var saveTimer = null;
  var touched = false;      // the resident changed something since the page opened
  var suspended = false;    // no autosave while a draft is being put back
  var flushing = false;
  var submitting = false;

  function readJson(raw) {
    try { return JSON.parse(raw || "{}"); } catch (e) { return {}; }
  }

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (all, key) {
      return values[key] !== undefined ? String(values[key]) : all;
    });
  }

  function say(text, kind) {
    if (!note) { return; }
    note.textContent = text || "";
    note.className = "outbox-note" + (kind ? " " + kind : "");
  }

  function when(time) {
    try {
      return new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
        dateStyle: "medium", timeStyle: "short"
      }).format(new Date(time));
    } catch (e) {
      return new Date(time).toLocaleString();
    }
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); });
    return [hex.slice(0, 4), hex.slice(4, 6), hex.slice(6, 8), hex.slice(8, 10), hex.slice(10)]
      .map(function (part) { return part.join(""); }).join("-");
  }

  // --- IndexedDB -------------------------------------------------------------------------

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          var db = request.result;
          if (!db.objectStoreNames.contains("drafts")) { db.createObjectStore("drafts", { keyPath: "id" }); }
          if (!db.objectStoreNames.contains("outbox")) { db.createObjectStore("outbox", { keyPath: "key" }); }
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function store(name, access, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, access);
        var result;
        var request = work(tx.objectStore(name));
        if (request) { request.onsuccess = function () { result = request.result; }; }
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function dbGet(name, key) { return store(name, "readonly", function (s) { return s.get(key); }); }
  function dbPut(name, value) { return store(name, "readwrite", function (s) { return s.put(value); }); }
  function dbDelete(name, key) { return store(name, "readwrite", function (s) { return s["delete"](key); }); }
  function dbAll(name) { return store(name, "readonly", function (s) { return s.getAll(); }); }

  // --- The form's state ----------------------------------------------------------------

  function controls() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && !SKIP[el.name] && el.type !== "file" && el.type !== "submit" &&
        el.type !== "button" && el.type !== "reset" && el.tagName !== "FIELDSET";
    });
  }

  function readFields() {
    return controls().map(function (el) {
      if (el.type === "checkbox" || el.type === "radio") {
        return { name: el.name, value: el.value, checked: el.checked };
      }
      return { name: el.name, value: el.value };
    });
  }

  function geometryField() { return document.getElementById("geometry"); }

  function readGeometry() {
    var api = window.heritageNewTrace;
    if (api && typeof api.geometry === "function") {
      var shape = api.geometry();
      return shape ? JSON.stringify(shape) : "";
    }
    var field = geometryField();
    return field ? field.value : "";
  }

  function readPhotos() {
    var api = window.heritagePhotos;
    if (!api || typeof api.state !== "function") { return []; }
    return (api.state() || []).map(function (item) {
      return {
        id: item.id || null,
        file: item.id ? null : (item.file || item.blob || null),
        name: item.name || (item.file && item.file.name) || "",
        caption: item.caption || "", credit: item.credit || "", licence: item.licence || "",
        taken_on: item.taken_on || ""
      };
    });
  }

  function snapshot() {
    return {
      id: DRAFT_ID,
      key: currentKey,
      savedAt: Date.now(),
      fields: readFields(),
      geometry: readGeometry(),
      photos: readPhotos()
    };
  }

  function value(fields, name) {
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.name === name && (f.checked === undefined || f.checked)) { return f.value; }
    }
    return "";
  }

  function hasContent(entry) {
    if (!entry) { return false; }
    if (entry.geometry || (entry.photos && entry.photos.length)) { return true; }
    return ["title", "description", "sources", "coordinates"].some(function (name) {
      return String(value(entry.fields || [], name)).trim() !== "";
    });
  }

  function applyFields(fields) {
    var byName = {};
    fields.forEach(function (f) { (byName[f.name] = byName[f.name] || []).push(f); });
    controls().forEach(function (el) {
      var saved = byName[el.name];
      if (!saved) { return; }
      if (el.type === "checkbox" || el.type === "radio") {
        el.checked = saved.some(function (f) { return f.value === el.value && f.checked; });
      } else {
        el.value = saved[0].value;
      }
    });
    var typed = document.querySelector("details.typed");
    if (typed && String(value(fields, "coordinates")).trim()) { typed.open = true; }
  }

  function applyGeometry(raw) {
    var shape = null;
    try { shape = raw ? JSON.parse(raw) : null; } catch (e) { shape = null; }
    var api = window.heritageNewTrace;
    if (api && typeof api.restore === "function") { api.restore(shape); return; }
    // Until the map offers restore(): the same path as drawing (Leaflet.draw's CREATED).
    var map = window.heritageMap;
    if (!shape || !map || !window.L || !L.Draw) {
      var field = geometryField();
      if (field && shape) { field.value = raw; }
      return;
    }
    L.geoJSON(shape).eachLayer(function (layer) {
      map.fire(L.Draw.Event.CREATED, { layer: layer, layerType: shape.type === "Point" ? "marker" : "polygon" });
      if (layer.getBounds) {
        map.fitBounds(layer.getBounds(), { maxZoom: 15, animate: false });
      } else if (layer.getLatLng) {
        map.setView(layer.getLatLng(), Math.max(map.getZoom(), 14), { animate: false });
      }
    });
  }

  function applyPhotos(items) {
    var api = window.heritagePhotos;
    if (!api || typeof api.restore !== "function") { return; }
    api.restore((items || []).map(function (p) {
      var item = { caption: p.caption, credit: p.credit, licence: p.licence, taken_on: p.taken_on,
                   name: p.name };
      if (p.id) {
        item.id = p.id;
        item.status = "uploaded";
      } else if (p.file) {
        item.id = null;
        item.file = p.file;
        item.status = "local";
      }
      return item;
    }));
  }

  function keyField() {
    var field = document.getElementById("submission_key");
    if (!field && form) {
      // The form template may not carry it yet: the outbox needs it all the same.
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "submission_key";
      field.id = "submission_key";
      form.appendChild(field);
    }
    return field;
  }

  function useKey(key) {
    currentKey = key || newKey();
    var field = keyField();
    if (field) { field.value = currentKey; }
  }

  function applyDraft(draft) {
    suspended = true;
    try {
      applyFields(draft.fields || []);
      applyGeometry(draft.geometry || "");
      applyPhotos(draft.photos || []);
      useKey(draft.key);
    } finally {
      suspended = false;
    }
  }

  function clearForm() {
    suspended = true;
    try {
      var api = window.heritageNewTrace;
      form.reset();
      if (api && typeof api.restore === "function") { api.restore(null); }
      applyPhotos([]);
      useKey(null);
    } finally {
      suspended = false;
    }
    touched = false;
    return !!(window.heritageNewTrace && window.heritageNewTrace.restore);
  }

  // --- The draft -------------------------------------------------------------------------

  function saveDraft() {
    clearTimeout(saveTimer);
    saveTimer = null;
    if (!form || !touched || suspended) { return Promise.resolve(); }
    var draft = snapshot();
    if (!hasContent(draft)) { return dbDelete("drafts", DRAFT_ID).catch(function () {}); }
    return dbPut("drafts", draft).then(function () {
      root.setAttribute("data-draft-saved", String(draft.savedAt));
    }, function () {
      say(labels.noStorage, "warning");
    });
  }

  function saveSoon() {
    if (suspended || submitting) { return; }
    touched = true;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(saveDraft, 300);
  }

  function belongs(target) {
    return target && form && (target.form === form || target === geometryField());
  }

  function offerDraft(draft) {
    var box = document.getElementById("draft-offer");
    var text = document.getElementById("draft-offer-text");
    if (!box || !text) { return; }
    // Offered above the form, where it is seen before anything is typed again.
    var page = form.closest(".trace-form") || form;
    if (page.parentNode) { page.parentNode.insertBefore(box, page); }
    text.textContent = fill(labels.draftOffer, { when: when(draft.savedAt) });
    box.hidden = false;
    document.getElementById("draft-restore").onclick = function () {
      box.hidden = true;
      applyDraft(draft);
      touched = true;
      saveDraft();
      say(labels.restored, "ok");
    };
    document.getElementById("draft-discard").onclick = function () {
      box.hidden = true;
      dbDelete("drafts", DRAFT_ID).catch(function () {});
      say("");
    };
  }

  function askSent(key) {
    return fetch(urls.sent + "?key=" + encodeURIComponent(key), {
      credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" }
    }).then(function (r) { return r.status === 200; });
  }

  function startDraft() {
    var refused = document.getElementById("error-summary");
    var echoed = keyField() && keyField().value;
    return dbGet("drafts", DRAFT_ID).then(function (draft) {
      if (refused) {
        // The server sent the form back with what was sent: that is the draft now.
        useKey(echoed || (draft && draft.key));
        touched = true;
        return saveDraft();
      }
      useKey(null);
      if (!hasContent(draft)) { return; }
      if (!draft.submitted) { offerDraft(draft); return; }
      // Sent with the page's own form: the trace exists when the server knows its key.
      return askSent(draft.key).then(function (sent) {
        if (sent) { return dbDelete("drafts", DRAFT_ID); }
        offerDraft(draft);
      }, function () { offerDraft(draft); });
    }).catch(function () {
      useKey(echoed || null);
      say(labels.noStorage, "warning");
    });
  }

  // --- Sending -------------------------------------------------------------------------

  function timeout(ms) {
    return new Promise(function (resolve, reject) {
      setTimeout(function () { reject(new TypeError("timeout")); }, ms);
    });
  }

  function freshToken() {
    return Promise.race([
      fetch(urls.token, { credentials: "same-origin", cache: "no-store",
                          headers: { Accept: "application/json" } }),
      timeout(PROBE_MS)
    ]).then(function (r) {
      if (r.status === 401) { return { login: true }; }
      if (!r.ok) { throw new HttpError(r.status, labels.serverError); }
      return r.json().then(function (body) { return { token: body.csrf_token }; });
    });
  }

  function HttpError(status, message) {
    this.status = status;
    this.message = message;
  }

  function problemMessage(response) {
    return response.json().then(function (body) {
      var parts = [];
      if (body.detail) { parts.push(body.detail); }
      if (body.message) { parts.push(body.message); }
      (body.errors || []).forEach(function (e) {
        if (e.detail && parts.indexOf(e.detail) < 0) { parts.push(e.detail); }
      });
      return parts.join(" ") || body.title || labels.serverError;
    }, function () { return labels.serverError; });
  }

  function refusal(response) {
    return problemMessage(response).then(function (message) {
      throw new HttpError(response.status, message);
    });
  }

  function post(url, token, body, headers) {
    var all = { "X-CSRFToken": token, Accept: "application/json" };
    Object.keys(headers || {}).forEach(function (k) { all[k] = headers[k]; });
    return fetch(url, { method: "POST", credentials: "same-origin", cache: "no-store",
                        headers: all, body: body });
  }

  function entryGeometry(entry, token) {
    if (entry.geometry) { return Promise.resolve(JSON.parse(entry.geometry)); }
    var typed = String(value(entry.fields, "coordinates")).trim();
    if (!typed) { return Promise.reject(new HttpError(422, labels.noPlace)); }
    return post(urls.geometry, token, JSON.stringify({
      coordinates: typed, system: value(entry.fields, "coord_system") || "wgs84",
      shape: value(entry.fields, "coord_shape") || "point"
    }), { "Content-Type": "application/json" }).then(function (r) {
      if (!r.ok) { return refusal(r); }
      return r.json().then(function (body) { return body.geometry; });
    });
  }

  function uploadPhotos(entry, token) {
    var chain = Promise.resolve();
    (entry.photos || []).forEach(function (photo) {
      if (photo.id || !photo.file) { return; }
      chain = chain.then(function () {
        var data = new FormData();
        data.append("file", photo.file, photo.name || "photo");
        return post(urls.photos, token, data).then(function (r) {
          if (!r.ok) { return refusal(r); }
          return r.json().then(function (body) {
            // Kept at once: an entry sent again later does not upload this photo twice.
            photo.id = body.id;
            photo.file = null;
            return dbPut("outbox", entry);
          });
        });
      });
    });
    return chain;
  }

  function feature(entry, geometry) {
    var properties = {};
    WRITABLE.forEach(function (name) {
      var v = value(entry.fields, name);
      if (v !== "") { properties[name] = v; }
    });
    properties.confirm_outside_area = entry.fields.some(function (f) {
      return f.name === "confirm_outside_area" && f.checked;
    });
    properties.submission_key = entry.key;
    properties.photos = (entry.photos || []).filter(function (p) { return p.id; }).map(function (p) {
      return { id: p.id, caption: p.caption, credit: p.credit, licence: p.licence || null,
               taken_on: p.taken_on || null };
    });
    return { type: "Feature", geometry: geometry, properties: properties };
  }

  function send(entry, token) {
    entry.state = "sending";
    entry.message = "";
    return dbPut("outbox", entry).then(render).then(function () {
      return uploadPhotos(entry, token);
    }).then(function () {
      return entryGeometry(entry, token);
    }).then(function (geometry) {
      return post(urls.traces, token, JSON.stringify(feature(entry, geometry)), {
        "Content-Type": "application/geo+json", "Idempotency-Key": entry.key
      });
    }).then(function (r) {
      if (!r.ok) { return refusal(r); }
      return r.json().then(function (body) {
        entry.state = "sent";
        entry.sentAt = Date.now();
        entry.traceUrl = body.url || "";
        entry.photos = (entry.photos || []).map(function (p) {
          return { id: p.id, name: p.name, caption: p.caption };  // the files are not needed now
        });
        return dbPut("outbox", entry);
      });
    }, function (error) {
      if (error instanceof HttpError && error.status >= 400 && error.status < 500 &&
          error.status !== 401 && error.status !== 403 && error.status !== 429) {
        entry.state = "refused";  // the resident must change something: it is not retried
      } else {
        entry.state = "waiting";
      }
      entry.message = error instanceof HttpError ? error.message : "";
      return dbPut("outbox", entry).then(function () {
        if (!(error instanceof HttpError)) { throw error; }  // no network: stop for now
      });
    });
  }

  function flush() {
    if (flushing || !navigator.onLine) { return Promise.resolve(); }
    flushing = true;
    var run = function () {
      return dbAll("outbox").then(function (entries) {
        var due = entries.filter(function (e) { return e.state === "waiting" || e.state === "sending"; });
        if (!due.length) { return; }
        return freshToken().then(function (answer) {
          if (answer.login) { say(labels.needsLogin, "warning"); return; }
          var chain = Promise.resolve();
          due.sort(function (a, b) { return a.queuedAt - b.queuedAt; }).forEach(function (entry) {
            chain = chain.then(function () { return send(entry, answer.token); });
          });
          return chain;
        });
      });
    };
    // One tab sends at a time; the Idempotency-Key covers the rest.
    var locked = navigator.locks && navigator.locks.request
      ? navigator.locks.request("heritage-outbox", run) : run();
    return Promise.resolve(locked).catch(function () { /* tried again later */ })
      .then(prune).then(render).then(function () { flushing = false; },
                                      function () { flushing = false; });
  }

  function prune() {
    return dbAll("outbox").then(function (entries) {
      var old = entries.filter(function (e) {
        return e.state === "sent" && Date.now() - (e.sentAt || 0) > KEEP_SENT_MS;
      });
      return Promise.all(old.map(function (e) { return dbDelete("outbox", e.key); }));
    });
  }

  function queue() {
    var draft = snapshot();
    if (!draft.geometry && !String(value(draft.fields, "coordinates")).trim()) {
      say(labels.noPlace, "warning");
      var section = document.getElementById("geometry-section");
      if (section) { section.scrollIntoView(); }
      return Promise.resolve();
    }
    var entry = {
      key: draft.key, fields: draft.fields, geometry: draft.geometry, photos: draft.photos,
      title: value(draft.fields, "title"), queuedAt: Date.now(), state: "waiting", message: ""
    };
    return dbPut("outbox", entry).then(function () {
      return dbDelete("drafts", DRAFT_ID);
    }).then(function () {
      var cleared = clearForm();
      if (!cleared && navigator.serviceWorker && navigator.serviceWorker.controller) {
        // The map keeps the drawn shape until the page opens again (served by the worker).
        sessionStorage.setItem("heritage-queued", "1");
        location.reload();
        return;
      }
      say(labels.queued, "ok");
      return render();
    }, function () {
      say(labels.noStorage, "warning");
    });
  }

  function onSubmit(event) {
    if (submitting) { return; }
    event.preventDefault();
    submitting = true;
    var done = function () { submitting = false; };
    var native = function (token) {
      var csrf = form.querySelector("input[name=csrf_token]");
      if (token && csrf) { csrf.value = token; }
      return dbGet("drafts", DRAFT_ID).then(function (draft) {
        if (draft) { draft.submitted = true; return dbPut("drafts", draft); }
      }).catch(function () {}).then(function () {
        HTMLFormElement.prototype.submit.call(form);
      });
    };
    touched = true;
    saveDraft().then(function () {
      if (!navigator.onLine) { return queue(); }
      return freshToken().then(function (answer) {
        return native(answer.token);
      }, function (error) {
        if (error instanceof HttpError) { return native(null); }  // the server will say why
        return queue();
      });
    }).then(done, done);
  }

  // --- What waits, what was sent ---------------------------------------------------------

  function button(text, action) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "link-button";
    b.textContent = text;
    b.addEventListener("click", action);
    return b;
  }

  function backToForm(entry) {
    var draft = { id: DRAFT_ID, key: entry.key, savedAt: entry.queuedAt, fields: entry.fields,
                  geometry: entry.geometry, photos: entry.photos };
    return dbPut("drafts", draft).then(function () {
      return dbDelete("outbox", entry.key);
    }).then(function () {
      if (form) {
        applyDraft(draft);
        touched = true;
        render();
        form.scrollIntoView();
      } else if (urls.form) {
        location.href = urls.form;
      }
    });
  }

  function item(entry) {
    var li = document.createElement("li");
    li.className = "outbox-entry outbox-" + entry.state;
    li.setAttribute("data-state", entry.state);
    li.setAttribute("data-key", entry.key);
    var title = document.createElement("strong");
    title.className = "outbox-title";
    title.textContent = entry.title || labels.untitled;
    li.appendChild(title);
    var state = document.createElement("span");
    state.className = "outbox-state";
    state.textContent = entry.state === "refused" ? fill(labels.refused, { message: entry.message })
      : labels[entry.state] || labels.waiting;
    li.appendChild(state);
    var meta = document.createElement("span");
    meta.className = "outbox-meta";
    var bits = [fill(labels.savedAt, { when: when(entry.queuedAt) })];
    if (entry.sentAt) { bits.push(fill(labels.sentAt, { when: when(entry.sentAt) })); }
    if (entry.photos && entry.photos.length) { bits.push(fill(labels.photos, { n: entry.photos.length })); }
    meta.textContent = bits.join(" · ");
    li.appendChild(meta);
    if (entry.state === "waiting" && entry.message) {
      var why = document.createElement("span");
      why.className = "outbox-why";
      why.textContent = fill(labels.failed, { message: entry.message });
      li.appendChild(why);
    }
    var actions = document.createElement("span");
    actions.className = "outbox-actions";
    if (entry.state === "sent" && entry.traceUrl) {
      var link = document.createElement("a");
      link.href = entry.traceUrl;
      link.textContent = labels.open;
      actions.appendChild(link);
    }
    if (entry.state === "waiting" && navigator.onLine) {
      actions.appendChild(button(labels.sendNow, flush));
    }
    if (entry.state === "refused" || entry.state === "waiting") {
      actions.appendChild(button(labels.edit, function () { backToForm(entry); }));
    }
    if (entry.state === "sent" || entry.state === "refused") {
      actions.appendChild(button(labels.remove, function () {
        dbDelete("outbox", entry.key).then(render);
      }));
    }
    li.appendChild(actions);
    return li;
  }

  function render() {
    return dbAll("outbox").then(function (entries) {
      entries.sort(function (a, b) { return b.queuedAt - a.queuedAt; });
      list.textContent = "";
      entries.forEach(function (entry) { list.appendChild(item(entry)); });
      listBox.hidden = !entries.length;
      var waiting = entries.filter(function (e) { return e.state !== "sent"; }).length;
      root.setAttribute("data-waiting", String(waiting));
      root.setAttribute("data-sent", String(entries.length - waiting));
      if (mode === "status") {
        root.hidden = !entries.length;
        var sentCount = entries.length - waiting;
        var parts = [];
        if (waiting) { parts.push(fill(labels.summaryWaiting, { n: waiting })); }
        if (sentCount) { parts.push(fill(labels.summarySent, { n: sentCount })); }
        if (!note.classList.contains("warning")) { say(parts.join(" ")); }
      }
    }).catch(function () { /* no IndexedDB: nothing to show */ });
  }

  function connectivity() {
    if (!navigator.onLine && form) {
      say(labels.offline, "warning");
    } else if (note && note.textContent === labels.offline) {
      say("");
    }
    render();
  }

  // --- Wiring ----------------------------------------------------------------------------

  function wireForm() {
    var handler = function (event) { if (belongs(event.target)) { saveSoon(); } };
    document.addEventListener("input", handler, true);
    document.addEventListener("change", handler, true);
    if (window.heritagePhotos && typeof window.heritagePhotos.onChange === "function") {
      window.heritagePhotos.onChange(saveSoon);
    }
    if (window.L && window.heritageMap && L.Draw) {
      window.heritageMap.on(L.Draw.Event.CREATED + " " + L.Draw.Event.EDITED + " " +
                            L.Draw.Event.DELETED, saveSoon);
    }
    form.addEventListener("submit", onSubmit);
    // A closed tab or a phone switched off mid-sentence: keep what is there now.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden" && saveTimer) { saveDraft(); }
    });
    window.addEventListener("pagehide", function () { if (saveTimer) { saveDraft(); } });
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().catch(function () {});
    }
    if (sessionStorage.getItem("heritage-queued")) {
      sessionStorage.removeItem("heritage-queued");
      say(labels.queued, "ok");
    }
    return startDraft();
  }

  function whenMapReady(then) {
    var tries = 0;
    (function wait() {
      var ready = document.body.getAttribute("data-new-trace") === "ready";
      if ((ready && window.heritageMap) || ++tries > 100 || !document.getElementById("new-trace-config")) {
        then();
        return;
      }
      setTimeout(wait, 50);
    })();
  }

  function start() {
    var ready = form ? new Promise(function (resolve) { whenMapReady(resolve); }).then(wireForm)
      : Promise.resolve();
    ready.then(function () {
      connectivity();
      return flush();
    }).then(function () {
      root.setAttribute("data-outbox-ready", "1");
    });
    window.addEventListener("online", function () { connectivity(); flush(); });
    window.addEventListener("offline", connectivity);
    setInterval(flush, FLUSH_EVERY_MS);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { render(); flush(); }
    });
  }

  start();
})();
