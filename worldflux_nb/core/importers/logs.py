"""Outcomes a harness leaves only in a log or in video file names: evidence of a weaker grade.

- `libero-log`: OpenVLA `experiments/robot/libero/run_libero_eval.py` `eval_libero` (openvla/openvla
  commit c8f03f48af692657d3060c19588038c7220e9af9) writes `EVAL-<suite>-<model>-<time>.txt`: `Task
  suite: S`, then per episode `Task: <instruction>`, `Starting episode N...` (N counts the task's
  episodes from 1; the loop runs `initial_states[N - 1]`), possibly `Caught exception: ...`, `Saved
  rollout MP4 at path ...`, `Success: True|False` and the running totals `# episodes completed so
  far: T`, `# successes: S (P%)`. openpi `examples/libero/main.py` (Physical-Intelligence/openpi
  commit 15a9616a00943ada6c20a0f158e3adb39df2ccac) logs the same lines through `logging` (a captured
  log may prefix them, e.g. `INFO:root:`). Identity `harness_order`: both loop
  `for task_id in range(n_tasks)` and `for episode_idx in range(num_trials_per_task)`.
  Failure mapping: `Caught exception: ...` -> `infra_failure` (the loop breaks on any exception: a
  simulator or model-server fault), `Success: False` otherwise -> `timeout` (the loop ends only on
  success or when `max_steps` is used up), `Success: True` -> `completed`; an episode started and not
  finished (a log read mid-run) -> `pending`.
- `rollout-videos`: a folder of rollout videos whose names carry the outcome.
  OpenVLA `libero_utils.save_rollout_video`: `<time>--episode=<T>--success=<True|False>--task=<first
  50 characters of the instruction, lower case, spaces and dots as _>.mp4`, T counting every episode
  of the run from 1 (tasks in suite order, `num_trials_per_task` each). Index within the task:
  `T - 1 - task ordinal * trials per task` (`harness_order`; the ordinal is the task's place in its
  suite, `suite/k` in the registry, and trials the smallest count all tasks' T fit, so missing videos
  move nothing; tasks the registry does not know are read in folder order, trials the largest count). SimplerEnv `simpler_env/evaluation/maniskill2_evaluator.py`
  `run_maniskill2_eval_single_episode` (simpler-env/SimplerEnv commit 4ab7178e): `.../<env name>[_k_v
  ...]/rob_<x>_<y>_rot_.../<success|failure>_obj_episode_<id>[_<stat>_<value> ...].mp4`, the
  environment as the task and `obj_episode_id` the explicit index (`xy` object-variation names carry
  no index and are not read). Failure mapping: success -> `completed`/true, failure ->
  `completed`/false (a name cannot tell a crash or a timeout from a policy failure). openpi's videos
  (`rollout_<task>_<success|failure>.mp4`) are overwritten on every episode and are not evidence.
No seeds are recorded in either; rows carry seed null.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath
from typing import Any

from worldflux_nb.core.importers.common import (
    Folder, ImportOptions, Redactor, assemble, cell_resolver, probe_tasks, unplanned_note,
)
from worldflux_nb.core.importers.harness import (
    instruction_lookup, outcome_row, reconcile, task_by_instruction,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.evidence import AuditInput, EvidenceRow
from worldflux_nb.models.plan import ProtocolPlan

LOG_FAILURE_MAPPING = (
    ("Caught exception: ... (simulator or model-server fault)", "infra_failure"),
    ("Success: False (the loop ran out of max_steps)", "timeout"),
    ("Success: True", "completed, success true"),
    ("Starting episode N... with no Success line (read mid-run)", "pending"),
)
VIDEO_FAILURE_MAPPING = (
    ("success=True / success_...", "completed, success true"),
    ("success=False / failure_... (a crash or timeout looks the same)", "completed, success false"),
)
LOG_BASIS = ("OpenVLA run_libero_eval.py (c8f03f4) and openpi examples/libero/main.py (15a9616): "
             "tasks in suite order, episode N of a task runs initial state N - 1")

_SUITE = re.compile(r"Task suite: (\S+)")
_TASK = re.compile(r"Task: (.+)$")
_START = re.compile(r"Starting episode (\d+)\.\.\.")
_EXCEPTION = re.compile(r"Caught exception: (.*)$")
_SUCCESS = re.compile(r"Success: (True|False)\s*$")
_TOTAL = re.compile(r"# episodes completed so far: (\d+)")
_SUCCESSES = re.compile(r"# successes: (\d+) \(")


def detect_log(text: Any) -> str | None:
    if not isinstance(text, str):
        return None
    head = text[:20000]
    # Line by line: `_TASK` ends at `$`, which without MULTILINE is only the end of the text.
    if _START.search(head) and any(_TASK.search(line) for line in head.splitlines()):
        return "per_episode" if "Success: " in text else "missing_denominator"
    return None


def parse_libero_log(data: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                     options: ImportOptions = ImportOptions()) -> AuditInput:
    src = source_name
    probe_tasks(plan, probe_id, src)
    if not isinstance(data, str):
        raise InputError(src, None, "is not a text log")
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    resolve = cell_resolver(plan=plan, probe_id=probe_id, options=options, source=src, mapping=mapping,
                            notes=notes)
    instructions = instruction_lookup(probe_id)
    suite: str | None = None
    task_text: str | None = None
    task_order: list[str] = []
    open_episode: dict[str, Any] | None = None
    rows: list[EvidenceRow] = []
    totals: tuple[int, int] | None = None

    def finish(success: bool | None, line_no: int) -> None:
        nonlocal open_episode
        if open_episode is None:
            raise InputError(src, f"line {line_no}", "a Success line with no Starting episode line before it")
        status = ("infra_failure" if open_episode["exception"] else
                  "pending" if success is None else "completed" if success else "timeout")
        row = outcome_row(probe_id=probe_id, task_id=open_episode["task"], axis=open_episode["axis"],
                          level=open_episode["level"], index=open_episode["index"], seed=None,
                          status=status, success=success)
        row["harness_task"] = open_episode["text"]  # type: ignore[typeddict-unknown-key]
        if open_episode["exception"]:
            row["failure_reason"] = redactor.text(  # type: ignore[typeddict-unknown-key]
                "Caught exception: " + open_episode["exception"], f"line {open_episode['line']}")
        rows.append(row)
        open_episode = None

    for line_no, raw_line in enumerate(data.splitlines(), start=1):
        line = raw_line.rstrip()
        if (m := _SUITE.search(line)) and suite is None:
            suite = m.group(1)
        elif m := _TASK.search(line):
            if open_episode is not None:
                finish(None, line_no)
            task_text = redactor.text(m.group(1).strip(), f"line {line_no}", limit=2000)
            if task_text not in task_order:
                task_order.append(task_text)
        elif m := _START.search(line):
            if open_episode is not None:
                finish(None, line_no)
            if task_text is None:
                raise InputError(src, f"line {line_no}", "an episode starts before any Task: line")
            key = task_by_instruction(instructions, suite, task_text)
            if key is None and suite:
                key = f"{suite}/{task_order.index(task_text)}"
            task_id, axis, level = resolve(key or task_text, f"line {line_no}")
            open_episode = {"task": task_id, "axis": axis, "level": level, "index": int(m.group(1)) - 1,
                            "text": task_text, "exception": None, "line": line_no}
        elif (m := _EXCEPTION.search(line)) and open_episode is not None:
            open_episode["exception"] = m.group(1)
        elif m := _SUCCESS.search(line):
            finish(m.group(1) == "True", line_no)
        elif m := _TOTAL.search(line):
            totals = (int(m.group(1)), totals[1] if totals else 0)
        elif (m := _SUCCESSES.search(line)) and totals is not None:
            totals = (totals[0], int(m.group(1)))
    if open_episode is not None:
        finish(None, len(data.splitlines()))
        notes.append("the log ends inside an episode (read while the run was going): it is pending")
    if not rows:
        raise InputError(src, None, "holds no episodes (no `Starting episode N...` lines)")
    note = unplanned_note(rows, plan, probe_id)
    if note:
        notes.append(note)
    notes.append("a log, not a structured result: outcomes are read from its text lines (weaker "
                 "evidence); the run seed is not logged, rows carry seed null")
    reported = reconcile(
        rows, evaluated=totals[0] if totals else None,
        success_rate=(totals[1] / totals[0]) if totals and totals[0] else None, rate_over="evaluated")
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer="libero-log",
                    format_version="OpenVLA EVAL-*.txt / openpi LIBERO log", identity="harness_order",
                    identity_basis=LOG_BASIS, evidence_kind="log", task_mapping=mapping, notes=notes,
                    redactor=redactor, reported=reported)


_OPENVLA_VIDEO = re.compile(r"--episode=(\d+)--success=(True|False)--task=(.*)\.mp4$")
_SIMPLER_VIDEO = re.compile(r"^(success|failure)_obj_episode_(\d+)(?:_.*)?\.mp4$")
_SIMPLER_XY = re.compile(r"^(success|failure)_obj_-?[\d.]+_-?[\d.]+(?:_.*)?\.mp4$")
_SIMPLER_ENV = re.compile(r"^(.+?-v\d+)")
# SimplerEnv's own task names for its environments (simpler_env/__init__.py ENVIRONMENT_MAP).
SIMPLER_ENV_TASKS = {
    "PutSpoonOnTableClothInScene-v0": "widowx_spoon_on_towel",
    "PutCarrotOnPlateInScene-v0": "widowx_carrot_on_plate",
    "StackGreenCubeOnYellowCubeBakedTexInScene-v0": "widowx_stack_cube",
    "PutEggplantInBasketScene-v0": "widowx_put_eggplant_in_basket",
    "GraspSingleOpenedCokeCanInScene-v0": "google_robot_pick_coke_can",
    "MoveNearGoogleBakedTexInScene-v1": "google_robot_move_near",
    "OpenDrawerCustomInScene-v0": "google_robot_open_drawer",
    "CloseDrawerCustomInScene-v0": "google_robot_close_drawer",
}
VIDEO_BASIS = ("OpenVLA libero_utils.save_rollout_video (c8f03f4): episode=T counts the run's episodes "
               "from 1, tasks in suite order, num_trials_per_task each")


def _processed(instruction: str) -> str:
    """OpenVLA's video-name form of an instruction."""
    return instruction.lower().replace(" ", "_").replace("\n", "_").replace(".", "_")[:50]


