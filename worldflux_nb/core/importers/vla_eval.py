"""vla-eval (allenai/vla-evaluation-harness) results: current aggregates, older results, a results folder.

Writers, read at commit e1ee9adf64396e155eb10ae1dd3f5dbf9a12d26c:
- current `<safe_name>_aggregate.json`: `src/vla_eval/results/merge.py` `_build_aggregate` — top level
  `benchmark, mode, harness_version, created_at, tasks, config, eval_id[, server_info, render, seed,
  metric_keys, mean_success], num_episodes_total`; `tasks[]` (`_build_task_result`, sorted by task
  name) with `task, episodes, num_episodes[, num_errors], avg_steps, mean_success`; each episode
  `sid, eid, episode_id, metrics, steps, elapsed_sec`, the task context the orchestrator ran
  (`name, suite, task_id, episode_idx`; LIBERO-plus adds `category, difficulty_level`; SimplerEnv
  `name, task_name, episode_idx`) and, on a fault, `failure_reason, failure_detail`.
- older `<safe_name>_<mode>_<unix>.json`, `<safe_name>_partial_<unix>.json` and
  `<safe_name>_shard<i>of<n>.json`: `src/vla_eval/orchestrator.py` `_save_results` at efd50df1
  (before 32d2014): the collector's episodes (`episode_id, metrics, steps, elapsed_sec[,
  failure_reason, failure_detail]`, no task context) under `tasks[].task` (LIBERO: the instruction),
  `partial: true` when the run stopped early.
- a results folder: every such file in it, read in file-name order.

Identity is explicit: `episode_idx` (the orchestrator's loop index `ep`, the LIBERO initial-state
index) or, in older files, `episode_id` (the same loop index). The harness task is `suite/task_id`
when recorded (LIBERO-plus: the variant's index in its suite), else the task name; older LIBERO files
name tasks by instruction, looked up in the suite of `config.params.suite`. LIBERO-plus rows take
axis = `category` (as a slug) and level = `difficulty_level`. LIBERO-PRO suites are
`<base suite>_<perturbation>` (`src/vla_eval/benchmarks/libero_pro/benchmark.py`): the task is
`<base suite>/<task_id>`, the axis the perturbation (`swap` object_position, `object`
object_appearance, `lan` language_paraphrase, `task` new_task, `env` environment_swap) at the plan's
level for it. The run seed (`seed`, from
`config.params.seed`) is every row's seed and `source.reported.run_seed`; `num_episodes_total`,
`mean_success`, `partial` and `config.episodes_per_task` are reconciled with the rows.

Failure mapping (`orchestrator.py` `record_failure`; the harness writes `metrics.success = false`):
`server_unreachable` (ConnectionError), `connection_closed` (websocket closed), `timeout` (the model
server did not answer `act()` in time), `exception` (simulator or harness crash) and any other reason
-> `infra_failure`; no reason, success false and `steps >= config.max_steps` -> `timeout` (step budget
used up); otherwise `completed` with `metrics.success`. The reason and its detail are kept verbatim
(redacted) in `failure_reason`.
"""

from __future__ import annotations

import re
from typing import Any

