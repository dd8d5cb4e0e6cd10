"""Harness output as each harness's own writer code writes it: the demo's sample evidence and the
importer tests' fixtures come from here.

Each writer replays the harness's evaluation loop over an outcome model (`outcome(task, index) ->
bool`) and returns the files it would write — `{relative path: text}` — with the field names,
nesting, key order, value types, bare NaN and file names of the writer it cites (written from reading
that code, not copied from it). Videos are returned with empty content: their names are the evidence.
Pure: nothing is written here.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

Outcome = Callable[[str, int], bool]
Files = dict[str, str]


# ---------------------------------------------------------------------------------------------
# LeRobot: src/lerobot/scripts/lerobot_eval.py (huggingface/lerobot v0.6.1, 7e241bd)
# ---------------------------------------------------------------------------------------------

LEROBOT_INITIAL_STATES = 50


def _nanmean(values: Sequence[float]) -> float:
    finite = [float(v) for v in values if not (isinstance(v, float) and math.isnan(v))]
    return sum(finite) / len(finite) if finite else float("nan")


def lerobot_eval_policy(task: str, n_episodes: int, outcome: Outcome, *, batch_size: int = 10,
                        videos_dir: str | None = None) -> dict[str, Any]:
    """`eval_policy` over one task's vec env: batches of `batch_size` sub-envs, sub-env j of batch b
    on initial state `(b * batch_size + j) % 50` (LiberoEnv.reset at v0.6.1), outcomes kept
    `[:n_episodes]`; the last batch's surplus episodes are run and dropped."""
    n_batches = n_episodes // batch_size + int(n_episodes % batch_size != 0)
    successes, sum_rewards, max_rewards = [], [], []
    for b in range(n_batches):
        for j in range(batch_size):
            state = (b * batch_size + j) % LEROBOT_INITIAL_STATES
            ok = outcome(task, state)
            successes.append(ok)
            sum_rewards.append(1.0 if ok else 0.0)
            max_rewards.append(1.0 if ok else 0.0)
    video_paths = ([f"{videos_dir}/eval_episode_{i}.mp4" for i in range(min(10, n_episodes))]
                   if videos_dir else [])
    return {"sum_rewards": sum_rewards[:n_episodes], "max_rewards": max_rewards[:n_episodes],
            "successes": successes[:n_episodes], "video_paths": video_paths}


# `EvalPipelineConfig.__post_init__` (src/lerobot/configs/eval.py): with no --output_dir, the run writes
# under the relative `outputs/eval/<date>/<time>_<job_name>`, so its video paths are relative too.
LEROBOT_OUTPUT_DIR = "outputs/eval/2026-11-30/21-04-11_libero_pi0"


def lerobot_multitask(tasks: Iterable[tuple[str, int]], n_episodes: int | dict, outcome: Outcome, *,
                      batch_size: int = 10, output_dir: str = LEROBOT_OUTPUT_DIR) -> Files:
    """`eval_policy_all` + `eval_main`: `per_task[]` (`task_group, task_id, metrics` as `TaskMetrics`
    with `predicted_video_paths`), `per_group`, `overall`, dumped with `json.dump(info, f, indent=2)`
    (empty aggregates as bare NaN) to `<output_dir>/eval_info.json`; video paths start at `output_dir`."""
    per_task, groups = [], {}
    overall: dict[str, list] = {k: [] for k in ("sum_rewards", "max_rewards", "successes", "video_paths")}
    for group, task_id in tasks:
        n = n_episodes[(group, task_id)] if isinstance(n_episodes, dict) else n_episodes
        videos = f"{output_dir}/videos/{group}_{task_id}"
        metrics = lerobot_eval_policy(f"{group}/{task_id}", n, outcome, batch_size=batch_size,
                                      videos_dir=videos)
        metrics["predicted_video_paths"] = []
        per_task.append({"task_group": group, "task_id": task_id, "metrics": metrics})
        acc = groups.setdefault(group, {k: [] for k in overall})
        for key in overall:
            acc[key].extend(metrics[key])
            overall[key].extend(metrics[key])

    def aggregate(acc: dict[str, list]) -> dict[str, Any]:
        return {"avg_sum_reward": _nanmean(acc["sum_rewards"]), "avg_max_reward": _nanmean(acc["max_rewards"]),
                "pc_success": _nanmean(acc["successes"]) * 100 if acc["successes"] else float("nan"),
                "n_episodes": len(acc["sum_rewards"])}

    info = {
        "per_task": per_task,
        "per_group": {g: {**aggregate(acc), "video_paths": acc["video_paths"], "predicted_video_paths": []}
                      for g, acc in groups.items()},
        "overall": {**aggregate(overall), "eval_s": 812.4, "eval_ep_s": 812.4 / max(1, len(overall["successes"])),
                    "video_paths": overall["video_paths"], "predicted_video_paths": []},
    }
    return {"eval_info.json": json.dumps(info, indent=2)}


