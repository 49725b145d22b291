(function () {
  "use strict";
  var table = document.getElementById("articles");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function key(row, col, numeric) {
    var cell = row.cells[col];
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    if (!numeric) { return raw.trim().toLowerCase(); }
    var v = parseFloat(raw);
    return isNaN(v) ? null : v;
  }
  heads.forEach(function (th, col) {
    var btn = th.querySelector("button");
    if (!btn) { return; }
    btn.addEventListener("click", function () {
      var numeric = th.getAttribute("data-sort") === "num";
      var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir);
      var sign = dir === "ascending" ? 1 : -1;
      var rows = Array.prototype.slice.call(tbody.rows).map(function (r, i) {
        return {row: r, k: key(r, col, numeric), i: i};
      });
      rows.sort(function (a, b) {
        if (a.k === null || b.k === null) {
          if (a.k === b.k) { return a.i - b.i; }
          return a.k === null ? 1 : -1;   // missing values always last
        }
        if (a.k < b.k) { return -sign; }
        if (a.k > b.k) { return sign; }
        return a.i - b.i;
      });
      rows.forEach(function (r) { tbody.appendChild(r.row); });
    });
  });
})();