def detect_videos(data: Any) -> str | None:
    if not isinstance(data, Folder):
        return None
    names = [PurePosixPath(name).name for name, _ in data.files]
    if any(_OPENVLA_VIDEO.search(n) or _SIMPLER_VIDEO.match(n) for n in names):
        return "per_episode"
    return None


def parse_rollout_videos(data: Any, *, source_name: str, plan: ProtocolPlan, probe_id: str,
                         options: ImportOptions = ImportOptions()) -> AuditInput:
    src = source_name
    probe_tasks(plan, probe_id, src)
    if not isinstance(data, Folder):
        raise InputError(src, None, "rollout-videos reads a folder of videos, not a file")
    mapping: dict[str, str] = {}
    notes: list[str] = []
    redactor = Redactor()
    resolve = cell_resolver(plan=plan, probe_id=probe_id, options=options, source=src, mapping=mapping,
                            notes=notes)
    openvla: list[tuple[int, bool, str, str]] = []
    simpler: list[tuple[str, int, bool, str]] = []
    unread = 0
    for path, _ in data.files:
        name = PurePosixPath(path).name
        if m := _OPENVLA_VIDEO.search(name):
            openvla.append((int(m.group(1)), m.group(2) == "True", m.group(3), path))
        elif m := _SIMPLER_VIDEO.match(name):
            parent = PurePosixPath(path).parent
            env_dir = parent.parent.name if parent.name.startswith("rob_") else parent.name
            env = _SIMPLER_ENV.match(env_dir)
            simpler.append((env.group(1) if env else env_dir, int(m.group(2)), m.group(1) == "success", path))
        elif _SIMPLER_XY.match(name):
            unread += 1
    if unread:
        notes.append(f"{unread} SimplerEnv video(s) named by object position (obj_variation_mode xy) carry "
                     "no episode index and were not read")
    if openvla and simpler:
        raise InputError(src, None, "mixes OpenVLA and SimplerEnv rollout videos; import each run's folder "
                                    "on its own")
    if not openvla and not simpler:
        raise InputError(src, None, "holds no rollout video whose name carries an episode and its outcome")
    rows = (_openvla_rows(openvla, probe_id, resolve, redactor, notes) if openvla
            else _simpler_rows(simpler, probe_id, resolve, options, redactor))
    note = unplanned_note(rows, plan, probe_id)
    if note:
        notes.append(note)
    notes.append("video file names, not a structured result: outcomes are read from the names (weaker "
                 "evidence); a crash or a timeout cannot be told from a policy failure; no seeds")
    return assemble(rows, plan=plan, probe_id=probe_id, source=src, importer="rollout-videos",
                    format_version=("OpenVLA rollout videos" if openvla else "SimplerEnv rollout videos"),
                    identity="harness_order" if openvla else "explicit",
                    identity_basis=VIDEO_BASIS if openvla else None, evidence_kind="file_names",
                    task_mapping=mapping, notes=notes, redactor=redactor, reported=reconcile(rows))


