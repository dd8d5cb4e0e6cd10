"""The packet's plain-language findings: score signals, unsupported claims, caveats, warnings and
the next axes to try to falsify the claim on. Sentences are built from counts, never hard-coded."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from worldflux_nb.core.bulk import group_sums
from worldflux_nb.core.conformance import ConformanceResult
from worldflux_nb.core.statistics import IntervalMethod, interval, percent, underpowered
from worldflux_nb.models.common import NOMINAL_AXIS
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.packet import (
    CATEGORIES, Aggregate, CellResult, CherryPickSignals, Conformance, Finding, PolicyResult, ProbeSummary,
)
from worldflux_nb.models.plan import ProtocolPlan

METHOD_LABEL = {"wilson": "Wilson", "clopper_pearson": "Clopper-Pearson"}


def some(items: Sequence[str], limit: int = 5) -> str:
    """A bounded list for a sentence: the first few, then how many more."""
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _interval_text(low: float | None, high: float | None, method: str, confidence: float) -> str:
    if low is None or high is None:
        return "no interval"
    return f"{confidence:.0%} {METHOD_LABEL.get(method, method)} {percent(low)}–{percent(high)}"


def _points(delta: float) -> str:
    points = 100 * delta
    return f"{points:+.1f} points"


def policy_lines(policies: Sequence[PolicyResult], probe_id: str | None) -> str:
    """`all_planned` first; every other policy with how many points it adds (completed_only: optimistic)."""
    mine = {p.policy: p for p in policies if p.probe_id == probe_id}
    base = mine.get("all_planned")
    if base is None:
        return ""
    parts = [f"all_planned {percent(base.success_rate)} ({base.successes}/{base.denominator})"]
    for name in ("attempted", "completed_only"):
        p = mine.get(name)
        if p is None:
            continue
        if p.success_rate is None or base.success_rate is None:
            parts.append(f"{name} n/a ({p.successes}/{p.denominator})")
        else:
            parts.append(f"{name} {percent(p.success_rate)} ({p.successes}/{p.denominator}, "
                         f"{_points(p.success_rate - base.success_rate)})"
                         + (" — optimistic" if p.optimistic else ""))
    return "; ".join(parts)


def observed_score_signals(plan: ProtocolPlan, policies: Sequence[PolicyResult],
                           probe_aggs: Sequence[Aggregate], method: IntervalMethod) -> list[str]:
    """What the evidence shows: all_planned leads, every other policy says how many points it adds;
    then per probe under the plan's policy, with its interval and task-weighted mean."""
    conf = plan.power_targets.confidence
    policy = plan.denominator_policy
    out = []
    overall = policy_lines(policies, None)
    if overall:
        out.append(f"Overall success, every planned episode counted first: {overall}.")
    for agg in probe_aggs:
        moves = policy_lines(policies, agg.probe_id)
        text = (f"{agg.probe_id}: {agg.successes}/{agg.denominator} successes under {policy}"
                + (" (optimistic)" if policy == "completed_only" else "")
                + f" ({percent(agg.pooled_rate)}, {_interval_text(agg.pooled_ci_low, agg.pooled_ci_high, method, conf)})")
        if agg.task_weighted_rate is not None:
            text += (f"; task-weighted {percent(agg.task_weighted_rate)} (bootstrap "
                     f"{percent(agg.bootstrap_ci_low)}–{percent(agg.bootstrap_ci_high)})")
        out.append(text + (f". By policy: {moves}." if moves else "."))
    return out


