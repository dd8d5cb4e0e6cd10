"""An ipywidgets explorer: filter a packet's cells, then drill into one cell's episodes.

Imported only when `packet.explore()` or `explore()` is called, so ipywidgets never loads with the
package. Filters work on precomputed integer codes and boolean masks, so a change stays well under
100 ms at 10,000 cells.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from worldflux_nb.core.plan_keys import plan_keys
from worldflux_nb.models.packet import EvalPacket
from worldflux_nb.render.conformance_view import DISPLAY_CATEGORIES, cells_frame, place_on_cells
from worldflux_nb.render.document import Document, Paragraph, Table
from worldflux_nb.render.html import to_html

FILTER_FIELDS = ("probe_id", "task_id", "axis", "level")
CATEGORY_FILTERS = DISPLAY_CATEGORIES + ("underpowered",)
EPISODE_COLUMNS = ["episode_index", "seed", "status", "success", "category", "flags", "replay"]


def _episode_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Episode rows with a flag text and a replay hint (task, seed, episode index)."""
    rows = rows.sort_values(["episode_index", "category"], kind="stable")
    flags = np.where(rows["category"].astype(str) == "matched", "", rows["category"].astype(str))
    infra = (rows["status"].astype(str) == "infra_failure").to_numpy()
    flags = np.where(infra, np.char.add(flags.astype(str), np.where(flags == "", "infra_failure",
                                                                       ", infra_failure")), flags)
    seeds = rows["seed"].astype(object).where(rows["seed"].notna(), None)
    replay = [f"task {t} · seed {'none recorded' if s is None else s} · episode {i}"
              for t, s, i in zip(rows["task_id"], seeds, rows["episode_index"])]
    return pd.DataFrame({"episode_index": rows["episode_index"].to_numpy(), "seed": seeds.to_numpy(),
                         "status": rows["status"].astype(object).where(rows["status"].notna(), None).to_numpy(), "success": rows["success"].astype(object).to_numpy(),
                         "category": rows["category"].astype(str).to_numpy(), "flags": flags,
                         "replay": replay, "detail": rows.get("detail", pd.Series([None] * len(rows))).to_numpy()})


