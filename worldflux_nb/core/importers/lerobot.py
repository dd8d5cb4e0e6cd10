"""LeRobot `eval_info.json` (written by `lerobot-eval`), in both of its layouts.

- Legacy single-environment layout: `per_episode[]` with `episode_ix, sum_reward, max_reward, success,
  seed` and `aggregated` (`pc_success` is a percentage, 0-100). Identity is explicit: `episode_ix` is
  the episode index and `seed` the recorded seed. The file names no task: `--task` or the probe's
  only task.
- Multi-task layout: `per_task[]` with `task_group, task_id, metrics.successes[]` (parallel lists, no
  seeds, no indexes), plus `per_group` and `overall` aggregates. Harness task `task_group/task_id`
  (e.g. `libero_spatial/3`) maps to the plan task of the same name unless `--task-map` says
  otherwise. Identity is inferred from order: the i-th success of a task is the i-th planned episode
  of that task in run-sheet order; outcomes beyond the plan keep the next indexes and stay evidence.

The files may hold bare NaN (empty aggregates); the percentage is cross-checked against the
per-episode outcomes and any disagreement is noted, never silently trusted.
"""

from __future__ import annotations

import math
from typing import Any

from worldflux_nb.core.importers.common import (
    ImportOptions, Redactor, aggregate_only, probe_tasks, assemble, default_task, optional_seed, require_bool, require_dict,
    planned_by_cell, require_index, require_list, require_text, resolve_cell, resolve_task,
    rows_by_order,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

IMPORTER = "lerobot"
ALLOW_NAN = True
AGGREGATE_KEYS = ("aggregated", "overall", "per_group")


def detect(data: Any) -> str | None:
    """`per_episode` when the file holds per-episode outcomes, `aggregate_only`, or None."""
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("per_episode"), list) and data["per_episode"]:
        return "per_episode"
    if isinstance(data.get("per_task"), list) and data["per_task"]:
        return "per_episode"
    if any(key in data for key in AGGREGATE_KEYS + ("per_episode", "per_task")):
        return "aggregate_only"
    return None


def parse_lerobot(data: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                  options: ImportOptions = ImportOptions()) -> AuditInput:
    src = source_name
    probe_tasks(plan, probe_id, src)  # an unknown probe is refused before the file is read
    body = require_dict(data, src, None)
    if "per_episode" in body and body["per_episode"]:
        return _legacy(body, src, plan, probe_id, options)
    if "per_task" in body and body["per_task"]:
        return _multi_task(body, src, plan, probe_id, options)
    if any(key in body for key in AGGREGATE_KEYS):
        raise aggregate_only(src, "per_episode")
    raise InputError(src, None, "is not a LeRobot eval_info.json (no per_episode[] or per_task[])")


def _legacy(body: dict[str, Any], src: str, plan: ProtocolPlan, probe_id: str,
            options: ImportOptions) -> AuditInput:
    episodes = require_list(body["per_episode"], src, "per_episode")
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    task_id = default_task(plan=plan, probe_id=probe_id, options=options, source=src,
                           what="the legacy per_episode layout", mapping=mapping)
    axis, level = resolve_cell(plan=plan, probe_id=probe_id, task_id=task_id, options=options,
                               source=src, notes=notes)
    rows: list[EvidenceRow] = []
    for i, raw in enumerate(episodes):
        where = f"per_episode[{i}]"
        entry = require_dict(raw, src, where)
        if "success" not in entry:
            raise InputError(src, f"{where}.success", "is required but missing")
        success = require_bool(entry["success"], src, f"{where}.success")
        if "episode_ix" not in entry:
            raise InputError(src, f"{where}.episode_ix", "is required but missing")
        index = require_index(entry["episode_ix"], src, f"{where}.episode_ix")
        seed = optional_seed(entry.get("seed"), src, f"{where}.seed")
        metadata = redactor.metadata({k: entry[k] for k in ("sum_reward", "max_reward") if k in entry},
                                     f"{where}.metadata")
        row = EvidenceRow(probe_id=probe_id, task_id=task_id, axis=axis, level=level,
                          episode_index=index, seed=seed, success=success, status="completed")
        if metadata:
            row["metadata"] = metadata
        rows.append(row)
    _cross_check(body.get("aggregated"), "aggregated", [r["success"] for r in rows], notes)
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="eval_info.json legacy per_episode layout",
                    identity="explicit", task_mapping=mapping, notes=notes, redactor=redactor)


