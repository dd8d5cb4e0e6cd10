"""Evidence checked against the frozen plan: every row in exactly one category, every planned episode
matched or missing (DESIGN.md, "Conformance semantics").

Reads the evidence as integer-coded columns (core.evidence_columns, cached on each audit input) and
the plan's episode keys (core.plan_keys, cached on the plan); the matching is numpy over those
columns, with Python work only per distinct place or metadata object, never per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from worldflux_nb.core.bulk import gc_paused
from worldflux_nb.core.evidence_columns import (
    EvidenceColumns, build_columns, evidence_columns, joined_columns,
)
from worldflux_nb.core.plan_keys import plan_keys
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.packet import CATEGORIES, Conformance, DigestMismatch
from worldflux_nb.models.plan import ProtocolPlan

ABSENT = "\x00absent"  # a pinned key the row does not carry (distinct from any normalised value)


@dataclass(frozen=True)
class ConformanceResult:
    """The conformance counts plus the frames the statistics, packet and charts read.

    `rows`: one row per evidence row of an accepted audit input, with its `category`, in input order.
    `episodes`: one row per planned episode with `matched`, `status` (of the matched row), `attempts`
    (conformant rows), `attempt_failures` and `success` (true only if every conformant attempt succeeded).
    `accepted`: indexes of the audit inputs whose plan digest matched.
    `named_cells`: per row, the position in `plan.cells` of the cell its probe/task/axis/level
    names (out-of-protocol rows included), or -1.
    """

    conformance: Conformance
    rows: pd.DataFrame
    episodes: pd.DataFrame
    accepted: tuple[int, ...]
    pinned_keys: tuple[str, ...] = field(default=())
    named_cells: np.ndarray | None = field(default=None, repr=False)

    def rows_in(self, category: str) -> pd.DataFrame:
        return self.rows[self.rows["category"] == category]


def plan_digest(plan: ProtocolPlan) -> str:
    return plan.plan_digest or plan.computed_digest()


def normalise_value(value: Any) -> str:
    """One comparable text per metadata value, so 20, 20.0 and "20" agree and True is not 1."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if value is None:
        return "null"
    return str(value).strip()


def pinned_by_key(plan: ProtocolPlan) -> dict[str, dict[str, str]]:
    """{metadata key: {probe id: normalised pinned value}} over the selected probes.

    A custom contract's pinned values are pinned on its probe even if the planner left one out.
    """
    pins: dict[str, dict[str, str]] = {}
    selected = {probe.probe_id for probe in plan.selected_probes}
    for contract in plan.custom_contracts:
        if contract.probe_id in selected:
            for key, value in contract.pinned_values.items():
                pins.setdefault(key, {})[contract.probe_id] = normalise_value(value)
    for probe in plan.selected_probes:
        for key, value in probe.pinned_metadata.items():
            pins.setdefault(key, {})[probe.probe_id] = normalise_value(value)
    return pins


def normalised_values(values: list[Any]) -> np.ndarray:
    """normalise_value over a column (ABSENT stays ABSENT), once per distinct value.

    A hash table holds True and 1 as the same key, so a column mixing booleans with numbers is
    normalised row by row instead (they must not compare equal).
    """
    types = set(map(type, values))
    if bool in types and types & {int, float}:
        return np.array([normalise_value(v) for v in values], dtype=object)
    try:
        codes, uniques = pd.factorize(np.asarray(values, dtype=object))
    except TypeError:  # unhashable (a list in metadata): compare its text
        return np.array([normalise_value(v) if isinstance(v, (str, int, float, bool)) or v is None
                         else normalise_value(str(v)) for v in values], dtype=object)
    table = np.array([normalise_value(u) for u in uniques] + [None], dtype=object)
    out = table[codes]
    for i in np.flatnonzero(codes < 0):  # None or NaN: factorize does not tell them apart
        out[i] = normalise_value(values[i])
    return out




def check_conformance(plan: ProtocolPlan, audit_inputs: Sequence[AuditInput]) -> ConformanceResult:
    """Digest check per audit input, then each row's category and each planned episode's outcome."""
    with gc_paused():
        return _check_conformance(plan, audit_inputs)


