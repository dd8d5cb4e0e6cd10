"""The run sheet as an executable hand-off: each harness invocation uses only options the harness's
own code defines (at the cited commit), and following it runs exactly the planned episodes.

The harness behaviour simulated here is what the cited code does (read there, not copied):
- LeRobot (huggingface/lerobot@7427f31): `--env.task` suites, `--env.task_ids` filter (sorted,
  `envs/libero.py` _select_task_ids), `--eval.n_episodes` per task; with `--eval.batch_size=1`
  episode k of a task starts from initial state k (`LiberoEnv.init_state_id`).
- vla-eval (allenai/vla-evaluation-harness@e1ee9ad): `orchestrator.py` filters `tasks` by task
  name (`task.language`) or suite, then runs `episode_idx` 0..episodes_per_task-1 of each task;
  LIBERO-plus filters on the classification's `category` and `difficulty_level`.
"""

import json
import shlex
from collections import Counter

import pytest

from conftest import LIBERO_PLUS_FIXTURE, libero_plus_fixture
from worldflux_nb.core.harness_invocations import HARNESS_COMMITS, HARNESS_FLAGS
from worldflux_nb.core.planning import build_plan
from worldflux_nb.core.registry import LIBERO_SUITES, libero_instruction
from worldflux_nb.core.run_sheet import planned_episodes_frame, run_sheet_for
from worldflux_nb.sample import reference_contract, reference_profile

FIXTURE = json.loads(LIBERO_PLUS_FIXTURE.read_text())

# What each harness's code defines, as read at the cited commit (file: option or config key).
# Encoded here independently of the module, so a flag the module invents fails this test.
READ_IN_HARNESS_CODE = {
    "lerobot-eval": {  # huggingface/lerobot@7427f31801f944f5ec9ce53cda02862ce7d1638b
        "--seed": "src/lerobot/configs/eval.py EvalPipelineConfig.seed",
        "--output_dir": "src/lerobot/configs/eval.py EvalPipelineConfig.output_dir",
        "--policy.path": "src/lerobot/configs/eval.py __post_init__ get_path_arg('policy')",
        "--eval.n_episodes": "src/lerobot/configs/default.py EvalConfig.n_episodes",
        "--eval.batch_size": "src/lerobot/configs/default.py EvalConfig.batch_size",
        "--env.type": "src/lerobot/envs/configs.py register_subclass('libero'), ('libero_plus')",
        "--env.task": "src/lerobot/envs/configs.py LiberoEnv.task",
        "--env.task_ids": "src/lerobot/envs/configs.py LiberoEnv.task_ids",
        "--env.init_states": "src/lerobot/envs/configs.py LiberoEnv.init_states",
    },
    "vla-eval": {  # allenai/vla-evaluation-harness@e1ee9adf64396e155eb10ae1dd3f5dbf9a12d26c
        "run": "src/vla_eval/cli/main.py sub.add_parser('run')",
        "--config": "src/vla_eval/cli/main.py run_parser --config",
        "server.url": "src/vla_eval/config.py ServerConfig.url",
        "output_dir": "src/vla_eval/orchestrator.py config.get('output_dir')",
        "benchmarks": "configs/benchmarks/*/*.yaml benchmarks list",
        "benchmark": "src/vla_eval/config.py EvalConfig.benchmark",
        "subname": "src/vla_eval/config.py EvalConfig.subname",
        "episodes_per_task": "src/vla_eval/config.py EvalConfig.episodes_per_task",
        "tasks": "src/vla_eval/config.py EvalConfig.tasks",
        "params": "src/vla_eval/config.py EvalConfig.params",
        "params.suite": "src/vla_eval/benchmarks/libero/benchmark.py LIBEROBenchmark(suite)",
        "params.seed": "src/vla_eval/benchmarks/libero/benchmark.py LIBEROBenchmark(seed)",
        "params.category": "src/vla_eval/benchmarks/libero_plus/benchmark.py (category)",
        "params.difficulty_level": "src/vla_eval/benchmarks/libero_plus/benchmark.py (difficulty_level)",
        "params.perturbation": "src/vla_eval/benchmarks/libero_pro/benchmark.py (perturbation)",
        "params.task_name": "src/vla_eval/benchmarks/simpler/benchmark.py (task_name)",
    },
}
# vla-eval LIBEROProBenchmark perturbation names (its _PERTURBATION_ALIASES) -> the plan's axes.
PRO_AXES = {"object": "object_appearance", "swap": "object_position", "lan": "language_paraphrase",
            "task": "new_task", "env": "environment_swap"}
