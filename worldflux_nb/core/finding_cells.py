"""How a finding names the cells it rests on: in plan order, the first few, then "and N more"."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator

import numpy as np

from worldflux_nb.models.plan import ProtocolPlan

if TYPE_CHECKING:
    from worldflux_nb.core.conformance import ConformanceResult

CELLS_NAMED = 8


def in_plan_order(plan: ProtocolPlan, cell_ids: Iterable[object]) -> list[str]:
    """The given cell ids (nulls and repeats ignored) in the order the plan lists its cells."""
    wanted = {c for c in cell_ids if isinstance(c, str)}
    return [c.cell_id for c in plan.cells if c.cell_id in wanted]


def named(cells: list[str]) -> tuple[list[str], int, str]:
    """The cells a finding names, how many more there are, and both as text for a sentence."""
    shown = cells[:CELLS_NAMED]
    more = max(0, len(cells) - CELLS_NAMED)
    return shown, more, ", ".join(shown) + (f" and {more} more" if more else "")


def row_cell_ids(result: ConformanceResult, rows: np.ndarray) -> list[Any]:
    """Per evidence row, the id of the plan cell of its planned episode (NaN outside the plan), as
    the rows frame's `cell_id` gives it."""
    a = result.arrays
    planned_ix = a.planned_ix[rows]
    cell = np.where(planned_ix >= 0, a.keys.planned_cell[np.maximum(planned_ix, 0)], -1)
    return a.keys.cell_ids[cell].tolist()


def probe_groups(result: ConformanceResult, rows: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Per probe these evidence rows name, in sorted order, the positions in `rows` of its rows
    (a groupby on probe_id, sort=True)."""
    a = result.arrays
    probe = a.place_fields[0][a.ev.place[rows]]
    for probe_id in sorted(set(probe.tolist())):
        yield probe_id, np.flatnonzero(probe == probe_id)


def planned_episode_count(result: ConformanceResult, rows: np.ndarray) -> int:
    """How many distinct planned episodes these evidence rows belong to (out-of-protocol rows none)."""
    planned_ix = result.arrays.planned_ix[rows]
    return len(np.unique(planned_ix[planned_ix >= 0]))


def groups_of(codes: np.ndarray, size: int) -> list[np.ndarray]:
    """Per code 0..size-1, the positions holding it, ascending."""
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.cumsum(np.bincount(codes, minlength=size))[:-1])
