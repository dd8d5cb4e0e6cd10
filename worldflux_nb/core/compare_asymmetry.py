"""Asymmetric evidence between two arms, per cell: the way a comparison gets cherry-picked.

One arm re-run, missing, out of protocol, seed- or metadata-mismatched, infrastructure-failed or
unverified more often than the other in the same planned cell is a finding with a question for the
reviewer. Counts come from conformance's frames only (`episodes`, `rows`, `named_cells`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from worldflux_nb.models.comparison import ASYMMETRY_KINDS, Asymmetry
from worldflux_nb.models.plan import ProtocolPlan

if TYPE_CHECKING:
    from worldflux_nb.core.compare import ArmEvidence

_QUESTIONS = {
    "re_run": "re-ran {more} episode(s) where {other_name} re-ran {fewer}: why were episodes re-run, and "
              "was each re-run decided before its first outcome was known?",
    "missing": "is missing {more} planned episode(s) where {other_name} misses {fewer}: why were they not "
               "run, and were they dropped after outcomes were seen?",
    "out_of_protocol": "has {more} out-of-protocol row(s) where {other_name} has {fewer}: why did it run "
                       "episodes the plan does not contain?",
    "seed_mismatch": "has {more} seed mismatch(es) where {other_name} has {fewer}: which seeds were really "
                     "run, and why do they differ from the plan?",
    "metadata_mismatch": "has {more} row(s) with a pinned value changed where {other_name} has {fewer}: was "
                         "the environment or adapter changed for this arm?",
    "infra_failure": "has {more} infrastructure failure(s) where {other_name} has {fewer}: were these faults "
                     "independent of the policy, and how does the attempted denominator read?",
    "unverified": "has {more} row(s) with an unrecorded seed or pinned value where {other_name} has "
                  "{fewer}: can its seeds and metadata be confirmed from the harness files?",
}


def arm_counts(plan: ProtocolPlan, arm: "ArmEvidence") -> pd.DataFrame:
    """Per scope (each cell; a probe for out-of-protocol rows naming no cell) the count of each kind,
    and the cell's matched episodes."""
    cell_ids = [cell.cell_id for cell in plan.cells]
    position = {cell_id: i for i, cell_id in enumerate(cell_ids)}
    episodes = arm.result.episodes
    cell_of = episodes["cell_id"].map(position).to_numpy(dtype=np.int64)
    status = episodes["status"].to_numpy(dtype=object)
    size = len(cell_ids)

    def per_cell(mask: np.ndarray) -> np.ndarray:
        return np.bincount(cell_of, weights=mask, minlength=size).astype(np.int64)

    matched = episodes["matched"].to_numpy(dtype=bool)
    counts = {
        "re_run": per_cell(episodes["attempts"].to_numpy() > 1),
        "missing": per_cell(~matched),
        "infra_failure": per_cell(matched & (status == "infra_failure")),
    }
    frame = pd.DataFrame({kind: values for kind, values in counts.items()},
                         index=[f"cell:{c}" for c in cell_ids])
    rows = arm.result.rows
    named = arm.result.named_cells
    named = np.full(len(rows), -1) if named is None else np.asarray(named, dtype=np.int64)
    category = rows["category"].astype(str).to_numpy()
    unverified = rows["seed_unverified"].to_numpy(bool) | rows["metadata_unverified"].to_numpy(bool)
    labels = np.where(named >= 0, np.array([f"cell:{c}" for c in cell_ids] + [""], dtype=object)[named],
                      "probe:" + rows["probe_id"].astype(str).to_numpy(dtype=object))
    for kind, mask in (("out_of_protocol", category == "out_of_protocol"),
                       ("seed_mismatch", category == "seed_mismatch"),
                       ("metadata_mismatch", category == "metadata_mismatch"), ("unverified", unverified)):
        tally = pd.Series(labels[mask]).value_counts()
        frame = frame.reindex(frame.index.union(tally.index, sort=False), fill_value=0)
        frame[kind] = tally.reindex(frame.index, fill_value=0).to_numpy(dtype=np.int64)
    frame["matched"] = pd.Series(per_cell(matched), index=[f"cell:{c}" for c in cell_ids]).reindex(
        frame.index, fill_value=0).to_numpy()
    return frame.fillna(0).astype(np.int64)[list(ASYMMETRY_KINDS) + ["matched"]]


def asymmetries(plan: ProtocolPlan, evidence: dict[str, "ArmEvidence"],
                pairs: list[tuple[str, str]]) -> list[Asymmetry]:
    """Every (pair, scope, kind) whose counts differ between the arms, largest difference first."""
    counts = {name: arm_counts(plan, arm) for name, arm in evidence.items()}
    found: list[tuple[int, Asymmetry]] = []
    for base_name, cand_name in pairs:
        base, cand = counts[base_name], counts[cand_name]
        index = base.index.union(cand.index, sort=False)
        base, cand = base.reindex(index, fill_value=0), cand.reindex(index, fill_value=0)
        for kind in ASYMMETRY_KINDS:
            x, y = base[kind].to_numpy(), cand[kind].to_numpy()
            differs = x != y
            if kind == "unverified":  # a cell one arm never ran is a `missing` asymmetry already
                differs &= (base["matched"].to_numpy() > 0) & (cand["matched"].to_numpy() > 0)
            for i in np.flatnonzero(differs):
                scope = str(index[i])
                more_name, other_name = (cand_name, base_name) if y[i] > x[i] else (base_name, cand_name)
                question = f"{scope}: {more_name} " + _QUESTIONS[kind].format(
                    more=max(x[i], y[i]), fewer=min(x[i], y[i]), other_name=other_name)
                found.append((abs(int(y[i]) - int(x[i])), Asymmetry(
                    kind=kind, scope=scope, baseline=base_name, candidate=cand_name,
                    baseline_count=int(x[i]), candidate_count=int(y[i]), question=question)))
    found.sort(key=lambda item: (-item[0], ASYMMETRY_KINDS.index(item[1].kind), item[1].scope))
    return [a for _, a in found]
