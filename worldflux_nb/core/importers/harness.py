"""Rules every harness importer shares: failure mapping, outcome order, instruction lookup, and the
reconciliation of what a harness reports about its run with the rows it wrote.

Statuses (DESIGN "Importers"): a fault outside the policy's actions — server unreachable, connection
closed, the model server not answering in time, a simulator or RPC crash — is `infra_failure`; an
episode that used up its step budget is `timeout` (a policy failure). Each importer states its own
table as a `FailureTable` and keeps the harness's reason verbatim (redacted) in `failure_reason`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from worldflux_nb.models.common import Level
from worldflux_nb.models.evidence import EvidenceRow, ReportedSummary
from worldflux_nb.models.plan import ProtocolPlan

# A harness success rate is compared with the rows to this tolerance (vla-eval rounds to 4 places).
RATE_TOLERANCE = 5e-4


@dataclass(frozen=True)
class FailureTable:
    """A harness's failure reasons -> status, with the status for a reason the table does not list."""

    statuses: Mapping[str, str]
    otherwise: str = "infra_failure"

    def status(self, reason: str) -> str:
        return self.statuses.get(reason, self.otherwise)

    def rows(self) -> list[tuple[str, str]]:
        """The table as (reason, status) pairs, for documentation."""
        return [*self.statuses.items(), ("(any other reason)", self.otherwise)]


def outcome_row(*, probe_id: str, task_id: str, axis: str, level: Level, index: int,
                seed: int | None, status: str, success: bool | None) -> EvidenceRow:
    """One evidence row with statuses and success kept consistent (timeout: false; faults: null)."""
    if status == "timeout":
        success = False
    elif status in ("infra_failure", "pending"):
        success = None
    return EvidenceRow(probe_id=probe_id, task_id=task_id, axis=axis, level=level,  # type: ignore[typeddict-item]
                       episode_index=index, seed=seed, success=success, status=status)


def initial_state_indexes(count: int, states: int | None) -> tuple[list[int], int]:
    """Initial-state index of outcome k of a task for a harness that cycles its states (LeRobot:
    `init_state_id % len(init_states)`): k below the number of states, else k mod states.

    Returns the indexes and how many outcomes went past the states that exist (those are re-runs
    of a state already run, at their true index).
    """
    if not states:
        return list(range(count)), 0
    return [k % states for k in range(count)], max(0, count - states)


def initial_states_per_task(plan: ProtocolPlan, probe_id: str) -> int | None:
    """How many initial states a task of this probe has (LIBERO: 50), from the built-in registry."""
    from worldflux_nb.core.registry import builtin_registry

    for probe in builtin_registry().probes:
        if probe.probe_id == probe_id:
            return probe.initial_states_per_task
    return None


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("_", " ")).strip().rstrip(".").lower()


def instruction_lookup(probe_id: str) -> dict[tuple[str, str], str]:
    """(suite, normalised language instruction) -> registry task id, for harnesses that record a task
    by its instruction only (older vla-eval results, OpenVLA and openpi logs)."""
    from worldflux_nb.core.registry import builtin_registry, suite_of

    table: dict[tuple[str, str], str] = {}
    for probe in builtin_registry().probes:
        if probe.probe_id == probe_id:
            for task in probe.tasks:
                if task.instruction:
                    table[(suite_of(task.task_id), _normal(task.instruction))] = task.task_id
    return table


def task_by_instruction(table: Mapping[tuple[str, str], str], suite: str | None, text: str) -> str | None:
    """The registry task whose instruction is `text` (in `suite` when known); None when unknown or
    ambiguous across suites."""
    key = _normal(text)
    if suite:
        return table.get((suite, key))
    found = {task for (_, instruction), task in table.items() if instruction == key}
    return found.pop() if len(found) == 1 else None


def finite_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def count_or_none(value: Any) -> int | None:
    number = finite_number(value)
    return int(number) if number is not None and number.is_integer() and number >= 0 else None


def reconcile(rows: Sequence[Mapping[str, Any]], *, requested: int | None = None,
              evaluated: int | None = None, success_rate: float | None = None,
              partial: bool | None = None, run_seed: int | None = None,
              rate_over: str = "evaluated", extra: Iterable[str] = ()) -> ReportedSummary:
    """What the harness reported about its run, with one line per disagreement with the rows.

    `rate_over` says what the harness divides by: `evaluated` (finished rows) or `all` (every row,
    faults counted as failures, as vla-eval does).
    """
    finished = [r for r in rows if r["status"] != "pending"]
    successes = sum(1 for r in rows if r["success"] is True)
    lines = list(extra)
    if requested is not None and requested != len(rows):
        lines.append(f"the harness reports {requested} episodes but the file holds {len(rows)}")
    if evaluated is not None and evaluated != len(finished):
        lines.append(f"the harness reports {evaluated} episodes evaluated but {len(finished)} rows "
                     "have finished")
    if success_rate is not None and not 0.0 <= success_rate <= 1.0:
        # Said in four significant digits: a rate of 1e306 printed in full would be a line of 300 digits.
        lines.append(f"the harness reports a success rate of {success_rate:.4g}, which is not a rate "
                     "(0 to 1); the rows are counted instead")
    elif success_rate is not None:
        base = len(finished) if rate_over == "evaluated" else len(rows)
        actual = successes / base if base else 0.0
        if abs(actual - success_rate) > RATE_TOLERANCE:
            lines.append(f"the harness reports a success rate of {success_rate:.4f} but its rows give "
                         f"{actual:.4f} ({successes}/{base})")
    if partial and all(r["status"] != "pending" for r in rows):
        lines.append("the harness marked the run partial (stopped early): planned episodes it never "
                     "reached are missing")
    rate = success_rate if success_rate is not None and 0.0 <= success_rate <= 1.0 else None
    return ReportedSummary(episodes_requested=requested, episodes_evaluated=evaluated, success_rate=rate,
                           partial=partial, run_seed=run_seed, discrepancies=[x[:2000] for x in lines])


def failure_text(reason: str, detail: Any = None) -> str:
    """The harness's reason and, when it gives one, its detail, as one verbatim line (not yet redacted)."""
    if isinstance(detail, str) and detail.strip():
        return f"{reason}: {detail.strip()}"
    return reason
