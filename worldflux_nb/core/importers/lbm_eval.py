"""lbm_eval (ToyotaResearchInstitute) `results-<timestamp>.json`.

Shape: `num_processes, elapsed_time, num_requested_evaluations, num_evaluated, num_success,
success_rate` and `evaluations[]` with `skill_type, scenario_index, is_pending, total_time,
is_success, failure_message`. The harness primes the file with every requested evaluation pending
and rewrites it as each finishes, so a file may be read mid-run.

Mapping: `skill_type` -> task (through `--task-map` when the plan names it differently);
`scenario_index` -> episode index (explicit identity; it also derives the harness's own seed, which
the file does not record, so seed is null); `is_pending` -> status `pending` (success null);
otherwise `completed` with `is_success`. A crashed evaluation is recorded by the harness as
`is_success: false` with a traceback in `failure_message`; it stays a failure (the conservative
reading) and the message is kept, redacted and shortened, in metadata.
"""

from __future__ import annotations

from typing import Any

from worldflux_nb.core.importers.common import (
    ImportOptions, Redactor, aggregate_only, assemble, cell_resolver, probe_tasks, require_bool,
    require_dict, require_index, require_list, require_text,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

IMPORTER = "lbm-eval"
ALLOW_NAN = False
_AGGREGATES = ("num_success", "success_rate", "num_evaluated")


def detect(data: Any) -> str | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("evaluations"), list) and data["evaluations"]:
        return "per_episode"
    if "evaluations" in data or all(key in data for key in ("success_rate", "num_evaluated")):
        return "aggregate_only"
    return None


def parse_lbm_eval(data: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                   options: ImportOptions = ImportOptions()) -> AuditInput:
    src = source_name
    probe_tasks(plan, probe_id, src)  # an unknown probe is refused before the file is read
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
    crashed = 0
    resolve = cell_resolver(plan=plan, probe_id=probe_id, options=options, source=src, mapping=mapping,
                            notes=notes)
    for i, raw in enumerate(evaluations):
        where = f"evaluations[{i}]"
        entry = require_dict(raw, src, where)
        skill = require_text(entry.get("skill_type"), src, f"{where}.skill_type")
        task_id, axis, level = resolve(skill, f"{where}.skill_type")
        if "scenario_index" not in entry:
            raise InputError(src, f"{where}.scenario_index", "is required but missing")
        index = require_index(entry["scenario_index"], src, f"{where}.scenario_index")
        pending = require_bool(entry.get("is_pending", False), src, f"{where}.is_pending")
        if pending:
            status, success = "pending", None
        else:
            if "is_success" not in entry:
                raise InputError(src, f"{where}.is_success", "is required but missing")
            status, success = "completed", require_bool(entry["is_success"], src, f"{where}.is_success")
        kept: dict[str, Any] = {}
        if isinstance(entry.get("total_time"), (int, float)) and not isinstance(entry.get("total_time"), bool):
            kept["total_time"] = entry["total_time"]
        if isinstance(entry.get("failure_message"), str) and entry["failure_message"]:
            kept["failure_message"] = entry["failure_message"]
            crashed += success is False and "Traceback" in entry["failure_message"]
        row = EvidenceRow(probe_id=probe_id, task_id=task_id, axis=axis, level=level,
                          episode_index=index, seed=None, success=success, status=status)  # type: ignore[typeddict-item]
        metadata = redactor.metadata(kept, f"{where}.metadata")
        if metadata:
            row["metadata"] = metadata
        rows.append(row)
    if crashed:
        notes.append(f"{crashed} evaluation(s) crashed with a traceback; the harness counts them as "
                     "failures and so does this import")
    notes.append("lbm_eval derives each scenario's seed from scenario_index without recording it; "
                 "rows carry seed null")
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="lbm_eval results-*.json (evaluations[])", identity="explicit",
                    task_mapping=mapping, notes=notes, redactor=redactor)
