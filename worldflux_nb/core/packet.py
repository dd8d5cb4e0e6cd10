"""The eval packet: conformance and statistics assembled into one sealed, reviewable artifact."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from worldflux_nb.background import started_in_turn
from worldflux_nb.core import findings
from worldflux_nb.core.bulk import gc_paused, group_sums
from worldflux_nb.core.detect import SourceEvidence, detect
from worldflux_nb.core.detect_outcome import outcome_tests
from worldflux_nb.core.detect_sources import refuse_repeated_sources
from worldflux_nb.core.episode_outcomes import episode_outcomes, status_mask
from worldflux_nb.core.findings import plural
from worldflux_nb.core.plan_keys import PlanKeys
from worldflux_nb.core.table_columns import records
from worldflux_nb.core.text import is_missing, value_text
from worldflux_nb.core.conformance import (
    ABSENT, ConformanceResult, check_conformance, normalise_value, plan_digest,
)
from worldflux_nb.core.conformance_frames import row_columns
from worldflux_nb.models.digest import canonical_json, canonical_json_with, sha256_bytes
from worldflux_nb.core.statistics import (
    POLICY_NOTES, IntervalMethod, TaskWeighted, interval, optional_float, optional_floats, policy_counts,
    stable_seed, task_weighted, underpowered,
)
from worldflux_nb.errors import StrictModeFailure
from worldflux_nb.models.common import utc_timestamp
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.packet import (
    CATEGORIES, Aggregate, CellResult, ContractCheck, EvalPacket, FlaggedEpisode, PolicyResult, ProbeSummary,
    Provenance, Redaction,
)
from worldflux_nb.models.plan import DENOMINATOR_POLICIES, ProtocolPlan

if TYPE_CHECKING:
    import pandas as pd

# Per kind of flag, so a flood of one kind (say, 10,000 missing episodes) cannot hide the others.
FLAGS_PER_KIND = 25
FLAG_KINDS = ("out_of_protocol", "seed_mismatch", "metadata_mismatch", "duplicate", "infra_failure",
              "pending", "unverified", "task_mapped", "order_inferred", "missing")


def build_packet(plan: ProtocolPlan, audit_inputs: Sequence[AuditInput], *,
                 strict_missing_evidence: bool = False,
                 interval: IntervalMethod = "wilson",
                 conformance: ConformanceResult | None = None,
                 sources: SourceEvidence | None = None,
                 keys: PlanKeys | None = None) -> EvalPacket:
    """Check the evidence against the plan and assemble the sealed packet.

    With `strict_missing_evidence`, missing or underpowered evidence raises StrictModeFailure
    instead of becoming a warning. A caller that also shows the categorised rows passes its own
    `check_conformance(plan, audit_inputs)` result as `conformance`, so it is computed once.
    `sources` carries re-imports of harness files and the reviewer's plan receipt (core.detect).
    The same harness file behind two audit inputs is refused (InputError). `keys`: plan_keys(plan),
    if the caller built them while the audit inputs were read.
    """
    refuse_repeated_sources(audit_inputs)
    with gc_paused():
        # Handed on in a list that _build_packet empties, so that it holds the only reference to the
        # result (and to the plan's keys, which the result holds) and can let go of it.
        held = [conformance if conformance is not None else check_conformance(plan, audit_inputs, keys)]
        del conformance, keys
        return _build_packet(plan, audit_inputs, held, strict_missing_evidence, interval, sources or SourceEvidence())


def _build_packet(plan: ProtocolPlan, audit_inputs: Sequence[AuditInput], held: list[ConformanceResult],
                  strict_missing_evidence: bool, method: IntervalMethod,
                  sources: SourceEvidence) -> EvalPacket:
    result = held.pop()
    indicators = cell_indicators(plan, result)
    # The bootstraps' and the outcome detectors' random draws run on the background thread while this
    # one scores the cells, policies and flags; aggregates() and detect() below wait for them (numpy's
    # draws release the GIL).
    drawn = {by_axis: bootstraps(plan, indicators, by_axis=by_axis) for by_axis in (False, True)}
    outcome = outcome_tests(plan, result)
    columns = cell_columns(plan, result, method, indicators)
    # The rows are JSON-ready as built and valid CellResults (tested): the models hold them unchecked,
    # the results digest reads them instead of a dump of each model, the claims read the columns.
    cell_rows = _rows(columns)
    cells = CellResult.trusted_rows(cell_rows)
    # What the claims read later; the other columns are not held while the packet is built.
    columns = {name: columns[name] for name in ("cell_id", "probe_id", "axis", "matched", "missing", "underpowered")}
    missing_cells = [c.cell_id for c in cells if c.matched == 0]
    underpowered_cells = [c.cell_id for c in cells if c.underpowered]
    if strict_missing_evidence:
        reasons = findings.strict_reasons(result.conformance, missing_cells, underpowered_cells)
        if reasons:
            raise StrictModeFailure(reasons)

    policies = policy_results(plan, result, method, indicators)
    summaries = probe_summaries(plan, result, audit_inputs, indicators)
    order_inferred = any(audit_inputs[i].source.identity == "inferred_from_order" for i in result.accepted)
    signals = findings.cherry_pick_signals(result, order_inferred)
    flagged, truncated, flag_totals, flag_cells = flagged_episodes(plan, result, audit_inputs)
    checks = contract_checks(plan, result)
    by_design = findings.planned_in_underpowered(plan, cells, method)
    # Last, what waits for the draws: the more of this thread's work is done first, the less it waits.
    probe_aggs = aggregates(plan, result, method, by_axis=False, drawn=drawn[False])
    axis_aggs = aggregates(plan, result, method, by_axis=True, drawn=drawn[True])
    detection = detect(plan, result, audit_inputs, sources, outcome)

    # The cells' canonical JSON, written once: the results digest and the packet's seal both cover it.
    cells_json = canonical_json(cell_rows)
    result_digest = sha256_bytes(canonical_json_with({
        "conformance": result.conformance.model_dump(mode="json"),
        "denominator_policies": [p.model_dump(mode="json") for p in policies],
        "probe_aggregates": [a.model_dump(mode="json") for a in probe_aggs],
        "axis_aggregates": [a.model_dump(mode="json") for a in axis_aggs],
        "probe_summaries": [s.model_dump(mode="json") for s in summaries],
        "cherry_pick_signals": signals.model_dump(mode="json"),
        "contract_checks": [c.model_dump(mode="json") for c in checks],
        "findings": [f.model_dump(mode="json") for f in detection.findings],
    }, "cells", cells_json))
    del cell_rows  # 100k cells' dicts at ten million rows: not held while the packet is built
    conformance = result.conformance
    unsupported_claims = findings.unsupported_claims(plan, result, columns, summaries)
    warnings = findings.warnings(plan, result, audit_inputs, summaries, missing_cells, underpowered_cells,
                                 strict_missing_evidence, cells=cells, detected=detection.findings, method=method)
    # Everything that reads the conformance arrays is done: at ten million rows they take 0.8 GB,
    # not held while the packet is built and sealed (unless the caller passed its own result); nor are
    # the outcome detectors' per-episode counts.
    del result, outcome
    created_at = utc_timestamp()
    packet = EvalPacket(
        plan_id=plan.plan_id,
        plan_digest=plan_digest(plan),
        profile_id=plan.profile.profile_id,
        policy_id=plan.profile.policy_id,
        claim_intent=plan.profile.claim_intent,
        denominator_policy=plan.denominator_policy,
        strict_missing_evidence=strict_missing_evidence,
        conformance=conformance,
        cells=cells,
        denominator_policies=policies,
        probe_summaries=summaries,
        probe_aggregates=probe_aggs,
        axis_aggregates=axis_aggs,
        cherry_pick_signals=signals,
        observed_score_signals=findings.observed_score_signals(plan, policies, probe_aggs, method),
        unsupported_claims=unsupported_claims,
        training_exposure_caveats=findings.training_exposure_caveats(plan),
        missing_evidence_questions=list(plan.missing_evidence_questions),
        missing_cells=missing_cells,
        underpowered_cells=underpowered_cells,
        planned_in_underpowered_cells=[c for c in underpowered_cells if c in by_design],
        flagged_episodes=flagged,
        flagged_episodes_truncated=truncated,
        flagged_totals=flag_totals,
        flagged_cells=flag_cells,
        contract_checks=checks,
        findings=detection.findings,
        source_checks=detection.source_checks,
        task_mappings=detection.task_mappings,
        freeze_anchor=detection.freeze_anchor,
        next_falsification_axes=findings.next_falsification_axes(plan, columns, axis_aggs),
        warnings=warnings,
        redactions=[Redaction(location=f"{ai.probe_id}: {r.location}", kind=r.kind)
                    for ai in audit_inputs for r in ai.redactions],
        consent_markers={c.probe_id: c.customer_consent_marker for c in plan.custom_contracts},
        provenance=provenance(plan, audit_inputs, result_digest, method, created_at),
        created_at=created_at,
    )
    return packet.sealed_with("cells", cells_json)


def _intervals(successes: np.ndarray, n: np.ndarray, method: IntervalMethod,
               plan: ProtocolPlan) -> tuple[np.ndarray, np.ndarray]:
    return interval(successes, n, method, plan.power_targets.confidence)


def per_probe(plan: ProtocolPlan, sums: Mapping[str, np.ndarray],
              names: Sequence[str] = ()) -> dict[str, dict[str, np.ndarray]]:
    """{probe: {name: sum over its cells}} for the named columns of per-cell `sums`, probes in order
    of first appearance in the plan's cells (a groupby on the probe, sort=False)."""
    probes, summed = group_sums([c.probe_id for c in plan.cells], {name: sums[name] for name in names})
    return {probe: {name: summed[name][i] for name in names} for i, probe in enumerate(probes)}


