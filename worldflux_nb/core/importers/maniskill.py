"""ManiSkill: the evaluator's `episode_results.json` and `RecordEpisode`'s trajectory JSON.

Writers (haosulab/ManiSkill):
- `mani_skill/evaluation/run_evaluation.py` `Evaluator.submit` (commit beaebbbf) dumps
  `BaseEvaluator.result` (`mani_skill/evaluation/evaluator.py` `evaluate_episodes`, commit 43db2428):
  `{episode_id: metrics}` where `metrics = gym_utils.extract_scalars_from_info(info,
  "TimeLimit.truncated")` turns every value into a float (`success: 1.0`, `elapsed_steps: 50.0`).
  `episode_id` comes from the evaluation config (`episodes[i].episode_id`, default i). The file names
  neither the environment nor the seeds: `--task` (or the probe's only task) says which; seeds null.
- `mani_skill/utils/wrappers/record.py` `RecordEpisode.flush_trajectory` (commit 089c82b8) appends to
  `<trajectory_name>.json`: `env_info` (`env_id, env_kwargs, max_episode_steps`), `commit_info`,
  `episodes[]` with `episode_id, episode_seed, control_mode, elapsed_steps, reset_kwargs, success,
  fail` (booleans). `env_id` is the task; `episode_seed` the recorded seed.

Identity is explicit (`episode_id`). Failure mapping: success true -> `completed`/true; success false
and `elapsed_steps >= env_info.max_episode_steps` (trajectory JSON only) -> `timeout` (step budget used
up); any other false, `fail` included -> `completed`/false. ManiSkill records no infrastructure faults.
"""

from __future__ import annotations

from typing import Any

from worldflux_nb.core.importers.common import (
    ImportOptions, Redactor, aggregate_only, assemble, cell_resolver, default_task, optional_seed,
    probe_tasks, require_dict, require_index, require_list, require_text, resolve_cell, other_fields,
    unplanned_note,
)
from worldflux_nb.core.importers.harness import count_or_none, outcome_row, reconcile
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

IMPORTER = "maniskill"
ALLOW_NAN = False
FAILURE_MAPPING = (
    ("success 1.0 / true", "completed, success true"),
    ("success false, elapsed_steps >= env_info.max_episode_steps (trajectory JSON)", "timeout"),
    ("success 0.0 / false (fail included)", "completed, success false"),
)


def detect(data: Any) -> str | None:
    if not isinstance(data, dict) or not data:
        return None
    if isinstance(data.get("episodes"), list) and isinstance(data.get("env_info"), dict):
        return "per_episode" if any(isinstance(e, dict) and "success" in e for e in data["episodes"]) \
            else "score_only"
    if all(_is_id(k) and isinstance(v, dict) for k, v in data.items()):
        return "per_episode" if any("success" in v for v in data.values()) else "score_only"
    if any(k in data for k in ("success_rate", "success_once_rate", "success_at_end_rate")) and \
            all(not isinstance(v, dict) for v in data.values()):
        return "aggregate_only"
    return None


def _is_id(key: str) -> bool:
    return key.strip().lstrip("-").isdigit()


