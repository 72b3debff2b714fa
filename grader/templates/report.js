/* Optional enhancements; every page is complete and readable without them. */
(function () {
  "use strict";
  var doc = document;
  var all = function (sel, root) { return Array.prototype.slice.call((root || doc).querySelectorAll(sel)); };

  // Toolbar of the learner report: "show only problems", expand / collapse all.
  var bar = doc.querySelector(".toolbar");
  if (bar) { bar.hidden = false; }
  var only = doc.getElementById("only-problems");
  if (only) {
    only.addEventListener("change", function () {
      doc.body.classList.toggle("only-problems", only.checked);
    });
  }
  all("button[data-details]").forEach(function (button) {
    button.addEventListener("click", function () {
      var open = button.getAttribute("data-details") === "open";
      all("details").forEach(function (d) { d.open = open; });
    });
  });

  // A link to a collapsed exercise opens it.
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && doc.getElementById(id);
    if (target) { all("details", target).slice(0, 1).forEach(function (d) { d.open = true; }); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();

  // Printing shows everything: open every <details>, restore afterwards.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = all("details:not([open])");
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });

  // Sortable tables (class overview): a button in each header cell.
  all("table[data-sortable]").forEach(function (table) {
    var body = table.tBodies[0];
    var heads = all("thead th", table);
    heads.forEach(function (th, col) {
      var button = doc.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var numeric = th.hasAttribute("data-numeric");
        var dir = th.getAttribute("aria-sort") === "descending" ? "ascending"
          : th.getAttribute("aria-sort") === "ascending" ? "descending"
          : (numeric ? "descending" : "ascending");
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var key = function (row) {
          var cell = row.cells[col];
          var raw = cell ? (cell.getAttribute("data-sort") || cell.textContent.trim()) : "";
          return numeric ? (parseFloat(raw) || 0) : raw.toLowerCase();
        };
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var c = x < y ? -1 : x > y ? 1 : 0;
          return dir === "ascending" ? c : -c;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