def _check_conformance(plan: ProtocolPlan, audit_inputs: Sequence[AuditInput]) -> ConformanceResult:
    expected = plan_digest(plan)
    mismatches = [
        DigestMismatch(probe_id=ai.probe_id, expected=expected, found=ai.plan_digest,
                       rows_rejected=len(ai.episodes))
        for ai in audit_inputs if ai.plan_digest != expected]
    accepted = tuple(i for i, ai in enumerate(audit_inputs) if ai.plan_digest == expected)
    pins = pinned_by_key(plan)
    keys = plan_keys(plan)
    parts = [evidence_columns(audit_inputs[i]) for i in accepted]
    ev = joined_columns(parts) if parts else build_columns([])
    sizes = np.array([len(part) for part in parts], dtype=np.int64)

    # Placed once per distinct (probe, task, axis, level); levels compare as text, as in the plan.
    places = ev.places
    place_fields = [_objects([place[i] for place in places]) for i in range(4)]
    named_cell = np.array([keys.places.get((p, t, a, str(level)), -1) for p, t, a, level in places]
                          + [-1], dtype=np.int64)[ev.place]
    planned_ix = keys.positions(named_cell, ev.episode_index)
    in_plan = planned_ix >= 0
    take = np.where(in_plan, planned_ix, 0)
    planned_seed, planned_na = keys.seed[take], keys.seed_missing[take] | ~in_plan
    seed_bad = in_plan & ~ev.seed_missing & ~planned_na & (ev.seed != planned_seed)
    seed_unverified = in_plan & ~planned_na & ev.seed_missing

    probe_of_place, probes = pd.factorize(place_fields[0], use_na_sentinel=False)
    row_probe = np.append(probe_of_place, 0)[ev.place]
    meta, differs, meta_absent = pinned_metadata(pins, list(probes), row_probe, in_plan, ev)
    meta_bad = np.logical_or.reduce(list(differs.values())) if differs else np.zeros(len(ev), dtype=bool)
    meta_bad &= ~seed_bad
    conformant = in_plan & ~seed_bad & ~meta_bad
    # Rows are already in evidence order; the first conformant row of a planned episode is matched.
    attempt = attempt_numbers(planned_ix, conformant)
    matched = conformant & (attempt == 0)
    codes = np.where(matched, CATEGORIES.index("matched"), CATEGORIES.index("duplicate"))
    codes[meta_bad] = CATEGORIES.index("metadata_mismatch")
    codes[seed_bad] = CATEGORIES.index("seed_mismatch")
    codes[~in_plan] = CATEGORIES.index("out_of_protocol")
    status = _objects(ev.statuses + [None])[ev.status]
    row_success = (status == "completed") & (ev.success == 1)

    rows = pd.DataFrame({
        "input": np.repeat(np.asarray(accepted, dtype=np.int64), sizes),
        "row": np.arange(len(ev), dtype=np.int64) - np.repeat(np.cumsum(sizes) - sizes, sizes),
        **{name: pd.Series(values[ev.place], dtype=object, copy=False)
           for name, values in zip(("probe_id", "task_id", "axis", "level"), place_fields)},
        "episode_index": ev.episode_index,
        "seed": pd.arrays.IntegerArray(ev.seed, ev.seed_missing),
        "success": pd.arrays.BooleanArray(ev.success == 1, ev.success < 0),
        "status": pd.Series(status, dtype=object, copy=False),
        "level_key": pd.array([str(place[3]) for place in places] or [""], dtype="str").take(ev.place),
        **{f"meta:{key}": pd.Series(values, dtype=object, copy=False) for key, values in meta.items()},
        "planned_ix": planned_ix,
        "cell_id": pd.Series(keys.cell_ids[np.where(in_plan, keys.planned_cell[take], -1)],
                             dtype=object, copy=False),
        "planned_seed": pd.arrays.IntegerArray(planned_seed, planned_na),
        **{f"differs:{key}": column for key, column in differs.items()},
        "category": pd.Categorical.from_codes(codes, categories=list(CATEGORIES)),
        "attempt": attempt,
        "row_success": row_success,
        "seed_unverified": seed_unverified & conformant,
        "metadata_unverified": meta_absent & conformant,
    }, copy=False)

    episodes = episode_outcomes(keys.planned, rows, conformant, matched)
    count = dict(zip(CATEGORIES, np.bincount(codes, minlength=len(CATEGORIES)).tolist()))
    matched_status = np.bincount(ev.status[matched], minlength=len(ev.statuses))
    per_status = dict.fromkeys(ev.statuses, 0)
    for name, n in zip(ev.statuses, matched_status.tolist()):
        per_status[name] += n
    conformance = Conformance(
        planned_episodes=len(keys.planned),
        matched=count["matched"],
        missing=len(keys.planned) - count["matched"],
        out_of_protocol=count["out_of_protocol"],
        duplicates=count["duplicate"],
        seed_mismatches=count["seed_mismatch"],
        metadata_mismatches=count["metadata_mismatch"],
        infra_failures=per_status.get("infra_failure", 0),
        pending=per_status.get("pending", 0),
        unverified_seeds=int(rows["seed_unverified"].sum()),
        unverified_metadata=int(rows["metadata_unverified"].sum()),
        evidence_rows=len(rows),
        digest_mismatches=mismatches,
    )
    return ConformanceResult(conformance=conformance, rows=rows, episodes=episodes,
                             accepted=accepted, pinned_keys=tuple(pins), named_cells=named_cell)