def _openvla_rows(videos: list[tuple[int, bool, str, str]], probe_id: str,
                  resolve: Any, redactor: Redactor, notes: list[str]) -> list[EvidenceRow]:
    from worldflux_nb.core.registry import builtin_registry

    by_name: dict[str, set[str]] = {}
    for probe in builtin_registry().probes:
        if probe.probe_id == probe_id:
            for task in probe.tasks:
                by_name.setdefault(_processed(task.instruction or ""), set()).add(task.task_id)
    videos.sort()
    groups: list[tuple[str, list[tuple[int, bool, str, str]]]] = []
    for video in videos:
        if not groups or groups[-1][0] != video[2]:
            groups.append((video[2], []))
        groups[-1][1].append(video)
    keys = []
    for text, _ in groups:
        candidates = by_name.get(text, set())
        keys.append(next(iter(candidates)) if len(candidates) == 1 else text)
    ordinals, trials = _suite_places(keys, [[v[0] for v in group] for _, group in groups], notes)
    rows: list[EvidenceRow] = []
    for key, ordinal, (text, group) in zip(keys, ordinals, groups):
        task_id, axis, level = resolve(key, group[0][3])
        for position, (number, success, _, path) in enumerate(group):
            index = number - 1 - ordinal * trials
            if not 0 <= index < trials:
                index = position
            row = outcome_row(probe_id=probe_id, task_id=task_id, axis=axis, level=level, index=index,
                              seed=None, status="completed", success=success)
            row["harness_task"] = redactor.text(text, path, limit=2000)  # type: ignore[typeddict-unknown-key]
            rows.append(row)
    return rows


