// worldflux-nb report: long tables sort (click a header) and search (a text box above them), and the
// explorer's static view searches its cells. Our own code, inlined in the page and allowed by its
// Content-Security-Policy by hash; it loads nothing. Without it the tables read as they are.
(function () {
  "use strict";
  var LONG_TABLE_ROWS = 15; // as LONG_TABLE_ROWS in render/html.py
  var NO_VALUE = "\u2014"; // as NO_VALUE in core/text.py: sorts last

  // A search box (with a count of what it keeps) put before `anchor`; typing hides the items of
  // `items()` whose text does not contain the query, ignoring case.
  function searchBar(items, noun, anchor) {
    var total = items().length;
    var box = document.createElement("input");
    box.type = "search";
    box.placeholder = "Search " + total + " " + noun;
    box.setAttribute("aria-label", box.placeholder);
    box.className = "wfnb-search";
    box.setAttribute("style", "font:inherit;color:inherit;background:transparent;margin:4px 0;" +
      "padding:1px 6px;min-width:18em;border:1px solid rgba(128,128,128,0.5);border-radius:3px");
    var count = document.createElement("span");
    count.setAttribute("style", "margin-left:8px;font-style:italic;opacity:0.8");
    box.addEventListener("input", function () {
      var query = box.value.trim().toLowerCase();
      var shown = 0;
      items().forEach(function (item) {
        item.hidden = query !== "" && item.textContent.toLowerCase().indexOf(query) < 0;
        if (!item.hidden) shown += 1;
      });
      count.textContent = query ? shown + " of " + total + " " + noun : "";
    });
    var bar = document.createElement("div");
    bar.className = "wfnb-table-tools";
    bar.append(box, count);
    anchor.parentElement.insertBefore(bar, anchor);
  }

  function sortKey(cell) {
    var text = cell ? cell.textContent.trim() : "";
    if (text === "" || text === NO_VALUE) return null;
    // A number, with thousands separators or as a percentage, sorts as a number; anything else as text.
    return /^[-+]?\d[\d,]*(\.\d+)?%?$/.test(text) ? Number(text.replace(/[,%]/g, "")) : text;
  }

  function compare(a, b) {
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }

  function enhanceTable(table) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var original = rows.slice();
    // Above the scrolling box when the table has one, so the box stays in view.
    var anchor = table.parentElement && table.parentElement.style.overflow === "auto" ? table.parentElement : table;
    searchBar(function () { return rows; }, "rows", anchor);

    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var state = { column: -1, descending: false };
    var marks = headers.map(function (th) {
      var mark = document.createElement("span");
      mark.setAttribute("aria-hidden", "true");
      th.appendChild(mark);
      return mark;
    });
    headers.forEach(function (th, column) {
      th.tabIndex = 0;
      th.style.cursor = "pointer";
      th.title = "Sort by " + th.textContent.trim();
      th.setAttribute("aria-sort", "none");
      function sort() {
        var descending = state.column === column && !state.descending;
        state = { column: column, descending: descending };
        headers.forEach(function (other, i) { other.setAttribute("aria-sort", "none"); marks[i].textContent = ""; });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        marks[column].textContent = descending ? " \u25BC" : " \u25B2";
        var keyed = original.map(function (row) { return [sortKey(row.cells[column]), row]; });
        keyed.sort(function (x, y) {
          var missing = (x[0] === null) !== (y[0] === null);
          return missing ? compare(x[0], y[0]) : (descending ? -1 : 1) * compare(x[0], y[0]);
        });
        rows = keyed.map(function (pair) { return pair[1]; });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  }

  function enhanceExplorer(view) {
    var cells = Array.prototype.slice.call(view.querySelectorAll("details"));
    if (cells.length) searchBar(function () { return cells; }, "cells", cells[0].parentElement);
  }

  function enhance() {
    Array.prototype.forEach.call(document.querySelectorAll("table"), function (table) {
      if (table.tHead && table.tHead.rows.length && table.tBodies.length &&
          table.tBodies[0].rows.length > LONG_TABLE_ROWS && !table.closest(".worldflux-nb-explorer, .wfnb-explorer")) {
        enhanceTable(table);
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll(".worldflux-nb-explorer"), enhanceExplorer);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhance);
  else enhance();
})();
