"""vla-eval (allenai/vla-evaluation-harness) `<benchmark>_aggregate.json`.

Shape: top-level `benchmark, harness_version, seed, config, tasks[]`; each task has `task` (its name,
for LIBERO the language instruction) and `episodes[]`; each episode carries `episode_id`, the task
context (`suite`, `task_id`, `episode_idx`), `metrics.success`, `steps`, `elapsed_sec` and, when the
harness caught an error, `failure_reason` and `failure_detail`.

Identity is explicit: `episode_idx` is the episode index (for LIBERO the initial-state index; the
harness falls back to `episode_id` when no `episode_idx` is recorded and so do we, with a note). The
harness task is `suite/task_id` (e.g. `libero_spatial/3`) when both are present, else the task name;
`--task-map` maps either to a plan task. The top-level run `seed` is every row's seed.

`failure_reason` -> status (the harness records `metrics.success = false` for all of them):
- absent or null          -> `completed`, success = `metrics.success`
- `timeout`               -> `timeout` (the policy ran out of time: a failure, success false)
- `server_unreachable`,
  `connection_closed`,
  `exception`             -> `infra_failure` (harness, server or simulator fault; success null)
Any other reason is refused rather than guessed at.
"""

from __future__ import annotations

from typing import Any

from worldflux_nb.core.importers.common import (
    ImportOptions, Redactor, aggregate_only, assemble, cell_resolver, optional_seed, probe_tasks,
    require_bool, require_dict, require_index, require_list, require_text,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

IMPORTER = "vla-eval"
ALLOW_NAN = False
FAILURE_STATUS = {
    "timeout": "timeout",
    "server_unreachable": "infra_failure",
    "connection_closed": "infra_failure",
    "exception": "infra_failure",
}
_KEPT = ("steps", "elapsed_sec", "failure_reason")


def detect(data: Any) -> str | None:
    if not isinstance(data, dict) or not isinstance(data.get("tasks"), list):
        return None
    if any(isinstance(t, dict) and isinstance(t.get("episodes"), list) and t["episodes"]
           for t in data["tasks"]):
        return "per_episode"
    return "aggregate_only"


def parse_vla_eval(data: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                   options: ImportOptions = ImportOptions()) -> AuditInput:
    src = source_name
    probe_tasks(plan, probe_id, src)  # an unknown probe is refused before the file is read
    body = require_dict(data, src, None)
    if "tasks" not in body:
        raise InputError(src, "tasks", "is required but missing: not a vla-eval aggregate file")
    tasks = require_list(body["tasks"], src, "tasks")
    if detect(body) != "per_episode":
        raise aggregate_only(src, "tasks[].episodes")
    seed = optional_seed(body.get("seed"), src, "seed")
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    rows: list[EvidenceRow] = []
    fallback_ids = 0
    resolve = cell_resolver(plan=plan, probe_id=probe_id, options=options, source=src, mapping=mapping,
                            notes=notes)
    for t, raw_task in enumerate(tasks):
        task_entry = require_dict(raw_task, src, f"tasks[{t}]")
        episodes = require_list(task_entry.get("episodes", []), src, f"tasks[{t}].episodes")
        for e, raw in enumerate(episodes):
            where = f"tasks[{t}].episodes[{e}]"
            episode = require_dict(raw, src, where)
            harness_task = _harness_task(task_entry, episode, src, where)
            task_id, axis, level = resolve(harness_task, f"{where}.suite/task_id")
            if "episode_idx" in episode:
                index = require_index(episode["episode_idx"], src, f"{where}.episode_idx")
            elif "episode_id" in episode:
                index = require_index(episode["episode_id"], src, f"{where}.episode_id")
                fallback_ids += 1
            else:
                raise InputError(src, f"{where}.episode_idx", "is required but missing")
            metrics = require_dict(episode.get("metrics"), src, f"{where}.metrics")
            if "success" not in metrics:
                raise InputError(src, f"{where}.metrics.success", "is required but missing")
            success: bool | None = require_bool(metrics["success"], src, f"{where}.metrics.success")
            reason = episode.get("failure_reason")
            if reason in (None, ""):
                status = "completed"
            elif reason in FAILURE_STATUS:
                status = FAILURE_STATUS[reason]
                success = False if status == "timeout" else None
            else:
                raise InputError(src, f"{where}.failure_reason",
                                 f"{reason!r} is not a known vla-eval failure reason "
                                 f"({', '.join(sorted(FAILURE_STATUS))})")
            kept = {k: episode[k] for k in _KEPT if k in episode}
            if isinstance(episode.get("failure_detail"), str):
                kept["failure_detail"] = episode["failure_detail"]
            row = EvidenceRow(probe_id=probe_id, task_id=task_id, axis=axis, level=level,
                              episode_index=index, seed=seed, success=success, status=status)  # type: ignore[typeddict-item]
            metadata = redactor.metadata(kept, f"{where}.metadata")
            if metadata:
                row["metadata"] = metadata
            rows.append(row)
    if fallback_ids:
        notes.append(f"{fallback_ids} episode(s) carry no episode_idx; their episode_id is used as the index")
    if seed is None:
        notes.append("the file records no run seed; rows carry seed null (unverified)")
    if body.get("partial") is True:
        notes.append("the harness marked this run partial (aborted early); unrun episodes are missing")
    version = body.get("harness_version")
    format_version = "vla-eval aggregate.json" + (f" (harness {version})" if isinstance(version, str) else "")
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version=redactor.text(format_version, "harness_version"),
                    identity="explicit", task_mapping=mapping, notes=notes, redactor=redactor)


def _harness_task(task_entry: dict[str, Any], episode: dict[str, Any], src: str, where: str) -> str:
    suite, task_id = episode.get("suite"), episode.get("task_id")
    if suite not in (None, "") and task_id not in (None, ""):
        return f"{require_text(suite, src, f'{where}.suite')}/{require_text(task_id, src, f'{where}.task_id')}"
    for name, value in (("name", episode.get("name")), ("task", task_entry.get("task"))):
        if value not in (None, ""):
            return require_text(value, src, f"{where}.{name}")
    raise InputError(src, f"{where}.task_id", "is required but missing (no suite/task_id or task name)")