from worldflux_nb.core.importers.common import (
    Folder, ImportOptions, Redactor, aggregate_only, assemble, cell_resolver, optional_seed, probe_tasks,
    require_bool, require_dict, require_index, require_list, require_text, resolve_task, unplanned_note,
)
from worldflux_nb.core.importers.harness import (
    FailureTable, count_or_none, failure_text, finite_number, instruction_lookup, outcome_row, reconcile,
    task_by_instruction,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

IMPORTER = "vla-eval"
ALLOW_NAN = False
FAILURES = FailureTable({
    "server_unreachable": "infra_failure",
    "connection_closed": "infra_failure",
    "timeout": "infra_failure",
    "exception": "infra_failure",
})
FAILURE_MAPPING = (
    *((f"failure_reason: {reason}", status) for reason, status in FAILURES.rows()),
    ("no failure_reason, success false, steps >= config.max_steps", "timeout"),
    ("no failure_reason", "completed, success = metrics.success"),
)
# File names of the results a run leaves in its output folder.
RESULT_FILE = re.compile(r".*(_aggregate|_partial_\d+|_[a-z]+_\d+|_shard\d+of\d+)\.json$")
_KEPT = ("steps", "elapsed_sec")
# The plan's level for a LIBERO-plus variant its classification leaves unrated (core.registry).
UNRATED = "unrated"


def detect(data: Any) -> str | None:
    if isinstance(data, Folder):
        return "per_episode" if any(detect(content) == "per_episode" for _, content in data.files) else None
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
    files = _result_files(data, src)
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    rows: list[EvidenceRow] = []
    lines: list[str] = []
    seeds: set[int] = set()
    requested = partial = None
    rates: list[tuple[float, int]] = []
    resolve = cell_resolver(plan=plan, probe_id=probe_id, options=options, source=src, mapping=mapping,
                            notes=notes)
    for name, body in files:
        where_file = f"{name}:" if len(files) > 1 else ""
        file_rows, seed = _read_file(body, src, where_file, plan, probe_id, options, resolve, mapping,
                                     redactor, lines)
        rows.extend(file_rows)
        if seed is not None:
            seeds.add(seed)
        total = count_or_none(body.get("num_episodes_total"))
        if total is not None:
            requested = (requested or 0) + total
            if total != len(file_rows) and len(files) > 1:
                lines.append(f"{name}: num_episodes_total says {total} but the file holds {len(file_rows)}")
        if body.get("partial") is True:
            partial = True
        rate = finite_number(body.get("mean_success"))
        if rate is not None:
            rates.append((rate, len(file_rows)))
    if not seeds:
        notes.append("the file records no run seed (config.params.seed): rows carry seed null (unverified)")
    if len(seeds) > 1:
        lines.append(f"the results record different run seeds: {', '.join(map(str, sorted(seeds)))}")
    note = unplanned_note(rows, plan, probe_id)
    if note:
        notes.append(note)
    if len(files) > 1:
        notes.append(f"a results folder: {len(files)} result files read in file-name order "
                     f"({', '.join(name for name, _ in files[:6])}{', ...' if len(files) > 6 else ''})")
    success_rate = (sum(r * n for r, n in rates) / max(1, sum(n for _, n in rates))) if rates else None
    reported = reconcile(rows, requested=requested if len(files) == 1 else None,
                         success_rate=success_rate if len(rates) == 1 else None,
                         partial=partial, run_seed=next(iter(seeds)) if len(seeds) == 1 else None,
                         rate_over="all", extra=lines)
    first = files[0][1]
    version = first.get("harness_version")
    kind = "aggregate.json" if "num_episodes_total" in first else "results (older layout)"
    format_version = f"vla-eval {kind}" + (f" (harness {version})" if isinstance(version, str) else "")
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version=redactor.text(format_version, "harness_version"),
                    identity="explicit", task_mapping=mapping, notes=notes, redactor=redactor,
                    reported=reported)


def _result_files(data: Any, src: str) -> list[tuple[str, dict[str, Any]]]:
    """The result files to read: one parsed file, or a folder's result files in name order."""
    if isinstance(data, Folder):
        found = [(name, content) for name, content in sorted(data.files)
                 if RESULT_FILE.match(name) and isinstance(content, dict) and detect(content) == "per_episode"]
        if not found:
            raise InputError(src, None, "holds no vla-eval result file with episodes "
                                        "(*_aggregate.json, *_<mode>_<time>.json, *_partial_<time>.json)")
        return found
    body = require_dict(data, src, None)
    if "tasks" not in body:
        raise InputError(src, "tasks", "is required but missing: not a vla-eval results file")
    require_list(body["tasks"], src, "tasks")
    if detect(body) != "per_episode":
        raise aggregate_only(src, "tasks[].episodes")
    return [("", body)]