_SUITE_TASK = re.compile(r"^[a-z0-9_]+/(\d+)$")


def _suite_places(keys: list[str], numbers: list[list[int]], notes: list[str]) -> tuple[list[int], int]:
    """Each task's place in its suite and the run's trials per task, from the video numbers T.

    `eval_libero` runs the suite's tasks in order, `num_trials_per_task` each, so task k's videos are
    numbered k * trials + 1 .. (k + 1) * trials. With k from the registry's `suite/k` task ids, the
    trials are the smallest count every task's numbers fit, so a task missing its first videos (or a
    task missing altogether) keeps its place; without them, tasks are read in folder order.
    """
    places = [int(m.group(1)) if (m := _SUITE_TASK.match(key)) else None for key in keys]
    largest = max(len(group) for group in numbers)
    if None not in places and all(a < b for a, b in zip(places, places[1:])):
        ordinals = [int(k) for k in places if k is not None]
        low = max([largest] + [-(-max(group) // (k + 1)) for k, group in zip(ordinals, numbers)])
        highs = [(min(group) - 1) // k for k, group in zip(ordinals, numbers) if k > 0]
        high = min(highs, default=None)
        if high is None or low <= high:
            if high is not None and low < high:
                notes.append(f"trials per task could be {low} to {high} (no task's last video pins it); "
                             f"read as {low}")
            return ordinals, low
        notes.append(f"the video numbers fit no single count of trials per task in suite order; tasks "
                     f"are read in folder order with {largest} trials each")
    counts = Counter(len(group) for group in numbers)
    if len(counts) > 1:
        notes.append(f"tasks hold different numbers of videos ({dict(sorted(counts.items()))}); trials per "
                     f"task read as {largest}: a task missing its first videos is misplaced")
    return list(range(len(numbers))), largest


def _simpler_rows(videos: list[tuple[str, int, bool, str]], probe_id: str, resolve: Any,
                  options: ImportOptions, redactor: Redactor) -> list[EvidenceRow]:
    rows: list[EvidenceRow] = []
    for env, index, success, path in sorted(videos, key=lambda v: (v[3].rsplit("/", 1)[0], v[1])):
        name = env if env in options.task_map else SIMPLER_ENV_TASKS.get(env, env)
        task_id, axis, level = resolve(name, path)
        row = outcome_row(probe_id=probe_id, task_id=task_id, axis=axis, level=level, index=index,
                          seed=None, status="completed", success=success)
        row["harness_task"] = redactor.text(env, path, limit=2000)  # type: ignore[typeddict-unknown-key]
        rows.append(row)
    return rows
