"""Evidence checked against the frozen plan: every row in exactly one category, every planned episode
matched or missing (DESIGN.md, "Conformance semantics").

Built from joins and group-bys over DataFrames, never a per-row Python loop over the matching logic,
so a million evidence rows are categorised in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from worldflux_nb.core.run_sheet import planned_episodes_frame
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.packet import CATEGORIES, Conformance, DigestMismatch
from worldflux_nb.models.plan import ProtocolPlan

KEY = ["probe_id", "task_id", "axis", "level_key", "episode_index"]
ABSENT = "\x00absent"  # a pinned key the row does not carry (distinct from any normalised value)


@dataclass(frozen=True)
class ConformanceResult:
    """The conformance counts plus the frames the statistics, packet and charts read.

    `rows`: one row per evidence row of an accepted audit input, with its `category`, in input order.
    `episodes`: one row per planned episode with `matched`, `status` (of the matched row), `attempts`
    (conformant rows), `attempt_failures` and `success` (true only if every conformant attempt succeeded).
    `accepted`: indexes of the audit inputs whose plan digest matched.
    """

    conformance: Conformance
    rows: pd.DataFrame
    episodes: pd.DataFrame
    accepted: tuple[int, ...]
    pinned_keys: tuple[str, ...] = field(default=())

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


def planned_frame(plan: ProtocolPlan) -> pd.DataFrame:
    """The plan's episodes, one row each, with the join key and a `planned_ix` position."""
    frame = planned_episodes_frame(plan).reset_index(drop=True)
    frame["level_key"] = frame["level"].astype(str)
    frame["episode_index"] = frame["episode_index"].astype("int64")
    frame["planned_ix"] = np.arange(len(frame), dtype=np.int64)
    return frame


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


def evidence_frame(audit_inputs: Sequence[AuditInput], accepted: Sequence[int],
                   metadata_keys: Sequence[str]) -> pd.DataFrame:
    """Accepted evidence rows as columns (plus each pinned metadata key, normalised)."""
    columns: dict[str, list[Any]] = {name: [] for name in (
        "input", "row", "probe_id", "task_id", "axis", "level", "episode_index", "seed", "success",
        "status")}
    metas: list[dict[str, Any]] = []
    for i in accepted:
        rows = audit_inputs[i].episodes
        columns["input"].extend([i] * len(rows))
        columns["row"].extend(range(len(rows)))
        for name in ("probe_id", "task_id", "axis", "level", "episode_index", "seed", "success",
                     "status"):
            columns[name].extend([r.get(name) for r in rows])
        metas.extend([r.get("metadata") or {} for r in rows])
    frame = pd.DataFrame({
        "input": np.asarray(columns["input"], dtype=np.int64),
        "row": np.asarray(columns["row"], dtype=np.int64),
        "probe_id": pd.Series(columns["probe_id"], dtype=object),
        "task_id": pd.Series(columns["task_id"], dtype=object),
        "axis": pd.Series(columns["axis"], dtype=object),
        "level": pd.Series(columns["level"], dtype=object),
        "episode_index": np.asarray(columns["episode_index"], dtype=np.int64),
        "seed": pd.array(columns["seed"], dtype="Int64"),
        "success": pd.array(columns["success"], dtype="boolean"),
        "status": pd.Series(columns["status"], dtype=object),
    })
    frame["level_key"] = frame["level"].astype(str)
    cache: dict[Any, str] = {}

    def norm(value: Any) -> str:
        try:
            return cache[value]
        except KeyError:
            cache[value] = result = normalise_value(value)
            return result
        except TypeError:  # unhashable (a list in metadata): compare its text
            return normalise_value(str(value))

    for key in metadata_keys:
        frame[f"meta:{key}"] = pd.Series(
            [norm(m[key]) if key in m else ABSENT for m in metas], dtype=object)
    return frame