def _read_file(body: dict[str, Any], src: str, prefix: str, plan: ProtocolPlan, probe_id: str,
               options: ImportOptions, resolve: Any, mapping: dict[str, str], redactor: Redactor,
               lines: list[str]) -> tuple[list[EvidenceRow], int | None]:
    seed = optional_seed(body.get("seed"), src, f"{prefix}seed")
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    params = config.get("params") if isinstance(config.get("params"), dict) else {}
    suite = params.get("suite") if isinstance(params.get("suite"), str) else None
    max_steps = count_or_none(config.get("max_steps"))
    per_task = count_or_none(config.get("episodes_per_task"))
    instructions = instruction_lookup(probe_id)
    run_id = body.get("eval_id") if isinstance(body.get("eval_id"), str) else None
    rows: list[EvidenceRow] = []
    tasks = require_list(body["tasks"], src, f"{prefix}tasks")
    for t, raw_task in enumerate(tasks):
        task_entry = require_dict(raw_task, src, f"{prefix}tasks[{t}]")
        episodes = require_list(task_entry.get("episodes", []), src, f"{prefix}tasks[{t}].episodes")
        if per_task is not None and episodes and len(episodes) < per_task:
            lines.append(f"{prefix}task {str(task_entry.get('task'))[:80]!r}: {len(episodes)} of "
                         f"{per_task} episodes_per_task recorded")
        for e, raw in enumerate(episodes):
            where = f"{prefix}tasks[{t}].episodes[{e}]"
            episode = require_dict(raw, src, where)
            harness_task, text = _harness_task(task_entry, episode, src, where, suite, instructions)
            pro = _pro_variant(harness_task)
            if "category" in episode or "difficulty_level" in episode:
                task_id = resolve_task(harness_task, plan=plan, probe_id=probe_id, options=options,
                                       source=src, where=f"{where}.suite/task_id", mapping=mapping)
                axis, level = _variant_cell(episode, src, where)
            elif pro:
                task_id = resolve_task(pro[0], plan=plan, probe_id=probe_id, options=options,
                                       source=src, where=f"{where}.suite/task_id", mapping=mapping)
                axis, level = pro[1], _planned_level(plan, probe_id, task_id, pro[1])
            else:
                task_id, axis, level = resolve(harness_task, f"{where}.suite/task_id")
            if "episode_idx" in episode:
                index = require_index(episode["episode_idx"], src, f"{where}.episode_idx")
            elif "episode_id" in episode:
                index = require_index(episode["episode_id"], src, f"{where}.episode_id")
            else:
                raise InputError(src, f"{where}.episode_idx", "is required but missing")
            metrics = require_dict(episode.get("metrics"), src, f"{where}.metrics")
            if "success" not in metrics:
                raise InputError(src, f"{where}.metrics.success", "is required but missing")
            success = _success(metrics["success"], src, f"{where}.metrics.success")
            reason = episode.get("failure_reason")
            steps = count_or_none(episode.get("steps"))
            if reason not in (None, ""):
                status = FAILURES.status(require_text(reason, src, f"{where}.failure_reason"))
            elif not success and max_steps is not None and steps is not None and steps >= max_steps:
                status = "timeout"
            else:
                status = "completed"
            row = outcome_row(probe_id=probe_id, task_id=task_id, axis=axis, level=level, index=index,
                              seed=seed, status=status, success=success)
            if reason not in (None, ""):
                row["failure_reason"] = redactor.text(  # type: ignore[typeddict-unknown-key]
                    failure_text(str(reason), episode.get("failure_detail")), f"{where}.failure_reason")
            if text:
                row["harness_task"] = redactor.text(text, f"{where}.name", limit=2000)  # type: ignore[typeddict-unknown-key]
            sid = episode.get("sid")
            if isinstance(sid, str) and sid:
                row["run_id"] = redactor.text(sid, f"{where}.sid", limit=2000)  # type: ignore[typeddict-unknown-key]
            elif run_id:
                row["run_id"] = redactor.text(run_id, "eval_id", limit=2000)  # type: ignore[typeddict-unknown-key]
            metadata = redactor.metadata({k: episode[k] for k in _KEPT if k in episode}, f"{where}.metadata",
                                         source=src, flatten=True)
            if metadata:
                row["metadata"] = metadata
            rows.append(row)
    return rows, seed


