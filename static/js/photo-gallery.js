/*
 * The trace page's gallery: each thumbnail is a link to the display size and works without
 * script. With script, a link opens a small dialog over the page instead: the display size,
 * its caption and credit, previous/next buttons, the arrow keys to move and Escape to close;
 * focus returns to the thumbnail it came from. User text is only inserted with textContent.
 */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text) { node.textContent = text; }
    return node;
  }

  function setUp(list) {
    var links = Array.prototype.slice.call(list.querySelectorAll("a.photo-link"));
    if (!links.length || typeof HTMLDialogElement !== "function") { return; }
    var label = function (name) { return list.getAttribute("data-label-" + name) || ""; };
    var dialog = el("dialog", "photo-viewer");
    dialog.setAttribute("aria-labelledby", "photo-viewer-caption");
    var body = el("div", "photo-viewer-body");
    var img = document.createElement("img");
    var caption = el("p", null);
    caption.id = "photo-viewer-caption";
    var meta = el("p", "photo-meta");
    var nav = el("div", "photo-viewer-nav");
    var prev = el("button", null, label("prev"));
    var counter = el("span", "photo-viewer-count");
    counter.setAttribute("aria-live", "polite");
    var next = el("button", null, label("next"));
    var close = el("button", null, label("close"));
    [prev, next, close].forEach(function (b) { b.type = "button"; });
    nav.appendChild(prev); nav.appendChild(next); nav.appendChild(close);
    body.appendChild(img); body.appendChild(caption); body.appendChild(meta);
    body.appendChild(counter); body.appendChild(nav);
    dialog.appendChild(body);
    document.body.appendChild(dialog);
    var current = 0, opener = null;

    function show(index) {
      current = (index + links.length) % links.length;
      var link = links[current];
      var thumb = link.querySelector("img");
      var figure = link.closest("figure");
      var text = figure && figure.querySelector(".photo-caption");
      var credit = figure && figure.querySelector(".photo-meta");
      img.src = link.href;
      img.alt = thumb ? thumb.alt : "";
      var w = parseInt(link.getAttribute("data-width"), 10), h = parseInt(link.getAttribute("data-height"), 10);
      if (w > 0 && h > 0) { img.width = w; img.height = h; }
      caption.textContent = text ? text.textContent : (thumb ? thumb.alt : "");
      meta.textContent = credit ? credit.textContent.replace(/\s+/g, " ").trim() : "";
      counter.textContent = label("count").replace("{n}", String(current + 1))
        .replace("{total}", String(links.length));
      prev.hidden = next.hidden = links.length < 2;
    }

    links.forEach(function (link, index) {
      link.addEventListener("click", function (event) {
        if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
          return;  // a new tab or window gets the display size itself
        }
        event.preventDefault();
        opener = link;
        show(index);
        dialog.showModal();
        close.focus();
      });
    });
    prev.addEventListener("click", function () { show(current - 1); });
    next.addEventListener("click", function () { show(current + 1); });
    close.addEventListener("click", function () { dialog.close(); });
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft") { event.preventDefault(); show(current - 1); }
      else if (event.key === "ArrowRight") { event.preventDefault(); show(current + 1); }
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) { dialog.close(); }  // a click on the backdrop
    });
    dialog.addEventListener("close", function () {
      img.removeAttribute("src");
      if (opener) { opener.focus(); }
    });
  }

  document.querySelectorAll("[data-photo-gallery]").forEach(setUp);
})();