def cell_indicators(plan: ProtocolPlan, result: ConformanceResult) -> dict[str, np.ndarray]:
    """Per plan cell, in plan order: summed episode indicators (success, infra, infra_any, pending,
    completed, planned, matched) as int64 arrays. Every coarser grouping sums these."""
    a = result.arrays
    outcomes = episode_outcomes(a)  # from every conformant attempt, so no sum follows row order
    indicators = {
        "success": outcomes.success,
        "infra": outcomes.infra_only,
        "infra_any": outcomes.any_infra,
        "completed": outcomes.scored,
        # Matched with no outcome yet and no infrastructure failure: still pending (all attempts pending).
        "pending": outcomes.matched & ~outcomes.scored & ~outcomes.infra_only,
        "planned": None,  # every planned episode
        "matched": outcomes.matched,
    }
    return {name: a.keys.per_cell(chosen) for name, chosen in indicators.items()}


INDICATORS = ["success", "infra", "infra_any", "pending", "completed", "planned", "matched"]


def cell_results(plan: ProtocolPlan, result: ConformanceResult,
                 method: IntervalMethod, sums: Mapping[str, np.ndarray] | None = None) -> list[CellResult]:
    """One row per plan cell, in plan order, scored under the plan's denominator policy."""
    return CellResult.trusted_rows(_rows(cell_columns(plan, result, method, sums)))


