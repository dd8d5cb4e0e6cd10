"""LeRobot `eval_info.json`, as `lerobot-eval` writes it, in both of its layouts.

Writer: huggingface/lerobot `src/lerobot/scripts/lerobot_eval.py`, `eval_policy` (legacy
`per_episode[]` + `aggregated`) and `eval_policy_all` (`per_task[]`, `per_group`, `overall`), dumped by
`eval_main` with `json.dump(info, f, indent=2)` (so empty aggregates are a bare `NaN`); read at
v0.6.1, commit 7e241bd630a3719a56157a497ce5d08f244784f1, and HEAD 7427f31801f944f5ec9ce53cda02862ce7d1638b.

- Legacy layout: `per_episode[]` with `episode_ix, sum_reward, max_reward, success, seed` (explicit
  identity: `episode_ix` and the `start_seed + i` seed). The file names no task: `--task`, or the
  probe's only task.
- Multi-task layout: `per_task[]` with `task_group, task_id, metrics.{sum_rewards, max_rewards,
  successes, video_paths, predicted_video_paths}` — no indexes, no seeds. Harness task
  `task_group/task_id` (e.g. `libero_spatial/3`) is the plan task of that name unless `--task-map`
  says otherwise; a task the plan does not contain stays out-of-protocol evidence.

Identity of the multi-task layout (`harness_order`, only for versions whose loop was checked): from
v0.6.1 on, `LiberoEnv` (src/lerobot/envs/libero.py) ties sub-env j of a batch of n to initial state
`j + n * reset`, `eval_policy` appends outcomes batch by batch, and `FreezeAfterEpisodeEnd`
(src/lerobot/envs/utils.py, #4247) absorbs Gymnasium's autoreset, so outcome k of a task is initial
state `k % 50`. Before v0.6.1, `LiberoEnv.step` reset itself on termination and the autoreset advanced
`init_state_id` again (#4273): which state an outcome ran depended on the batch size and on episode
lengths, so the order is only `inferred_from_order`. The file does not record the version:
`--harness-version` says it; without it identity stays `inferred_from_order`.

Reported success: `aggregated.pc_success` / `overall.pc_success` is what `eval_policy` and
`eval_policy_all` write, the mean success times 100 (NaN for an empty run, kept among the reported
discrepancies); a number outside 0..100 is not a result LeRobot can write, and the file is refused
naming that field.

Failure mapping: the file records only success true/false per episode; a LIBERO episode ends on
success or when its step budget is used up, but the file does not say which, so every row is
`completed` (failures are not told apart from timeouts) and no reason is recorded.
"""

from __future__ import annotations

import math
import re
from typing import Any

from worldflux_nb.core.importers.common import (
    ImportOptions, Redactor, aggregate_only, assemble, cell_resolver, default_task, optional_seed, probe_tasks,
    require_bool, require_dict, require_index, require_list, require_text, resolve_cell,
    shown, unplanned_note,
)
from worldflux_nb.core.importers.harness import (
    count_or_none, finite_number, initial_state_indexes, initial_states_per_task, reconcile,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

IMPORTER = "lerobot"
ALLOW_NAN = True
AGGREGATE_KEYS = ("aggregated", "overall", "per_group")
# The first release whose multi-task loop fixes outcome k of a task to initial state k.
HARNESS_ORDER_SINCE = (0, 6, 1)
HARNESS_ORDER_BASIS = ("LeRobot >= 0.6.1 (checked at 7e241bd): eval_policy appends outcomes batch by "
                       "batch, LiberoEnv.reset runs initial state j + n * reset, FreezeAfterEpisodeEnd "
                       "absorbs autoresets; outcome k of a task is initial state k mod 50")
# What the file can say about an episode's end, and the status it becomes (DESIGN "Importers").
FAILURE_MAPPING = (
    ("success: true", "completed, success true"),
    ("success: false (step budget used up, or any other end: the file does not say)",
     "completed, success false"),
)


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
                                     f"{where}.metadata", source=src, flatten=True)
        row = EvidenceRow(probe_id=probe_id, task_id=task_id, axis=axis, level=level,
                          episode_index=index, seed=seed, success=success, status="completed")
        if metadata:
            row["metadata"] = metadata
        rows.append(row)
    aggregated = body.get("aggregated") if isinstance(body.get("aggregated"), dict) else {}
    reported = reconcile(rows, evaluated=None, success_rate=_rate(aggregated.get("pc_success"), src, "aggregated"),
                         extra=_unreadable_lines(aggregated, "aggregated"))
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="eval_info.json legacy per_episode layout",
                    identity="explicit", task_mapping=mapping, notes=notes, redactor=redactor,
                    reported=reported)