def cherry_pick_signals(result: ConformanceResult, order_inferred: bool = False) -> CherryPickSignals:
    """In- vs out-of-protocol success, re-rolled episodes and seed mismatches, stated plainly.

    With `order_inferred` (some accepted evidence has identity inferred from row order), which rows
    fall outside the plan was decided by their order, so the rows kept out are not said to be inert.
    """
    a = result.arrays  # conformance's arrays: a million-row frame is costly to filter whole
    matched = a.row_success[a.category == CATEGORIES.index("matched")]
    outside = a.row_success[a.category == CATEGORIES.index("out_of_protocol")]
    in_rate = float(matched.mean()) if len(matched) else None
    out_rate = float(outside.mean()) if len(outside) else None
    rerolled = a.attempts > 1
    hidden = rerolled & (a.attempt_successes > 0) & (a.attempts - a.attempt_successes > 0)
    seed_bad = int((a.category == CATEGORIES.index("seed_mismatch")).sum())
    statements = []
    if len(outside):
        comparison = ("higher than" if out_rate > in_rate + 0.05 else
                      "lower than" if out_rate < in_rate - 0.05 else "close to") if in_rate is not None else "beside"
        statements.append(
            f"{plural(len(outside), 'evidence row')} fall outside the plan; they succeed at "
            f"{percent(out_rate)}, {comparison} the {percent(in_rate)} of planned episodes. "
            + ("They are kept out of every score." if not order_inferred else
               "They are kept out of every score, but part of the evidence identifies episodes only by "
               "row order, so which rows fell outside was decided by the order the rows were given in."))
    else:
        statements.append("No evidence row falls outside the plan.")
    rerolled, hidden = int(rerolled.sum()), int(hidden.sum())
    if rerolled:
        statements.append(
            f"{plural(rerolled, 'planned episode was', 'planned episodes were')} run more than once; "
            f"in {hidden} of them a failed attempt sits next to a successful one. Each counts as "
            "a success only if every attempt succeeded, so re-rolling a failure never raises the score.")
    else:
        statements.append("No planned episode was re-run.")
    if seed_bad:
        statements.append(
            f"{plural(seed_bad, 'row records', 'rows record')} a seed other than the planned one; "
            "those rows are not counted.")
    else:
        statements.append("Every recorded seed of a planned episode agrees with the plan.")
    return CherryPickSignals(
        in_protocol_success_rate=in_rate, out_of_protocol_success_rate=out_rate,
        out_of_protocol_rows=len(outside), rerolled_episodes=rerolled,
        rerolled_failures_hidden=hidden, seed_mismatches=seed_bad, statements=statements)


def unsupported_claims(plan: ProtocolPlan, result: ConformanceResult, cells: Mapping[str, Sequence[Any]],
                       summaries: Sequence[ProbeSummary]) -> list[str]:
    """What the profile's claim intent asserts that the evidence does not cover or does not power
    (`cells`: the packet's cell columns, core.packet.cell_columns)."""
    claim = f'"{plan.profile.claim_intent}"'
    out = []
    for s in summaries:
        if s.grade == "ungraded":
            out.append(f"{claim} is not supported on {s.probe_id}: {s.grade_reasons[0]}.")
    for probe in plan.excluded_probes:
        out.append(f"{claim} is not evaluated on {probe.probe_id}: excluded at plan time ({'; '.join(probe.reasons)}).")
    for axis in plan.excluded_axes:
        out.append(f"{claim} is not evaluated under {axis.probe_id} {axis.axis}: excluded at plan time ({axis.reason}).")
    if len(cells["cell_id"]):
        graded = {s.probe_id for s in summaries if s.grade != "ungraded"}
        cell_id = np.array(cells["cell_id"], dtype=object)
        matched, missing = np.array(cells["matched"], dtype=np.int64), np.array(cells["missing"], dtype=np.int64)
        empty = cell_id[(matched == 0) & np.array([p in graded for p in cells["probe_id"]], dtype=bool)]
        if len(empty):
            out.append(f"{claim} is not covered on {plural(len(empty), 'planned cell')} with no evidence: "
                       f"{some(empty)}.")
        partial = (matched > 0) & (missing > 0)
        if partial.any():
            out.append(f"{claim} rests on incomplete cells: {plural(int(missing[partial].sum()), 'planned episode')} "
                       f"missing across {plural(int(partial.sum()), 'cell')} ({some(cell_id[partial])}).")
        weak = cell_id[np.array(cells["underpowered"], dtype=bool) & (matched > 0)]
        if len(weak):
            t = plan.power_targets
            out.append(f"{claim} is not powered on {plural(len(weak), 'cell')}: the interval half-width exceeds "
                       f"{t.max_ci_half_width:.2f} or fewer than {t.min_episodes_per_cell} episodes count "
                       f"({some(weak)}).")
    for s in summaries:
        if s.grade == "C":
            out.append(f"{claim} on {s.probe_id} relies on episode identity inferred from row order; "
                       "which episode is which is not recorded by the harness.")
    for probe in plan.selected_probes:
        if probe.training_exposure:
            out.append(f"{claim} on {probe.probe_id} may reflect training exposure, not generalisation"
                       + (f": {probe.training_exposure_note}" if probe.training_exposure_note else "") + ".")
    return out