def _rows(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Columns of equal length as rows, each a dict in the columns' order."""
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def cell_columns(plan: ProtocolPlan, result: ConformanceResult,
                 method: IntervalMethod, sums: Mapping[str, np.ndarray] | None = None) -> dict[str, list[Any]]:
    """cell_results as columns of JSON-ready values: each CellResult field, in field order
    (`sums`: cell_indicators(plan, result), if the caller has them)."""
    sums = cell_indicators(plan, result) if sums is None else sums
    counts = policy_counts(sums)
    planned, matched, infra, pending, completed = (
        sums[name] for name in ("planned", "matched", "infra_any", "pending", "completed"))
    categories = rows_per_cell(plan, result)
    per_category = {c: categories[:, CATEGORIES.index(c)] for c in
                    ("duplicate", "out_of_protocol", "seed_mismatch", "metadata_mismatch")}

    successes = counts["successes"]
    denominator = counts[plan.denominator_policy]
    low, high = _intervals(successes, denominator, method, plan)
    targets = plan.power_targets
    weak = underpowered(low, high, denominator, max_half_width=targets.max_ci_half_width,
                        min_episodes=targets.min_episodes_per_cell)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = successes / denominator  # the same division per cell as successes[i] / n
    # Whole columns to Python values at once: indexing numpy arrays cell by cell cost ~0.1 s at 10,000 cells.
    columns = {
        "cell_id": [c.cell_id for c in plan.cells], "probe_id": [c.probe_id for c in plan.cells],
        "task_id": [c.task_id for c in plan.cells], "axis": [c.axis for c in plan.cells],
        "level": [c.level for c in plan.cells], "planned": planned.tolist(), "matched": matched.tolist(),
        "missing": (planned - matched).tolist(), "successes": successes.tolist(),
        "denominator": denominator.tolist(),
        "success_rate": [rate if n else None for rate, n in zip(rates.tolist(), denominator.tolist())],
        "ci_low": optional_floats(low), "ci_high": optional_floats(high),
        "underpowered": weak.tolist(), "infra_failures": infra.tolist(), "completed": completed.tolist(),
        "pending": pending.tolist(),
        "duplicates": per_category["duplicate"].tolist(),
        "out_of_protocol": per_category["out_of_protocol"].tolist(),
        "seed_mismatches": per_category["seed_mismatch"].tolist(),
        "metadata_mismatches": per_category["metadata_mismatch"].tolist(),
    }
    return columns


def rows_per_cell(plan: ProtocolPlan, result: ConformanceResult) -> np.ndarray:
    """Evidence rows per plan cell (in plan order) and category (columns in CATEGORIES order);
    out-of-protocol rows count against the cell whose probe/task/axis/level they name, when there is one."""
    if result.named_cells is None:  # a result built by hand: place the rows by their names
        import pandas as pd

        located = with_named_cell(plan, result.rows[
            ["probe_id", "task_id", "axis", "level_key", "cell_id", "category"]])
        named = pd.Index([c.cell_id for c in plan.cells]).get_indexer(
            located["cell_id"].fillna(located["cell_of_key"]))
    else:
        named = result.named_cells
    category = result.arrays.category
    placed = (named >= 0) & (category >= 0)
    width = len(CATEGORIES)
    return np.bincount(named[placed] * width + category[placed],
                       minlength=len(plan.cells) * width).reshape(len(plan.cells), width)


def with_named_cell(plan: ProtocolPlan, rows: pd.DataFrame, keys: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows plus `cell_of_key`: the plan cell their probe/task/axis/level names, if any
    (`keys`: cell_keys(plan), when the caller already has it)."""
    keys = cell_keys(plan) if keys is None else keys
    return rows.merge(keys, on=["probe_id", "task_id", "axis", "level_key"], how="left")


def cell_keys(plan: ProtocolPlan) -> pd.DataFrame:
    """Each plan cell's probe, task, axis, level text and id."""
    import pandas as pd

    return pd.DataFrame({
        "probe_id": [c.probe_id for c in plan.cells], "task_id": [c.task_id for c in plan.cells],
        "axis": [c.axis for c in plan.cells], "level_key": [str(c.level) for c in plan.cells],
        "cell_of_key": [c.cell_id for c in plan.cells],
    })


def policy_results(plan: ProtocolPlan, result: ConformanceResult,
                   method: IntervalMethod, sums: Mapping[str, np.ndarray] | None = None) -> list[PolicyResult]:
    """All three denominator policies, for the whole packet and then per probe."""
    sums = cell_indicators(plan, result) if sums is None else sums
    overall = {name: np.asarray(sums[name]).sum() for name in INDICATORS}
    readings = [(None, overall), *per_probe(plan, sums, INDICATORS).items()]
    out = []
    for probe_id, summed in readings:
        row = policy_counts(summed)
        for policy in DENOMINATOR_POLICIES:
            n = int(row[policy])
            s = int(row["successes"])
            low, high = _intervals(np.array([s]), np.array([n]), method, plan)
            out.append(PolicyResult(
                policy=policy, probe_id=probe_id, successes=s, denominator=n,
                success_rate=s / n if n else None, ci_low=optional_float(low[0]),
                ci_high=optional_float(high[0]), optimistic=policy == "completed_only",
                note=POLICY_NOTES[policy]))
    return out


@dataclass(frozen=True)
class Bootstraps:
    """Per probe (or probe x axis with `by_axis`), in plan order: its key, its tasks' successes and
    denominators under the plan's policy, and its task-weighted mean with the bootstrap interval,
    handed to the background thread (numpy's binomial draws release the GIL; each group has its
    own generator, seeded from the plan and the key, so the numbers are the same on any thread)."""

    by_axis: bool
    groups: list[tuple[tuple[str, ...], np.ndarray, np.ndarray, Future[TaskWeighted]]]


def bootstraps(plan: ProtocolPlan, sums: Mapping[str, Any], *, by_axis: bool) -> Bootstraps:
    """Per group (probe, or probe x axis), its tasks' sums as `sums.groupby([*group, "task_id"],
    sort=False)` and policy_counts give them, each group's tasks in that order, grouped in order of
    first appearance; `sums`: per plan cell (cell_indicators)."""
    task_of: dict[tuple[str, ...], int] = {}  # (group..., task) -> its row in the per-task sums
    group_tasks: dict[tuple[str, ...], list[int]] = {}
    rows = np.empty(len(plan.cells), dtype=np.int64)
    for i, c in enumerate(plan.cells):
        key = (c.probe_id, c.axis) if by_axis else (c.probe_id,)
        new = len(task_of)
        rows[i] = row = task_of.setdefault((*key, c.task_id), new)
        if row == new:
            group_tasks.setdefault(key, []).append(row)

    counts = policy_counts({name: np.bincount(rows, weights=np.asarray(sums[name]), minlength=len(task_of))
                            .astype(np.int64) for name in ("success", "planned", "infra", "completed")})
    successes, denominator = counts["successes"], counts[plan.denominator_policy]
    tasks = [(key, successes[positions], denominator[positions]) for key, positions in group_tasks.items()]
    drawn = started_in_turn([partial(task_weighted, successes, n, seed=stable_seed(plan.plan_seed, *key),
                                     confidence=plan.power_targets.confidence) for key, successes, n in tasks])
    return Bootstraps(by_axis, [(*task, weighted) for task, weighted in zip(tasks, drawn)])


def aggregates(plan: ProtocolPlan, result: ConformanceResult, method: IntervalMethod, *,
               by_axis: bool, sums: Mapping[str, np.ndarray] | None = None,
               drawn: Bootstraps | None = None) -> list[Aggregate]:
    """Pooled rate and task-weighted mean per probe (or probe x axis), in plan order (`drawn`:
    bootstraps(plan, sums, by_axis=by_axis), if the caller started them)."""
    if drawn is None:
        drawn = bootstraps(plan, cell_indicators(plan, result) if sums is None else sums, by_axis=by_axis)
    cells_per_group = Counter((c.probe_id, c.axis) if by_axis else (c.probe_id,) for c in plan.cells)
    out = []
    for key, successes, denominators, pending in drawn.groups:
        s, n = int(successes.sum()), int(denominators.sum())
        low, high = _intervals(np.array([s]), np.array([n]), method, plan)
        weighted = pending.result()
        out.append(Aggregate(
            probe_id=key[0], axis=key[1] if by_axis else None,
            cells=cells_per_group[key],
            successes=s, denominator=n, pooled_rate=s / n if n else None,
            pooled_ci_low=optional_float(low[0]), pooled_ci_high=optional_float(high[0]),
            task_weighted_rate=weighted.rate, bootstrap_ci_low=weighted.ci_low,
            bootstrap_ci_high=weighted.ci_high))
    return out


def probe_summaries(plan: ProtocolPlan, result: ConformanceResult,
                    audit_inputs: Sequence[AuditInput],
                    sums: Mapping[str, np.ndarray] | None = None) -> list[ProbeSummary]:
    """Evidence grade per selected probe, with the reasons for it."""
    sums = cell_indicators(plan, result) if sums is None else sums
    probe_sums = per_probe(plan, sums, ("planned", "matched"))
    a = result.arrays

    def rows_per_probe(mask: np.ndarray) -> Counter[str]:
        per_place = np.bincount(a.ev.place[mask], minlength=len(a.place_fields[0]))
        counts: Counter[str] = Counter()
        for probe, n in zip(a.place_fields[0].tolist(), per_place.tolist()):
            counts[probe] += n
        return counts

    unverified = {"seed_unverified": rows_per_probe(a.seed_unverified),
                  "metadata_unverified": rows_per_probe(a.metadata_unverified)}
    out = []
    for probe in plan.selected_probes:
        pid = probe.probe_id
        attached = [i for i, ai in enumerate(audit_inputs) if ai.probe_id == pid]
        accepted = [i for i in attached if i in result.accepted]
        planned = int(probe_sums[pid]["planned"]) if pid in probe_sums else 0
        matched = int(probe_sums[pid]["matched"]) if pid in probe_sums else 0
        identities = {audit_inputs[i].source.identity for i in accepted}
        # The weakest identity of the accepted inputs speaks for the probe.
        identity = next((mode for mode in ("inferred_from_order", "harness_order", "explicit")
                         if mode in identities), None)
        weak_kinds = sorted({audit_inputs[i].source.evidence_kind for i in accepted} - {"structured"})
        importer = audit_inputs[accepted[0]].source.importer if accepted else (
            audit_inputs[attached[0]].source.importer if attached else None)
        reasons: list[str] = []
        if not attached:
            grade, reasons = "ungraded", ["no audit input was attached for this probe"]
        elif not accepted:
            grade, reasons = "ungraded", ["every audit input for this probe was rejected: it names another plan digest"]
        elif matched == 0:
            grade, reasons = "ungraded", ["no evidence row matched a planned episode"]
        elif identity == "inferred_from_order":
            grade = "C"
            reasons = ["episode identity was inferred from row order, not recorded by the harness"]
        elif weak_kinds:
            grade = "C"
            reasons = [f"outcomes read from the harness's {' and '.join(k.replace('_', ' ') for k in weak_kinds)}, "
                       "not from a structured per-episode result (a weaker grade)"]
        else:
            unverified_seeds = int(unverified["seed_unverified"].get(pid, 0))
            unverified_meta = int(unverified["metadata_unverified"].get(pid, 0))
            if unverified_seeds:
                reasons.append(f"{plural(unverified_seeds, 'conformant row')} without a recorded seed: seeds unverified")
            if unverified_meta:
                reasons.append(f"{plural(unverified_meta, 'conformant row')} without a pinned metadata key: metadata unverified")
            if identity == "harness_order":
                reasons.append("episode identity from the harness's own loop order (checked for the harness "
                               "version the import names), not recorded per episode")
            grade = "B" if reasons else "A"
            if grade == "A":
                reasons = ["explicit episode identity, recorded seeds agree with the plan "
                           "(or the harness identifies episodes by initial state), pinned metadata "
                           "repeated, evidence tied to the frozen plan digest"]
        if 0 < matched < planned and grade != "ungraded":
            reasons.append(f"{planned - matched} of {planned} planned episodes are missing")
        out.append(ProbeSummary(probe_id=pid, grade=grade, grade_reasons=reasons,
                                identity=identity, importer=importer, planned=planned,
                                matched=matched, missing=planned - matched,
                                training_exposure=probe.training_exposure))
    return out


def _flag(kind: str, row: Mapping[str, Any], detail: str) -> FlaggedEpisode:
    """A row (a dict, or a Series; missing values None, NaN or pandas' NA) as a flagged episode."""
    seed = row.get("seed")
    success = row.get("success")
    status = row.get("status")
    cell = row.get("cell_id")
    if is_missing(cell):
        cell = row.get("cell_of_key")
    return FlaggedEpisode(
        category=kind, cell_id=None if is_missing(cell) else cell,
        probe_id=row["probe_id"], task_id=row["task_id"], axis=row["axis"],
        level=row["level"], episode_index=int(row["episode_index"]),
        seed=None if is_missing(seed) else int(seed),
        success=None if is_missing(success) else bool(success),
        status=None if is_missing(status) else status, detail=detail[:2000])


def _row_detail(kind: str, row: Mapping[str, Any], pinned_keys: Sequence[str]) -> str:
    where = f"audit input #{int(row['input']) + 1}, row {int(row['row']) + 1}"
    carried = "".join(f", {name} {row[name]!r}" for name in ("run_id", "recorded_at", "failure_reason")
                      if name in row and not is_missing(row[name]))
    where += carried
    if kind == "out_of_protocol":
        return f"{where}: not a planned episode"
    if kind == "seed_mismatch":
        return f"{where}: recorded seed {value_text(row['seed'])}, planned seed {value_text(row['planned_seed'])}"
    if kind == "metadata_mismatch":
        keys = [k for k in pinned_keys if bool(row.get(f"differs:{k}", False))]
        return f"{where}: " + "; ".join(f"{k} = {row[f'meta:{k}']!r} differs from the pinned value" for k in keys)
    if kind == "duplicate":
        return f"{where}: attempt {int(row['attempt']) + 1} of planned episode {row['cell_id']}#{int(row['episode_index'])}"
    if kind == "pending":
        return f"{where}: a conformant attempt still pending (never finished)"
    if kind == "unverified":
        what = [name for name, flag in (("seed", row["seed_unverified"]), ("pinned metadata", row["metadata_unverified"]))
                if bool(flag)]
        return f"{where}: no recorded {' or '.join(what)}, so the episode's identity is unverified"
    if kind == "task_mapped":
        return f"{where}: filed under {row['task_id']} through the importer's task mapping"
    if kind == "order_inferred":
        return f"{where}: episode identity inferred from row order, not recorded by the harness"
    return f"{where}: a conformant attempt ended with status infra_failure (a harness fault, not the policy)"


def _flag_rows(plan: ProtocolPlan, result: ConformanceResult,
               audit_inputs: Sequence[AuditInput]) -> dict[str, np.ndarray]:
    """Per kind of flag, the evidence rows it covers (positions in conformance's row order)."""
    a = result.arrays
    # Each kind's mask becomes positions at once, so one row-long mask is held at a time, not nine.
    flags = {kind: np.flatnonzero(a.category == CATEGORIES.index(kind)) for kind in FLAG_KINDS[:4]}
    flags["infra_failure"] = np.flatnonzero(a.conformant & status_mask(a, "infra_failure"))
    flags["pending"] = np.flatnonzero(a.conformant & status_mask(a, "pending"))
    flags["unverified"] = np.flatnonzero(a.seed_unverified | a.metadata_unverified)
    mapped = np.zeros(len(a.ev), dtype=bool)
    inferred = np.zeros(len(a.ev), dtype=bool)
    ends = np.cumsum(a.sizes)
    for i, start, stop in zip(a.accepted, (ends - a.sizes).tolist(), ends.tolist()):  # the input's rows
        source = audit_inputs[i].source
        rows = slice(start, stop)
        targets = {task for name, task in source.task_mapping.items() if name != task}
        if targets:  # per place, then per row (no object array of a million task ids)
            mapped[rows] = np.append(np.isin(a.place_fields[1], list(targets)), False)[a.ev.place[rows]]
        if source.identity == "inferred_from_order":
            inferred[rows] = a.planned_ix[rows] >= 0
    flags["task_mapped"] = np.flatnonzero(mapped)
    flags["order_inferred"] = np.flatnonzero(inferred)
    return flags


def _in_plan_order(result: ConformanceResult, chosen: np.ndarray, first: int | None = None) -> np.ndarray:
    """Rows sorted by the plan cell they name and their episode index, so which rows are shown
    follows the plan, not the file order (`first`: only the first so many of them)."""
    a = result.arrays
    named = result.named_cells[chosen] if result.named_cells is not None else np.zeros(len(chosen))
    cell = np.where(named >= 0, named, np.iinfo(np.int32).max)
    if first is not None and len(chosen) > first > 0:
        # The first rows lie in the `first` lowest cells: only rows there are sorted (the sort is stable,
        # and leaving out later rows keeps the others' order), not thousands.
        keep = cell <= np.partition(cell, first - 1)[first - 1]
        chosen, cell = chosen[keep], cell[keep]
    order = np.lexsort((a.ev.seed[chosen], a.ev.episode_index[chosen], cell))
    return chosen[order][:first]


def _rows_named(plan: ProtocolPlan, result: ConformanceResult, positions: np.ndarray,
                keys: pd.DataFrame | None) -> list[dict[str, Any]]:
    """These rows as dicts (missing values None) plus `cell_of_key` as with_named_cell gives it, read
    from the cells conformance already placed them in (a pandas merge otherwise)."""
    if result.named_cells is None:  # a result built by hand: place the rows by their names
        return with_named_cell(plan, result.rows_at(positions), keys).to_dict("records")
    columns = row_columns(result.arrays, positions)
    columns["cell_of_key"] = np.array([c.cell_id for c in plan.cells] + [None], dtype=object)[
        result.named_cells[positions]]  # -1: no cell
    return records(columns)


def flagged_episodes(plan: ProtocolPlan, result: ConformanceResult, audit_inputs: Sequence[AuditInput] = ()
                     ) -> tuple[list[FlaggedEpisode], int, dict[str, int], dict[str, dict[str, int]]]:
    """Rows a reviewer should see, up to FLAGS_PER_KIND of each kind in plan order; how many were
    left out; each kind's total; and each kind's rows per named cell."""
    selections = _flag_rows(plan, result, audit_inputs)
    missing = np.flatnonzero(result.arrays.attempts == 0)
    totals = {kind: int(len(chosen)) for kind, chosen in selections.items()}
    totals["missing"] = int(len(missing))
    cell_ids = np.array([c.cell_id for c in plan.cells], dtype=object)
    per_cell: dict[str, dict[str, int]] = {}
    for kind, chosen in selections.items():
        named = result.named_cells[chosen] if result.named_cells is not None else np.zeros(0, dtype=np.int64)
        counts = np.bincount(named[named >= 0], minlength=len(cell_ids))
        flagged_cells = np.flatnonzero(counts)
        if len(flagged_cells):  # cells in plan order, read as Python values at once
            per_cell[kind] = dict(zip(cell_ids[flagged_cells].tolist(), counts[flagged_cells].tolist()))
    flagged: list[FlaggedEpisode] = []
    keys = cell_keys(plan) if result.named_cells is None else None
    shown = {kind: _in_plan_order(result, chosen, FLAGS_PER_KIND) for kind, chosen in selections.items()}
    # Every kind's shown rows read at once, then kind by kind, each row as a dict.
    rows = iter(_rows_named(plan, result, np.concatenate(list(shown.values())), keys))
    for kind, positions in shown.items():
        for row in islice(rows, len(positions)):
            flagged.append(_flag(kind, row, _row_detail(kind, row, result.pinned_keys)))
    for row in records(result.arrays.keys.planned_columns(missing[:FLAGS_PER_KIND])):
        flagged.append(_flag("missing", row,
                             f"planned episode of {row['cell_id']} (planned seed {value_text(row['seed'])}) "
                             "has no conformant evidence"))
    return flagged, sum(totals.values()) - len(flagged), {k: v for k, v in totals.items() if v}, per_cell


def contract_checks(plan: ProtocolPlan, result: ConformanceResult) -> list[ContractCheck]:
    """Each custom contract's pinned values re-checked over that probe's in-protocol rows."""
    a = result.arrays
    out = []
    selected = {p.probe_id: p for p in plan.selected_probes}
    for contract in plan.custom_contracts:
        probe = selected.get(contract.probe_id)
        if probe is None:
            continue
        pins = dict(contract.pinned_values)
        pins.update({k: v for k, v in probe.pinned_metadata.items() if k in contract.audit_metadata_keys})
        mine = np.append(a.place_fields[0] == contract.probe_id, False)[a.ev.place] & (a.planned_ix >= 0)
        for key, value in sorted(pins.items()):
            values = a.pins.values[key][a.ev.metadata[mine]]
            absent = int((values == ABSENT).sum())
            matching = int((values == normalise_value(value)).sum())
            out.append(ContractCheck(probe_id=contract.probe_id, key=key, pinned=value,
                                     rows_matching=matching,
                                     rows_differing=len(values) - matching - absent,
                                     rows_missing_key=absent))
    return out


def provenance(plan: ProtocolPlan, audit_inputs: Sequence[AuditInput], result_digest: str,
               method: IntervalMethod, created_at: str) -> Provenance:
    from worldflux_nb import __version__

    input_digests: dict[str, str] = {}
    file_digests: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    for ai in audit_inputs:
        seen[ai.probe_id] = seen.get(ai.probe_id, 0) + 1
        key = ai.probe_id if seen[ai.probe_id] == 1 else f"{ai.probe_id}+{seen[ai.probe_id]}"
        input_digests[key] = ai.audit_digest or ai.computed_digest()
        file_digests[key] = [f.digest for f in ai.source.files]
    return Provenance(
        tool_version=__version__, registry_version=plan.registry_version,
        registry_digest=plan.registry_digest, plan_digest=plan_digest(plan),
        profile_digest=plan.profile_digest, input_digests=input_digests,
        source_file_digests=file_digests, result_digest=result_digest, interval_method=method,
        interval_confidence=plan.power_targets.confidence, bootstrap_seed=plan.plan_seed, created_at=created_at)
