"""The plan flattened to one row per planned episode: the handoff to whoever runs the evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from worldflux_nb.core.plan_cells import expand_cells
from worldflux_nb.models.plan import ProtocolPlan, RunSheet

RUN_SHEET_COLUMNS = ("cell_id", "probe_id", "task_id", "axis", "level", "episode_index", "seed")


def planned_episodes_frame(plan: ProtocolPlan) -> pd.DataFrame:
    """Every planned episode with the run-sheet columns, built column-wise (fast at a million rows).

    `level` keeps its plan type (int or str, object dtype); `seed` is nullable Int64 (NA where the
    harness records none).
    """
    cells = plan.cells
    expanded = expand_cells(cells)
    counts = expanded.counts

    def repeated(values: list) -> np.ndarray:
        column = np.empty(len(values), dtype=object)
        column[:] = values
        return np.repeat(column, counts)

    episode_index = expanded.episode_index
    seeds = pd.arrays.IntegerArray(expanded.seed, expanded.seed_missing)
    return pd.DataFrame({
        "cell_id": repeated([c.cell_id for c in cells]),
        "probe_id": repeated([c.probe_id for c in cells]),
        "task_id": repeated([c.task_id for c in cells]),
        "axis": repeated([c.axis for c in cells]),
        "level": repeated([c.level for c in cells]),
        "episode_index": episode_index,
        "seed": seeds,
    }, columns=list(RUN_SHEET_COLUMNS))


def run_sheet_instructions(plan: ProtocolPlan) -> list[str]:
    """What the operator must do, per probe, so the evidence can be checked against this plan."""
    lines = [
        "Run every row; do not re-run a failed episode to replace it (re-runs are counted and "
        "re-rolling a failure never helps).",
        f"Record plan_digest {plan.plan_digest} with the evidence.",
    ]
    for probe in plan.selected_probes:
        if probe.seed_mode == "initial_state_index":
            how = (f"the episode_index is the LIBERO initial-state index; pass run seed "
                   f"{probe.run_seed} to the harness; no per-episode seed is checked")
        elif probe.seed_mode == "per_episode_seed":
            how = (f"seed each episode with run seed {probe.run_seed} + episode_index "
                   "(the seed column)")
        else:
            how = f"pass run seed {probe.run_seed} to the harness; it is recorded on every episode"
        pinned = ", ".join(f"{k}={v}" for k, v in sorted(probe.pinned_metadata.items()))
        lines.append(f"{probe.probe_id}: {how}. Repeat in each episode's metadata: {pinned}.")
    return lines


def run_sheet_for(plan: ProtocolPlan) -> RunSheet:
    """The run sheet of a sealed plan: one row per planned episode with the contract fields."""
    if plan.plan_digest is None:
        raise ValueError("the plan must be sealed before a run sheet is made from it")
    frame = planned_episodes_frame(plan)
    columns = [frame[name].tolist() for name in RUN_SHEET_COLUMNS[:-1]]
    seeds = [None if missing else int(value) for value, missing in
             zip(frame["seed"].array._data.tolist(), frame["seed"].array._mask.tolist())]
    episodes = [dict(zip(RUN_SHEET_COLUMNS, values)) for values in zip(*columns, seeds)]
    return RunSheet(plan_id=plan.plan_id, plan_digest=plan.plan_digest, episodes=episodes,
                    instructions=run_sheet_instructions(plan))


def run_sheet_csv(run_sheet: RunSheet) -> str:
    """The run sheet as CSV with the contract columns; an empty seed means none is recorded."""
    frame = pd.DataFrame(run_sheet.episodes, columns=list(RUN_SHEET_COLUMNS))
    frame["seed"] = pd.array(frame["seed"].tolist(), dtype="Int64")
    return frame.to_csv(index=False, lineterminator="\n")
