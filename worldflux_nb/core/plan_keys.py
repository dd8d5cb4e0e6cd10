"""A plan's planned episodes as lookup keys, computed once per plan and cached on it.

Conformance asks one question per evidence row — which planned episode is (cell, episode index)? —
and the answer depends only on the plan, so the table that answers it is built once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from worldflux_nb.core.run_sheet import planned_episodes_frame
from worldflux_nb.models.plan import ProtocolPlan

# A dense (cell x episode index) table is used while it stays within this many entries per planned
# episode; sparse or huge episode indexes take a hash lookup instead.
DENSE_ENTRIES_PER_EPISODE = 8


@dataclass(frozen=True)
class PlanKeys:
    """`planned`: one row per planned episode (run-sheet columns, `level_key`, `planned_ix`).
    `places`: (probe, task, axis, str(level)) -> position in plan.cells. Per planned episode: its
    cell position, seed and whether the plan records none."""

    planned: pd.DataFrame
    places: dict[tuple[str, str, str, str], int]
    cell_ids: np.ndarray
    planned_cell: np.ndarray
    seed: np.ndarray
    seed_missing: np.ndarray
    _dense: np.ndarray | None
    _width: int
    _indexes: pd.Index | None
    _keys: pd.Index | None

    def positions(self, cell: np.ndarray, episode_index: np.ndarray) -> np.ndarray:
        """Per (plan cell position or -1, episode index): the planned episode's position, or -1."""
        if self._dense is not None:
            ok = (cell >= 0) & (episode_index >= 0) & (episode_index < self._width)
            flat = np.where(ok, cell * self._width + np.where(ok, episode_index, 0), 0)
            return np.where(ok, self._dense[flat], -1)
        assert self._indexes is not None and self._keys is not None
        index_codes = self._indexes.get_indexer(episode_index)
        ok = (cell >= 0) & (index_codes >= 0)
        found = self._keys.get_indexer(np.where(ok, cell * self._width + index_codes, -1))
        return np.where(ok, found, -1).astype(np.int64)


def plan_keys(plan: ProtocolPlan) -> PlanKeys:
    """The plan's keys, built on first use and then kept on the plan."""
    cache = plan._keys
    keys = cache.get(plan.cells)
    if keys is None:
        keys = cache.put(plan.cells, build_plan_keys(plan))
    return keys


def planned_frame(plan: ProtocolPlan) -> pd.DataFrame:
    """The plan's episodes, one row each, with the join key and a `planned_ix` position."""
    frame = planned_episodes_frame(plan).reset_index(drop=True)
    frame["level_key"] = level_keys(frame["level"])
    frame["episode_index"] = frame["episode_index"].astype("int64")
    frame["planned_ix"] = np.arange(len(frame), dtype=np.int64)
    return frame


def level_keys(levels: pd.Series | list[Any]) -> pd.Series:
    """`str(level)` for every level, computed once per distinct level (levels repeat a lot)."""
    codes, uniques = pd.factorize(np.asarray(levels, dtype=object), use_na_sentinel=False)
    texts = pd.array([str(level) for level in uniques], dtype="str")
    return pd.Series(texts.take(codes), index=getattr(levels, "index", None))


def build_plan_keys(plan: ProtocolPlan) -> PlanKeys:
    planned = planned_frame(plan)
    cells = plan.cells
    planned_cell = np.repeat(np.arange(len(cells), dtype=np.int64),
                             [len(c.episode_indexes) for c in cells])
    indexes = planned["episode_index"].to_numpy(dtype=np.int64)
    seed = planned["seed"].array
    width = int(indexes.max()) + 1 if len(indexes) else 1
    dense = None
    lookup_indexes = lookup_keys = None
    if len(indexes) and indexes.min() >= 0 and len(cells) * width <= max(
            DENSE_ENTRIES_PER_EPISODE * len(indexes), 1 << 16):
        flat = planned_cell * width + indexes
        dense = np.full(len(cells) * width, -1, dtype=np.int64)
        dense[flat] = np.arange(len(indexes), dtype=np.int64)
        unique = int((dense >= 0).sum()) == len(indexes)
    else:
        index_codes, distinct = pd.factorize(indexes)
        width = max(len(distinct), 1)
        lookup_indexes = pd.Index(distinct)
        lookup_keys = pd.Index(planned_cell * width + index_codes)
        unique = lookup_keys.is_unique
    if not unique:
        raise pd.errors.MergeError("Merge keys are not unique in right dataset; not a many-to-one merge")
    cell_ids = np.empty(len(cells) + 1, dtype=object)
    cell_ids[:-1] = [c.cell_id for c in cells]
    cell_ids[-1] = np.nan  # position -1: no planned cell
    return PlanKeys(
        planned=planned,
        places={(c.probe_id, c.task_id, c.axis, str(c.level)): i for i, c in enumerate(cells)},
        cell_ids=cell_ids, planned_cell=planned_cell,
        seed=seed.to_numpy(dtype=np.int64, na_value=0), seed_missing=seed.isna(),
        _dense=dense, _width=width, _indexes=lookup_indexes, _keys=lookup_keys)