def _success(value: Any, src: str, where: str) -> bool:
    """`metrics.success`: a boolean, or the 0/1 some benchmarks record."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return require_bool(value, src, where)


def _harness_task(task_entry: dict[str, Any], episode: dict[str, Any], src: str, where: str,
                  suite: str | None, instructions: dict[tuple[str, str], str]) -> tuple[str, str | None]:
    """The harness's task key (`suite/task_id`, else a name) and its text as the harness recorded it."""
    text = episode.get("name") if isinstance(episode.get("name"), str) else task_entry.get("task")
    text = text if isinstance(text, str) and text.strip() else None
    ep_suite, task_id = episode.get("suite"), episode.get("task_id")
    if ep_suite not in (None, "") and task_id not in (None, ""):
        key = f"{require_text(ep_suite, src, f'{where}.suite')}/{require_text(task_id, src, f'{where}.task_id')}"
        return key, text
    if isinstance(episode.get("task_name"), str) and episode["task_name"]:
        return require_text(episode["task_name"], src, f"{where}.task_name"), text
    if text is None:
        raise InputError(src, f"{where}.task_id", "is required but missing (no suite/task_id or task name)")
    return task_by_instruction(instructions, suite, text) or text, text


def axis_of_category(category: str) -> str:
    """A LIBERO-plus category as the plan's axis slug: `Camera Viewpoints` -> `camera_viewpoints`."""
    return re.sub(r"[^a-z0-9]+", "_", category.lower()).strip("_")


def _variant_cell(episode: dict[str, Any], src: str, where: str) -> tuple[str, Any]:
    """(axis, level) of a LIBERO-plus episode: its category as a slug and its difficulty level; the
    harness drops a null level from the context, which is the plan's `unrated` level."""
    category = require_text(episode.get("category"), src, f"{where}.category")
    level = episode.get("difficulty_level")
    if level is None:
        return axis_of_category(category), UNRATED
    if isinstance(level, bool) or not isinstance(level, (int, str)) or str(level).strip() == "":
        raise InputError(src, f"{where}.difficulty_level", "must be an integer level")
    return axis_of_category(category), int(level) if str(level).lstrip("-").isdigit() else str(level)

# LIBERO-PRO's perturbation suffixes (vla-eval `_PERTURBATION_ALIASES`, canonical names) -> plan axes.
PRO_AXES = {"swap": "object_position", "object": "object_appearance", "lan": "language_paraphrase",
            "task": "new_task", "env": "environment_swap"}
_PRO_SUITE = re.compile(r"^(libero_[a-z0-9]+?)_(swap|object|lan|task|env)/(\d+)$")


def _pro_variant(harness_task: str) -> tuple[str, str] | None:
    """`libero_spatial_swap/3` -> (`libero_spatial/3`, `object_position`); None for other tasks."""
    found = _PRO_SUITE.match(harness_task)
    return (f"{found.group(1)}/{found.group(3)}", PRO_AXES[found.group(2)]) if found else None


def _planned_level(plan: ProtocolPlan, probe_id: str, task_id: str, axis: str) -> Any:
    levels = {c.level for c in plan.cells if c.probe_id == probe_id and c.task_id == task_id and c.axis == axis}
    return levels.pop() if len(levels) == 1 else 1
