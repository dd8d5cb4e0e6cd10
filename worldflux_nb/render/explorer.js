// worldflux-nb explorer front end: filters, a cell table and each cell's episodes, all in the page.
// It holds the aggregated data the kernel sent (or the notebook saved), so it works without a kernel;
// it loads nothing from the network. LOCAL_PRIVATE.
const MAX_ROWS = 200;
const LABELS = { probe_id: "probe", task_id: "task", axis: "axis", level: "level", category: "category" };
const RULE = "1px solid rgba(128,128,128,0.35)";
// What the search box looks in (the same fields as Explorer.mask in explorer.py).
const SEARCHED = ["cell_id", "probe_id", "task_id", "axis", "level", "flags"];

function h(tag, style, text) {
  const node = document.createElement(tag);
  if (style) node.setAttribute("style", style);
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(text, title, onClick) {
  const node = h("button", "margin:0 4px;padding:0 6px;font:inherit;cursor:pointer;color:inherit;" +
    "background:rgba(128,128,128,0.15);border:" + RULE + ";border-radius:3px", text);
  node.type = "button";
  node.title = title;
  node.addEventListener("click", onClick);
  return node;
}

function render({ model, el }) {
  el.classList.add("wfnb-explorer");
  if (!document.getElementById("wfnb-explorer-style")) {
    // Filtering needs no kernel here, so the widgets' "disconnected" marker would mislead.
    const style = h("style");
    style.id = "wfnb-explorer-style";
    style.textContent = ".wfnb-explorer.jupyter-widgets-disconnected::before{display:none}";
    document.head.appendChild(style);
  }
  const data = model.get("data");
  const none = data.no_value;
  const col = Object.fromEntries(data.cell_columns.map((name, i) => [name, i]));
  const ecol = data.episode_columns;

  function save(changes) {
    for (const [key, value] of Object.entries(changes)) model.set(key, value);
    try { model.save_changes(); } catch (error) { /* no kernel: the page keeps the state */ }
  }
  function text(value) {
    if (value === null || value === undefined || (typeof value === "number" && isNaN(value))) return none;
    if (typeof value === "boolean") return value ? "yes" : "no";
    if (typeof value === "number" && !Number.isInteger(value)) return value.toFixed(3);
    return String(value);
  }
  function keeps(i, filters, skip) {
    if (!matches(i, (model.get("search") || "").trim().toLowerCase())) return false;
    for (const [field, chosen] of Object.entries(filters)) {
      if (field === skip || !chosen.length) continue;
      if (field === "category") {
        if (!chosen.some((c) => data.cell_categories[i].includes(c))) return false;
      } else if (!chosen.includes(String(data.cells[i][col[field]]))) return false;
    }
    return true;
  }
  function options(field, filters) {
    const counts = new Map();
    if (field === "category") data.categories.forEach((c) => counts.set(c, 0));
    data.cells.forEach((row, i) => {
      if (!keeps(i, filters, field)) return;
      const values = field === "category" ? data.cell_categories[i] : [String(row[col[field]])];
      values.forEach((v) => counts.set(v, (counts.get(v) || 0) + 1));
    });
    return counts;
  }

  function filterPanel(filters) {
    const panel = h("div", "display:flex;flex-wrap:wrap;gap:8px;margin:4px 0");
    for (const field of [...data.fields, "category"]) {
      const chosen = filters[field] || [];
      const box = h("fieldset", "border:" + RULE + ";padding:2px 6px;margin:0;min-width:10em;max-width:22em");
      const legend = h("legend", "font-weight:bold;padding:0 4px", LABELS[field]);
      if (chosen.length) {
        legend.appendChild(button("clear", "Clear the " + LABELS[field] + " filter",
          () => save({ filters: { ...filters, [field]: [] } })));
      }
      box.appendChild(legend);
      // Options wrap rather than scroll sideways: a sideways scrollbar would cover the last option.
      const list = h("div", "max-height:9em;overflow-y:auto;overflow-x:hidden");
      for (const [value, count] of options(field, filters)) {
        const on = chosen.includes(value);
        if (!count && !on) continue; // an option that would keep nothing is not offered
        const label = h("label", "display:block;cursor:pointer;overflow-wrap:anywhere");
        const tick = h("input");
        tick.type = "checkbox";
        tick.checked = on;
        tick.addEventListener("change", () => {
          const next = on ? chosen.filter((v) => v !== value) : [...chosen, value];
          save({ filters: { ...filters, [field]: next } });
        });
        label.append(tick, " " + value + " (" + count + ")");
        list.appendChild(label);
      }
      box.appendChild(list);
      panel.appendChild(box);
    }
    return panel;
  }

  function episodesRow(cellId, task, span) {
    const row = h("tr");
    const td = h("td", "padding:2px 8px 8px 24px");
    td.colSpan = span;
    const rows = data.episodes[cellId] || [];
    td.appendChild(h("div", "font-style:italic", rows.length + " " + data.source +
      (rows.length >= data.max_episodes_per_cell ? " (first " + rows.length + ")" : "") + "."));
    if (rows.length) {
      const table = h("table", "border-collapse:collapse;font-size:0.95em;text-align:left;table-layout:auto;margin:0");
      const head = h("tr", "border-bottom:" + RULE);
      [...ecol, "replay"].forEach((c) => head.appendChild(h("th", "padding:1px 6px;text-align:left", c)));
      table.appendChild(head);
      const flags = ecol.indexOf("flags");
      const seed = ecol.indexOf("seed");
      const index = ecol.indexOf("episode_index");
      rows.forEach((r) => {
        const tr = h("tr", r[flags] ? "background:rgba(213,94,0,0.12)" : "");
        const replay = "task " + task + " · seed " + text(r[seed]) + " · episode " + text(r[index]);
        [...r, replay].forEach((v) => tr.appendChild(h("td", "padding:1px 6px;text-align:left", text(v))));
        table.appendChild(tr);
      });
      td.appendChild(table);
    }
    row.appendChild(td);
    return row;
  }

  // The cell table's columns: header, the value a click on the header sorts by, the text shown.
  const COLUMNS = [
    ["cell", (r) => r[col.cell_id]],
    ["planned", (r) => r[col.planned]],
    ["matched", (r) => r[col.matched]],
    ["missing", (r) => r[col.missing]],
    ["successes", (r) => r[col.successes], (r) => r[col.successes] + "/" + r[col.denominator]],
    ["rate [" + (data.interval_label || "interval") + "]", (r) => r[col.success_rate], (r) => r[col.success_rate] === null ? none :
      text(r[col.success_rate]) + " [" + text(r[col.ci_low]) + ", " + text(r[col.ci_high]) + "]"],
    ["underpowered", (r) => r[col.underpowered]],
    ["flags", (r) => r[col.flags] || ""],
  ];
  let order = { column: -1, descending: false }; // sorting is a view of the page, not of the state

  function matches(i, query) {
    if (!query) return true;
    const r = data.cells[i];
    return SEARCHED.some((name) => String(r[col[name]] ?? "").toLowerCase().includes(query));
  }
  function compare(a, b) {
    const missingA = a === null || a === undefined, missingB = b === null || b === undefined;
    if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1; // missing last
    if (typeof a === "number" || typeof a === "boolean") return Number(a) - Number(b);
    return String(a).localeCompare(String(b), undefined, { numeric: true });
  }
  function sorted(kept) {
    if (order.column < 0) return kept;
    const key = COLUMNS[order.column][1];
    const sign = order.descending ? -1 : 1;
    return [...kept].sort((i, j) => {
      const a = key(data.cells[i]), b = key(data.cells[j]);
      const missing = (a === null || a === undefined) !== (b === null || b === undefined);
      return missing ? compare(a, b) : sign * compare(a, b); // missing values stay last either way
    });
  }

  const root = h("div", "font-family:system-ui,sans-serif;line-height:1.4;text-align:left;color:inherit");
  const top = h("div", "display:flex;align-items:baseline;gap:8px;flex-wrap:wrap");
  const panel = h("div");
  const bar = h("div", "display:flex;align-items:baseline;gap:8px;flex-wrap:wrap;margin:2px 0");
  const search = h("input", "font:inherit;color:inherit;background:transparent;border:" + RULE +
    ";border-radius:3px;padding:1px 6px;min-width:24em");
  search.type = "search";
  search.placeholder = "Search cells (id, probe, task, axis, level, flags)";
  search.setAttribute("aria-label", "Search the cells");
  search.value = model.get("search") || "";
  search.addEventListener("input", () => save({ search: search.value }));
  bar.append(search, h("span", "opacity:0.8;font-style:italic",
    "Filters and the search narrow each other; click a header to sort, a cell to open its episodes."));
  const scroller = h("div", "max-height:32em;overflow:auto;border:" + RULE);
  root.append(top, panel, bar, scroller);
  el.replaceChildren(root);

  function draw() {
    const filters = model.get("filters");
    const selected = model.get("selected");
    const query = (model.get("search") || "").trim().toLowerCase();
    if (search.value.trim().toLowerCase() !== query) search.value = model.get("search") || "";
    const kept = sorted(data.cells.map((_, i) => i).filter((i) => keeps(i, filters)));
    const sum = (name) => kept.reduce((total, i) => total + (data.cells[i][col[name]] || 0), 0);
    const under = kept.filter((i) => data.cells[i][col.underpowered]).length;
    top.replaceChildren(h("b", "", "Explorer: " + kept.length + " of " + data.cells.length + " cells"),
      h("span", "", sum("planned") + " planned episodes, " + sum("missing") + " missing, " +
        under + " underpowered · " + data.privacy));
    if (Object.values(filters).some((v) => v.length) || query) {
      top.appendChild(button("clear all", "Clear every filter and the search", () =>
        save({ filters: Object.fromEntries(Object.keys(filters).map((f) => [f, []])), selected: "", search: "" })));
    }
    panel.replaceChildren(filterPanel(filters));
    // Auto layout: a page's own table rules (JupyterLab's rendered HTML has fixed layout) would give every
    // column the same width and run long cell ids over their neighbours.
    const table = h("table", "border-collapse:collapse;font-size:0.9em;text-align:left;width:100%;table-layout:auto");
    const head = h("tr", "border-bottom:" + RULE);
    COLUMNS.forEach(([name], c) => {
      const on = order.column === c;
      const th = h("th", "padding:2px 8px;text-align:left;position:sticky;top:0;cursor:pointer;user-select:none;" +
        "background:var(--jp-layout-color1, Canvas)", name + (on ? (order.descending ? " ▼" : " ▲") : ""));
      th.tabIndex = 0;
      th.title = "Sort by " + name;
      th.setAttribute("aria-sort", on ? (order.descending ? "descending" : "ascending") : "none");
      const sort = () => {
        order = { column: c, descending: on && !order.descending };
        draw();
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") sort(); });
      head.appendChild(th);
    });
    table.appendChild(h("thead")).appendChild(head);
    const body = table.appendChild(h("tbody"));
    kept.slice(0, MAX_ROWS).forEach((i) => {
      const r = data.cells[i];
      const id = r[col.cell_id];
      const open = id === selected;
      const tr = h("tr", "cursor:pointer;border-bottom:" + RULE +
        (open ? ";background:rgba(0,114,178,0.18)" : r[col.underpowered] ? ";background:rgba(230,159,0,0.12)" : ""));
      tr.tabIndex = 0;
      tr.setAttribute("role", "button");
      tr.setAttribute("aria-expanded", String(open));
      tr.dataset.cell = id;
      COLUMNS.forEach(([, key, show], c) => {
        const value = (c === 0 ? (open ? "▾ " : "▸ ") : "") + (show ? show(r) : text(key(r)));
        const td = tr.appendChild(h("td", "padding:2px 8px;text-align:left", c ? value : undefined));
        // A cell id has no spaces: it wraps anywhere, in a column kept at least 12em wide by its block.
        if (!c) td.appendChild(h("div", "min-width:12em;overflow-wrap:anywhere", value));
      });
      const toggle = () => save({ selected: open ? "" : id });
      tr.addEventListener("click", toggle);
      tr.addEventListener("keydown", (event) => { if (event.key === "Enter" || event.key === " ") toggle(); });
      body.appendChild(tr);
      if (open) body.appendChild(episodesRow(id, r[col.task_id], COLUMNS.length));
    });
    scroller.replaceChildren(table);
    if (kept.length > MAX_ROWS) {
      scroller.appendChild(h("div", "font-style:italic;padding:2px 8px",
        "… " + (kept.length - MAX_ROWS) + " more cells: narrow the filters or the search."));
    }
  }

  const EVENTS = ["change:filters", "change:selected", "change:search"];
  EVENTS.forEach((event) => model.on(event, draw));
  draw();
  return () => EVENTS.forEach((event) => model.off(event, draw));
}

export default { render };
