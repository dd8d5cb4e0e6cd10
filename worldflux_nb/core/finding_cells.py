"""How a finding names the cells it rests on: in plan order, the first few, then "and N more"."""

from __future__ import annotations

from typing import Iterable

from worldflux_nb.models.plan import ProtocolPlan

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
