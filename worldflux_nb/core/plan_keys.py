"""A plan's planned episodes as lookup keys: a pure function of the plan's cells.

Conformance asks one question per evidence row — which planned episode is (cell, episode index)? —
and the answer depends only on the plan, so the table that answers it is built once per check,
from the cells as they are then (nothing is kept on the plan, so nothing can go stale).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from worldflux_nb.core.plan_cells import expand_cells
from worldflux_nb.core.bulk import index_int
from worldflux_nb.core.run_sheet import planned_episodes_frame
from worldflux_nb.core.table_columns import CodedValues, Nullable, frame
from worldflux_nb.models.plan import PlanCell, ProtocolPlan

if TYPE_CHECKING:
    import pandas as pd

# A dense (cell x episode index) table is used while it stays within this many entries per planned
# episode; sparse or huge episode indexes take a hash lookup instead.
DENSE_ENTRIES_PER_EPISODE = 8
POSITION = np.int32  # a planned episode's position; a plan of 2**31 episodes would not fit in memory


@dataclass(frozen=True)
class PlanKeys:
    """`places`: (probe, task, axis, str(level)) -> position in plan.cells. Per planned episode (in
    plan order): its cell position, episode index (int32 unless one needs int64), seed and whether
    the plan records none; `ascending`: whether that order is also run order (by cell, then episode
    index). `planned` (built on first use): one row per planned episode (run-sheet columns,
    `level_key`, `planned_ix`)."""

    cells: tuple[PlanCell, ...] = field(repr=False)
    places: dict[tuple[str, str, str, str], int]
    cell_ids: np.ndarray
    planned_cell: np.ndarray
    episode_index: np.ndarray
    seed: np.ndarray
    seed_missing: np.ndarray
    ascending: bool
    _dense: np.ndarray | None
    _width: int
    _indexes: np.ndarray | None  # sparse plans: the distinct episode indexes, ascending
    _keys: np.ndarray | None  # sparse plans: (cell x index code) keys, ascending
    _order: np.ndarray | None  # sparse plans: the planned episode of each of _keys

    def __len__(self) -> int:
        return len(self.planned_cell)

    @cached_property
    def planned(self) -> pd.DataFrame:
        """The run-sheet columns (as planned_episodes_frame gives them) from the cached arrays."""
        return self.planned_at(None)

    def planned_at(self, at: np.ndarray | None) -> pd.DataFrame:
        """`planned`, or only its rows at these positions (as `planned.iloc[at]`, without building it)."""
        import pandas as pd

        planned = frame(self.planned_columns(at))
        if at is not None:
            planned.index = pd.Index(at)  # the labels `planned.iloc[at]` keeps
        return planned

    def planned_columns(self, at: np.ndarray | None) -> dict[str, Any]:
        """planned_at's columns, numpy only (core.table_columns)."""
        pick = (lambda values: values) if at is None else (lambda values: values[at])
        cell = pick(self.planned_cell)
        # A few positions (the packet's flagged episodes) read only their own cells, not all of them.
        cells, cell = (self.cells, cell) if at is None else ([self.cells[i] for i in cell.tolist()], np.arange(len(cell)))
        return {
            "cell_id": CodedValues(cell, [c.cell_id for c in cells]),
            "probe_id": CodedValues(cell, [c.probe_id for c in cells]),
            "task_id": CodedValues(cell, [c.task_id for c in cells]),
            "axis": CodedValues(cell, [c.axis for c in cells]),
            "level": CodedValues(cell, [c.level for c in cells], "object"),
            "episode_index": pick(self.episode_index).astype(np.int64),
            "seed": Nullable(pick(self.seed), pick(self.seed_missing)),
            "level_key": CodedValues(cell, [str(c.level) for c in cells]),
            "planned_ix": np.arange(len(cell), dtype=np.int64) if at is None else at.astype(np.int64),
        }

    @cached_property
    def _cell_spans(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Planned episodes per cell, the first position of each cell that has any, and which do."""
        planned = np.bincount(self.planned_cell, minlength=len(self.cells)).astype(np.int64)
        starts = np.cumsum(planned) - planned
        some = planned > 0
        return planned, starts[some], some

    def per_cell(self, chosen: np.ndarray | None = None) -> np.ndarray:
        """How many of each cell's planned episodes `chosen` (a bool per planned episode) selects, or
        the sum of `chosen` over them (an integer count per planned episode); all of them without it;
        int64, in plan order. The planned episodes lie cell by cell (expand_cells), so each cell's run
        is summed in place: ~4x faster than a bincount of the selected cells."""
        planned, starts, some = self._cell_spans
        if chosen is None:
            return planned.copy()
        out = np.zeros(len(planned), dtype=np.int64)
        if len(starts):
            values = chosen.view(np.int8) if chosen.dtype == bool else chosen
            out[some] = np.add.reduceat(values, starts, dtype=np.int64)
        return out

    def positions(self, cell: np.ndarray, episode_index: np.ndarray) -> np.ndarray:
        """Per (plan cell position or -1, episode index): the planned episode's position, or -1."""
        if self._dense is not None:
            # The table's last entry is -1: rows off the table read it.
            flat = cell.astype(np.int64)
            flat *= self._width  # in place: one int64 array per call, not two
            flat += episode_index
            flat[(cell < 0) | (episode_index < 0) | (episode_index >= self._width)] = len(self._dense) - 1
            return self._dense.take(flat)
        assert self._indexes is not None and self._keys is not None and self._order is not None
        index_codes, known = _lookup(self._indexes, episode_index)
        ok = (cell >= 0) & known
        found, planned = _lookup(self._keys, np.where(ok, cell.astype(np.int64) * self._width + index_codes, -1))
        return np.where(ok & planned, self._order[found], -1).astype(POSITION)


def planned_frame(plan: ProtocolPlan) -> pd.DataFrame:
    """The plan's episodes, one row each, with the join key and a `planned_ix` position."""
    frame = planned_episodes_frame(plan).reset_index(drop=True)
    frame["level_key"] = level_keys(frame["level"])
    frame["episode_index"] = frame["episode_index"].astype("int64")
    frame["planned_ix"] = np.arange(len(frame), dtype=np.int64)
    return frame


def level_keys(levels: pd.Series | list[Any]) -> pd.Series:
    """`str(level)` for every level, computed once per distinct level (levels repeat a lot)."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(levels, dtype=object), use_na_sentinel=False)
    texts = pd.array([str(level) for level in uniques], dtype="str")
    return pd.Series(texts.take(codes), index=getattr(levels, "index", None))


def plan_keys(plan: ProtocolPlan) -> PlanKeys:
    """The keys of the plan's cells as they are now (built on each call: about 0.25 s at 1M episodes)."""
    cells = tuple(plan.cells)
    expanded = expand_cells(cells)
    total = len(expanded.episode_index)
    planned_cell, indexes = expanded.planned_cell, expanded.episode_index
    indexes = indexes.astype(index_int(int(indexes.max(initial=0))), copy=False)
    seed_missing = expanded.seed_missing
    width = int(indexes.max()) + 1 if total else 1
    dense = None
    lookup_indexes = lookup_keys = order = None
    if total and indexes.min() >= 0 and len(cells) * width <= max(
            DENSE_ENTRIES_PER_EPISODE * total, 1 << 16):
        if expanded.ranged and (expanded.counts == width).all():
            # Every cell's range is 0..width-1 (the last index is width - 1): the table is the positions in order.
            dense = np.arange(total + 1, dtype=POSITION)
            dense[-1] = -1
            unique = True
        else:
            dense = np.full(len(cells) * width + 1, -1, dtype=POSITION)
            dense[planned_cell.astype(np.int64) * width + indexes] = np.arange(total, dtype=POSITION)
            unique = int(np.count_nonzero(dense >= 0)) == total
    else:  # sorted keys searched (sparse or huge episode indexes)
        lookup_indexes = np.unique(indexes)
        width = max(len(lookup_indexes), 1)
        keys = planned_cell.astype(np.int64) * width + np.searchsorted(lookup_indexes, indexes)
        order = np.argsort(keys, kind="stable").astype(POSITION)
        lookup_keys = keys[order]
        unique = not (lookup_keys[1:] == lookup_keys[:-1]).any()
    if not unique:
        from pandas.errors import MergeError

        raise MergeError("Merge keys are not unique in right dataset; not a many-to-one merge")
    cell_ids = np.empty(len(cells) + 1, dtype=object)
    cell_ids[:-1] = [c.cell_id for c in cells]
    cell_ids[-1] = np.nan  # position -1: no planned cell
    return PlanKeys(
        cells=cells,
        places={(c.probe_id, c.task_id, c.axis, str(c.level)): i for i, c in enumerate(cells)},
        cell_ids=cell_ids, planned_cell=planned_cell, episode_index=indexes,
        seed=expanded.seed, seed_missing=seed_missing, ascending=expanded.ascending,
        _dense=dense, _width=width, _indexes=lookup_indexes, _keys=lookup_keys, _order=order)


def _lookup(ascending: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per value, its position in the ascending distinct `ascending` (0 where absent) and whether it is there."""
    at = np.minimum(np.searchsorted(ascending, values), max(len(ascending) - 1, 0))
    found = ascending[at] == values if len(ascending) else np.zeros(len(values), dtype=bool)
    return np.where(found, at, 0), found
