"""The explorer: a packet's cells filtered by probe / task / axis / level / category, and each cell's episodes.

An anywidget whose front end (`explorer.js`, shipped in the package; no CDN) holds the aggregated cells
and their episodes, so filtering runs in the browser. Its display carries `static_html()` beside the widget
view: the same view as inline-styled HTML, each cell's episodes one click away behind a <details>. An
executed record (`notebook run`) keeps no widget state for it: its output becomes the static view, the
widget's state as inert JSON and one script running this same front end without a kernel
(render/explorer_record.py, io/notebook_explorer.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Collection

import anywidget
import numpy as np
import pandas as pd
import traitlets

from worldflux_nb.core.run_sheet import planned_episodes_frame
from worldflux_nb.core.text import NO_VALUE, is_missing, value_text
from worldflux_nb.models.common import PRIVACY
from worldflux_nb.models.packet import EvalPacket
from worldflux_nb.render.conformance_view import DISPLAY_CATEGORIES, cells_frame, place_on_cells
from worldflux_nb.render.document import cell_text
from worldflux_nb.render.html import escape_text, scroll_box
from worldflux_nb.render.packet_docs import interval_label

FILTER_FIELDS = ("probe_id", "task_id", "axis", "level")
CATEGORY_FILTERS = DISPLAY_CATEGORIES + ("underpowered",)
SEARCHED_FIELDS = ("cell_id", "probe_id", "task_id", "axis", "level", "flags")  # as SEARCHED in explorer.js
CELL_COLUMNS = ["cell_id", "probe_id", "task_id", "axis", "level", "planned", "matched", "missing",
                "successes", "denominator", "success_rate", "ci_low", "ci_high", "underpowered", "flags"]
EPISODE_COLUMNS = ["episode_index", "seed", "status", "success", "category", "flags", "replay"]
FRONT_END_EPISODE_COLUMNS = EPISODE_COLUMNS[:-1]  # the front end writes the replay hint itself
# Bounds that keep the saved widget state and the static view small at 10,000 cells.
MAX_EPISODES_PER_CELL = 200
MAX_EPISODE_ROWS = 20_000
STATIC_CELLS = 100


def _integers(values: Any) -> list[int | None]:
    """Whole numbers as Python ints and missing ones as None: a float column would show `0.000`."""
    return [None if is_missing(v) else int(v) for v in values]


def _plain(values: Any) -> list[Any]:
    return [None if is_missing(v) else (v.item() if isinstance(v, np.generic) else v) for v in values]


def episode_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Episode rows in episode order, with a flag text and a replay hint (task, seed, episode index);
    integers stay ints. A `cell` column, when there, is kept."""
    rows = rows.assign(order=_integers(rows["episode_index"])).sort_values(["order", "category"], kind="stable")
    category = rows["category"].astype(str).to_numpy()
    infra = (rows["status"].astype(object) == "infra_failure").to_numpy()
    flags = [", ".join(f for f in ([] if c == "matched" else [c]) + (["infra_failure"] if i else []))
             for c, i in zip(category, infra)]
    index, seed = _integers(rows["episode_index"]), _integers(rows["seed"])
    replay = [f"task {t} · seed {value_text(s)} · episode {value_text(i)}"
              for t, s, i in zip(rows["task_id"], seed, index)]
    columns = {"episode_index": index, "seed": seed, "status": _plain(rows["status"]),
               "success": _plain(rows["success"]), "category": list(category), "flags": flags, "replay": replay,
               **({"cell": list(rows["cell"])} if "cell" in rows else {})}
    # Object columns throughout: pandas would turn None into NaN in a column of strings or integers.
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in columns.items()})


