/* vpeft compare page: lays out 2-4 methods side by side from downloads/compare.json (made at build time).
   Part of vpeft (MIT licence). Everything is built with DOM calls and textContent: no text becomes HTML. The only
   thing computed here is which of the chosen methods has the highest number in a row (the choice is the reader's). */
(function () {
  "use strict";

  var MAX = 4;
  var root = document.querySelector("[data-compare-root]");
  if (!root) return;
  var form = root.querySelector("[data-compare-form]");
  var out = root.querySelector("[data-compare-out]");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // Outside links are http(s) (checked at build time too); our own links are plain relative paths.
  function safeHref(href) {
    if (!href) return null;
    if (/^https?:\/\/[^\s]+$/i.test(href)) return href;
    return /^[A-Za-z0-9._\/-]+(#[A-Za-z0-9_-]*)?$/.test(href) ? href : null;
  }

  function link(text, href) {
    var safe = safeHref(href);
    if (!safe) return document.createTextNode(text || "\u2013");
    var a = el("a", { href: safe }, text);
    if (/^https?:/i.test(safe)) a.rel = "nofollow";
    return a;
  }

  function chosenFromUrl(methods) {
    var raw = new URLSearchParams(window.location.search).get("m") || "";
    var ids = [];
    raw.split(",").forEach(function (id) {
      id = id.trim();
      if (id && Object.prototype.hasOwnProperty.call(methods, id) && ids.indexOf(id) === -1 && ids.length < MAX) {
        ids.push(id);
      }
    });
    return ids;
  }

  function writeUrl(ids) {
    var params = new URLSearchParams(window.location.search);
    if (ids.length) params.set("m", ids.join(",")); else params.delete("m");
    // commas stay readable in the address (URLSearchParams would write %2C)
    var query = params.toString().replace(/%2C/gi, ",");
    history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
  }

  function table(caption, ids, data) {
    var t = el("table", { "class": "vpeft-table vpeft-compare" });
    t.appendChild(el("caption", {}, caption));
    var head = el("tr");
    head.appendChild(el("th", { scope: "col" }, ""));
    ids.forEach(function (id) {
      var th = el("th", { scope: "col" });
      th.appendChild(link(data.methods[id].name, data.methods[id].href));
      head.appendChild(th);
    });
    var thead = el("thead");
    thead.appendChild(head);
    t.appendChild(thead);
    t.appendChild(el("tbody"));
    return t;
  }

  function factRow(body, label, cells) {
    var tr = el("tr");
    tr.appendChild(el("th", { scope: "row" }, label));
    cells.forEach(function (node) {
      var td = el("td", { "class": "vpeft-text" });
      td.appendChild(node);
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }

  function facts(ids, data) {
    var t = table("Facts", ids, data), body = t.tBodies[0];
    var m = ids.map(function (id) { return data.methods[id]; });
    factRow(body, "Paper", m.map(function (x) { return link(x.title || "title not verified", x.paper_url); }));
    factRow(body, "Venue", m.map(function (x) { return document.createTextNode(x.venue); }));
    factRow(body, "Category", m.map(function (x) { return link(x.category, x.category_href); }));
    factRow(body, "Trainable parameters (vpeft implementation, ViT-B/16, head excluded)", m.map(function (x) {
      return document.createTextNode(x.trainable || "\u2013");
    }));
    if (data.cost_label) {
      var ratio = function (key) {
        return function (x) { return document.createTextNode((x.cost && x.cost[key]) || "\u2013"); };
      };
      factRow(body, "Train step \u00f7 full fine-tuning (" + data.cost_label + ")", m.map(ratio("train")));
      factRow(body, "Train memory \u00f7 full fine-tuning (" + data.cost_label + ")", m.map(ratio("memory")));
    }
    factRow(body, "Official code", m.map(function (x) { return link(x.code_url ? "code" : "", x.code_url); }));
    factRow(body, "Implementation in vpeft", m.map(function (x) {
      if (!x.implementation) return document.createTextNode("\u2013");
      var code = el("code", {}, x.implementation), href = safeHref(x.implementation_href);
      if (!href) return code;
      var a = el("a", { href: href });
      a.appendChild(code);
      return a;
    }));
    return t;
  }

  // One score row: the chosen methods' numbers, the highest marked (every one of them when tied).
  function scoreRow(body, label, ids, board, value, text) {
    var values = ids.map(function (id) { var s = board.scores[id]; return s ? value(s) : null; });
    var present = values.filter(function (v) { return v !== null && v !== undefined; });
    if (!present.length) return;
    var best = Math.max.apply(null, present);
    var tr = el("tr");
    tr.appendChild(el("th", { scope: "row" }, label));
    ids.forEach(function (id, k) {
      var s = board.scores[id];
      var isBest = present.length > 1 && values[k] === best;
      var td = el("td", isBest ? { "class": "vpeft-best", title: "best of the chosen methods" } : {},
                  s ? text(s) : "\u2013");
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }

  function boardSection(ids, data, board) {
    var section = el("section", { "class": "vpeft-compare-board" });
    var h = el("h3");
    h.appendChild(link(board.benchmark + " \u00b7 " + board.backbone, board.href));
    section.appendChild(h);
    var t = table(board.benchmark + " on " + board.backbone, ids, data), body = t.tBodies[0];
    if (board.headline) {
      scoreRow(body, board.headline, ids, board, function (s) { return s.headline; },
               function (s) { return s.headline_text; });
    }
    board.tasks.forEach(function (task, k) {
      scoreRow(body, task, ids, board, function (s) { return s.tasks[k]; }, function (s) { return s.task_texts[k]; });
    });
    var params = el("tr");
    params.appendChild(el("th", { scope: "row" }, "Trainable parameters, as published"));
    ids.forEach(function (id) { params.appendChild(el("td", {}, board.scores[id] ? board.scores[id].params_text : "\u2013")); });
    body.appendChild(params);
    var wrap = el("div", { "class": "vpeft-scroll" });
    wrap.appendChild(t);
    section.appendChild(wrap);
    var sources = el("ul", { "class": "vpeft-compare-sources" });
    ids.forEach(function (id) {
      var s = board.scores[id];
      if (!s) return;
      var li = el("li", {}, data.methods[id].name + ": ");
      li.appendChild(link(s.source, s.source_url));
      li.appendChild(document.createTextNode(", row \u201c" + s.row + "\u201d (" + s.kind + ")"));
      sources.appendChild(li);
    });
    section.appendChild(sources);
    return section;
  }

  function render(ids, data) {
    out.textContent = "";
    if (ids.length < 2) {
      out.appendChild(el("p", { "class": "vpeft-count" }, "Choose at least two methods (at most " + MAX + ")."));
      return;
    }
    var wrap = el("div", { "class": "vpeft-scroll" });
    wrap.appendChild(facts(ids, data));
    out.appendChild(wrap);
    out.appendChild(el("h2", { id: "scores" }, "Benchmark scores"));
    var shown = 0;
    data.boards.forEach(function (board) {
      if (!ids.some(function (id) { return board.scores[id]; })) return;
      out.appendChild(boardSection(ids, data, board));
      shown++;
    });
    if (!shown) out.appendChild(el("p", {}, "No stored benchmark score for any of these methods."));
  }

  function selected() {
    var ids = [];
    for (var k = 0; k < MAX; k++) {
      var v = form.elements["m" + k].value;
      if (v && ids.indexOf(v) === -1) ids.push(v);
    }
    return ids;
  }

  fetch(root.getAttribute("data-src"))
    .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
    .then(function (data) {
      var ids = chosenFromUrl(data.methods);
      for (var k = 0; k < MAX; k++) form.elements["m" + k].value = ids[k] || "";
      form.hidden = false;
      form.addEventListener("submit", function (e) { e.preventDefault(); });
      form.addEventListener("change", function () { var now = selected(); writeUrl(now); render(now, data); });
      render(ids, data);
    })
    .catch(function (err) {
      out.textContent = "";
      out.appendChild(el("p", {}, "The comparison data could not be loaded (" + err + "). Pages opened as files " +
        "cannot load it; serve the site (vpeft site serve) or download the JSON below."));
    });
})();