PLUS_AXES = {"Objects Layout": "objects_layout", "Camera Viewpoints": "camera_viewpoints",
             "Robot Initial States": "robot_initial_states", "Language Instructions": "language_instructions",
             "Light Conditions": "light_conditions", "Background Textures": "background_textures",
             "Sensor Noise": "sensor_noise"}


@pytest.fixture(scope="module", params=["sampled", "standard"])
def sheet(request):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        plan = build_plan(reference_profile(), seed=1234, contracts=[reference_contract()],
                          protocol=request.param, libero_plus_classification=libero_plus_fixture())
        return plan, run_sheet_for(plan)


def planned(plan, probe_id):
    frame = planned_episodes_frame(plan)
    frame = frame[frame["probe_id"] == probe_id]
    return Counter(zip(frame["task_id"], frame["axis"], frame["episode_index"]))


def test_module_flags_are_the_ones_read_in_the_harness_code():
    for harness, by_file in HARNESS_FLAGS.items():
        flags = {flag for names in by_file.values() for flag in names}
        assert flags == set(READ_IN_HARNESS_CODE[harness]), harness
    assert HARNESS_COMMITS == {
        "lerobot-eval": "huggingface/lerobot@7427f31801f944f5ec9ce53cda02862ce7d1638b",
        "vla-eval": "allenai/vla-evaluation-harness@e1ee9adf64396e155eb10ae1dd3f5dbf9a12d26c"}


def test_every_invocation_uses_only_flags_the_harness_defines(sheet):
    _, run_sheet = sheet
    assert run_sheet.invocations
    for inv in run_sheet.invocations:
        assert set(inv.flags) <= set(READ_IN_HARNESS_CODE[inv.harness]), inv.flags
        assert inv.harness_commit == HARNESS_COMMITS[inv.harness]
        if inv.kind == "command":
            used = {word.split("=", 1)[0] for word in shlex.split(inv.text) if word.startswith("--")}
            assert used == set(inv.flags)
        else:
            config = vla_eval_config(inv)
            keys = {"server.url", "output_dir", "benchmarks"} | {
                k for e in config["benchmarks"] for k in e if k != "params"} | {"params"} | {
                f"params.{k}" for e in config["benchmarks"] for k in e["params"]}
            assert keys | {"run", "--config"} == set(inv.flags)
            assert inv.run_with == f"vla-eval run --config {inv.file_name}"


def vla_eval_config(inv):
    return json.loads("\n".join(line for line in inv.text.splitlines() if not line.startswith("#")))


def lerobot_runs(inv, plan):
    """(task_id, episode_index) a lerobot-eval command runs, as its code would."""
    args = dict(word.split("=", 1) for word in shlex.split(inv.text) if word.startswith("--"))
    assert args["--seed"] == str(plan.probe(inv.probe_id).run_seed)
    assert args["--eval.batch_size"] == "1" and args["--env.init_states"] == "true"
    n = int(args["--eval.n_episodes"])
    runs = Counter()
    for suite in args["--env.task"].split(","):
        if args["--env.type"] == "libero":
            axes = {i: "nominal" for i in range(len(LIBERO_SUITES[suite]))}
        else:
            axes = {e["id"] - 1: PLUS_AXES[e["category"]] for e in FIXTURE[suite]}
        ids = sorted(set(json.loads(args["--env.task_ids"]))) if "--env.task_ids" in args else axes
        for i in ids:
            for k in range(n):  # batch size 1: episode k starts from initial state k
                runs[(f"{suite}/{i}", axes[i], k)] += 1
    return runs