class Explorer(anywidget.AnyWidget):
    """Filters that narrow each other, clear buttons, a cell table, and each cell's episodes on a click.

    `evidence`: categorised evidence rows (cell_id, probe_id, task_id, axis, level, episode_index, seed,
    success, status, category); without it a cell's episodes are the packet's flagged episodes.
    `plan`: when given, planned episodes with no conformant row are listed as missing.
    """

    _esm = Path(__file__).with_name("explorer.js").read_text(encoding="utf-8")  # a string: no file watcher
    data = traitlets.Dict().tag(sync=True)
    filters = traitlets.Dict().tag(sync=True)  # field -> chosen values; an empty list keeps everything
    selected = traitlets.Unicode("").tag(sync=True)  # the cell whose episodes are open
    search = traitlets.Unicode("").tag(sync=True)  # text the kept cells contain (case-insensitive)

    def __init__(self, packet: EvalPacket, evidence: pd.DataFrame | None = None, plan: Any = None) -> None:
        self.packet, self.plan = packet, plan
        self.cells = cells_frame(packet)
        self.cells["flags"] = [", ".join(c for c in DISPLAY_CATEGORIES[1:] if getattr(row, f"n_{c}") > 0)
                               for row in self.cells.itertuples()]
        self._has = {c: self.cells[f"n_{c}"].to_numpy() > 0 for c in DISPLAY_CATEGORIES}
        self._has["underpowered"] = self.cells["underpowered"].to_numpy(dtype=bool)
        self.source = "evidence rows" if evidence is not None else "flagged episodes from the packet"
        self._by_cell = self._episodes_by_cell(self._prepare_episodes(evidence))
        super().__init__(data=self._front_end_data(), filters={f: [] for f in FILTER_FIELDS + ("category",)})

    def _prepare_episodes(self, evidence: pd.DataFrame | None) -> pd.DataFrame:
        if evidence is None:
            rows = pd.DataFrame([f.model_dump() for f in self.packet.flagged_episodes], columns=[
                "category", "probe_id", "task_id", "axis", "level", "episode_index", "seed", "success",
                "status", "detail", "cell_id"])
        else:
            rows = evidence.copy()
        rows["level"] = rows["level"].astype(str)
        rows["cell"] = place_on_cells(rows, self.cells)
        if self.plan is not None and not (rows["category"].astype(str) == "missing").any():
            rows = pd.concat([rows, self._missing_rows(rows)], ignore_index=True)
        return rows

    def _missing_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The plan's episodes with no matched row, as rows of category `missing`."""
        planned = planned_episodes_frame(self.plan).rename(columns={"cell_id": "cell"})[
            ["cell", "probe_id", "task_id", "axis", "level", "episode_index", "seed"]]
        planned["level"] = planned["level"].astype(str)
        matched = rows.loc[rows["category"].astype(str) == "matched", ["cell", "episode_index"]]
        matched = matched.assign(episode_index=_integers(matched["episode_index"]), found=True)
        planned = planned.astype({"episode_index": object, "seed": object})
        merged = planned.merge(matched.astype({"episode_index": object}).drop_duplicates(["cell", "episode_index"]),
                               on=["cell", "episode_index"], how="left")
        missing = merged[merged["found"].isna()].drop(columns="found")
        return missing.assign(cell_id=missing["cell"], status=None, success=None, category="missing")

    def _episodes_by_cell(self, rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
        table = episode_table(rows)
        return {cell: part.drop(columns="cell").reset_index(drop=True)
                for cell, part in table.groupby("cell", sort=False)}

    def episode_rows(self, cell_id: str | None = None) -> pd.DataFrame:
        """The named (or selected) cell's episodes with flags and replay hints."""
        cell_id = cell_id or self.selected
        rows = self._by_cell.get(cell_id) if cell_id else None
        return rows if rows is not None else pd.DataFrame({c: pd.Series(dtype=object) for c in EPISODE_COLUMNS})

    def _front_end_data(self) -> dict[str, Any]:
        cells = self.cells
        episodes: dict[str, list[list[Any]]] = {}
        budget = MAX_EPISODE_ROWS
        for cell_id, rows in self._by_cell.items():
            if budget <= 0:
                break
            rows = rows.head(min(MAX_EPISODES_PER_CELL, budget))
            budget -= len(rows)
            episodes[cell_id] = rows[FRONT_END_EPISODE_COLUMNS].to_numpy(dtype=object).tolist()
        return {
            "privacy": PRIVACY, "no_value": NO_VALUE, "source": self.source,
            "fields": list(FILTER_FIELDS), "categories": list(CATEGORY_FILTERS),
            "cell_columns": CELL_COLUMNS, "episode_columns": FRONT_END_EPISODE_COLUMNS,
            "cells": [[None if is_missing(v) else (v.item() if isinstance(v, np.generic) else v) for v in row]
                      for row in cells[CELL_COLUMNS].itertuples(index=False)],
            "cell_categories": [[c for c in CATEGORY_FILTERS if self._has[c][i]] for i in range(len(cells))],
            "episodes": episodes, "max_episodes_per_cell": MAX_EPISODES_PER_CELL,
            "interval_label": interval_label(self.packet),
        }

    def filter(self, **chosen: Collection[str]) -> Explorer:
        """Set filters by field (probe_id, task_id, axis, level, category); an empty value clears one."""
        unknown = set(chosen) - set(self.filters)
        if unknown:
            raise ValueError(f"unknown filter {sorted(unknown)}; use {', '.join(self.filters)}")
        self.filters = {**self.filters, **{f: [str(v) for v in values] for f, values in chosen.items()}}
        return self

    def clear(self) -> Explorer:
        """Clear every filter and the search, and close the open cell."""
        self.filters, self.selected, self.search = {f: [] for f in self.filters}, "", ""
        return self

    def mask(self, skip: str | None = None) -> np.ndarray:
        """Which cells the filters keep (all filters but `skip`, to offer the options that still narrow)."""
        keep = np.ones(len(self.cells), dtype=bool)
        query = self.search.strip().lower()
        if query:
            keep &= np.logical_or.reduce([self.cells[f].astype(str).str.lower().str.contains(query, regex=False)
                                          .to_numpy() for f in SEARCHED_FIELDS])
        for field, values in self.filters.items():
            if field == skip or not values:
                continue
            if field == "category":
                keep &= np.logical_or.reduce([self._has[c] for c in values if c in self._has]
                                             or [np.zeros(len(self.cells), dtype=bool)])
            else:
                keep &= self.cells[field].astype(str).isin(values).to_numpy()
        return keep

    @property
    def filtered(self) -> pd.DataFrame:
        """The cells the current filters keep."""
        return self.cells[self.mask()]

    def options(self, field: str) -> dict[str, int]:
        """Each value of a field with how many cells it would keep, given the other filters."""
        others = self.mask(skip=field)
        if field == "category":
            return {c: int(np.count_nonzero(self._has[c] & others)) for c in CATEGORY_FILTERS}
        return self.cells.loc[others, field].astype(str).value_counts(sort=False).to_dict()

    def summary(self) -> str:
        shown = self.filtered
        return (f"{len(shown)} of {len(self.cells)} cells, {int(shown['planned'].sum())} planned episodes, "
                f"{int(shown['missing'].sum())} missing, {int(shown['underpowered'].sum())} underpowered")

    def static_html(self, max_cells: int = STATIC_CELLS) -> str:
        """The explorer's current view as inline-styled HTML with no script: each cell a <details>."""
        shown = self.filtered
        chosen = "; ".join([f"{f} = {', '.join(v)}" for f, v in self.filters.items() if v]
                           + ([f"search = {self.search.strip()}"] if self.search.strip() else [])) or "none"
        parts = [f'<h3 style="margin:8px 0 4px">Explorer: {len(shown)} of {len(self.cells)} cells</h3>',
                 f'<p style="margin:2px 0">{escape_text(self.summary())}. Filters: {escape_text(chosen)}. '
                 f"{PRIVACY}.</p>",
                 '<p style="margin:2px 0;opacity:0.8;font-style:italic">A static view (no kernel or widgets '
                 "here): open a cell to see its episodes; filter in a trusted notebook.</p>"]
        rows = []
        for row in shown.head(max_cells).itertuples(index=False):
            opened = " open" if row.cell_id == self.selected else ""
            rate = NO_VALUE if is_missing(row.success_rate) else (
                f"{row.success_rate:.3f} [{cell_text(row.ci_low)}, {cell_text(row.ci_high)}]")
            head = (f"<b>{escape_text(row.cell_id)}</b> · planned {row.planned} · matched {row.matched} · "
                    f"missing {row.missing} · successes {row.successes}/{row.denominator} · rate {rate}"
                    + (" · <b>underpowered</b>" if row.underpowered else "")
                    + (f" · flags: {escape_text(row.flags)}" if row.flags else ""))
            episodes = self.episode_rows(row.cell_id)
            rows.append(f'<details{opened} style="margin:0;padding:2px 4px;border-bottom:1px solid '
                        f'rgba(128,128,128,0.35)"><summary style="cursor:pointer">{head}</summary>'
                        f"{_episodes_html(episodes, self.source)}</details>")
        hidden = len(shown) - min(len(shown), max_cells)
        if hidden:
            rows.append(f'<p style="font-style:italic">… {hidden} more cells: narrow the filters.</p>')
        return ('<div class="worldflux-nb-explorer" style="font-family:system-ui,sans-serif;line-height:1.4;'
                'text-align:left">' + "".join(parts) + scroll_box("".join(rows)) + "</div>")

    def _repr_mimebundle_(self, include: Collection[str] | None = None,
                          exclude: Collection[str] | None = None) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(include=include, exclude=exclude) or {}
        bundle = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
        bundle["text/plain"] = f"Explorer over {self.packet.plan_id}: {self.summary()}"
        bundle["text/html"] = self.static_html()
        return bundle


def _episodes_html(rows: pd.DataFrame, source: str) -> str:
    """A cell's flagged episodes as a table, its clean ones as one line of indexes (the view stays small)."""
    flagged = rows[rows["flags"] != ""].head(MAX_EPISODES_PER_CELL)
    clean = rows.loc[rows["flags"] == "", "episode_index"]
    parts = [f'<p style="margin:2px 0">{len(rows)} {escape_text(source)}: {len(rows) - len(clean)} flagged'
             + (f"; without flags: episode {escape_text(cell_text(list(clean)))}" if len(clean) else "")
             + ".</p>"]
    if len(flagged):
        head = "".join(f"<th>{c}</th>" for c in EPISODE_COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{escape_text(cell_text(v))}</td>" for v in row) + "</tr>"
                       for row in flagged[EPISODE_COLUMNS].itertuples(index=False))
        # Spacing on the table, not on every cell: the view stays small at hundreds of rows.
        parts.append('<table style="border-collapse:separate;border-spacing:10px 1px;font-size:0.9em;'
                     f'text-align:left;margin:0 0 4px 8px"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
    return "".join(parts)


def explore(packet: EvalPacket, evidence: pd.DataFrame | None = None, plan: Any = None) -> Explorer:
    """The explorer widget for a packet; see `Explorer`."""
    return Explorer(packet, evidence=evidence, plan=plan)
