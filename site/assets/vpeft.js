/* vpeft site tables: sortable columns and the filter form of the all-methods page. Part of vpeft (MIT licence).
   Without this script the tables are complete and readable; it only hides rows and reorders them. */
(function () {
  "use strict";

  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) return "";
    return cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
  }

  function compare(type, a, b) {
    // Empty cells (no score) sort last in both directions, so they are handled by the caller.
    if (type === "number") return parseFloat(a) - parseFloat(b);
    return collator.compare(a, b);
  }

  function sortTable(table, index, descending) {
    var header = table.tHead.rows[0].cells[index];
    var type = header.getAttribute("data-sort-type") || "text";
    Array.prototype.forEach.call(table.tBodies, function (body) {
      var rows = Array.prototype.slice.call(body.rows);
      var keyed = rows.map(function (row, i) { return { row: row, key: cellValue(row, index), i: i }; });
      keyed.sort(function (x, y) {
        var ex = x.key === "" || x.key === "\u2013", ey = y.key === "" || y.key === "\u2013";
        if (ex || ey) return ex === ey ? x.i - y.i : (ex ? 1 : -1);
        var c = compare(type, x.key, y.key);
        return (descending ? -c : c) || x.i - y.i;
      });
      var fragment = document.createDocumentFragment();
      keyed.forEach(function (k) { fragment.appendChild(k.row); });
      body.appendChild(fragment);
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      if (i === index) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
    table.dispatchEvent(new CustomEvent("vpeft:sorted", { detail: { index: index, descending: descending } }));
  }

  function makeSortable(table) {
    if (!table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "vpeft-sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        // Numbers start high (best score first), text starts A to Z.
        var current = th.getAttribute("aria-sort");
        var numeric = th.getAttribute("data-sort-type") === "number";
        var descending = current ? current === "ascending" : numeric;
        sortTable(table, index, descending);
      });
    });
  }

  // ------------------------------------------------------------ filters of the all-methods page

  function setupFilters(form) {
    var table = document.getElementById(form.getAttribute("data-filter-for"));
    if (!table) return;
    var count = document.querySelector('[data-count-for="' + table.id + '"]');
    var body = table.tBodies[0];
    var total = body.rows.length;
    Array.prototype.forEach.call(body.rows, function (row) {
      row.vpeftData = {
        text: (row.textContent + " " + (row.getAttribute("data-text") || "")).toLowerCase(),
        categories: (row.getAttribute("data-category") || "").split(" "),
        venue: row.getAttribute("data-venue") || "",
        year: parseInt(row.getAttribute("data-year"), 10),
        apps: (row.getAttribute("data-apps") || "").split("|"),
        code: row.getAttribute("data-code") === "yes",
        impl: row.getAttribute("data-impl") === "yes"
      };
    });
    // "text", not "q": Material for MkDocs opens its own search dialog for a ?q= in the address.
    var fields = ["text", "category", "venue", "app", "from", "to", "code", "impl"];
    // Laying out a long table is what costs time, not matching: show the first PAGE matches and offer the rest.
    var PAGE = 200;
    var showAll = false;
    var more = document.createElement("button");
    more.type = "button";
    more.className = "vpeft-more";
    more.hidden = true;
    table.parentNode.parentNode.insertBefore(more, table.parentNode.nextSibling);
    more.addEventListener("click", function () { showAll = true; apply(); });

    function state() {
      var s = {};
      fields.forEach(function (name) {
        var el = form.elements[name];
        s[name] = el.type === "checkbox" ? (el.checked ? "1" : "") : el.value.trim();
      });
      return s;
    }

    function matches(r, s, words, from, to) {
      for (var w = 0; w < words.length; w++) if (r.text.indexOf(words[w]) === -1) return false;
      return (!s.category || r.categories.indexOf(s.category) !== -1) &&
        (!s.venue || r.venue === s.venue) &&
        (!s.app || r.apps.indexOf(s.app) !== -1) &&
        (isNaN(from) || r.year >= from) &&
        (isNaN(to) || r.year <= to) &&
        (!s.code || r.code) &&
        (!s.impl || r.impl);
    }

    function apply() {
      var s = state();
      var words = s.text.toLowerCase().split(/\s+/).filter(Boolean);
      var from = parseInt(s.from, 10), to = parseInt(s.to, 10);
      var found = 0;
      var rows = body.rows;
      for (var i = 0; i < rows.length; i++) {
        var ok = matches(rows[i].vpeftData, s, words, from, to);
        if (ok) found++;
        var hide = !ok || (!showAll && found > PAGE);
        if (rows[i].hidden !== hide) rows[i].hidden = hide;  // untouched rows need no new style
      }
      if (count) count.textContent = found + " of " + total + " methods";
      more.hidden = showAll || found <= PAGE;
      more.textContent = "Show all " + found + " matching methods (the first " + PAGE + " are shown)";
      return s;
    }

    function writeUrl(s) {
      var params = new URLSearchParams(window.location.search);
      fields.forEach(function (name) {
        if (s[name]) params.set(name, s[name]); else params.delete(name);
      });
      var query = params.toString();
      history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
    }

    function readUrl() {
      var params = new URLSearchParams(window.location.search);
      fields.forEach(function (name) {
        var el = form.elements[name];
        var value = params.get(name);
        if (value === null) return;
        if (el.type === "checkbox") el.checked = value === "1";
        else el.value = value;
      });
      var sort = params.get("sort");
      if (sort !== null && table.tHead.rows[0].cells[+sort]) sortTable(table, +sort, params.get("dir") === "desc");
    }

    function update() { showAll = false; writeUrl(apply()); }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.addEventListener("reset", function () { setTimeout(update, 0); });
    table.addEventListener("vpeft:sorted", function (e) {
      apply();  // the first PAGE rows of the new order
      var params = new URLSearchParams(window.location.search);
      params.set("sort", String(e.detail.index));
      params.set("dir", e.detail.descending ? "desc" : "asc");
      history.replaceState(null, "", window.location.pathname + "?" + params.toString() + window.location.hash);
    });
    form.hidden = false;
    readUrl();
    apply();
  }

  // ------------------------------------------------------------ sorting kept in the address

  // A sorted table with an id (other than the all-methods table, whose form keeps sort= and dir=) writes
  // sort-<id>=<column>-<asc|desc> to the address, and a shared address sorts it again.
  function keepSort(table) {
    if (!table.id || document.querySelector('form[data-filter-for="' + table.id + '"]')) return;
    var key = "sort-" + table.id;
    table.addEventListener("vpeft:sorted", function (e) {
      var params = new URLSearchParams(window.location.search);
      params.set(key, e.detail.index + "-" + (e.detail.descending ? "desc" : "asc"));
      history.replaceState(null, "", window.location.pathname + "?" + params.toString() + window.location.hash);
    });
    var wanted = /^(\d+)-(asc|desc)$/.exec(new URLSearchParams(window.location.search).get(key) || "");
    if (wanted && table.tHead.rows[0].cells[+wanted[1]]) sortTable(table, +wanted[1], wanted[2] === "desc");
  }

  // ------------------------------------------------------------ filters of the leaderboards

  // Columns by source kind (paper / benchmark / reproduced), and numbers by how they were selected: a number chosen
  // on the test set is masked, and so is every difference (Δ) taken against a masked paper-reported number. A
  // parameter budget hides the rows above it (and those without a count); the heat map shades every column. The
  // form's state lives in the address.
  function setupBoardFilters(form) {
    var cells = document.querySelectorAll("table.vpeft-lines [data-col-kind]");
    var rows = document.querySelectorAll("table.vpeft-board tbody tr[data-params]");
    var tables = document.querySelectorAll("table.vpeft-board");
    var count = document.querySelector("[data-board-count]");
    var checks = ["kind-paper", "kind-benchmark", "kind-reproduced", "hide-test", "hide-unknown", "heat"];

    function apply() {
      var hideTest = form.elements["hide-test"].checked, hideUnknown = form.elements["hide-unknown"].checked;
      function masked(selection) {
        return (hideTest && selection === "best-test-epoch") || (hideUnknown && selection === "unknown");
      }
      Array.prototype.forEach.call(cells, function (cell) {
        var shown = form.elements["kind-" + cell.getAttribute("data-col-kind")].checked;
        cell.classList.toggle("vpeft-off", !shown);
        var hide = masked(cell.getAttribute("data-selection")) || masked(cell.getAttribute("data-paper-selection"));
        cell.classList.toggle("vpeft-masked", cell.tagName === "TD" && hide);
      });
      var budget = parseFloat(form.elements.budget.value), shownRows = 0;
      Array.prototype.forEach.call(rows, function (row) {
        var params = row.getAttribute("data-params");
        var hide = !isNaN(budget) && (params === "" || parseFloat(params) > budget);
        row.hidden = hide;
        if (!hide) shownRows++;
      });
      if (count) count.textContent = isNaN(budget) ? "" :
        shownRows + " of " + rows.length + " rows within " + budget + " M trainable parameters";
      var heat = form.elements.heat.checked;
      Array.prototype.forEach.call(tables, function (t) { t.classList.toggle("vpeft-heatmap", heat); });
    }

    function writeUrl() {
      var params = new URLSearchParams(window.location.search);
      checks.forEach(function (name) {
        var el = form.elements[name];
        if (el.checked === el.defaultChecked) params.delete(name); else params.set(name, el.checked ? "1" : "0");
      });
      var budget = form.elements.budget.value.trim();
      if (budget) params.set("budget", budget); else params.delete("budget");
      var query = params.toString();
      history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
    }

    function readUrl() {
      var params = new URLSearchParams(window.location.search);
      checks.forEach(function (name) {
        var value = params.get(name);
        if (value !== null) form.elements[name].checked = value === "1";
      });
      if (params.get("budget") !== null) form.elements.budget.value = params.get("budget");
    }

    function update() { apply(); writeUrl(); }
    form.addEventListener("change", update);
    form.addEventListener("input", update);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    form.addEventListener("reset", function () { setTimeout(update, 0); });
    form.hidden = false;
    readUrl();
    apply();
  }

  // ------------------------------------------------------------ choosing methods to compare

  // A table with data-compare (the compare page's address) gets a box in every row that names a method. A hint
  // above the table says so; once a box is ticked, a bar that stays at the bottom of the screen while the table is
  // in view leads to the compare page with the chosen methods (compare.html?m=a,b). A long table (the methods
  // table) gets its boxes only when asked: a control in every row makes filtering it about half again slower.
  var COMPARE_MAX = 4;
  var COMPARE_EAGER_ROWS = 60;
  function setupCompareChoice(table) {
    var target = table.getAttribute("data-compare");
    var rows = table.querySelectorAll("tbody tr[data-method]");
    if (!target || !rows.length) return;
    var chosen = [];
    var wrap = table.closest(".vpeft-scroll") || table;
    var hint = document.createElement("p");
    hint.className = "vpeft-compare-hint";
    wrap.parentNode.insertBefore(hint, wrap);
    var bar = document.createElement("p");
    bar.className = "vpeft-compare-bar";
    bar.hidden = true;
    var go = document.createElement("a");
    go.className = "vpeft-compare-go";
    bar.appendChild(go);
    var clear = document.createElement("button");
    clear.type = "button";
    clear.textContent = "Clear";
    bar.appendChild(clear);
    wrap.parentNode.insertBefore(bar, wrap.nextSibling);
    var boxes = [];

    function update() {
      var ready = chosen.length >= 2;
      bar.hidden = !chosen.length;
      go.textContent = ready ? "Compare the " + chosen.length + " chosen methods" :
        "Tick one more method to compare (" + chosen.length + " chosen)";
      if (ready) go.setAttribute("href", target + "?m=" + chosen.map(encodeURIComponent).join(","));
      else go.removeAttribute("href");
      boxes.forEach(function (box) { box.disabled = !box.checked && chosen.length >= COMPARE_MAX; });
    }

    clear.addEventListener("click", function () {
      chosen = [];
      boxes.forEach(function (box) { box.checked = false; });
      update();
    });

    function addBoxes() {
      hint.textContent = "Tick 2 to " + COMPARE_MAX + " methods in the table to compare them side by side.";
      Array.prototype.forEach.call(rows, function (row) {
        var id = row.getAttribute("data-method");
        var box = document.createElement("input");
        box.type = "checkbox";
        box.className = "vpeft-compare-select";
        var name = row.cells[table.classList.contains("vpeft-lines") ? 1 : 0];
        box.setAttribute("aria-label", "compare " + (name ? name.textContent.trim() : id));
        box.addEventListener("change", function () {
          var at = chosen.indexOf(id);
          if (box.checked && at === -1) chosen.push(id);
          if (!box.checked && at !== -1) chosen.splice(at, 1);
          update();
        });
        boxes.push(box);
        if (name) name.insertBefore(box, name.firstChild);
      });
      update();
    }

    if (rows.length <= COMPARE_EAGER_ROWS) {
      addBoxes();
      return;
    }
    var ask = document.createElement("button");
    ask.type = "button";
    ask.className = "vpeft-compare-ask";
    ask.textContent = "Choose methods to compare";
    hint.appendChild(ask);
    ask.addEventListener("click", function () {
      addBoxes();
      var first = boxes[0];
      if (first) first.focus();
    });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), makeSortable);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-filter-for]"), setupFilters);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-board-filters]"), setupBoardFilters);
    Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable][id]"), keepSort);
    Array.prototype.forEach.call(document.querySelectorAll("table[data-compare]"), setupCompareChoice);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