def harness_order_claim(version: str | None) -> tuple[bool, str]:
    """Whether outcomes may be read in LeRobot's own order for this version, and the note saying why."""
    if not version:
        return False, ("LeRobot's eval_info.json records neither indexes nor its version: outcome k of a "
                       "task is read as initial state k (inferred from order); give --harness-version "
                       "(0.6.1 or later) to claim the harness's own order")
    found = re.match(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?", version)
    if found is None:
        raise InputError(None, "--harness-version", f"{version!r} is not a LeRobot version such as 0.6.1")
    parsed = tuple(int(part or 0) for part in found.groups())
    if parsed >= HARNESS_ORDER_SINCE:
        return True, f"LeRobot {version.strip()}: outcome k of a task is initial state k (harness order)"
    return False, (f"LeRobot {version.strip()} (before 0.6.1): which initial state an outcome ran "
                   "depended on the batch size and episode lengths (LiberoEnv reset on termination, "
                   "lerobot#4273); outcome k is read as initial state k, inferred from order only")


def _multi_task(body: dict[str, Any], src: str, plan: ProtocolPlan, probe_id: str,
                options: ImportOptions) -> AuditInput:
    tasks = require_list(body["per_task"], src, "per_task")
    claim, identity_note = harness_order_claim(options.harness_version)
    mapping: dict[str, str] = {}
    notes: list[str] = [identity_note]
    redactor = Redactor()
    rows: list[EvidenceRow] = []
    states = initial_states_per_task(plan, probe_id)
    resolve = cell_resolver(plan=plan, probe_id=probe_id, options=options, source=src, mapping=mapping,
                            notes=notes)
    wrapped = 0
    for t, raw in enumerate(tasks):
        where = f"per_task[{t}]"
        entry = require_dict(raw, src, where)
        group = require_text(entry.get("task_group"), src, f"{where}.task_group")
        if "task_id" not in entry:
            raise InputError(src, f"{where}.task_id", "is required but missing")
        harness_task = f"{group}/{require_text(entry['task_id'], src, f'{where}.task_id')}"
        task_id, axis, level = resolve(harness_task, f"{where}.task_group/task_id")
        metrics = require_dict(entry.get("metrics"), src, f"{where}.metrics")
        if "successes" not in metrics:
            raise InputError(src, f"{where}.metrics.successes", "is required but missing")
        successes = require_list(metrics["successes"], src, f"{where}.metrics.successes")
        outcomes = [require_bool(s, src, f"{where}.metrics.successes[{i}]") for i, s in enumerate(successes)]
        metadata = _per_episode_metadata(metrics, len(outcomes), redactor, src, f"{where}.metrics")
        indexes, past = initial_state_indexes(len(outcomes), states)
        wrapped += past
        for k, success in enumerate(outcomes):
            row = EvidenceRow(probe_id=probe_id, task_id=task_id, axis=axis, level=level,
                              episode_index=indexes[k], seed=None, success=success, status="completed")
            row["harness_task"] = harness_task  # type: ignore[typeddict-unknown-key]
            if metadata[k]:
                row["metadata"] = metadata[k]
            rows.append(row)
    if wrapped:
        notes.append(f"{wrapped} outcome(s) beyond the {states} initial states a task has: LeRobot cycles "
                     "its initial states, so they are re-runs of states already run")
    note = unplanned_note(rows, plan, probe_id)
    if note:
        notes.append(note)
    notes.append("the file records no seeds (LeRobot seeds episode i with --seed + i): rows carry seed null")
    overall = body.get("overall") if isinstance(body.get("overall"), dict) else {}
    reported = reconcile(rows, evaluated=count_or_none(overall.get("n_episodes")),
                         success_rate=_rate(overall.get("pc_success"), src, "overall"),
                         extra=[*_unreadable_lines(overall, "overall"), *_group_lines(body.get("per_group"), rows)])
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer=IMPORTER,
                    format_version="eval_info.json multi-task per_task layout" + (
                        f" (harness {options.harness_version.strip()[:40]})" if options.harness_version else ""),
                    identity="harness_order" if claim else "inferred_from_order",
                    identity_basis=HARNESS_ORDER_BASIS if claim else None,
                    task_mapping=mapping, notes=notes, redactor=redactor, reported=reported)


