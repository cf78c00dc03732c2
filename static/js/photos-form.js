/*
 * Photos on the new-trace and edit forms (templates/photos/_form_photos.html).
 *
 * The page exposes, for the offline draft (static/js/offline.js):
 *   window.heritagePhotos = {
 *     state(): a copy of the list of chosen photos, in order;
 *     restore(items): replace the list (a draft coming back), showing each item; items that
 *       are not uploaded ('local', 'uploading', 'failed' with a file) become 'local' and are
 *       uploaded at once when the browser is online;
 *     onChange(cb): cb(state()) after every change (chosen, uploaded, kept, edited, removed).
 *   }
 * An item is
 *   { id: number|null,          the server's photo id once uploaded (POST /api/photos)
 *     file: Blob|null,          the file itself while it is not uploaded (kept for the outbox)
 *     name: string,             the file's name, for people
 *     caption, credit, licence: strings; taken_on: "YYYY-MM-DD"|null (from the server's answer)
 *     status: 'uploaded'|'local'|'uploading'|'failed' }
 * 'local' means kept in the browser because the network was away: the form uploads it when the
 * connection comes back while the page is open, and the offline outbox sends it otherwise.
 * The hidden input #photos-json (name="photos") holds the uploaded ones as
 * [{id, caption, credit, licence, taken_on}], which is what the server attaches.
 *
 * When the first photo's answer carries the camera's position and no place is marked yet, the
 * form offers it (#photo-offer); nothing reaches the map unless the resident accepts.
 * Text is only ever set with textContent (docs/security.md item 20).
 */
