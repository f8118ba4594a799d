/* vpeft site reading aids. Part of vpeft (MIT licence). Without this script every page is complete.
   - Anything that scrolls sideways (tables, figures, code) gets a visible hint and can take the keyboard focus
     (so it can be scrolled without a mouse), and is named for screen readers.
   - The theme's search dialog gets an accessible name.
   - On a phone, a leaderboard's Kind and Params columns step aside so the scores come right after the name. */
(function () {
  "use strict";

  var SCROLLERS = ".vpeft-scroll, .vpeft-figure, .md-typeset pre > code";
  var ASIDE = { "Kind": true, "Params": true };

  function label(box) {
    var caption = box.querySelector("caption, figcaption, title");
    var text = caption ? caption.textContent.trim() : "";
    return (text ? text.slice(0, 80) : (box.tagName === "CODE" ? "code" : "table")) + " (scrolls sideways)";
  }

  function hint(box) {
    var prev = box.previousElementSibling;
    if (prev && prev.classList.contains("vpeft-scroll-hint")) return prev;
    if (box.tagName === "CODE") return null;  // code blocks: the focus ring and the shadow are the hint
    var p = document.createElement("p");
    p.className = "vpeft-scroll-hint";
    p.setAttribute("aria-hidden", "true");
    p.hidden = true;  // shown by mark() once the box is measured wide
    p.textContent = "Scroll sideways to see all of it \u2192";
    box.parentNode.insertBefore(p, box);
    return p;
  }

  function overflows(box) {
    return box.scrollWidth > box.clientWidth + 1;
  }

  function mark(box, wide) {
    box.classList.toggle("vpeft-overflows", wide);
    var h = hint(box);
    if (h) h.hidden = !wide;
    if (wide) {
      if (!box.hasAttribute("tabindex")) box.setAttribute("tabindex", "0");
      if (box.tagName !== "CODE" && !box.hasAttribute("role")) box.setAttribute("role", "region");
      if (!box.hasAttribute("aria-label")) box.setAttribute("aria-label", label(box));
    }
  }

  function asideColumns(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    Array.prototype.forEach.call(head.cells, function (th, i) {
      if (!ASIDE[th.textContent.trim()]) return;
      th.classList.add("vpeft-aside");
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          if (row.cells[i]) row.cells[i].classList.add("vpeft-aside");
        });
      });
    });
  }

  // The theme's search dialog and its toggle have no accessible name (axe: aria-dialog-name, label).
  function nameTheSearch() {
    var dialog = document.querySelector(".md-search[role=dialog]");
    if (dialog && !dialog.hasAttribute("aria-label")) dialog.setAttribute("aria-label", "Search");
    var toggle = document.getElementById("__search");
    if (toggle && !toggle.hasAttribute("aria-label")) toggle.setAttribute("aria-label", "Open the search");
  }

  function init() {
    nameTheSearch();
    document.querySelectorAll("table.vpeft-lines").forEach(asideColumns);
    var boxes = Array.prototype.slice.call(document.querySelectorAll(SCROLLERS));
    // Writes, then all reads, then writes: measuring a box right after changing the page lays the whole page out
    // again, once per box (on the VTAB-1k leaderboard, ~100 boxes: 14 s of a 16 s load in Chromium).
    var all = function () {
      boxes.forEach(hint);  // hidden hints take no room: the widths read next are final
      var wide = boxes.map(overflows);
      boxes.forEach(function (box, i) { mark(box, wide[i]); });
    };
    all();
    window.addEventListener("resize", all);
    document.addEventListener("toggle", all, true);  // a <details> opened: its figure may now overflow
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