def _success(value: Any, src: str, where: str) -> bool:
    """A success flag as ManiSkill writes it: a boolean, or the float 1.0 / 0.0 of the evaluator."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise InputError(src, where, f"must be true or false (or the evaluator's 1.0/0.0), not {value!r}")


def parse_maniskill(data: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                    options: ImportOptions = ImportOptions()) -> AuditInput:
    src = source_name
    probe_tasks(plan, probe_id, src)  # an unknown probe is refused before the file is read
    body = require_dict(data, src, None)
    if not body:
        raise InputError(src, None, "holds no episodes")
    shape = detect(body)
    if shape == "aggregate_only":
        raise aggregate_only(src, "<episode_id>", "no per-episode entries")
    if isinstance(body.get("episodes"), list) and isinstance(body.get("env_info"), dict):
        return _trajectory(body, src, plan, probe_id, options)
    return _episode_results(body, src, plan, probe_id, options)


def _episode_results(body: dict[str, Any], src: str, plan: ProtocolPlan, probe_id: str,
                     options: ImportOptions) -> AuditInput:
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    task_id = default_task(plan=plan, probe_id=probe_id, options=options, source=src,
                           what="episode_results.json", mapping=mapping)
    axis, level = resolve_cell(plan=plan, probe_id=probe_id, task_id=task_id, options=options,
                               source=src, notes=notes)
    rows: list[EvidenceRow] = []
    for key, raw in body.items():
        where = str(key)
        try:
            index = int(key.strip())
        except ValueError:
            raise InputError(src, where, "is not an episode id: keys must be episode ids "
                                         "({episode_id: {success, elapsed_steps, ...}})") from None
        index = require_index(index, src, where)
        entry = require_dict(raw, src, where)
        if "success" not in entry:
            raise InputError(src, f"{where}.success", "is required but missing")
        success = _success(entry["success"], src, f"{where}.success")
        seed = optional_seed(entry.get("seed"), src, f"{where}.seed")
        row = outcome_row(probe_id=probe_id, task_id=task_id, axis=axis, level=level, index=index,
                          seed=seed, status="completed", success=success)
        metadata = redactor.metadata(other_fields(entry, ("success", "seed")), f"{where}.metadata",
                                     source=src, flatten=True)
        if metadata:
            row["metadata"] = metadata
        rows.append(row)
    notes.append("episode_results.json records neither the environment nor the seeds: the task is "
                 f"{task_id} as given, rows carry seed null")
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="ManiSkill episode_results.json", identity="explicit",
                    task_mapping=mapping, notes=notes, redactor=redactor)


def _trajectory(body: dict[str, Any], src: str, plan: ProtocolPlan, probe_id: str,
                options: ImportOptions) -> AuditInput:
    env_info = body["env_info"]
    env_id = require_text(env_info.get("env_id"), src, "env_info.env_id")
    max_steps = count_or_none(env_info.get("max_episode_steps"))
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    name = options.task if options.task and env_id not in options.task_map else env_id
    resolve = cell_resolver(plan=plan, probe_id=probe_id, options=options, source=src, mapping=mapping,
                            notes=notes)
    task_id, axis, level = resolve(name, "env_info.env_id")
    rows: list[EvidenceRow] = []
    for i, raw in enumerate(require_list(body["episodes"], src, "episodes")):
        where = f"episodes[{i}]"
        entry = require_dict(raw, src, where)
        if "episode_id" not in entry:
            raise InputError(src, f"{where}.episode_id", "is required but missing")
        index = require_index(entry["episode_id"], src, f"{where}.episode_id")
        if "success" not in entry:
            raise InputError(src, f"{where}.success", "is required but missing")
        success = _success(entry["success"], src, f"{where}.success")
        seed_value = entry.get("episode_seed")
        if isinstance(seed_value, list) and len(seed_value) == 1:
            seed_value = seed_value[0]
        seed = optional_seed(seed_value, src, f"{where}.episode_seed")
        steps = count_or_none(entry.get("elapsed_steps"))
        timed_out = not success and max_steps is not None and steps is not None and steps >= max_steps
        row = outcome_row(probe_id=probe_id, task_id=task_id, axis=axis, level=level, index=index,
                          seed=seed, status="timeout" if timed_out else "completed", success=success)
        row["harness_task"] = env_id  # type: ignore[typeddict-unknown-key]
        kept = {k: entry[k] for k in ("elapsed_steps", "fail", "control_mode") if k in entry}
        metadata = redactor.metadata(kept, f"{where}.metadata", source=src, flatten=True)
        if metadata:
            row["metadata"] = metadata
        rows.append(row)
    note = unplanned_note(rows, plan, probe_id)
    if note:
        notes.append(note)
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="ManiSkill RecordEpisode trajectory JSON", identity="explicit",
                    task_mapping=mapping, notes=notes, redactor=redactor, reported=reconcile(rows))