class Explorer(widgets.VBox):
    """Filters (probe, task, axis, level, category), a cell table, and the selected cell's episodes.

    `evidence`: categorised evidence rows (cell_id, probe_id, task_id, axis, level, episode_index,
    seed, success, status, category); without it the drill-down shows the packet's flagged episodes.
    `plan`: when given, planned episodes with no conformant row are listed as missing.
    """

    def __init__(self, packet: EvalPacket, evidence: pd.DataFrame | None = None, plan: Any = None,
                 max_table_rows: int = 100, max_cell_options: int = 500) -> None:
        self.packet, self.plan = packet, plan
        self.max_table_rows, self.max_cell_options = max_table_rows, max_cell_options
        self.cells = cells_frame(packet)
        self._codes = {f: pd.Categorical(self.cells[f].astype(str)) for f in FILTER_FIELDS}
        self._has = {c: self.cells[f"n_{c}"].to_numpy() > 0 for c in DISPLAY_CATEGORIES}
        self._has["underpowered"] = self.cells["underpowered"].to_numpy(dtype=bool)
        extra = [self.cells[f"n_{c}"].to_numpy() > 0 for c in DISPLAY_CATEGORIES[1:]]
        self.cells["flags"] = [", ".join(c for c, on in zip(DISPLAY_CATEGORIES[1:], row) if on)
                               for row in zip(*extra)]
        self._episodes = self._prepare_episodes(evidence)
        self._mask = np.ones(len(self.cells), dtype=bool)

        def picker(name: str, options: Any) -> widgets.SelectMultiple:
            box = widgets.SelectMultiple(options=list(options), description=name, rows=5,
                                         layout=widgets.Layout(width="220px"))
            box.observe(lambda _: self.refresh(), names="value")
            return box

        self.probe = picker("probe", self._codes["probe_id"].categories)
        self.task = picker("task", self._codes["task_id"].categories)
        self.axis = picker("axis", self._codes["axis"].categories)
        self.level = picker("level", self._codes["level"].categories)
        self.category = picker("category", CATEGORY_FILTERS)
        self.status = widgets.HTML()
        self.table = widgets.HTML()
        self.cell = widgets.Dropdown(description="cell", layout=widgets.Layout(width="640px"))
        self._refreshing = False
        self.cell.observe(lambda _: None if self._refreshing else self.show_cell(), names="value")
        self.episodes = widgets.HTML()
        hint = widgets.HTML("<i>Empty filter = everything. Category keeps cells with any of the chosen "
                            "categories. LOCAL_PRIVATE.</i>")
        super().__init__([widgets.HBox([self.probe, self.task, self.axis, self.level, self.category]),
                          hint, self.status, self.table, self.cell, self.episodes])
        self.refresh()

    def _prepare_episodes(self, evidence: pd.DataFrame | None) -> pd.DataFrame:
        if evidence is None:
            flagged = self.packet.flagged_episodes
            rows = pd.DataFrame([f.model_dump() for f in flagged], columns=[
                "category", "probe_id", "task_id", "axis", "level", "episode_index", "seed", "success",
                "status", "detail", "cell_id"])
        else:
            rows = evidence.copy()
        rows["level"] = rows["level"].astype(str)
        rows["cell"] = place_on_cells(rows, self.cells)
        return rows

    @property
    def filtered(self) -> pd.DataFrame:
        """The cells the current filters keep."""
        return self.cells[self._mask]

    def _compute_mask(self) -> np.ndarray:
        mask = np.ones(len(self.cells), dtype=bool)
        for field, box in zip(FILTER_FIELDS, (self.probe, self.task, self.axis, self.level)):
            if box.value:
                codes = self._codes[field]
                wanted = codes.categories.get_indexer(list(box.value))
                mask &= np.isin(codes.codes, wanted)
        if self.category.value:
            mask &= np.logical_or.reduce([self._has[c] for c in self.category.value])
        return mask

    def refresh(self) -> None:
        self._mask = self._compute_mask()
        shown = self.filtered
        head = shown.head(self.max_table_rows)
        rows = list(zip(head["cell_id"], head["planned"], head["matched"], head["missing"], head["successes"],
                        head["success_rate"], head["ci_low"], head["ci_high"], head["underpowered"],
                        head["flags"]))
        table = Table(["cell", "planned", "matched", "missing", "successes", "rate", "ci low", "ci high",
                       "underpowered", "flags"], rows,
                      row_tones=["warning" if u else None for u in head["underpowered"]])
        hidden = len(shown) - len(head)
        blocks = [table] + ([Paragraph(f"… {hidden} more cells: narrow the filters.")] if hidden else [])
        self.table.value = to_html(Document(title=f"Cells: {len(shown)} of {len(self.cells)}", blocks=blocks))
        self.status.value = (f"<b>{len(shown)}</b> cells, {int(shown['planned'].sum())} planned episodes, "
                             f"{int(shown['missing'].sum())} missing, {int(shown['underpowered'].sum())} underpowered")
        options = list(shown["cell_id"].head(self.max_cell_options))
        current = self.cell.value
        self._refreshing = True  # one drill-down render per filter change, not one per trait update
        try:
            self.cell.options = options
            self.cell.value = current if current in options else (options[0] if options else None)
        finally:
            self._refreshing = False
        self.show_cell()

    def episode_rows(self, cell_id: str | None = None) -> pd.DataFrame:
        """The selected (or named) cell's episodes with flags and replay hints."""
        cell_id = self.cell.value if cell_id is None else cell_id
        if cell_id is None:
            return pd.DataFrame(columns=EPISODE_COLUMNS)
        rows = self._episodes[self._episodes["cell"] == cell_id]
        if self.plan is not None:
            rows = pd.concat([rows, self._missing_rows(cell_id, rows)], ignore_index=True)
        return _episode_table(rows)

    def _missing_rows(self, cell_id: str, rows: pd.DataFrame) -> pd.DataFrame:
        planned = plan_keys(self.plan).planned
        planned = planned[planned["cell_id"] == cell_id]
        if planned.empty or (rows["category"].astype(str) == "missing").any():
            return rows.iloc[0:0]
        found = set(rows.loc[rows["category"].astype(str) == "matched", "episode_index"].astype(int))
        missing = planned[~planned["episode_index"].isin(found)]
        return pd.DataFrame({"cell_id": cell_id, "cell": cell_id, "probe_id": missing["probe_id"],
                             "task_id": missing["task_id"], "axis": missing["axis"],
                             "level": missing["level"].astype(str),
                             "episode_index": missing["episode_index"],
                             "seed": [None if pd.isna(s) else int(s) for s in missing["seed"]],
                             "status": None, "success": None, "category": "missing"}).reset_index(drop=True)

    def show_cell(self) -> None:
        rows = self.episode_rows()
        source = "evidence rows" if "detail" not in self._episodes or self._episodes["detail"].isna().all() \
            else "flagged episodes from the packet"
        title = f"Episodes of {self.cell.value}" if self.cell.value else "No cell selected"
        table = Table(EPISODE_COLUMNS, [tuple(r) for r in rows[EPISODE_COLUMNS].itertuples(index=False)],
                      max_rows=200, row_tones=["danger" if f else None for f in rows["flags"]])
        self.episodes.value = to_html(Document(title=title, blocks=[Paragraph(f"{len(rows)} {source}."), table]))


def explore(packet: EvalPacket, evidence: pd.DataFrame | None = None, plan: Any = None) -> Explorer:
    """The explorer widget for a packet; see `Explorer`."""
    return Explorer(packet, evidence=evidence, plan=plan)
