"""What the harness itself reported (AuditSource.reported) reconciled with the rows it handed over.

A harness that says it evaluated 25 episodes while the file holds 20 rows, whose own success rate
differs from the rows', that marked its run partial, or that records another run seed than the
plan's, disagrees with the evidence; each disagreement becomes a finding for the packet and brief.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from worldflux_nb.core.conformance import ConformanceResult
from worldflux_nb.core.episode_outcomes import status_mask
from worldflux_nb.core.findings import plural
from worldflux_nb.core.statistics import percent
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.packet import Finding
from worldflux_nb.models.plan import ProtocolPlan

RATE_TOLERANCE = 0.005  # harnesses round their aggregate (LeRobot's pc_success to 0.1 points and less)


def _finding(kind: str, probe: str, affected: int, total: int, statement: str, question: str) -> Finding:
    return Finding(kind=kind, family="campaign", probe_id=probe, planned_affected=affected,
                   share=min(1.0, affected / total), statement=statement, question=question)


def reported_findings(plan: ProtocolPlan, result: ConformanceResult,
                      audit_inputs: Sequence[AuditInput]) -> list[Finding]:
    total = max(len(result.arrays.keys), 1)
    a = result.arrays
    rows_per_input = dict(zip(result.accepted, a.sizes.tolist()))
    offsets = dict(zip(result.accepted, (np.cumsum(a.sizes) - a.sizes).tolist()))
    planned_per_probe: dict[str, int] = {}
    for cell in plan.cells:
        planned_per_probe[cell.probe_id] = planned_per_probe.get(cell.probe_id, 0) + cell.episode_count
    scored_rows: np.ndarray | None = None  # built for the first input with a harness report: most have none
    out: list[Finding] = []
    for i in result.accepted:
        ai = audit_inputs[i]
        reported: Any = getattr(ai.source, "reported", None)
        if reported is None:
            continue
        if scored_rows is None:
            scored_rows = status_mask(a, "completed", "timeout")
        probe, n = ai.probe_id, int(rows_per_input[i])
        name = f"audit input #{i + 1} ({probe})"
        planned = planned_per_probe.get(probe, 0)
        at = slice(offsets[i], offsets[i] + n)
        successes = int(np.count_nonzero(a.row_success[at]))
        requested = getattr(reported, "episodes_requested", None)
        evaluated = getattr(reported, "episodes_evaluated", None)
        rate = getattr(reported, "success_rate", None)
        run_seed = getattr(reported, "run_seed", None)
        if evaluated is not None and evaluated != n:
            out.append(_finding(
                "reported_count_differs", probe, abs(evaluated - n), total,
                f"{name}: the harness reports {evaluated} episodes evaluated, the file holds {plural(n, 'row')}"
                + (" — episodes were left out of the evidence." if evaluated > n else "."),
                f"The harness behind {name} reports {evaluated} episodes evaluated but {n} rows were handed "
                "over: which episodes are missing from the evidence, and why?"))
        if requested is not None and requested != planned:
            out.append(_finding(
                "reported_request_differs", probe, abs(requested - planned), total,
                f"{name}: the harness was asked to run {requested} episodes; the plan has {planned} for {probe}.",
                f"The harness behind {name} was asked for {requested} episodes against {planned} planned: "
                "was the run sheet's invocation followed, and where are the other episodes' outcomes?"))
        scored = int(np.count_nonzero(scored_rows[at]))
        # A harness may rate over every episode or over those that finished: either reading agrees.
        readings = [successes / n] + ([successes / scored] if scored else []) if n else []
        if rate is not None and n and all(abs(rate - r) > RATE_TOLERANCE + 0.5 / n for r in readings):
            out.append(_finding(
                "reported_rate_differs", probe, n, total,
                f"{name}: the harness's own success rate is {percent(rate)}, the rows give "
                f"{successes}/{n} = {percent(successes / n)}.",
                f"For {name} the harness reports {percent(rate)} success but its rows give "
                f"{percent(successes / n)}: were rows removed or edited after the run?"))
        if getattr(reported, "partial", None):
            of_probe = np.array([c.probe_id == probe for c in plan.cells] + [False])[a.keys.planned_cell]
            missing = int(np.count_nonzero(of_probe & (a.attempts == 0)))
            out.append(_finding(
                "partial_run", probe, max(missing, 1), total,
                f"{name}: the harness marked its run partial (still running or interrupted).",
                f"The run behind {name} is marked partial: did it finish, and were its remaining "
                "episodes run before these results were read?"))
        planned_seed = _run_seed(plan, probe)
        if run_seed is not None and planned_seed is not None and run_seed != planned_seed:
            out.append(_finding(
                "another_run", probe, n, total,
                f"{name}: the harness file records run seed {run_seed}; the plan's run seed for {probe} is "
                f"{planned_seed}: another run.",
                f"The file behind {name} records run seed {run_seed}, not the planned {planned_seed}: how many "
                "runs were made, and why was this one submitted?"))
        for line in getattr(reported, "discrepancies", None) or []:
            out.append(_finding(
                "importer_discrepancy", probe, 0, total, f"{name}: {line}",
                f"The importer found a disagreement in {name} ({line}): which is right, the harness's "
                "own count or the rows?"))
    return out


def _run_seed(plan: ProtocolPlan, probe_id: str) -> int | None:
    try:
        return plan.probe(probe_id).run_seed
    except KeyError:
        return None