def training_exposure_caveats(plan: ProtocolPlan) -> list[str]:
    profile = plan.profile
    out = [f"Operator caveat: {c}" for c in profile.training_exposure_caveat]
    if profile.training_exposure_possible_benchmark_family:
        out.append("Benchmark families possibly seen in training: "
                   + ", ".join(profile.training_exposure_possible_benchmark_family) + ".")
    for probe in plan.selected_probes:
        if probe.training_exposure:
            out.append(f"{probe.probe_id}: " + (probe.training_exposure_note
                                                 or "marked as possibly seen in training"))
    return out


def next_falsification_axes(plan: ProtocolPlan, cells: Mapping[str, Sequence[Any]],
                            axis_aggs: Sequence[Aggregate]) -> list[str]:
    """Uncovered axes first, then the weakest observed ones: where to try to break the claim next
    (`cells`: the packet's cell columns, core.packet.cell_columns)."""
    out = [f"{a.probe_id} / {a.axis}: not covered — excluded at plan time ({a.reason})."
           for a in plan.excluded_axes]
    if len(cells["cell_id"]):
        # Matched episodes per (probe, axis), in order of first appearance.
        pairs, covered = group_sums(list(zip(cells["probe_id"], cells["axis"])), {"matched": cells["matched"]})
        for (probe, axis), matched in zip(pairs, covered["matched"].tolist()):
            if matched == 0:
                out.append(f"{probe} / {axis}: planned but no evidence yet — run it before reading the claim.")
    observed = [a for a in axis_aggs if a.axis != NOMINAL_AXIS and a.denominator > 0
                and a.task_weighted_rate is not None]
    observed.sort(key=lambda a: (a.task_weighted_rate, a.probe_id, a.axis or ""))
    for a in observed[:3]:
        out.append(f"{a.probe_id} / {a.axis}: weakest observed (task-weighted {percent(a.task_weighted_rate)}, "
                   f"{a.successes}/{a.denominator}) — add levels or tasks here to try to falsify the claim.")
    return out


def strict_reasons(c: Conformance, missing_cells: Sequence[str],
                   underpowered_cells: Sequence[str]) -> list[str]:
    reasons = []
    if c.missing:
        reasons.append(f"{plural(c.missing, 'planned episode')} missing"
                       + (f" ({plural(len(missing_cells), 'cell')} with no evidence: {some(missing_cells)})"
                          if missing_cells else ""))
    if underpowered_cells:
        reasons.append(f"{plural(len(underpowered_cells), 'underpowered cell')}: {some(underpowered_cells)}")
    return reasons


def planned_in_underpowered(plan: ProtocolPlan, cells: Sequence[CellResult],
                            method: IntervalMethod) -> set[str]:
    """Underpowered cells that would stay underpowered with every planned episode present: the
    plan's own episode counts cannot reach its targets there (at the observed rate, or 50%)."""
    weak = [c for c in cells if c.underpowered]
    if not weak:
        return set()
    t = plan.power_targets
    n = np.array([c.planned for c in weak])
    rate = np.array([c.success_rate if c.success_rate is not None else t.planning_success_rate for c in weak])
    low, high = interval(np.round(rate * n), n, method, t.confidence)
    still = underpowered(low, high, n, max_half_width=t.max_ci_half_width, min_episodes=t.min_episodes_per_cell)
    return {c.cell_id for c, s in zip(weak, still) if s}