(function () {
  "use strict";

  var BROWSER_SHOWS = ["image/jpeg", "image/png", "image/webp"];
  var records = [];  // {key, item, node, preview (blob: URL), thumb, error}
  var listeners = [];
  var nextKey = 1;
  var offered = false;  // the position is offered once, for the first photo
  var offerFix = null;
  var ui = null;
  var pending = null;  // a restore() that came before the page was ready

  function copyItem(item) {
    return { id: item.id, file: item.file, name: item.name, caption: item.caption,
             credit: item.credit, licence: item.licence, taken_on: item.taken_on,
             status: item.status };
  }

  function fill(template, values) {
    return String(template || "").replace(/\{(\w+)\}/g, function (all, key) {
      return values[key] !== undefined ? String(values[key]) : all;
    });
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    if (meta) { return meta.getAttribute("content"); }
    var input = document.querySelector("#trace-form input[name=csrf_token]");
    return input ? input.value : "";
  }

  // --- The outside: the hidden field and the listeners --------------------------------------

  function changed() {
    if (ui) {
      var uploaded = records.filter(function (r) { return r.item.status === "uploaded"; })
        .map(function (r) {
          return { id: r.item.id, caption: r.item.caption || "", credit: r.item.credit || "",
                   licence: r.item.licence || "", taken_on: r.item.taken_on || null };
        });
      var value = uploaded.length ? JSON.stringify(uploaded) : "";
      if (ui.json.value !== value) {
        ui.json.value = value;
        ui.json.dispatchEvent(new Event("change", { bubbles: true }));
      }
      ui.section.setAttribute("data-photos", String(records.length));
      ui.section.setAttribute("data-uploading",
        String(records.filter(function (r) { return r.item.status === "uploading"; }).length));
    }
    var state = records.map(function (r) { return copyItem(r.item); });
    listeners.forEach(function (cb) {
      try { cb(state.map(copyItem)); } catch (e) { /* one listener must not stop the others */ }
    });
  }

  function announce(text, kind) {
    if (!ui) { return; }
    ui.status.textContent = text || "";
    ui.status.className = "photos-status" + (kind ? " " + kind : "");
  }

  // --- One photo in the list ------------------------------------------------------------------

  function labelled(node, key, field) {
    var id = "photo-" + key + "-" + field;
    var control = node.querySelector("[data-field=" + field + "]");
    var label = node.querySelector("[data-for=" + field + "]");
    control.id = id;
    label.setAttribute("for", id);
    return control;
  }

  function build(record) {
    var node = ui.template.content.firstElementChild.cloneNode(true);
    var key = record.key;
    node.setAttribute("data-key", String(key));
    node.id = "photo-" + key;
    var nameNode = node.querySelector(".photo-name");
    nameNode.id = "photo-" + key + "-name";
    var stateNode = node.querySelector(".photo-state");
    stateNode.id = "photo-" + key + "-state";
    var progress = node.querySelector(".photo-progress");
    progress.setAttribute("aria-labelledby", nameNode.id);
    var fields = {};
    ["caption", "credit", "licence", "taken_on"].forEach(function (field) {
      var control = labelled(node, key, field);
      fields[field] = control;
      control.addEventListener("input", function () {
        record.item[field] = control.value;
        if (field === "licence") { record.licenceChosen = true; }
        changed();
      });
      control.addEventListener("change", function () {
        record.item[field] = control.value;
        changed();
      });
    });
    var remove = node.querySelector(".photo-remove");
    remove.addEventListener("click", function () { removeRecord(record); });
    var retry = node.querySelector(".photo-retry");
    retry.addEventListener("click", function () { upload(record); });
    record.node = node;
    record.fields = fields;
    return node;
  }

  function show(record) {
    var item = record.item, node = record.node, labels = ui.labels;
    var name = item.name || fill(labels.photo, { n: records.indexOf(record) + 1 });
    node.querySelector(".photo-name").textContent = name;
    node.setAttribute("data-status", item.status);
    ["caption", "credit", "licence", "taken_on"].forEach(function (field) {
      var control = record.fields[field];
      var value = item[field] || "";
      if (control.value !== value && document.activeElement !== control) { control.value = value; }
    });
    var img = node.querySelector(".photo-preview img");
    var none = node.querySelector(".photo-no-preview");
    var src = record.thumb || record.preview || "";
    if (src) {
      if (img.getAttribute("src") !== src) { img.src = src; }
      img.hidden = false;
      none.hidden = true;
    } else {
      img.removeAttribute("src");
      img.hidden = true;
      none.hidden = false;
    }
    var progress = node.querySelector(".photo-progress");
    progress.hidden = item.status !== "uploading";
    if (item.status === "uploading") { progress.value = record.percent || 0; }
    var stateNode = node.querySelector(".photo-state");
    var text = "", kind = "";
    if (item.status === "uploading") {
      text = fill(labels.percent, { n: record.percent || 0 });
    } else if (item.status === "local") {
      text = labels.keptShort; kind = "warning";
    } else if (item.status === "failed") {
      text = record.error || labels.failedShort; kind = "error";
    }
    stateNode.textContent = text;
    stateNode.hidden = !text;
    stateNode.className = "photo-state" + (kind ? " " + kind : "");
    var retry = node.querySelector(".photo-retry");
    retry.hidden = item.status !== "failed";
    retry.setAttribute("aria-label", fill(labels.retryNamed, { name: name }));
    node.querySelector(".photo-remove").setAttribute("aria-label",
      fill(labels.removeNamed, { name: name }));
  }

  function addRecord(item) {
    var record = { key: nextKey++, item: item, preview: null, thumb: null, percent: 0 };
    if (item.file && BROWSER_SHOWS.indexOf(item.file.type) >= 0 && window.URL) {
      record.preview = URL.createObjectURL(item.file);
    }
    if (item.id && item.status === "uploaded") {
      record.thumb = fill(ui.thumbUrl, { id: item.id });
    }
    records.push(record);
    ui.list.appendChild(build(record));
    show(record);
    return record;
  }

  function forget(record) {
    if (record.xhr) { record.xhr.abort(); record.xhr = null; }
    if (record.preview) { URL.revokeObjectURL(record.preview); record.preview = null; }
    if (record.node && record.node.parentNode) { record.node.parentNode.removeChild(record.node); }
  }

  function removeRecord(record) {
    var index = records.indexOf(record);
    if (index < 0) { return; }
    var name = record.item.name || fill(ui.labels.photo, { n: index + 1 });
    // A staged upload nobody will attach: delete it now rather than wait for the sweep.
    if (record.item.status === "uploaded" && record.item.id && navigator.onLine !== false) {
      var request = new XMLHttpRequest();
      request.open("POST", fill(ui.deleteUrl, { id: record.item.id }));
      request.setRequestHeader("X-CSRFToken", csrfToken());
      request.setRequestHeader("Accept", "application/json");
      request.send(new FormData());
    }
    forget(record);
    records.splice(index, 1);
    if (index === 0) { offerFix = null; hideOffer(); }
    if (!records.length) { offered = false; }  // a new first photo may offer its place
    records.forEach(show);  // "Photo 2" may have become "Photo 1"
    announce(fill(ui.labels.removed, { name: name }));
    // Focus where the eye goes: the photo that took its place, the one before, or the picker.
    var next = records[index] || records[index - 1];
    if (next) { next.node.querySelector(".photo-remove").focus(); } else { ui.input.focus(); }
    changed();
  }

  // --- Uploading ------------------------------------------------------------------------------

  function defaults() {
    var licence = document.getElementById("licence");
    return { credit: ui.credit, licence: licence && licence.value ? licence.value : "" };
  }

  function keep(record, announceIt) {
    record.item.status = "local";
    record.xhr = null;
    show(record);
    if (announceIt) { announce(fill(ui.labels.kept, { name: record.item.name }), "warning"); }
    changed();
  }

  function refusalMessage(request) {
    try {
      var body = JSON.parse(request.responseText || "{}");
      if (body && typeof body.message === "string" && body.message) { return body.message; }
      if (body && typeof body.detail === "string" && body.detail) { return body.detail; }
    } catch (e) { /* not JSON: a proxy's page */ }
    return "";
  }

  function upload(record) {
    var item = record.item, labels = ui.labels;
    if (!item.file) { return; }
    if (navigator.onLine === false) { keep(record, true); return; }
    item.status = "uploading";
    record.percent = 0;
    record.error = null;
    show(record);
    announce(fill(labels.uploading, { name: item.name }));
    changed();
    var body = new FormData();
    body.append("file", item.file, item.name || "photo");
    var request = new XMLHttpRequest();
    record.xhr = request;
    request.open("POST", ui.uploadUrl);
    request.setRequestHeader("X-CSRFToken", csrfToken());
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) { return; }
      record.percent = Math.min(100, Math.round(event.loaded / event.total * 100));
      show(record);
    });
    request.addEventListener("load", function () {
      if (record.xhr !== request) { return; }  // removed meanwhile
      record.xhr = null;
      var status = request.status;
      if (status === 201 || status === 200) {
        var answer = {};
        try { answer = JSON.parse(request.responseText); } catch (e) { answer = {}; }
        if (typeof answer.id !== "number") { fail(record, labels.serverError); return; }
        uploaded(record, answer);
        return;
      }
      var message = refusalMessage(request);
      if ((status === 413 || status === 422 || status === 400 || status === 415) && message) {
        refused(record, message);
      } else if (status === 401 || status === 403) {
        fail(record, message || labels.signedOut);
      } else if (status === 429) {
        fail(record, message || labels.serverError);
      } else if (status === 0) {
        keep(record, true);
      } else {
        fail(record, message || labels.serverError);
      }
    });
    // No answer at all: the network is away (or went away); keep the file for later.
    request.addEventListener("error", function () {
      if (record.xhr === request) { keep(record, true); }
    });
    request.addEventListener("timeout", function () {
      if (record.xhr === request) { keep(record, true); }
    });
    request.send(body);
  }

  function uploaded(record, answer) {
    var item = record.item;
    item.id = answer.id;
    item.status = "uploaded";
    item.file = null;
    if (answer.taken_on && !item.taken_on) { item.taken_on = answer.taken_on; }
    record.thumb = answer.thumbnail || fill(ui.thumbUrl, { id: answer.id });
    if (record.preview) { URL.revokeObjectURL(record.preview); record.preview = null; }
    show(record);
    var busy = records.some(function (r) { return r.item.status === "uploading"; });
    announce(busy ? fill(ui.labels.uploaded, { name: item.name }) :
             records.length > 1 ? ui.labels.uploadedAll : fill(ui.labels.uploaded, { name: item.name }),
             "ok");
    if (records.indexOf(record) === 0 && answer.gps) { offer(answer.gps, item.name); }
    changed();
  }

  function refused(record, message) {
    var name = record.item.name;
    var index = records.indexOf(record);
    forget(record);
    if (index >= 0) { records.splice(index, 1); }
    records.forEach(show);
    announce(fill(ui.labels.refused, { name: name, message: message }), "error");
    changed();
  }

  function fail(record, message) {
    record.item.status = "failed";
    record.error = fill(ui.labels.failed, { name: record.item.name, message: message });
    show(record);
    announce(record.error, "error");
    changed();
  }

  function choose(files) {
    var labels = ui.labels;
    var room = ui.max - ui.existing - records.length;
    var limitBytes = ui.maxMb * 1024 * 1024;
    var over = [], tooLarge = [], added = [];
    Array.prototype.forEach.call(files, function (file) {
      if (file.size > limitBytes) { tooLarge.push(file.name); return; }
      if (added.length >= room) { over.push(file.name); return; }
      var base = defaults();
      added.push(addRecord({ id: null, file: file, name: file.name || "", caption: "",
                             credit: base.credit, licence: base.licence, taken_on: null,
                             status: "local" }));
    });
    changed();
    added.forEach(upload);
    var problems = [];
    tooLarge.forEach(function (name) {
      problems.push(fill(labels.tooLarge, { name: name, mb: ui.maxMb }));
    });
    if (over.length) {
      problems.push(fill(labels.tooMany, { max: ui.max, names: over.join(", ") }));
    }
    if (problems.length) { announce(problems.join(" "), "error"); }
  }

  // --- The position of the photo ----------------------------------------------------------------

  function formatDegrees(value) { return (Math.round(value * 100000) / 100000).toFixed(5); }

  function offer(gps, name) {
    var api = window.heritageNewTrace;
    if (offered || !api || !ui.offer) { return; }
    var lat = Number(gps.lat), lon = Number(gps.lon);
    if (!isFinite(lat) || !isFinite(lon) || api.geometry()) { return; }
    offered = true;
    offerFix = { lat: lat, lon: lon, accuracy: gps.accuracy_m };
    var where = fill(ui.labels.offerWhere, { lat: formatDegrees(lat), lon: formatDegrees(lon) });
    var metres = Number(gps.accuracy_m);
    if (gps.accuracy_m !== null && gps.accuracy_m !== undefined && isFinite(metres) && metres > 0) {
      where += ", " + fill(ui.labels.offerAccuracy, { n: Math.max(1, Math.round(metres)) });
    }
    ui.offerText.textContent = ui.labels.offer;
    ui.offerWhere.textContent = where;
    ui.offer.hidden = false;
    ui.section.setAttribute("data-offer", "shown");
    // Said as well as shown, without taking the focus from what the resident is typing.
    announce(fill(ui.labels.offerSaid, { name: name }), "ok");
  }

  function hideOffer() {
    if (!ui.offer || ui.offer.hidden) { return; }
    ui.offer.hidden = true;
    ui.section.setAttribute("data-offer", "hidden");
  }

  function acceptOffer() {
    if (!offerFix || !window.heritageNewTrace) { return; }
    var fix = offerFix;
    offerFix = null;
    hideOffer();
    window.heritageNewTrace.setPoint(fix.lat, fix.lon, fix.accuracy || undefined);
    announce(ui.labels.offerUsed, "ok");
    ui.status.focus();
  }

  function declineOffer() {
    offerFix = null;
    hideOffer();
    announce(ui.labels.offerDeclined);
    ui.input.focus();
  }

  // --- Sending the form -------------------------------------------------------------------------

  function onSubmit(event) {
    var busy = records.some(function (r) { return r.item.status === "uploading"; });
    var failed = records.some(function (r) { return r.item.status === "failed"; });
    if (!busy && !failed) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    announce(busy ? ui.labels.waitUploads : ui.labels.fixFailed, "error");
    ui.status.focus();
  }

  // --- Wiring -----------------------------------------------------------------------------------

  function restoreItems(list) {
    records.slice().forEach(forget);
    records = [];
    // What was said about the photos that went away ("No connection: x is kept…") no longer
    // holds: after an entry went to the outbox the list is emptied, and a restored draft
    // speaks for itself (its items show their own state; uploads announce themselves).
    announce("");
    (list || []).forEach(function (raw) {
      if (!raw) { return; }
      var item = copyItem(raw);
      item.id = typeof item.id === "number" ? item.id : null;
      if (item.status === "uploaded" && item.id === null) { item.status = item.file ? "local" : "failed"; }
      if (item.status !== "uploaded") { item.status = item.file ? "local" : "failed"; }
      if (item.status === "failed" && !item.file) { return; }  // nothing left to send
      addRecord(item);
    });
    changed();
    if (navigator.onLine !== false) {
      records.filter(function (r) { return r.item.status === "local"; }).forEach(upload);
    }
  }

  // After a refused submit, the uploaded photos come back in the hidden field.
  function fromField() {
    var raw = ui.json.value;
    if (!raw) { return; }
    var list;
    try { list = JSON.parse(raw); } catch (e) { return; }
    if (!Array.isArray(list)) { return; }
    list.slice(0, ui.max).forEach(function (p, n) {
      if (!p || typeof p.id !== "number") { return; }
      addRecord({ id: p.id, file: null, name: fill(ui.labels.photo, { n: n + 1 }),
                  caption: p.caption || "", credit: p.credit || "", licence: p.licence || "",
                  taken_on: p.taken_on || null, status: "uploaded" });
    });
    offered = records.length > 0;  // the resident has seen the offer before the refusal
  }

  function start() {
    var section = document.getElementById("photos-form");
    if (!section) { return; }
    var labels = {};
    try { labels = JSON.parse(section.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
    ui = {
      section: section,
      labels: labels,
      input: document.getElementById("photo-files"),
      list: document.getElementById("photo-list"),
      status: document.getElementById("photos-status"),
      json: document.getElementById("photos-json"),
      template: document.getElementById("photo-item-template"),
      offer: document.getElementById("photo-offer"),
      offerText: document.getElementById("photo-offer-text"),
      offerWhere: document.getElementById("photo-offer-where"),
      uploadUrl: section.getAttribute("data-upload-url"),
      thumbUrl: section.getAttribute("data-thumb-url"),
      deleteUrl: section.getAttribute("data-delete-url"),
      credit: section.getAttribute("data-credit") || "",
      max: parseInt(section.getAttribute("data-max"), 10) || 10,
      maxMb: parseFloat(section.getAttribute("data-max-mb")) || 20,
      existing: parseInt(section.getAttribute("data-existing"), 10) || 0
    };
    document.getElementById("photo-pick").hidden = false;
    ui.input.addEventListener("change", function () {
      var files = Array.prototype.slice.call(ui.input.files || []);
      ui.input.value = "";  // the same file may be chosen again after removing it
      if (files.length) { choose(files); }
    });
    document.getElementById("photo-offer-use").addEventListener("click", acceptOffer);
    document.getElementById("photo-offer-no").addEventListener("click", declineOffer);
    // A place marked meanwhile (a tap, "Use my position", a drawing) makes the offer moot.
    var geometry = document.getElementById("geometry");
    if (geometry) {
      geometry.addEventListener("change", function () {
        if (geometry.value && offerFix) { offerFix = null; hideOffer(); }
      });
    }
    // The trace's licence is the photos' default until one is chosen for a photo.
    var licence = document.getElementById("licence");
    if (licence) {
      licence.addEventListener("change", function () {
        records.forEach(function (r) {
          if (!r.licenceChosen) { r.item.licence = licence.value; show(r); }
        });
        changed();
      });
    }
    var form = document.getElementById("trace-form");
    if (form) { form.addEventListener("submit", onSubmit); }
    window.addEventListener("online", function () {
      records.filter(function (r) { return r.item.status === "local"; }).forEach(upload);
    });
    fromField();
    changed();
    section.setAttribute("data-photos-ready", "1");
  }

  window.heritagePhotos = {
    state: function () { return records.map(function (r) { return copyItem(r.item); }); },
    restore: function (list) { if (ui) { restoreItems(list); } else { pending = list; } },
    onChange: function (cb) { if (typeof cb === "function") { listeners.push(cb); } }
  };

  function boot() {
    start();
    if (ui && pending) { restoreItems(pending); pending = null; }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", boot);
  } else {
    boot();
  }
})();
