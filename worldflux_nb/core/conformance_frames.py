"""Conformance outcomes as arrays, and the per-row and per-episode DataFrames built from them.

check_conformance decides every category over integer arrays; the frames that packets, charts and
the explorer read are assembled from those arrays when first asked for (or for a few positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from worldflux_nb.core.bulk import object_array
from worldflux_nb.core.evidence_columns import EvidenceColumns
from worldflux_nb.core.plan_keys import PlanKeys
from worldflux_nb.core.table_columns import CodedValues, Nullable, frame
from worldflux_nb.models.packet import CATEGORIES

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PinnedChecks:
    """Pinned metadata compared per distinct metadata object: per key, each object's normalised
    value; per key, a (probe x object) table of differing values; over all keys, whether any
    pinned value differs and whether any pinned key is absent."""

    values: dict[str, np.ndarray]
    differs: dict[str, np.ndarray]
    any_differs: np.ndarray
    any_absent: np.ndarray


@dataclass(frozen=True)
class ConformanceArrays:
    """Per evidence row (in input order) and per planned episode (in plan order), as numpy arrays.

    Rows: `category` codes into CATEGORIES, `planned_ix` (-1 outside the plan), `attempt`,
    `conformant`, `matched`, `row_success` and the unverified flags. Per place: `probe_of_place`,
    the row in the (probe x metadata object) tables of `pins` (a row's column is its metadata code).
    Episodes: `attempts` (conformant rows), `attempt_successes`, the attempts that `completed`
    (completed or timed out), ended in an `infra` failure or are `pending` (these five counts in
    the narrowest signed integer type that holds them: conformance.episode_counts), and `first`
    (the matched row, or -1).
    """

    accepted: tuple[int, ...]
    sizes: np.ndarray
    ev: EvidenceColumns
    keys: PlanKeys
    place_fields: list[np.ndarray]
    planned_ix: np.ndarray
    category: np.ndarray
    attempt: np.ndarray
    conformant: np.ndarray
    matched: np.ndarray
    row_success: np.ndarray
    seed_unverified: np.ndarray
    metadata_unverified: np.ndarray
    probe_of_place: np.ndarray
    pins: PinnedChecks
    attempts: np.ndarray
    attempt_successes: np.ndarray
    completed: np.ndarray
    infra: np.ndarray
    pending: np.ndarray
    first: np.ndarray


def episode_success(attempts: np.ndarray, successes: np.ndarray) -> np.ndarray:
    """The re-run rule: re-rolling a failure never helps, so a planned episode is a success only
    when it has conformant attempts and every one of them succeeded."""
    return (attempts > 0) & (successes == attempts)


def input_rows(a: ConformanceArrays, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For these row positions: the audit input each row came from and its row number there."""
    ends = np.cumsum(a.sizes)
    part = np.searchsorted(ends, positions, side="right")
    return (np.asarray(a.accepted, dtype=np.int64)[part] if len(a.accepted) else np.zeros(0, dtype=np.int64),
            positions - (ends - a.sizes)[part] if len(a.sizes) else np.zeros(0, dtype=np.int64))


def row_columns(a: ConformanceArrays, at: np.ndarray | None = None) -> dict[str, Any]:
    """rows_frame's columns (per evidence row, or per position in `at`), in its order, numpy only:
    plain arrays, Nullable where a value may be missing (seed, success, planned_seed), and
    CodedValues columns (level_key, category)."""
    pick = (lambda values: values) if at is None else (lambda values: values[at])
    ev, keys = a.ev, a.keys
    place = pick(ev.place)
    planned_ix = pick(a.planned_ix)
    in_plan = planned_ix >= 0
    take = np.where(in_plan, planned_ix, 0)
    cell = np.where(in_plan, keys.planned_cell[take], -1)
    seed_missing, success = pick(ev.seed_missing), pick(ev.success)
    inputs, row_numbers = input_rows(a, np.arange(len(ev), dtype=np.int64) if at is None else at)
    return {
        "input": inputs,
        "row": row_numbers,
        **{name: values[place] for name, values in zip(("probe_id", "task_id", "axis", "level"), a.place_fields)},
        "episode_index": pick(ev.episode_index).astype(np.int64),
        "seed": Nullable(pick(ev.seed), seed_missing),
        "success": Nullable(success == 1, success < 0),
        "status": object_array(ev.statuses + [None])[pick(ev.status)],
        **{name: ev.optional_values(name, at) for name in ev.optional},
        "level_key": CodedValues(place, [str(p[3]) for p in ev.places] or [""], "str"),
        **{f"meta:{key}": values[pick(ev.metadata)] for key, values in a.pins.values.items()},
        "planned_ix": planned_ix.astype(np.int64),
        "cell_id": keys.cell_ids[cell],
        "planned_seed": Nullable(keys.seed[take], keys.seed_missing[take] | ~in_plan),
        **{f"differs:{key}": table[a.probe_of_place[place], pick(ev.metadata)] & in_plan
           for key, table in a.pins.differs.items()},
        "category": CodedValues(pick(a.category), list(CATEGORIES), "category"),
        "attempt": pick(a.attempt).astype(np.int64),
        "row_success": pick(a.row_success),
        "seed_unverified": pick(a.seed_unverified),
        "metadata_unverified": pick(a.metadata_unverified),
    }


def rows_frame(a: ConformanceArrays, at: np.ndarray | None = None) -> pd.DataFrame:
    """One row per evidence row (or per position in `at`) with its fields, keys and category."""
    return frame(row_columns(a, at))


def episodes_frame(a: ConformanceArrays, at: np.ndarray | None = None) -> pd.DataFrame:
    """Per planned episode (or per position in `at`): matched or missing, the matched row's status,
    and re-run-proof success."""
    import pandas as pd

    pick = (lambda values: values) if at is None else (lambda values: values[at])
    first = pick(a.first)
    found = first >= 0
    matched_at = first[found]
    episodes = a.keys.planned_at(at).drop(columns=["level_key"]) if at is not None else \
        a.keys.planned.drop(columns=["level_key"])
    episodes["attempts"] = pick(a.attempts).astype(np.int64)
    episodes["attempt_successes"] = pick(a.attempt_successes).astype(np.int64)
    status = np.full(len(first), np.nan, dtype=object)
    status[found] = object_array(a.ev.statuses)[a.ev.status[matched_at]]
    episodes["status"] = pd.Series(status, index=episodes.index, dtype=object)
    seed, seed_missing = (a.ev.seed, a.ev.seed_missing) if len(a.ev) else (np.zeros(1, np.int64), np.ones(1, bool))
    safe = np.maximum(first, 0)
    episodes["recorded_seed"] = pd.arrays.IntegerArray(np.where(found, seed[safe], 0),
                                                       ~found | seed_missing[safe])
    for column, values in zip(("input", "row"), input_rows(a, matched_at)):
        out = np.full(len(first), np.nan)
        out[found] = values
        episodes[column] = out
    episodes["attempt_failures"] = episodes["attempts"] - episodes["attempt_successes"]
    episodes["matched"] = episodes["attempts"] > 0
    episodes["success"] = episode_success(episodes["attempts"].to_numpy(), episodes["attempt_successes"].to_numpy())
    return episodes
