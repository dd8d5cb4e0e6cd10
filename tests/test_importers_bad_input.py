"""Bad harness files exit 2 with one line naming the file and the field, and write nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from importers_support import HARNESS, run_cli, write_plan


def _legacy(**episode) -> str:
    entry = {"episode_ix": 0, "sum_reward": 1.0, "max_reward": 1.0, "success": True, "seed": 1000}
    entry.update(episode)
    entry = {k: v for k, v in entry.items() if v is not ...}
    return json.dumps({"per_episode": [entry], "aggregated": {"pc_success": 100.0}})


def _vla(**episode) -> str:
    entry = {"episode_id": 0, "episode_idx": 0, "suite": "libero_spatial", "task_id": 0,
             "metrics": {"success": True}, "steps": 10}
    entry.update(episode)
    entry = {k: v for k, v in entry.items() if v is not ...}
    return json.dumps({"benchmark": "libero_spatial", "seed": 7, "tasks": [{"task": "t", "episodes": [entry]}]})


def _lbm(**evaluation) -> str:
    entry = {"skill_type": "PutKiwiInCenterOfTable", "scenario_index": 0, "is_pending": False,
             "total_time": 1.0, "is_success": True, "failure_message": None}
    entry.update(evaluation)
    entry = {k: v for k, v in entry.items() if v is not ...}
    return json.dumps({"num_evaluated": 1, "success_rate": 1.0, "evaluations": [entry]})


def _mani(key="0", **entry) -> str:
    body = {"success": True, "elapsed_steps": 10}
    body.update(entry)
    return json.dumps({key: {k: v for k, v in body.items() if v is not ...}})


def _jsonl(**row) -> str:
    body = {"task_id": "libero_spatial/0", "axis": "nominal", "level": 0, "episode_index": 0,
            "seed": None, "success": True, "status": "completed"}
    body.update(row)
    return json.dumps({k: v for k, v in body.items() if v is not ...}) + "\n"


CSV_HEADER = "task_id,axis,level,episode_index,seed,success,status\n"

# (case id, format, probe, file name, content, words the one-line error must contain)
CASES = [
    # empty files
    ("lerobot-empty", "lerobot", "pusht", "eval_info.json", "", ["is empty"]),
    ("vla-empty", "vla-eval", "libero", "x_aggregate.json", "  \n", ["is empty"]),
    ("lbm-empty", "lbm-eval", "lbm", "results-1.json", "", ["is empty"]),
    ("mani-empty", "maniskill", "maniskill", "episode_results.json", "", ["is empty"]),
    ("jsonl-empty", "jsonl", "libero", "e.jsonl", "\n", ["is empty"]),
    ("csv-empty", "csv", "libero", "e.csv", "", ["is empty"]),
    # not JSON
    ("lerobot-notjson", "lerobot", "pusht", "eval_info.json", "{per_episode: [", ["not valid JSON"]),
    ("vla-notjson", "vla-eval", "libero", "x_aggregate.json", "<html>", ["not valid JSON"]),
    ("lbm-notjson", "lbm-eval", "lbm", "results-1.json", "evaluations = []", ["not valid JSON"]),
    ("mani-notjson", "maniskill", "maniskill", "episode_results.json", "0,true", ["not valid JSON"]),
    ("jsonl-notjson", "jsonl", "libero", "e.jsonl", _jsonl() + "{oops\n", ["line 2", "not valid JSON"]),
    ("vla-nan", "vla-eval", "libero", "x_aggregate.json", '{"tasks": [], "seed": NaN}', ["bare NaN"]),
    # wrong layout
    ("lerobot-layout", "lerobot", "pusht", "eval_info.json", "[1, 2]", ["JSON object"]),
    ("lerobot-layout2", "lerobot", "pusht", "eval_info.json", '{"episodes": []}', ["not a LeRobot eval_info.json"]),
    ("vla-layout", "vla-eval", "libero", "x_aggregate.json", '{"per_episode": []}', ["tasks", "missing"]),
    ("lbm-layout", "lbm-eval", "lbm", "results-1.json", '{"tasks": []}', ["evaluations", "missing"]),
    ("mani-layout", "maniskill", "maniskill", "episode_results.json", '{"episode_a": {"success": true}}',
     ["episode_a", "not an episode id"]),
    ("jsonl-layout", "jsonl", "libero", "e.jsonl", "[1, 2]\n", ["line 1", "JSON object"]),
    ("csv-layout", "csv", "libero", "e.csv", "name,score\na,1\n", ["task_id", "column is missing"]),
    # aggregate-only
    ("lerobot-aggregate", "lerobot", "pusht", "eval_info.json",
     '{"aggregated": {"pc_success": 80.0, "avg_sum_reward": 3.0}}', ["per_episode", "aggregate"]),
    ("lerobot-aggregate-mt", "lerobot", "libero", "eval_info.json",
     '{"per_task": [], "per_group": {}, "overall": {"pc_success": NaN, "n_episodes": 0}}', ["aggregate"]),
    ("vla-aggregate", "vla-eval", "libero", "x_aggregate.json",
     '{"tasks": [{"task": "t", "num_episodes": 50, "mean_success": 0.9}], "mean_success": 0.9}',
     ["tasks[].episodes", "aggregate"]),
    ("lbm-aggregate", "lbm-eval", "lbm", "results-1.json",
     '{"num_evaluated": 10, "num_success": 9, "success_rate": 0.9}', ["evaluations", "aggregate"]),
    ("mani-aggregate", "maniskill", "maniskill", "episode_results.json",
     '{"success_rate": 0.8, "episodes": 50}', ["aggregate"]),
    # missing success
    ("lerobot-nosuccess", "lerobot", "pusht", "eval_info.json", _legacy(success=...), ["per_episode[0].success", "missing"]),
    ("vla-nosuccess", "vla-eval", "libero", "x_aggregate.json", _vla(metrics={"steps": 3}),
     ["tasks[0].episodes[0].metrics.success", "missing"]),
    ("lbm-nosuccess", "lbm-eval", "lbm", "results-1.json", _lbm(is_success=...), ["evaluations[0].is_success", "missing"]),
    ("mani-nosuccess", "maniskill", "maniskill", "episode_results.json", _mani(success=...), ["0.success", "missing"]),
    ("jsonl-nosuccess", "jsonl", "libero", "e.jsonl", _jsonl(success=..., status=...), ["line 1.success", "missing"]),
    ("csv-nosuccess", "csv", "libero", "e.csv", CSV_HEADER + "libero_spatial/0,nominal,0,0,,,\n", ["line 2.success"]),
    # non-boolean success
    ("lerobot-nonbool", "lerobot", "pusht", "eval_info.json", _legacy(success=1), ["per_episode[0].success", "true or false"]),
    ("vla-nonbool", "vla-eval", "libero", "x_aggregate.json", _vla(metrics={"success": 0.5}),
     ["metrics.success", "true or false"]),
    ("lbm-nonbool", "lbm-eval", "lbm", "results-1.json", _lbm(is_success="yes"), ["evaluations[0].is_success"]),
    ("mani-nonbool", "maniskill", "maniskill", "episode_results.json", _mani(success="true"), ["0.success", "true or false"]),
    ("jsonl-nonbool", "jsonl", "libero", "e.jsonl", _jsonl(success="yes"), ["line 1.success"]),
    ("csv-nonbool", "csv", "libero", "e.csv", CSV_HEADER + "libero_spatial/0,nominal,0,0,,maybe,completed\n",
     ["line 2.success", "true or false"]),
    ("lerobot-mt-nonbool", "lerobot", "libero", "eval_info.json",
     '{"per_task": [{"task_group": "libero_spatial", "task_id": 0, "metrics": {"successes": [true, NaN]}}]}',
     ["per_task[0].metrics.successes[1]", "true or false"]),
    # inconsistent status and success
    ("jsonl-status", "jsonl", "libero", "e.jsonl", _jsonl(status="infra_failure", success=True),
     ["line 1.success", "null"]),
    ("jsonl-timeout", "jsonl", "libero", "e.jsonl", _jsonl(status="timeout", success=True), ["line 1.success", "failure"]),
    ("jsonl-badstatus", "jsonl", "libero", "e.jsonl", _jsonl(status="crashed"), ["line 1.status"]),
    ("vla-reason", "vla-eval", "libero", "x_aggregate.json", _vla(failure_reason=["gremlins"]), ["failure_reason", "non-empty"]),
    # negative indexes
    ("lerobot-negative", "lerobot", "pusht", "eval_info.json", _legacy(episode_ix=-1), ["per_episode[0].episode_ix", "non-negative"]),
    ("vla-negative", "vla-eval", "libero", "x_aggregate.json", _vla(episode_idx=-3), ["episode_idx", "non-negative"]),
    ("lbm-negative", "lbm-eval", "lbm", "results-1.json", _lbm(scenario_index=-1), ["scenario_index", "non-negative"]),
    ("mani-negative", "maniskill", "maniskill", "episode_results.json", _mani(key="-2"), ["-2", "non-negative"]),
    ("jsonl-negative", "jsonl", "libero", "e.jsonl", _jsonl(episode_index=-1), ["line 1.episode_index", "non-negative"]),
    ("csv-negative", "csv", "libero", "e.csv", CSV_HEADER + "libero_spatial/0,nominal,0,-4,,true,completed\n",
     ["line 2.episode_index", "non-negative"]),
    # values too large for the int64 columns downstream
    ("jsonl-index-huge", "jsonl", "libero", "e.jsonl", _jsonl(episode_index=10**30), ["line 1.episode_index", "out of range"]),
    ("jsonl-seed-huge", "jsonl", "libero", "e.jsonl", _jsonl(seed=-(10**30)), ["line 1.seed", "out of range"]),
    # a percentage LeRobot cannot write (eval_policy: the mean success times 100)
    ("lerobot-pc-huge", "lerobot", "pusht", "eval_info.json", _legacy().replace("100.0", "1e308"),
     ["aggregated.pc_success", "1e+308", "not a percentage from 0 to 100"]),
    ("lerobot-pc-infinite", "lerobot", "pusht", "eval_info.json", _legacy().replace("100.0", "1e999"),
     ["aggregated.pc_success", "inf", "0 to 100"]),
    ("lerobot-mt-pc-negative", "lerobot", "libero", "eval_info.json",
     '{"per_task": [{"task_group": "libero_spatial", "task_id": 0, "metrics": {"successes": [true]}}], '
     '"overall": {"pc_success": -3, "n_episodes": 1}}', ["overall.pc_success", "-3", "0 to 100"]),
    # another probe's rows
    ("jsonl-probe", "jsonl", "libero", "e.jsonl", _jsonl(probe_id="pusht"), ["line 1.probe_id", "pusht"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_naming_file_and_field_and_writes_nothing(tmp_path: Path, case):
    _, fmt, probe, name, content, words = case
    plan = write_plan(tmp_path)
    source = tmp_path / name
    source.write_text(content)
    out = tmp_path / "audit.json"
    result = run_cli(["audit", "import", fmt, source, "--plan", plan, "--probe", probe, "--output", out])
    assert result.code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert name in lines[0], lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"plan.json", name})


@pytest.mark.parametrize("fmt,probe,fixture", [
    ("lerobot", "pusht", "lerobot_eval_info_legacy.json"),
    ("vla-eval", "libero", "libero_spatial_aggregate.json"),
    ("lbm-eval", "lbm", "results-2026-01-12T10-04-55.json"),
    ("maniskill", "maniskill", "episode_results.json"),
    ("jsonl", "libero", "evidence.jsonl"),
    ("csv", "libero", "evidence.csv"),
])
def test_oversized_files_are_refused_before_parsing(tmp_path: Path, fmt, probe, fixture):
    plan = write_plan(tmp_path)
    out = tmp_path / "audit.json"
    result = run_cli(["audit", "import", fmt, HARNESS / fixture, "--plan", plan, "--probe", probe,
                      "--output", out, "--max-bytes", "100"])
    assert result.code == 2
    assert fixture in result.stderr and "over the 100-byte limit; raise it with --max-bytes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_unknown_format_probe_and_missing_file(tmp_path: Path):
    plan = write_plan(tmp_path)
    out = tmp_path / "audit.json"
    cases = [
        (["audit", "import", "robomimic", HARNESS / "evidence.jsonl"], "robomimic"),
        (["audit", "import", "jsonl", HARNESS / "evidence.jsonl", "--probe", "nope"], "--probe"),
        (["audit", "import", "jsonl", tmp_path / "missing.jsonl"], "no such file"),
        (["audit", "import", "jsonl", HARNESS / "evidence.jsonl", "--task-map", "oops"], "--task-map"),
    ]
    for argv, word in cases:
        if "--probe" not in argv:
            argv = argv + ["--probe", "libero"]
        result = run_cli(argv + ["--plan", plan, "--output", out])
        assert result.code == 2 and word in result.stderr, result.stderr
        assert not out.exists()


def test_a_tampered_plan_is_refused(tmp_path: Path):
    plan = write_plan(tmp_path)
    data = json.loads(plan.read_text())
    data["plan_seed"] = 99
    plan.write_text(json.dumps(data))
    out = tmp_path / "audit.json"
    result = run_cli(["audit", "import", "jsonl", HARNESS / "evidence.jsonl", "--plan", plan,
                      "--probe", "libero", "--output", out])
    assert result.code == 2 and "plan_digest" in result.stderr
    assert not out.exists()


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "run"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("fmt,probe,make,extra,words", [
    ("libero-log", "libero", lambda t: _folder(t, {"EVAL-x.txt": "Success: True\n"}) / "EVAL-x.txt", [],
     ["EVAL-x.txt", "line 1", "no Starting episode"]),
    ("libero-log", "libero", lambda t: _folder(t, {"EVAL-x.txt": "Task suite: libero_spatial\n"}) / "EVAL-x.txt", [],
     ["EVAL-x.txt", "holds no episodes"]),
    ("rollout-videos", "libero", lambda t: _folder(t, {"a.mp4": ""}) / "a.mp4", [], ["a.mp4", "is not a folder"]),
    ("rollout-videos", "libero", lambda t: _folder(t, {"clip.mp4": "", "notes.txt": "x"}), [],
     ["run", "no rollout video"]),
    ("vla-eval", "libero", lambda t: _folder(t, {"config.yaml": "x: 1", "summary.json": "{}"}), [],
     ["run", "no vla-eval result file"]),
    ("lbm-eval", "lbm", lambda t: _folder(t, {"results-1.json": "{}"}), [], ["run", "is a folder"]),
    ("lerobot", "libero", lambda t: _folder(t, {"eval_info.json": json.dumps(
        {"per_task": [{"task_group": "libero_spatial", "task_id": 0, "metrics": {"successes": [True]}}]})})
     / "eval_info.json", ["--harness-version", "banana"], ["--harness-version", "banana"]),
    ("maniskill", "maniskill", lambda t: _folder(t, {"traj.json": json.dumps(
        {"env_info": {"env_id": "PickCube-v1"}, "episodes": [{"episode_id": 0, "success": 0.5}]})}) / "traj.json",
     [], ["traj.json", "episodes[0].success"]),
])
def test_new_harness_inputs_are_refused_in_one_line(tmp_path: Path, fmt, probe, make, extra, words):
    plan = write_plan(tmp_path)
    out = tmp_path / "audit.json"
    source = make(tmp_path)
    result = run_cli(["audit", "import", fmt, source, "--plan", plan, "--probe", probe, "--output", out, *extra])
    lines = result.stderr.strip().splitlines()
    assert result.code == 2 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert not out.exists()