def _multi_task(body: dict[str, Any], src: str, plan: ProtocolPlan, probe_id: str,
                options: ImportOptions) -> AuditInput:
    tasks = require_list(body["per_task"], src, "per_task")
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    rows: list[EvidenceRow] = []
    all_outcomes: list[bool] = []
    seen: dict[tuple[str, str, str], int] = {}
    planned = planned_by_cell(plan, probe_id)
    for t, raw in enumerate(tasks):
        where = f"per_task[{t}]"
        entry = require_dict(raw, src, where)
        group = require_text(entry.get("task_group"), src, f"{where}.task_group")
        if "task_id" not in entry:
            raise InputError(src, f"{where}.task_id", "is required but missing")
        harness_task = f"{group}/{require_text(entry['task_id'], src, f'{where}.task_id')}"
        task_id = resolve_task(harness_task, plan=plan, probe_id=probe_id, options=options,
                               source=src, where=f"{where}.task_group/task_id", mapping=mapping)
        metrics = require_dict(entry.get("metrics"), src, f"{where}.metrics")
        if "successes" not in metrics:
            raise InputError(src, f"{where}.metrics.successes", "is required but missing")
        successes = require_list(metrics["successes"], src, f"{where}.metrics.successes")
        outcomes = [require_bool(s, src, f"{where}.metrics.successes[{i}]") for i, s in enumerate(successes)]
        all_outcomes.extend(outcomes)
        axis, level = resolve_cell(plan=plan, probe_id=probe_id, task_id=task_id, options=options,
                                   source=src, notes=notes)
        metadata = _per_episode_metadata(metrics, len(outcomes), redactor, f"{where}.metrics")
        # A task listed twice (a re-run appended to the file) continues after the first listing.
        key = (task_id, axis, str(level))
        offset = seen.get(key, 0)
        padded = [("completed", None)] * offset + [("completed", s) for s in outcomes]
        task_rows, extra = rows_by_order(padded, planned=planned.get(key, []), probe_id=probe_id,
                                         task_id=task_id, axis=axis, level=level,
                                         metadata=[{}] * offset + metadata)
        rows.extend(task_rows[offset:])
        seen[key] = offset + len(outcomes)
        if extra:
            notes.append(f"{harness_task}: {extra} outcome(s) beyond the {len(planned.get(key, []))} planned "
                         "episodes kept as out-of-protocol evidence with the next indexes")
    _cross_check(body.get("overall"), "overall", all_outcomes, notes)
    notes.append("episode identity inferred from order against the plan's run sheet: the file "
                 "records neither episode indexes nor seeds")
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="eval_info.json multi-task per_task layout",
                    identity="inferred_from_order", task_mapping=mapping, notes=notes,
                    redactor=redactor)


def _per_episode_metadata(metrics: dict[str, Any], n: int, redactor: Redactor,
                          where: str) -> list[dict[str, Any]]:
    """The parallel reward lists, when they line up with the successes."""
    columns = {key: metrics[key] for key in ("sum_rewards", "max_rewards")
               if isinstance(metrics.get(key), list) and len(metrics[key]) == n}
    names = {"sum_rewards": "sum_reward", "max_rewards": "max_reward"}
    return [redactor.metadata({names[k]: v[i] for k, v in columns.items()}, f"{where}[{i}]")
            for i in range(n)]


def _cross_check(aggregate: Any, name: str, outcomes: list[bool], notes: list[str]) -> None:
    """Compare the file's own pc_success (0-100) with the per-episode outcomes it lists."""
    if not isinstance(aggregate, dict) or "pc_success" not in aggregate or not outcomes:
        return
    stated = aggregate["pc_success"]
    actual = 100.0 * sum(outcomes) / len(outcomes)
    if not isinstance(stated, (int, float)) or isinstance(stated, bool) or math.isnan(stated):
        notes.append(f"{name}.pc_success is not a number ({stated!r}); per-episode outcomes give {actual:.2f}%")
    elif abs(float(stated) - actual) > 0.01:
        notes.append(f"{name}.pc_success says {float(stated):.2f}% but the per-episode outcomes give "
                     f"{actual:.2f}% ({sum(outcomes)}/{len(outcomes)}); the per-episode outcomes are used")