# ---------------------------------------------------------------------------------------------
# vla-eval: src/vla_eval/orchestrator.py + results/merge.py (allenai/vla-evaluation-harness e1ee9ad);
# older results: orchestrator._save_results at efd50df1
# ---------------------------------------------------------------------------------------------

@dataclass
class VlaEvalConfig:
    """`EvalConfig.to_dict()` (src/vla_eval/config.py): `asdict` in field order."""

    benchmark: str = "vla_eval.benchmarks.libero.benchmark:LIBEROBenchmark"
    mode: str = "sync"
    name: str | None = None
    subname: str | None = None
    episodes_per_task: int = 1
    max_steps: int | None = None
    max_tasks: int | None = None
    tasks: list[str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    recording: dict[str, Any] | None = None
    hz: float = 10.0
    throughput_mode: bool = False
    paced: bool = True
    wait_first_action: bool = False


# (task index, episode) -> (failure_reason, failure_detail), as `record_failure` writes them.
Failures = dict[tuple[int, int], tuple[str, str]]


def vla_eval_episodes(tasks: Sequence[dict[str, Any]], config: VlaEvalConfig, outcome: Outcome,
                      failures: Failures | None = None, *, max_steps: int = 220,
                      sid: str = "s-7f3a") -> tuple[list[tuple[str, dict[str, Any]]], bool]:
    """The orchestrator's work loop: `(task_idx, task, ep)` for every task and `range(episodes_per_task)`,
    `episode_idx = ep`; a `server_unreachable` failure aborts the benchmark (partial). Returns the
    recorded (task name, episode row as merge._build_aggregate writes it) and whether it stopped early."""
    failures = failures or {}
    recorded: list[tuple[str, dict[str, Any]]] = []
    eid = 0
    for task_idx, task in enumerate(tasks):
        for ep in range(config.episodes_per_task):
            eid += 1
            context = {**task, "episode_idx": ep}
            key = f"{task['suite']}/{task['task_id']}" if "suite" in task else task["name"]
            row: dict[str, Any] = {"sid": sid, "eid": f"e{eid:05d}", "episode_id": ep}
            if (task_idx, ep) in failures:
                reason, detail = failures[(task_idx, ep)]
                row.update({"metrics": {"success": False}, "steps": 0, "elapsed_sec": 0.0, **context,
                            "failure_reason": reason, "failure_detail": detail})
                recorded.append((task["name"], row))
                if reason == "server_unreachable":
                    return recorded, True
                continue
            ok = outcome(key, ep)
            steps = 90 + (ep * 7) % 100 if ok else max_steps
            row.update({"metrics": {"success": ok}, "steps": steps, "elapsed_sec": round(steps * 0.11, 3),
                        **context})
            recorded.append((task["name"], row))
    return recorded, False


def _task_result(name: str, episodes: list[dict[str, Any]]) -> dict[str, Any]:
    """`collector._build_task_result` with metric_keys {"success": "mean"}."""
    errors = sum(1 for e in episodes if e.get("failure_reason"))
    result: dict[str, Any] = {"task": name, "episodes": episodes, "num_episodes": len(episodes),
                              "avg_steps": sum(e.get("steps", 0) for e in episodes) / (len(episodes) or 1)}
    if errors:
        result["num_errors"] = errors
    values = [e["metrics"]["success"] for e in episodes]
    if values:
        result["mean_success"] = round(sum(values) / len(values), 4)
    return result


def vla_eval_aggregate(safe_name: str, recorded: list[tuple[str, dict[str, Any]]], config: VlaEvalConfig,
                       *, eval_id: str = "9c1e2f70-5b8d-4a61-8f0e-2d7c3a9b6e15",
                       harness_version: str = "0.9.2") -> Files:
    """`merge._build_aggregate`: episodes ordered by (task name, episode_id, sid, eid), tasks sorted
    by name, `seed` from `config.params.seed`, `num_episodes_total`; `<safe_name>_aggregate.json`."""
    ordered = sorted(recorded, key=lambda r: (r[0], r[1]["episode_id"], r[1]["sid"], r[1]["eid"]))
    tasks: dict[str, list[dict[str, Any]]] = {}
    for name, row in ordered:
        tasks.setdefault(name, []).append(row)
    conf = asdict(config)
    body: dict[str, Any] = {
        "benchmark": safe_name, "mode": config.mode, "harness_version": harness_version,
        "created_at": "2026-11-30T21:04:11.532118+00:00",
        "tasks": [_task_result(name, tasks[name]) for name in sorted(tasks)],
        "config": conf, "eval_id": eval_id,
        "server_info": {"model": "openvla-7b", "action_chunk": 1},
        "render": {"requested": None, "applied_env": {}},
    }
    if config.params.get("seed") is not None:
        body["seed"] = config.params["seed"]
    body["metric_keys"] = {"success": "mean"}
    values = [row["metrics"]["success"] for _, row in recorded]
    if values:
        body["mean_success"] = round(sum(values) / len(values), 4)
    body["num_episodes_total"] = len(recorded)
    return {f"{safe_name}_aggregate.json": json.dumps(body, indent=2, default=str)}


def vla_eval_older_results(safe_name: str, recorded: list[tuple[str, dict[str, Any]]], config: VlaEvalConfig,
                           *, partial: bool, unix_time: int = 1767225600) -> Files:
    """`_save_results` before the recording store (efd50df1): the collector's episodes
    (`metrics, steps, elapsed_sec` then `episode_id`; no task context), tasks in first-seen order,
    `partial: true` after an abort; `<safe_name>_<partial|mode>_<unix time>.json`."""
    tasks: dict[str, list[dict[str, Any]]] = {}
    for name, row in recorded:
        if row.get("failure_reason"):
            episode = {"episode_id": row["episode_id"], "metrics": {"success": False},
                       "failure_reason": row["failure_reason"], "failure_detail": row["failure_detail"]}
        else:
            episode = {"metrics": row["metrics"], "steps": row["steps"], "elapsed_sec": row["elapsed_sec"],
                       "episode_id": row["episode_id"]}
        tasks.setdefault(name, []).append(episode)
    body: dict[str, Any] = {"benchmark": safe_name, "mode": config.mode, "harness_version": "0.4.0",
                            "created_at": "2026-03-02T10:00:00.000000+00:00",
                            "tasks": [_task_result(n, eps) for n, eps in tasks.items()], "config": asdict(config)}
    if config.params.get("seed") is not None:
        body["seed"] = config.params["seed"]
    body["metric_keys"] = {"success": "mean"}
    values = [row["metrics"]["success"] for _, row in recorded]
    body["mean_success"] = round(sum(values) / len(values), 4) if values else 0.0
    body["server_info"] = {"model": "openvla-7b"}
    if partial:
        body["partial"] = True
    name = f"{safe_name}_{'partial' if partial else config.mode}_{unix_time}.json"
    return {name: json.dumps(body, indent=2, default=str)}


def libero_tasks(suite: str, task_ids: Iterable[int], language: Callable[[str], str]) -> list[dict[str, Any]]:
    """`LIBEROBenchmark.get_tasks` as serialised: `name` (the language), `suite`, `task_id`."""
    return [{"name": language(f"{suite}/{i}"), "suite": suite, "task_id": i} for i in task_ids]


# ---------------------------------------------------------------------------------------------
# lbm_eval: lbm_eval/evaluate.py (ToyotaResearchInstitute/lbm_eval 460b721c)
# ---------------------------------------------------------------------------------------------

def lbm_eval_results(skill_types: Sequence[str], num_evaluations: int,
                     outcome: Outcome, *, finished: int | None = None,
                     crashes: dict[tuple[str, int], str] | None = None,
                     timestamp: str = "2026-11-30T14:02:11.483-08:00") -> Files:
    """`evaluate_many` + `_save_json`: every (skill, scenario_index) primed pending, the first
    `finished` replaced by their results (a file read mid-run when fewer than all), crashes as
    `is_success: false` with the traceback; `results-<isoformat ms>.json`, `indent=2`."""
    crashes = crashes or {}
    work = [(skill, i) for skill in skill_types for i in range(num_evaluations)]
    done = len(work) if finished is None else finished
    evaluations = []
    for n, (skill, i) in enumerate(work):
        entry = {"skill_type": skill, "scenario_index": i, "is_pending": True, "total_time": None,
                 "is_success": None, "failure_message": None}
        if n < done:
            if (skill, i) in crashes:
                entry.update(is_pending=False, total_time=None, is_success=False,
                             failure_message=crashes[(skill, i)])
            else:
                entry.update(is_pending=False, total_time=round(12.5 + i * 0.75, 3),
                             is_success=outcome(skill, i))
        evaluations.append(entry)
    evaluated = sum(not e["is_pending"] for e in evaluations)
    success = sum(bool(e["is_success"]) for e in evaluations)
    data = {"num_processes": 4, "elapsed_time": 1843.25, "num_requested_evaluations": len(evaluations),
            "num_evaluated": evaluated, "num_success": success,
            "success_rate": success / evaluated if evaluated else 0.0, "evaluations": evaluations}
    return {f"results-{timestamp}.json": json.dumps(data, indent=2)}


def grpc_crash(workspace: str) -> str:
    """The traceback lbm_eval records when the policy server is gone; its frames lie under `workspace`,
    an absolute folder as a real run's would (a test passes its own, so redaction meets a real path)."""
    return (f"Traceback (most recent call last):\n  File \"{workspace}/lbm_eval/evaluate.py\", line 233, "
            f"in evaluate_one\n  File \"{workspace}/grpc_workspace/lbm_policy_client.py\", line 88, in step\n"
            "grpc._channel._InactiveRpcError: <_InactiveRpcError of RPC that terminated with:\n"
            "\tstatus = StatusCode.UNAVAILABLE\n\tdetails = \"failed to connect to all addresses\"\n>\n")


# ---------------------------------------------------------------------------------------------
# ManiSkill: mani_skill/evaluation/{run_evaluation,evaluator}.py and utils/wrappers/record.py
# ---------------------------------------------------------------------------------------------

def maniskill_episode_results(episode_ids: Iterable[int], outcome: Outcome, env_id: str = "PickCube-v1") -> Files:
    """`BaseEvaluator.evaluate_episodes` + `Evaluator.submit`: `{episode_id: metrics}` where
    `extract_scalars_from_info` made every value a float; `episode_results.json`."""
    result = {}
    for episode_id in episode_ids:
        ok = outcome(env_id, episode_id)
        result[str(episode_id)] = {"elapsed_steps": 37.0 + episode_id % 11 if ok else 50.0,
                                   "success": 1.0 if ok else 0.0, "fail": 0.0}
    return {"episode_results.json": json.dumps(result, indent=2)}


def maniskill_trajectory(env_id: str, seeds: Sequence[int], outcome: Outcome, *,
                         max_episode_steps: int = 50, trajectory_name: str = "20261130_210411") -> Files:
    """`RecordEpisode`: `env_info`, `commit_info`, `episodes[]` appended by `flush_trajectory`
    (`episode_id` counting from 0, `episode_seed`, `control_mode`, `elapsed_steps`, `reset_kwargs`,
    `success`, `fail`); `<trajectory_name>.json` beside the `.h5`."""
    episodes = []
    for episode_id, seed in enumerate(seeds):
        ok = outcome(env_id, episode_id)
        episodes.append({"episode_id": episode_id, "episode_seed": seed, "control_mode": "pd_joint_delta_pos",
                         "elapsed_steps": 23 + episode_id % 17 if ok else max_episode_steps,
                         "reset_kwargs": {"options": {}, "seed": seed}, "success": ok, "fail": False})
    data = {"env_info": {"env_id": env_id, "env_kwargs": {"obs_mode": "rgb", "num_envs": 1},
                         "max_episode_steps": max_episode_steps},
            "commit_info": {"GIT_COMMIT": "3c1e3f6", "GIT_BRANCH": "main"}, "episodes": episodes}
    return {f"{trajectory_name}.json": json.dumps(data, indent=2)}


# ---------------------------------------------------------------------------------------------
# OpenVLA experiments/robot/libero/run_libero_eval.py (c8f03f4), openpi examples/libero/main.py
# (15a9616), SimplerEnv simpler_env/evaluation/maniskill2_evaluator.py (4ab7178e)
# ---------------------------------------------------------------------------------------------

def openvla_run(suite: str, instructions: Sequence[str], trials: int, outcome: Outcome, *,
                exceptions: dict[tuple[int, int], str] | None = None, stop_after: int | None = None,
                date_time: str = "2026_11_30-21_04_11", prefix: str = "") -> Files:
    """`eval_libero`: the log lines per episode and a rollout video per episode named by
    `save_rollout_video`: `experiments/logs/EVAL-<suite>-openvla-<time>.txt` and
    `rollouts/<date>/<time>--episode=T--success=B--task=....mp4`. `prefix` imitates a logging format
    (openpi logs the same lines through `logging`). `stop_after` cuts the run mid-episode."""
    exceptions = exceptions or {}
    lines = [f"{prefix}Task suite: {suite}"]
    total = successes = 0
    files: Files = {}
    rollouts_dir = f"./rollouts/{date_time.split('-')[0]}"
    for task_id, text in enumerate(instructions):
        task_episodes = task_successes = 0
        for episode_idx in range(trials):
            lines += [f"{prefix}", f"{prefix}Task: {text}", f"{prefix}Starting episode {task_episodes + 1}..."]
            if stop_after is not None and total == stop_after:
                break
            done = False
            if (task_id, episode_idx) in exceptions:
                lines.append(f"{prefix}Caught exception: {exceptions[(task_id, episode_idx)]}")
            else:
                done = outcome(f"{suite}/{task_id}", episode_idx)
            task_episodes, total = task_episodes + 1, total + 1
            task_successes, successes = task_successes + done, successes + done
            processed = text.lower().replace(" ", "_").replace("\n", "_").replace(".", "_")[:50]
            video = f"{rollouts_dir}/{date_time}--episode={total}--success={done}--task={processed}.mp4"
            files[video[2:]] = ""
            lines += [f"{prefix}Saved rollout MP4 at path {video}", f"{prefix}Success: {done}",
                      f"{prefix}# episodes completed so far: {total}",
                      f"{prefix}# successes: {successes} ({successes / total * 100:.1f}%)"]
        if stop_after is not None and total == stop_after:
            break
        lines += [f"{prefix}Current task success rate: {float(task_successes) / float(task_episodes)}",
                  f"{prefix}Current total success rate: {float(successes) / float(total)}"]
    files[f"experiments/logs/EVAL-{suite}-openvla-{date_time}.txt"] = "\n".join(lines) + "\n"
    return files


def simpler_env_videos(env_name: str, episodes: Iterable[int], outcome: Outcome, *,
                       ckpt: str = "rt_1_x_tf_trained_for_002272480_step", scene: str = "bridge_table_1_v1",
                       control_mode: str = "arm_pd_ee_target_delta_pose_align2_gripper_pd_joint_pos") -> Files:
    """`run_maniskill2_eval_single_episode` with `obj_variation_mode == "episode"`: one video per
    `obj_episode_id` under `<ckpt>/<scene>/<control_mode>/<env>/rob_<x>_<y>_rot_<r>_<p>_<y>_rgb_overlay_<o>/`,
    named `<success|failure>_obj_episode_<id>_<stat>_<value>.mp4`, relative to `--logging-dir`."""
    folder = f"{ckpt}/{scene}/{control_mode}/{env_name}/rob_0.147_0.028_rot_0.000_0.000_0.000_rgb_overlay_bridge_real_eval_1"
    files: Files = {}
    for obj_episode_id in episodes:
        ok = outcome(env_name, obj_episode_id)
        files[f"{folder}/{'success' if ok else 'failure'}_obj_episode_{obj_episode_id}_moved_correct_obj_{ok}.mp4"] = ""
    return files