def warnings(plan: ProtocolPlan, result: ConformanceResult, audit_inputs: Sequence[AuditInput],
             summaries: Sequence[ProbeSummary], missing_cells: Sequence[str],
             underpowered_cells: Sequence[str], strict: bool, *, cells: Sequence[CellResult] = (),
             detected: Sequence[Finding] = (), method: IntervalMethod = "wilson") -> list[str]:
    """Everything a reviewer must not miss: whole inputs rejected first, then every finding ranked by
    the share of planned evidence it touches, planned-in underpowering once, then notes."""
    c = result.conformance
    planned = max(c.planned_episodes, 1)
    first: list[str] = []
    ranked: list[tuple[float, str]] = []
    for d in c.digest_mismatches:
        first.append(f"Audit input for {d.probe_id} names plan digest {d.found[:19]}…, not this plan's "
                     f"{d.expected[:19]}…; its {plural(d.rows_rejected, 'row')} were rejected as a whole.")
    if c.missing and not strict:
        ranked.append((c.missing / planned,
                       f"{plural(c.missing, 'planned episode')} of {c.planned_episodes} missing"
                       + (f" ({plural(len(missing_cells), 'cell')} with no evidence: {some(missing_cells)})"
                          if missing_cells else "") + " (would fail --strict-missing-evidence)."))
    counts = [(c.out_of_protocol, "evidence row outside the plan", "evidence rows outside the plan"),
              (c.seed_mismatches, "row with a seed other than the planned one", "rows with a seed other than the planned one"),
              (c.metadata_mismatches, "row whose pinned metadata differs from the plan", "rows whose pinned metadata differs from the plan"),
              (c.duplicates, "re-run of a planned episode", "re-runs of planned episodes"),
              (c.infra_failures, "planned episode with an infrastructure failure (harness fault, not the policy)", "planned episodes with an infrastructure failure (harness faults, not the policy)"),
              (c.pending, "planned episode still pending", "planned episodes still pending"),
              (c.unverified_seeds, "conformant row with no recorded seed (unverified)", "conformant rows with no recorded seed (unverified)"),
              (c.unverified_metadata, "conformant row lacking a pinned metadata key (unverified)", "conformant rows lacking a pinned metadata key (unverified)")]
    for n, one, many in counts:
        if n:
            ranked.append((min(1.0, n / planned), f"{n} {one if n == 1 else many}."))
    ranked += [(f.share, f.statement) for f in detected]
    for s in summaries:
        share = s.planned / planned
        if s.grade == "C":
            ranked.append((share, f"{s.probe_id}: episode identity inferred from order (evidence grade C)."))
        if s.grade == "ungraded":
            ranked.append((share, f"{s.probe_id}: ungraded — {s.grade_reasons[0]}."))
    by_design = planned_in_underpowered(plan, cells, method) if cells else set()
    lacking = [cid for cid in underpowered_cells if cid not in by_design]
    if lacking and not strict:
        episodes = sum(x.planned for x in cells if x.cell_id in set(lacking))
        ranked.append((episodes / planned, f"{plural(len(lacking), 'cell')} underpowered because evidence is "
                       f"missing or excluded (would fail --strict-missing-evidence): {some(lacking)}."))
    out = first + [text for _, text in sorted(ranked, key=lambda item: -item[0])]
    if by_design:
        t = plan.power_targets
        out.append(f"Planned-in: {plural(len(by_design), 'cell')} cannot reach the plan's own targets even "
                   f"with every planned episode (half-width {t.max_ci_half_width:.2f}, at least "
                   f"{t.min_episodes_per_cell} episodes): {some(sorted(by_design))}.")
    elif underpowered_cells and not cells and not strict:
        out.append(f"{plural(len(underpowered_cells), 'underpowered cell')}: {some(underpowered_cells)}.")
    for i in result.accepted:
        notes = audit_inputs[i].source.notes
        if notes:
            out.append(f"Audit input #{i + 1} ({audit_inputs[i].probe_id}), importer notes: " + some(list(notes), 3)
                       + ".")
    for ai in audit_inputs:
        if ai.redactions:
            kinds = sorted({r.kind for r in ai.redactions})
            out.append(f"Audit input for {ai.probe_id}: {plural(len(ai.redactions), 'value')} redacted "
                       f"({', '.join(kinds)}); the originals are not carried forward.")
    for contract in plan.custom_contracts:
        out.append(f"{contract.probe_id}: customer consent marker {contract.customer_consent_marker!r} "
                   "is recorded, not verified; legal consent is outside this tool.")
    if plan.denominator_policy == "completed_only":
        out.append("The plan scores with completed_only, the optimistic denominator policy.")
    return out