def _per_episode_metadata(metrics: dict[str, Any], n: int, redactor: Redactor, src: str,
                          where: str) -> list[dict[str, Any]]:
    """The parallel reward lists, when they line up with the successes."""
    columns = {key: metrics[key] for key in ("sum_rewards", "max_rewards")
               if isinstance(metrics.get(key), list) and len(metrics[key]) == n}
    names = {"sum_rewards": "sum_reward", "max_rewards": "max_reward"}
    return [redactor.metadata({names[k]: v[i] for k, v in columns.items()}, f"{where}[{i}]",
                              source=src, flatten=True)
            for i in range(n)]


def _rate(pc_success: Any, src: str, name: str) -> float | None:
    """LeRobot's `pc_success` as a rate in [0, 1]; NaN (an empty run) or a non-number is none.

    `eval_policy` writes `np.nanmean(successes) * 100` and `eval_policy_all` the mean of its successes
    times 100 (lerobot_eval.py): a number outside 0..100, infinity included, is not LeRobot's result."""
    if isinstance(pc_success, bool) or not isinstance(pc_success, (int, float)) or math.isnan(pc_success):
        return None
    if not 0 <= pc_success <= 100:
        raise InputError(src, f"{name}.pc_success", f"is {pc_success!r}, not a percentage from 0 to 100; "
                         "LeRobot writes the mean success times 100, so this is not its result")
    return pc_success / 100.0


def _unreadable_lines(aggregate: dict[str, Any], name: str) -> list[str]:
    """A line for each aggregate the file holds but that cannot be read: a `pc_success` that is no
    number (NaN for an empty run) or an `n_episodes` that is no count; told, never passed over."""
    lines = []
    value = aggregate.get("pc_success")
    if value is not None and finite_number(value) is None:
        lines.append(f"{name}.pc_success is not a number ({shown(value)})")
    value = aggregate.get("n_episodes")
    if value is not None and count_or_none(value) is None:
        lines.append(f"{name}.n_episodes is not a count ({shown(value)})")
    return lines


def _group_lines(per_group: Any, rows: list[EvidenceRow]) -> list[str]:
    """`per_group[g].n_episodes` against the rows of that task group."""
    if not isinstance(per_group, dict):
        return []
    lines = []
    for group, info in per_group.items():
        value = info.get("n_episodes") if isinstance(info, dict) else None
        stated = count_or_none(value)
        actual = sum(1 for r in rows if str(r.get("harness_task", "")).startswith(f"{group}/"))
        if value is not None and stated is None:
            lines.append(f"per_group.{group}.n_episodes is not a count ({shown(value)})")
        elif stated is not None and stated != actual:
            lines.append(f"per_group.{group}.n_episodes says {stated} but the file lists {actual} outcomes")
    return lines