def pinned_metadata(pins: dict[str, dict[str, str]], probes: list[Any], row_probe: np.ndarray,
                    in_plan: np.ndarray, ev: EvidenceColumns
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """Per pinned key: each row's normalised value, whether it differs from its probe's pinned
    value, and (over all keys) whether a pinned key is absent. Values are normalised and compared
    once per distinct metadata object and probe, then spread over the rows by their codes."""
    meta: dict[str, np.ndarray] = {}
    differs: dict[str, np.ndarray] = {}
    meta_absent = np.zeros(len(ev), dtype=bool)
    for key, by_probe in pins.items():
        per_object = normalised_values([m.get(key, ABSENT) for m in ev.metadatas])
        absent = per_object == ABSENT
        pinned = [by_probe.get(probe) for probe in probes]
        # table[probe, object]: the row's value differs from its probe's pin (absent never differs)
        table = np.array([[pin is not None and value != pin for value in per_object] for pin in pinned],
                         dtype=bool).reshape(len(pinned), len(per_object)) & ~absent
        applies = np.array([pin is not None for pin in pinned] + [False], dtype=bool)[row_probe] & in_plan
        meta[key] = per_object[ev.metadata]
        differs[key] = table[row_probe, ev.metadata] & in_plan if len(ev) else np.zeros(0, dtype=bool)
        meta_absent |= applies & absent[ev.metadata]
    return meta, differs, meta_absent


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def attempt_numbers(planned_ix: np.ndarray, conformant: np.ndarray) -> np.ndarray:
    """Per row, how many conformant rows of the same planned episode came before it (0 elsewhere)."""
    attempt = np.zeros(len(planned_ix), dtype=np.int64)
    where = np.flatnonzero(conformant)
    order = np.argsort(planned_ix[where], kind="stable")  # stable: evidence order within an episode
    episodes = planned_ix[where][order]
    starts = np.flatnonzero(np.r_[True, episodes[1:] != episodes[:-1]]) if len(episodes) else episodes
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(episodes)]))
    attempt[where[order]] = np.arange(len(episodes)) - run_start
    return attempt


def episode_outcomes(planned: pd.DataFrame, rows: pd.DataFrame, conformant: np.ndarray,
                     matched: np.ndarray) -> pd.DataFrame:
    """Per planned episode: matched or missing, the matched row's status, and re-run-proof success."""
    size = len(planned)
    planned_ix = rows["planned_ix"].to_numpy()
    attempts = np.bincount(planned_ix[conformant], minlength=size).astype(np.int64)
    attempt_successes = np.bincount(planned_ix[conformant], minlength=size,
                                    weights=rows["row_success"].to_numpy()[conformant]).astype(np.int64)
    first = np.full(size, -1, dtype=np.int64)
    first[planned_ix[matched]] = np.flatnonzero(matched)
    found = first >= 0
    episodes = planned.drop(columns=["level_key"])
    episodes["attempts"] = attempts
    episodes["attempt_successes"] = attempt_successes
    status = np.full(size, np.nan, dtype=object)
    status[found] = rows["status"].to_numpy(dtype=object)[first[found]]
    episodes["status"] = pd.Series(status, index=episodes.index, dtype=object)
    episodes["recorded_seed"] = rows["seed"].array.take(first, allow_fill=True)
    for column in ("input", "row"):
        values = np.full(size, np.nan)
        values[found] = rows[column].to_numpy()[first[found]]
        episodes[column] = values
    episodes["attempt_failures"] = episodes["attempts"] - episodes["attempt_successes"]
    episodes["matched"] = episodes["attempts"] > 0
    # Re-rolling a failure never helps: a success needs every conformant attempt to have succeeded.
    episodes["success"] = episodes["matched"] & (episodes["attempt_failures"] == 0)
    return episodes
