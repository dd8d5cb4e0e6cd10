"""lbm_eval (ToyotaResearchInstitute/lbm_eval) `results-<timestamp>.json`, finished or mid-run.

Writer: `lbm_eval/evaluate.py` `_save_json` over `EvaluationResults` (commit
460b721c427839501b9bdbfa17bcdfb588a1f0c4): `num_processes, elapsed_time`, then the properties
`num_requested_evaluations, num_evaluated, num_success, success_rate`, then `evaluations[]`
(`SingleEvaluationResult`: `skill_type, scenario_index, is_pending, total_time, is_success,
failure_message`). `evaluate_many` primes the file with every requested evaluation pending and
rewrites it as each one finishes, so a file read while the run is going holds pending rows.

Identity is explicit: `scenario_index` (0 .. `--num_evaluations` - 1 per skill) is the episode index;
it also derives the scenario's random seed (`get_demonstration_seed`), which the file does not
record, so seeds are null. `skill_type` is the task, snake_case as on disk; a plan that names the
skill in CamelCase is matched by the same name in CamelCase, `--task-map` maps any other name.

Failure mapping: `is_pending: true` -> `pending`; a `failure_message` holding a traceback is an
exception `evaluate_one` caught (a simulator or gRPC crash, e.g. `StatusCode.UNAVAILABLE`; the harness
writes `is_success: false`) -> `infra_failure`; otherwise `completed` with `is_success` (an episode that
ran out of simulated time, `t_max`, is a plain failure: the file does not tell it apart). The message is
kept verbatim (redacted, shortened) in `failure_reason`.
"""

from __future__ import annotations

import re
from typing import Any

from worldflux_nb.core.importers.common import (
    ImportOptions, Redactor, aggregate_only, assemble, cell_resolver, probe_tasks, require_bool,
    require_dict, require_index, require_list, require_text, unplanned_note,
)
from worldflux_nb.core.importers.harness import count_or_none, finite_number, outcome_row, reconcile
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

IMPORTER = "lbm-eval"
ALLOW_NAN = False
_AGGREGATES = ("num_success", "success_rate", "num_evaluated")
FAILURE_MAPPING = (
    ("is_pending: true", "pending"),
    ("failure_message with a traceback (simulator or gRPC crash caught by evaluate_one)", "infra_failure"),
    ("is_success: true / false", "completed"),
)


def detect(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("evaluations"), list) and data["evaluations"]:
        return "per_episode"
    if "evaluations" in data or all(key in data for key in ("success_rate", "num_evaluated")):
        return "aggregate_only"
    return None


def camel_case(snake: str) -> str:
    """`put_kiwi_in_center_of_table` -> `PutKiwiInCenterOfTable` (lbm_eval's skill_defines spelling)."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


def parse_lbm_eval(data: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                   options: ImportOptions = ImportOptions()) -> AuditInput:
    src = source_name
    known = set(probe_tasks(plan, probe_id, src))  # an unknown probe is refused before the file is read
    body = require_dict(data, src, None)
    if not body.get("evaluations"):
        if "evaluations" in body or any(key in body for key in _AGGREGATES):
            raise aggregate_only(src, "evaluations")
        raise InputError(src, "evaluations", "is required but missing: not an lbm_eval results file")
    evaluations = require_list(body["evaluations"], src, "evaluations")
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    rows: list[EvidenceRow] = []
    resolve = cell_resolver(plan=plan, probe_id=probe_id, options=options, source=src, mapping=mapping,
                            notes=notes)
    for i, raw in enumerate(evaluations):
        where = f"evaluations[{i}]"
        entry = require_dict(raw, src, where)
        skill = require_text(entry.get("skill_type"), src, f"{where}.skill_type")
        name = skill
        if skill not in known and skill not in options.task_map and camel_case(skill) in known:
            name = camel_case(skill)
        task_id, axis, level = resolve(name, f"{where}.skill_type")
        if "scenario_index" not in entry:
            raise InputError(src, f"{where}.scenario_index", "is required but missing")
        index = require_index(entry["scenario_index"], src, f"{where}.scenario_index")
        pending = require_bool(entry.get("is_pending", False), src, f"{where}.is_pending")
        message = entry.get("failure_message")
        message = message if isinstance(message, str) and message.strip() else None
        success: bool | None = None
        if pending:
            status = "pending"
        else:
            crashed = message is not None and _crashed(message)
            if "is_success" not in entry and not crashed:
                raise InputError(src, f"{where}.is_success", "is required but missing")
            value = entry.get("is_success")
            success = None if value is None and crashed else require_bool(value, src, f"{where}.is_success")
            status = "infra_failure" if crashed else "completed"
        row = outcome_row(probe_id=probe_id, task_id=task_id, axis=axis, level=level, index=index,
                          seed=None, status=status, success=success)
        row["harness_task"] = skill  # type: ignore[typeddict-unknown-key]
        if message:
            row["failure_reason"] = redactor.text(message, f"{where}.failure_message")  # type: ignore[typeddict-unknown-key]
        total_time = finite_number(entry.get("total_time"))
        if total_time is not None:
            row["metadata"] = {"total_time": total_time}
        rows.append(row)
    crashed = sum(1 for r in rows if r["status"] == "infra_failure")
    if crashed:
        notes.append(f"{crashed} evaluation(s) crashed with a traceback (the harness counts them as failures); "
                     "they are infrastructure failures here, the traceback kept in failure_reason")
    pending_rows = sum(1 for r in rows if r["status"] == "pending")
    if pending_rows:
        notes.append(f"read while the run was going: {pending_rows} evaluation(s) still pending")
    note = unplanned_note(rows, plan, probe_id)
    if note:
        notes.append(note)
    notes.append("lbm_eval derives each scenario's seed from scenario_index without recording it; "
                 "rows carry seed null")
    reported = reconcile(rows, requested=count_or_none(body.get("num_requested_evaluations")),
                         evaluated=count_or_none(body.get("num_evaluated")),
                         success_rate=_rate(body), partial=True if pending_rows else None,
                         rate_over="evaluated")
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="lbm_eval results-*.json (evaluations[])", identity="explicit",
                    task_mapping=mapping, notes=notes, redactor=redactor, reported=reported)


_TRACEBACK = re.compile(r"Traceback \(most recent call last\)|grpc|StatusCode\.", re.IGNORECASE)


def _crashed(message: str) -> bool:
    return bool(_TRACEBACK.search(message))


def _rate(body: dict[str, Any]) -> float | None:
    """lbm_eval's success_rate counts `bool(is_success)` over finished evaluations, crashes included."""
    return finite_number(body.get("success_rate"))
