"""Evidence checked against the frozen plan: every row in exactly one category, every planned episode
matched or missing (DESIGN.md, "Conformance semantics").

Built from integer codes, hash joins and numpy over columns, never a per-row Python loop over the
matching logic, so a million evidence rows are categorised in about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import itemgetter, methodcaller
from typing import Any, Sequence

import numpy as np
import pandas as pd

from worldflux_nb.core.bulk import gc_paused
from worldflux_nb.core.run_sheet import planned_episodes_frame
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


def _field(rows: list[Any], name: str) -> list[Any]:
    try:
        return list(map(itemgetter(name), rows))
    except KeyError:  # a row built by hand without the field: read it as missing
        return [row.get(name) for row in rows]


def _nullable(values: list[Any], dtype: str) -> pd.api.extensions.ExtensionArray:
    """A nullable Int64/boolean array from Python values and None, without a per-row loop."""
    objects = np.asarray(values, dtype=object)
    if objects.ndim != 1:  # sequences inside: let pandas refuse them as before
        return pd.array(values, dtype=dtype)
    mask = objects == None  # noqa: E711 (elementwise)
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.where(mask, False, objects).astype(bool), mask)
    return pd.arrays.IntegerArray(np.where(mask, 0, objects).astype(np.int64), mask)


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


def evidence_frame(audit_inputs: Sequence[AuditInput], accepted: Sequence[int],
                   metadata_keys: Sequence[str]) -> pd.DataFrame:
    """Accepted evidence rows as columns (plus each pinned metadata key, normalised).

    Columns are read field by field with C-level maps over the validated rows: no per-row Python.
    """
    parts = [audit_inputs[i].episodes for i in accepted]
    sizes = np.array([len(part) for part in parts], dtype=np.int64)
    rows: list[Any] = list(chain.from_iterable(parts))
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    frame = pd.DataFrame({
        "input": np.repeat(np.asarray(accepted, dtype=np.int64), sizes),
        "row": np.arange(len(rows), dtype=np.int64) - starts,
        "probe_id": pd.Series(_field(rows, "probe_id"), dtype=object),
        "task_id": pd.Series(_field(rows, "task_id"), dtype=object),
        "axis": pd.Series(_field(rows, "axis"), dtype=object),
        "level": pd.Series(_field(rows, "level"), dtype=object),
        "episode_index": np.asarray(_field(rows, "episode_index"), dtype=np.int64),
        "seed": _nullable(_field(rows, "seed"), "Int64"),
        "success": _nullable(_field(rows, "success"), "boolean"),
        "status": pd.Series(_field(rows, "status"), dtype=object),
    })
    frame["level_key"] = level_keys(frame["level"])
    if metadata_keys:
        empty: dict[str, Any] = {}
        metas = [m or empty for m in map(dict.get, rows, repeat("metadata"))]
        for key in metadata_keys:
            frame[f"meta:{key}"] = pd.Series(
                normalised_values(list(map(methodcaller("get", key, ABSENT), metas))), dtype=object)
    return frame


def planned_positions(plan: ProtocolPlan, planned: pd.DataFrame,
                      rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """For each evidence row, the position of its planned episode in `planned` (or -1), and the
    position in `plan.cells` of the cell its probe/task/axis/level names (or -1).

    The key (probe, task, axis, level-as-text, episode index) becomes integers: the cell part
    through the plan's few distinct cells (a plan names each place once), the index part through
    one factorisation of planned and recorded indexes together; the lookup is one integer hash join.
    """
    places = {(c.probe_id, c.task_id, c.axis, str(c.level)): i for i, c in enumerate(plan.cells)}
    row_codes, row_keys = _combined_codes([rows[c] for c in ("probe_id", "task_id", "axis", "level_key")])
    named_cell = np.array([places.get(key, -1) for key in row_keys] + [-1], dtype=np.int64)[row_codes]
    planned_cell = np.repeat(np.arange(len(plan.cells), dtype=np.int64),
                             [len(c.episode_indexes) for c in plan.cells])
    index_codes, index_values = pd.factorize(np.concatenate([
        planned["episode_index"].to_numpy(dtype=np.int64), rows["episode_index"].to_numpy(dtype=np.int64)]))
    width = max(len(index_values), 1)
    lookup = pd.Index(planned_cell * width + index_codes[:len(planned)])
    if not lookup.is_unique:
        raise pd.errors.MergeError("Merge keys are not unique in right dataset; not a many-to-one merge")
    found = lookup.get_indexer(np.maximum(named_cell, 0) * width + index_codes[len(planned):])
    return np.where(named_cell >= 0, found, -1).astype(np.int64), named_cell


def _combined_codes(columns: list[pd.Series]) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """One integer code per distinct combination of the columns, and the combinations in code order."""
    codes = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        column_codes, uniques = pd.factorize(column.to_numpy(dtype=object), use_na_sentinel=False)
        codes, _ = pd.factorize(codes * max(len(uniques), 1) + column_codes)
        codes = codes.astype(np.int64)
    first = np.unique(codes, return_index=True)[1] if len(codes) else np.array([], dtype=np.int64)
    keys = list(zip(*(column.to_numpy(dtype=object)[first] for column in columns))) if len(first) else []
    return codes, keys


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
    planned = planned_frame(plan)
    rows = evidence_frame(audit_inputs, accepted, list(pins))

    planned_ix, named_cells = planned_positions(plan, planned, rows)
    in_plan = planned_ix >= 0
    rows["planned_ix"] = planned_ix
    take = np.where(in_plan, planned_ix, -1)
    rows["cell_id"] = planned["cell_id"].array.take(take, allow_fill=True)
    rows["planned_seed"] = planned["seed"].array.take(take, allow_fill=True)

    seed_na, planned_na = rows["seed"].isna().to_numpy(), rows["planned_seed"].isna().to_numpy()
    seed_differs = (rows["seed"].to_numpy(dtype=np.int64, na_value=0)
                    != rows["planned_seed"].to_numpy(dtype=np.int64, na_value=0))
    seed_bad = in_plan & ~seed_na & ~planned_na & seed_differs
    seed_unverified = in_plan & ~planned_na & seed_na

    meta_bad = np.zeros(len(rows), dtype=bool)
    meta_absent = np.zeros(len(rows), dtype=bool)
    probe_codes, probes = pd.factorize(rows["probe_id"].to_numpy(dtype=object), use_na_sentinel=False)
    for key, by_probe in pins.items():
        # Compared once per (probe, distinct value), then spread over the rows by their codes.
        value_codes, values = pd.factorize(rows[f"meta:{key}"].to_numpy(dtype=object))
        pinned = [by_probe.get(probe) for probe in probes]
        applies = np.array([value is not None for value in pinned] + [False])[probe_codes] & in_plan
        absent = np.array([value == ABSENT for value in values] + [False])[value_codes]
        table = np.array([[value != pin for value in values] + [True] for pin in pinned],
                         dtype=bool).reshape(len(pinned), len(values) + 1)
        differs = applies & ~absent & table[probe_codes, value_codes]
        rows[f"differs:{key}"] = differs
        meta_bad |= differs
        meta_absent |= applies & absent
    meta_bad &= ~seed_bad

    conformant = in_plan & ~seed_bad & ~meta_bad
    # Rows are already in evidence order; the first conformant row of a planned episode is matched.
    attempt = attempt_numbers(planned_ix, conformant)
    matched = conformant & (attempt == 0)
    duplicate = conformant & ~matched

    codes = np.select([~in_plan, seed_bad, meta_bad, duplicate, matched], range(len(CATEGORIES)),
                      default=-1)
    rows["category"] = pd.Categorical.from_codes(codes, categories=list(CATEGORIES))
    rows["attempt"] = attempt
    status = rows["status"].to_numpy(dtype=object)
    rows["row_success"] = (status == "completed") & rows["success"].array.to_numpy(dtype=bool, na_value=False)
    rows["seed_unverified"] = seed_unverified & conformant
    rows["metadata_unverified"] = meta_absent & conformant

    episodes = episode_outcomes(planned, rows, conformant, matched)
    counts = rows["category"].value_counts()
    matched_status = status[matched]
    conformance = Conformance(
        planned_episodes=len(planned),
        matched=int(counts.get("matched", 0)),
        missing=int((~episodes["matched"]).sum()),
        out_of_protocol=int(counts.get("out_of_protocol", 0)),
        duplicates=int(counts.get("duplicate", 0)),
        seed_mismatches=int(counts.get("seed_mismatch", 0)),
        metadata_mismatches=int(counts.get("metadata_mismatch", 0)),
        infra_failures=int((matched_status == "infra_failure").sum()),
        pending=int((matched_status == "pending").sum()),
        unverified_seeds=int(rows["seed_unverified"].sum()),
        unverified_metadata=int(rows["metadata_unverified"].sum()),
        evidence_rows=len(rows),
        digest_mismatches=mismatches,
    )
    return ConformanceResult(conformance=conformance, rows=rows, episodes=episodes,
                             accepted=accepted, pinned_keys=tuple(pins), named_cells=named_cells)


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