def check_conformance(plan: ProtocolPlan, audit_inputs: Sequence[AuditInput]) -> ConformanceResult:
    """Digest check per audit input, then each row's category and each planned episode's outcome."""
    expected = plan_digest(plan)
    mismatches = [
        DigestMismatch(probe_id=ai.probe_id, expected=expected, found=ai.plan_digest,
                       rows_rejected=len(ai.episodes))
        for ai in audit_inputs if ai.plan_digest != expected]
    accepted = tuple(i for i, ai in enumerate(audit_inputs) if ai.plan_digest == expected)
    pins = pinned_by_key(plan)
    planned = planned_frame(plan)
    rows = evidence_frame(audit_inputs, accepted, list(pins))

    join = planned[KEY + ["planned_ix", "cell_id", "seed"]].rename(columns={"seed": "planned_seed"})
    rows = rows.merge(join, on=KEY, how="left", sort=False, validate="many_to_one")
    rows["planned_ix"] = rows["planned_ix"].fillna(-1).astype(np.int64)
    in_plan = rows["planned_ix"].to_numpy() >= 0

    seed_known = (rows["planned_seed"].notna() & rows["seed"].notna()).to_numpy(dtype=bool)
    seed_bad = in_plan & seed_known & (rows["seed"] != rows["planned_seed"]).fillna(False).to_numpy(dtype=bool)
    seed_unverified = in_plan & (rows["planned_seed"].notna() & rows["seed"].isna()).to_numpy(dtype=bool)

    meta_bad = np.zeros(len(rows), dtype=bool)
    meta_absent = np.zeros(len(rows), dtype=bool)
    for key, by_probe in pins.items():
        pinned = rows["probe_id"].map(by_probe)
        values = rows[f"meta:{key}"]
        applies = pinned.notna().to_numpy(dtype=bool) & in_plan
        absent = (values == ABSENT).to_numpy(dtype=bool)
        differs = applies & ~absent & (values != pinned).to_numpy(dtype=bool)
        rows[f"differs:{key}"] = differs
        meta_bad |= differs
        meta_absent |= applies & absent
    meta_bad &= ~seed_bad

    conformant = in_plan & ~seed_bad & ~meta_bad
    # Rows are already in evidence order; the first conformant row of a planned episode is matched.
    attempt = pd.Series(np.zeros(len(rows), dtype=np.int64), index=rows.index)
    attempt[conformant] = rows.loc[conformant].groupby("planned_ix", sort=False).cumcount()
    matched = conformant & (attempt.to_numpy() == 0)
    duplicate = conformant & ~matched

    codes = np.select([~in_plan, seed_bad, meta_bad, duplicate, matched], range(len(CATEGORIES)),
                      default=-1)
    rows["category"] = pd.Categorical.from_codes(codes, categories=list(CATEGORIES))
    rows["attempt"] = attempt.to_numpy()
    rows["row_success"] = ((rows["status"] == "completed").to_numpy(dtype=bool)
                           & rows["success"].fillna(False).to_numpy(dtype=bool))
    rows["seed_unverified"] = seed_unverified & conformant
    rows["metadata_unverified"] = meta_absent & conformant

    episodes = episode_outcomes(planned, rows, conformant, matched)
    counts = rows["category"].value_counts()
    matched_rows = rows[matched]
    conformance = Conformance(
        planned_episodes=len(planned),
        matched=int(counts.get("matched", 0)),
        missing=int((~episodes["matched"]).sum()),
        out_of_protocol=int(counts.get("out_of_protocol", 0)),
        duplicates=int(counts.get("duplicate", 0)),
        seed_mismatches=int(counts.get("seed_mismatch", 0)),
        metadata_mismatches=int(counts.get("metadata_mismatch", 0)),
        infra_failures=int((matched_rows["status"] == "infra_failure").sum()),
        pending=int((matched_rows["status"] == "pending").sum()),
        unverified_seeds=int(rows["seed_unverified"].sum()),
        unverified_metadata=int(rows["metadata_unverified"].sum()),
        evidence_rows=len(rows),
        digest_mismatches=mismatches,
    )
    return ConformanceResult(conformance=conformance, rows=rows, episodes=episodes,
                             accepted=accepted, pinned_keys=tuple(pins))


def episode_outcomes(planned: pd.DataFrame, rows: pd.DataFrame, conformant: np.ndarray,
                     matched: np.ndarray) -> pd.DataFrame:
    """Per planned episode: matched or missing, the matched row's status, and re-run-proof success."""
    attempts = rows.loc[conformant].groupby("planned_ix", sort=False).agg(
        attempts=("row_success", "size"), attempt_successes=("row_success", "sum"))
    first = rows.loc[matched, ["planned_ix", "status", "seed", "input", "row"]].set_index("planned_ix")
    episodes = planned.drop(columns=["level_key"]).join(attempts, on="planned_ix").join(
        first.rename(columns={"seed": "recorded_seed"}), on="planned_ix")
    episodes["attempts"] = episodes["attempts"].fillna(0).astype(np.int64)
    episodes["attempt_successes"] = episodes["attempt_successes"].fillna(0).astype(np.int64)
    episodes["attempt_failures"] = episodes["attempts"] - episodes["attempt_successes"]
    episodes["matched"] = episodes["attempts"] > 0
    # Re-rolling a failure never helps: a success needs every conformant attempt to have succeeded.
    episodes["success"] = episodes["matched"] & (episodes["attempt_failures"] == 0)
    return episodes
