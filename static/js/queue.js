/*
 * The compact moderation queue: opening a row fetches its full part (map, description, nearby
 * traces, photos, decision) in place; "select all on this page"; the count of selected
 * entries; keyboard shortcuts (documented on the page, in #shortcuts).
 *
 * Everything here is an enhancement: without script each row's "Open" leads to the entry's
 * own page, the checkboxes and the bulk bar post as they are, "Clear selection" is a reset.
 */
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  var rows = function () { return Array.prototype.slice.call(document.querySelectorAll(".queue-row")); };
  var boxes = function () { return Array.prototype.slice.call(document.querySelectorAll(".queue-row .row-select")); };
  var selectPage = document.getElementById("select-page");
  var selectMatching = document.getElementById("select-matching");
  var countNode = document.getElementById("bulk-count");
  var reason = document.getElementById("bulk-reason");
  var current = null;

  document.querySelectorAll(".js-only[hidden]").forEach(function (node) { node.hidden = false; });

  // --- the expanded part -------------------------------------------------------------------

  function load(details) {
    var part = details.querySelector(".row-part");
    if (!part || part.getAttribute("data-loaded")) { return Promise.resolve(); }
    part.setAttribute("data-loaded", "loading");
    part.setAttribute("aria-busy", "true");
    return fetch(details.getAttribute("data-part"), { credentials: "same-origin" })
      .then(function (response) {
        // A session that ended sends the request to the login page: keep the link instead of
        // drawing a login form inside the row.
        if (!response.ok || response.redirected) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        part.innerHTML = html;
        part.setAttribute("data-loaded", "true");
        if (window.heritagePreviews) { window.heritagePreviews.drawIn(part); }
      })
      .catch(function (error) {
        // The link to the entry's own page stays: the librarian can still decide there.
        console.warn("queue: the entry could not be opened in place", error);
        part.removeAttribute("data-loaded");
      })
      .then(function () { part.removeAttribute("aria-busy"); });
  }

  document.querySelectorAll(".queue-row details.row-more").forEach(function (details) {
    details.addEventListener("toggle", function () {
      if (details.open) { load(details); }
    });
  });

  // --- selection ---------------------------------------------------------------------------

  function update() {
    var list = boxes();
    var ticked = list.filter(function (b) { return b.checked; }).length;
    if (selectPage) {
      selectPage.checked = list.length > 0 && ticked === list.length;
      selectPage.indeterminate = ticked > 0 && ticked < list.length;
    }
    var n = selectMatching && selectMatching.checked
      ? Number(selectMatching.getAttribute("data-count")) : ticked;
    if (countNode) {
      countNode.textContent = (countNode.getAttribute("data-template") || "%s").replace("%s", n);
    }
    rows().forEach(function (row) {
      var box = row.querySelector(".row-select");
      row.classList.toggle("is-selected", !!(box && box.checked));
    });
  }

  if (countNode) {
    countNode.setAttribute("data-template", countNode.getAttribute("data-text") || "%s");
  }
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target === selectPage) {
      boxes().forEach(function (b) { b.checked = selectPage.checked; });
      if (!selectPage.checked && selectMatching) { selectMatching.checked = false; }
    } else if (target === selectMatching) {
      if (selectMatching.checked) { boxes().forEach(function (b) { b.checked = true; }); }
    } else if (target.classList && target.classList.contains("row-select")) {
      if (!target.checked && selectMatching) { selectMatching.checked = false; }
    } else {
      return;
    }
    update();
  });
  if (form) {
    form.addEventListener("reset", function () { setTimeout(update, 0); });
  }
  update();

  // --- keyboard ----------------------------------------------------------------------------

  function setCurrent(row, focus) {
    if (!row) { return; }
    if (current) { current.classList.remove("is-current"); }
    current = row;
    row.classList.add("is-current");
    if (focus) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var list = rows().filter(function (r) { return r.offsetParent !== null; });
    if (!list.length) { return; }
    var at = list.indexOf(current);
    var next = at < 0 ? (step > 0 ? 0 : list.length - 1)
      : Math.min(list.length - 1, Math.max(0, at + step));
    setCurrent(list[next], true);
  }

  function toggleOpen(row) {
    var details = row && row.querySelector("details.row-more");
    if (details) { details.open = !details.open; }
  }

  function submit(action) {
    var ticked = boxes().some(function (b) { return b.checked; })
      || (selectMatching && selectMatching.checked);
    if (!ticked && current) {
      var box = current.querySelector(".row-select");
      if (box) { box.checked = true; update(); }
      ticked = !!box;
    }
    if (!ticked || !form) { return; }
    var button = form.querySelector("button[name=action][value=" + action + "]");
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  }

  function typing(node) {
    if (!node || !node.tagName) { return false; }
    var tag = node.tagName.toLowerCase();
    // A ticked checkbox or radio keeps the focus but takes no letters: shortcuts still work.
    if (tag === "input") {
      var kind = (node.getAttribute("type") || "text").toLowerCase();
      return ["checkbox", "radio", "button", "submit", "reset"].indexOf(kind) === -1;
    }
    return tag === "textarea" || tag === "select" || node.isContentEditable;
  }

  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest(".queue-row");
    if (row) { setCurrent(row, false); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.target === reason && event.key === "Enter" && !event.shiftKey) {
      // Enter in the reason sends the rejection (Shift+Enter: a new line).
      event.preventDefault();
      if (reason.value.trim()) { submit("reject"); }
      return;
    }
    if (typing(event.target)) { return; }
    var key = event.key;
    if (key === "?") {
      var help = document.getElementById("shortcuts");
      if (help) {
        help.open = !help.open;
        help.querySelector("summary").focus();
      }
      event.preventDefault();
      return;
    }
    if (event.shiftKey) { return; }
    if (key === "Enter") {
      // Only on the row itself: Enter on a link, a button or a summary does what it always does.
      if (event.target === current && current) { toggleOpen(current); event.preventDefault(); }
      return;
    }
    var handled = true;
    if (key === "j") { move(1); }
    else if (key === "k") { move(-1); }
    else if (key === "o") { toggleOpen(current); }
    else if (key === "x") {
      var box = current && current.querySelector(".row-select");
      if (box) { box.checked = !box.checked; if (!box.checked && selectMatching) { selectMatching.checked = false; } update(); }
    } else if (key === "a") { submit("approve"); }
    else if (key === "r") {
      var any = boxes().some(function (b) { return b.checked; });
      if (!any && current) {
        var own = current.querySelector(".row-select");
        if (own) { own.checked = true; update(); }
      }
      if (reason) { reason.focus(); }
    } else { handled = false; }
    if (handled) { event.preventDefault(); }
  });
})();