def vla_eval_runs(inv, plan):
    """(task_id, episode_index) a vla-eval config runs, as its orchestrator would."""
    config = vla_eval_config(inv)
    runs = Counter()
    for entry in config["benchmarks"]:
        params = entry["params"]
        assert params["seed"] == plan.probe(inv.probe_id).run_seed  # the aggregate's top-level seed
        suite = params.get("suite")
        if entry["benchmark"].endswith("LIBEROBenchmark"):
            tasks = [(f"{suite}/{i}", "nominal", libero_instruction(name))
                     for i, name in enumerate(LIBERO_SUITES[suite])]
        elif entry["benchmark"].endswith("LIBEROPlusBenchmark"):
            tasks = [(f"{suite}/{e['id'] - 1}", PLUS_AXES[e["category"]], e["name"]) for e in FIXTURE[suite]
                     if ("category" not in params or e["category"] == params["category"])
                     and ("difficulty_level" not in params
                          or e["difficulty_level"] == params["difficulty_level"])]
        elif entry["benchmark"].endswith("LIBEROProBenchmark"):
            axis = PRO_AXES[params["perturbation"]]
            tasks = [(f"{suite}/{i}", axis, None) for i in range(len(LIBERO_SUITES[suite]))]
        else:
            tasks = [(params["task_name"], "nominal", params["task_name"])]
        if "tasks" in entry:
            tasks = [t for t in tasks if t[2] in entry["tasks"] or suite in entry["tasks"]]
        for task_id, axis, _ in tasks:
            for ep in range(entry["episodes_per_task"]):
                runs[(task_id, axis, ep)] += 1
    return runs


def test_following_an_invocation_runs_exactly_the_planned_episodes(sheet):
    plan, run_sheet = sheet
    for inv in run_sheet.invocations:
        runs = lerobot_runs(inv, plan) if inv.harness == "lerobot-eval" else vla_eval_runs(inv, plan)
        expected = planned(plan, inv.probe_id)
        assert max(runs.values()) == 1 and sum(runs.values()) == inv.episodes
        assert set(runs) <= set(expected), (inv.probe_id, inv.harness, set(runs) - set(expected))
    for probe in ("libero", "libero-plus", "libero-pro"):
        for harness in ("lerobot-eval", "vla-eval"):
            invs = [i for i in run_sheet.invocations if i.probe_id == probe and i.harness == harness]
            if not invs:
                continue
            runs = sum((lerobot_runs(i, plan) if harness == "lerobot-eval" else vla_eval_runs(i, plan)
                        for i in invs), Counter())
            whole = set(planned(plan, probe))
            unrated = {t for t, _, _ in whole if any(
                c.task_id == t and c.level == "unrated" for c in plan.cells)}
            if harness == "vla-eval" and probe == "libero-plus":
                whole = {(t, a, k) for t, a, k in whole if t not in unrated}  # said so in its notes
            assert set(runs) == whole, (probe, harness)


def test_pinned_values_say_where_each_harness_records_them(sheet):
    plan, run_sheet = sheet
    for inv in run_sheet.invocations:
        assert "run_seed" in inv.records and "episode_index" in inv.records
        assert set(inv.not_recorded) == set(plan.probe(inv.probe_id).pinned_metadata)


def test_probes_without_a_harness_are_said_so(sheet):
    plan, run_sheet = sheet
    custom = next(p for p in plan.selected_probes if p.probe_id.startswith("custom:"))
    assert not [i for i in run_sheet.invocations if i.probe_id == custom.probe_id]
    assert any(line.startswith(f"{custom.probe_id}: no built-in harness") and
               f"{custom.run_seed} + i" in line for line in run_sheet.instructions)


def test_episodes_no_harness_can_be_told_get_no_invocation(sheet):
    """A cell whose episodes are not 0..n-1 (a hand-made plan) is left to the instructions."""
    from worldflux_nb.models.plan import EpisodeRange

    plan, _ = sheet
    cells = [c.model_copy(update={"episodes": EpisodeRange(start=5, count=c.episode_count)})
             if c.probe_id == "libero" and i % 2 else c for i, c in enumerate(plan.cells)]
    shifted = plan.model_copy(update={"cells": cells})
    run_sheet = run_sheet_for(shifted)
    for inv in run_sheet.invocations:
        runs = lerobot_runs(inv, shifted) if inv.harness == "lerobot-eval" else vla_eval_runs(inv, shifted)
        assert set(runs) <= set(planned(shifted, inv.probe_id))
    assert any("libero:" in line and "no harness can be told" in line for line in run_sheet.instructions)
