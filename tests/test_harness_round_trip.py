"""Round trips through the real harnesses' file shapes (worldflux_nb.sample.harness_files).

Following the run sheet of the reference plan with a harness gives 100% matched, nothing out of
protocol, and an identity better than `inferred_from_order`; a full-suite run, more episodes than
planned, a file read mid-run and a wrong run seed each read as what they are.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from conftest import REFERENCE_PROFILE, libero_plus_fixture
from worldflux_nb.sample.harness_files import (
    VlaEvalConfig, grpc_crash, lbm_eval_results, lerobot_multitask, libero_tasks, maniskill_episode_results,
    maniskill_trajectory, openvla_run, simpler_env_videos, vla_eval_aggregate, vla_eval_episodes,
    vla_eval_older_results,
)
from importers_support import make_plan
from worldflux_nb.core.conformance import check_conformance
from worldflux_nb.core.importers import FORMATS, ImportOptions
from worldflux_nb.core.planning import build_plan
from worldflux_nb.core.registry import builtin_registry
from worldflux_nb.core.run_sheet import planned_episodes_frame
from worldflux_nb.io.evidence_files import import_file
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.models.profile import EvalProfile

PLAN = build_plan(EvalProfile(**REFERENCE_PROFILE), seed=1234, created_at="2026-01-01T00:00:00Z")
TEST_PLAN = make_plan()
LANGUAGE = {t.task_id: t.instruction for p in builtin_registry().probes if p.probe_id == "libero" for t in p.tasks}


def write(folder: Path, files: dict[str, str]) -> Path:
    """Put a writer's files where the harness leaves them; returns the folder."""
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


def written(folder: Path, files: dict[str, str]) -> Path:
    """The one file a writer wrote, written."""
    (name,) = files
    return write(folder, files) / name


def outcome(task: str, index: int) -> bool:
    """A deterministic policy: succeeds on most initial states, differently per task."""
    return (sum(map(ord, task)) + 7 * index) % 10 < 7


def planned(plan: ProtocolPlan, probe_id: str) -> dict[str, int]:
    """Episodes per task of a probe's nominal cells, in run-sheet order (what the run sheet asks for)."""
    frame = planned_episodes_frame(plan)
    frame = frame[frame["probe_id"] == probe_id]
    return {task: int(n) for task, n in frame.groupby("task_id", sort=False).size().items()}


def conformance(plan: ProtocolPlan, audit: AuditInput):
    return check_conformance(plan, [audit]).conformance


def run_seed(plan: ProtocolPlan, probe_id: str) -> int:
    return plan.probe(probe_id).run_seed


def imported(fmt: str, path: Path, plan: ProtocolPlan, probe: str, **options) -> AuditInput:
    return import_file(FORMATS[fmt], path, plan=plan, probe_id=probe, options=ImportOptions(**options))


def lerobot_tasks(plan: ProtocolPlan, probe_id: str) -> list[tuple[str, int]]:
    return [(task.split("/")[0], int(task.split("/")[1])) for task in planned(plan, probe_id)]


# ---------------------------------------------------------------------------------------------
# Following the run sheet
# ---------------------------------------------------------------------------------------------

def test_lerobot_following_the_run_sheet_matches_every_planned_episode_in_harness_order(tmp_path: Path):
    per_task = planned(PLAN, "libero")
    path = written(tmp_path, lerobot_multitask(lerobot_tasks(PLAN, "libero"), next(iter(per_task.values())),
                                               outcome))
    audit = imported("lerobot", path, PLAN, "libero", harness_version="0.6.1")
    counts = conformance(PLAN, audit)
    assert counts.matched == sum(per_task.values())  # every planned episode of the probe
    assert (counts.out_of_protocol, counts.duplicates, counts.seed_mismatches) == (0, 0, 0)
    assert audit.source.identity == "harness_order" and "0.6.1" in audit.source.identity_basis
    # Outcome k of a task is the outcome of initial state k.
    assert all(r["success"] == outcome(r["harness_task"], r["episode_index"]) for r in audit.episodes)
    assert audit.source.reported.discrepancies == []


def test_lerobot_before_0_6_1_stays_inferred_from_order(tmp_path: Path):
    path = written(tmp_path, lerobot_multitask(lerobot_tasks(PLAN, "libero"), 20, outcome))
    old = imported("lerobot", path, PLAN, "libero", harness_version="0.4.2")
    assert old.source.identity == "inferred_from_order" and old.source.identity_basis is None
    assert any("batch size" in note for note in old.source.notes)
    unknown = imported("lerobot", path, PLAN, "libero")
    assert unknown.source.identity == "inferred_from_order"
    assert any("--harness-version" in note for note in unknown.source.notes)


def test_vla_eval_results_folder_following_the_run_sheet(tmp_path: Path):
    seed = run_seed(PLAN, "libero")
    per_task = planned(PLAN, "libero")
    for suite in sorted({task.split("/")[0] for task in per_task}):
        ids = [int(t.split("/")[1]) for t in per_task if t.startswith(suite + "/")]
        config = VlaEvalConfig(subname=suite, episodes_per_task=per_task[f"{suite}/{ids[0]}"],
                               tasks=[LANGUAGE[f"{suite}/{i}"] for i in ids],
                               params={"suite": suite, "seed": seed, "num_steps_wait": 10})
        recorded, _ = vla_eval_episodes(libero_tasks(suite, ids, LANGUAGE.__getitem__), config, outcome)
        write(tmp_path / "results", vla_eval_aggregate(f"LIBEROBenchmark_{suite}", recorded, config))
    audit = imported("vla-eval", tmp_path / "results", PLAN, "libero")
    counts = conformance(PLAN, audit)
    assert counts.matched == sum(per_task.values())
    assert (counts.out_of_protocol, counts.seed_mismatches, counts.duplicates) == (0, 0, 0)
    assert audit.source.identity == "explicit" and audit.source.reported.run_seed == seed
    assert len(audit.source.files) == len({t.split("/")[0] for t in per_task})
    assert {r["harness_task"] for r in audit.episodes} <= set(LANGUAGE.values())


def test_vla_eval_libero_pro_suites_read_as_the_plans_axes(tmp_path: Path):
    seed = run_seed(PLAN, "libero-pro")
    frame = planned_episodes_frame(PLAN)
    frame = frame[frame["probe_id"] == "libero-pro"]
    suffix = {"object_position": "swap", "object_appearance": "object", "language_paraphrase": "lan",
              "new_task": "task", "environment_swap": "env"}
    for axis, cells in frame.groupby("axis"):
        for suite in sorted({t.split("/")[0] for t in cells["task_id"]}):
            ids = sorted({int(t.split("/")[1]) for t in cells["task_id"] if t.startswith(suite + "/")})
            n = int((cells["task_id"] == f"{suite}/{ids[0]}").sum())
            pro_suite = f"{suite}_{suffix[axis]}"
            config = VlaEvalConfig(benchmark="vla_eval.benchmarks.libero_pro.benchmark:LIBEROProBenchmark",
                                   subname=pro_suite, episodes_per_task=n,
                                   params={"suite": suite, "perturbation": suffix[axis], "seed": seed})
            tasks = [{"name": LANGUAGE.get(f"{suite}/{i}", "task"), "suite": pro_suite, "task_id": i} for i in ids]
            recorded, _ = vla_eval_episodes(tasks, config, outcome)
            write(tmp_path, vla_eval_aggregate(f"LIBEROProBenchmark_{pro_suite}", recorded, config))
    audit = imported("vla-eval", tmp_path, PLAN, "libero-pro")
    counts = conformance(PLAN, audit)
    assert counts.matched == len(frame) and counts.out_of_protocol == 0
    assert counts.seed_mismatches == 0


def test_vla_eval_libero_plus_variants_following_the_run_sheet(tmp_path: Path):
    classification = libero_plus_fixture()
    plan = build_plan(EvalProfile(**REFERENCE_PROFILE), seed=1234, created_at="2026-01-01T00:00:00Z",
                      libero_plus_classification=classification)
    seed = run_seed(plan, "libero-plus")
    frame = planned_episodes_frame(plan)
    frame = frame[frame["probe_id"] == "libero-plus"]
    names = {v.task_id: v for v in classification.variants}
    # One vla-eval benchmark entry per (suite, category, difficulty level): what its filters select.
    for (axis, level), rows in frame.groupby(["axis", "level"], sort=False):
        for suite in sorted({t.split("/")[0] for t in rows["task_id"]}):
            ids = sorted({int(t.split("/")[1]) for t in rows["task_id"] if t.startswith(suite + "/")})
            category = names[f"{suite}/{ids[0]}"].category
            config = VlaEvalConfig(benchmark="vla_eval.benchmarks.libero_plus.benchmark:LIBEROPlusBenchmark",
                                   subname=f"{suite}_{axis}_{level}", episodes_per_task=1,
                                   params={"suite": suite, "seed": seed, "category": category,
                                           "difficulty_level": level if isinstance(level, int) else None})
            tasks = [{"name": names[f"{suite}/{i}"].name.replace("_", " "), "suite": suite, "task_id": i,
                      "category": category, **({"difficulty_level": level} if isinstance(level, int) else {})}
                     for i in ids]
            recorded, _ = vla_eval_episodes(tasks, config, outcome)
            write(tmp_path, vla_eval_aggregate(f"LIBEROPlusBenchmark_{suite}_{axis}_{level}", recorded, config))
    audit = imported("vla-eval", tmp_path, plan, "libero-plus")
    counts = conformance(plan, audit)
    assert counts.matched == len(frame) > 0
    assert (counts.out_of_protocol, counts.seed_mismatches, counts.duplicates) == (0, 0, 0)
    assert {r["level"] for r in audit.episodes} >= set(frame["level"])


def test_lerobot_libero_plus_variants_following_the_run_sheet(tmp_path: Path):
    plan = build_plan(EvalProfile(**REFERENCE_PROFILE), seed=1234, created_at="2026-01-01T00:00:00Z",
                      libero_plus_classification=libero_plus_fixture())
    per_task = planned(plan, "libero-plus")  # one trial per variant: --env.task_ids=[...] --eval.n_episodes=1
    path = written(tmp_path, lerobot_multitask(lerobot_tasks(plan, "libero-plus"), 1, outcome))
    audit = imported("lerobot", path, plan, "libero-plus", harness_version="0.6.1")
    counts = conformance(plan, audit)
    assert counts.matched == sum(per_task.values()) > 0
    assert (counts.out_of_protocol, counts.duplicates, counts.seed_mismatches) == (0, 0, 0)
    assert audit.source.identity == "harness_order"


def test_vla_eval_simpler_env_following_the_run_sheet(tmp_path: Path):
    profile = EvalProfile(**{**REFERENCE_PROFILE, "simulator_family": "simpler", "robot_model": "widowx-250"})
    plan = build_plan(profile, seed=3, created_at="2026-01-01T00:00:00Z")
    seed = run_seed(plan, "simpler-env")
    for task, n in planned(plan, "simpler-env").items():
        # configs/benchmarks/simpler/widowx_vm.yaml: one entry per task, params.task_name.
        config = VlaEvalConfig(benchmark="vla_eval.benchmarks.simpler.benchmark:SimplerEnvBenchmark",
                               subname=task, episodes_per_task=n, params={"task_name": task, "seed": seed})
        recorded, _ = vla_eval_episodes([{"name": task, "task_name": task}], config, outcome)
        write(tmp_path, vla_eval_aggregate(f"SimplerEnvBenchmark_{task}", recorded, config))
    audit = imported("vla-eval", tmp_path, plan, "simpler-env")
    counts = conformance(plan, audit)
    assert counts.matched == counts.planned_episodes
    assert (counts.out_of_protocol, counts.seed_mismatches) == (0, 0)


# ---------------------------------------------------------------------------------------------
# Runs that do not follow the run sheet exactly
# ---------------------------------------------------------------------------------------------

def test_a_full_suite_run_is_kept_with_the_unplanned_tasks_out_of_protocol(tmp_path: Path):
    suites = sorted({task.split("/")[0] for task in planned(PLAN, "libero")})
    tasks = [(suite, i) for suite in suites for i in range(10)]
    path = written(tmp_path, lerobot_multitask(tasks, 50, outcome))  # the community protocol: every task x 50
    audit = imported("lerobot", path, PLAN, "libero", harness_version="0.6.2")
    counts = conformance(PLAN, audit)
    planned_libero = sum(planned(PLAN, "libero").values())
    assert counts.matched == planned_libero
    assert counts.out_of_protocol == len(tasks) * 50 - planned_libero
    assert any("the plan does not contain" in note for note in audit.source.notes)


def test_more_episodes_than_initial_states_are_reruns_at_their_true_state(tmp_path: Path):
    path = written(tmp_path, lerobot_multitask([("libero_spatial", 0)], 60, outcome))
    audit = imported("lerobot", path, TEST_PLAN, "libero", harness_version="0.6.1")
    indexes = [r["episode_index"] for r in audit.episodes]
    assert indexes == list(range(50)) + list(range(10))  # LeRobot cycles its 50 initial states
    assert max(indexes) < 50
    assert any("beyond the 50 initial states" in note for note in audit.source.notes)
    counts = conformance(TEST_PLAN, audit)
    # Plan: libero_spatial/0 episodes 0, 1, 2. States 3..49 are out of protocol; 50..52 re-run 0..2.
    assert (counts.matched, counts.duplicates) == (3, 3)
    assert counts.out_of_protocol == 60 - 6


def test_a_wrong_run_seed_makes_every_row_a_seed_mismatch(tmp_path: Path):
    seed = run_seed(PLAN, "libero")
    per_task = planned(PLAN, "libero")
    suite = next(iter(per_task)).split("/")[0]
    ids = [int(t.split("/")[1]) for t in per_task if t.startswith(suite + "/")]
    config = VlaEvalConfig(subname=suite, episodes_per_task=per_task[f"{suite}/{ids[0]}"],
                           params={"suite": suite, "seed": seed + 1})
    recorded, _ = vla_eval_episodes(libero_tasks(suite, ids, LANGUAGE.__getitem__), config, outcome)
    path = written(tmp_path, vla_eval_aggregate(f"LIBEROBenchmark_{suite}", recorded, config))
    audit = imported("vla-eval", path, PLAN, "libero")
    counts = conformance(PLAN, audit)
    assert counts.seed_mismatches == len(audit.episodes) and counts.matched == 0
    assert audit.source.reported.run_seed == seed + 1


def test_vla_eval_faults_partial_runs_and_reconciliation(tmp_path: Path):
    ids = [0, 3]
    config = VlaEvalConfig(subname="libero_spatial", episodes_per_task=3, max_steps=220,
                           params={"suite": "libero_spatial", "seed": 7})
    failures = {(0, 1): ("timeout", "timeout=30.0s: "), (1, 0): ("exception", "Traceback ...\nRuntimeError: MuJoCo"),
                (1, 2): ("server_unreachable", "[Errno 111] Connection refused")}
    recorded, stopped = vla_eval_episodes(libero_tasks("libero_spatial", ids, LANGUAGE.__getitem__), config,
                                          lambda task, i: i != 2, failures)
    assert stopped  # server_unreachable aborts the benchmark
    older = written(tmp_path / "old", vla_eval_older_results("LIBEROBenchmark_libero_spatial", recorded, config,
                                                             partial=True))
    audit = imported("vla-eval", older, TEST_PLAN, "libero")
    statuses = Counter((r["task_id"], r["episode_index"], r["status"]) for r in audit.episodes)
    assert statuses[("libero_spatial/0", 1, "infra_failure")] == 1  # act() timeout: infrastructure
    assert statuses[("libero_spatial/0", 2, "timeout")] == 1  # ran its 220 steps without success
    assert statuses[("libero_spatial/3", 2, "infra_failure")] == 1
    assert audit.source.reported.partial is True
    assert any("partial" in line for line in audit.source.reported.discrepancies)
    assert any("2 of 3 episodes_per_task" in line for line in audit.source.reported.discrepancies) is False
    reasons = [r.get("failure_reason") for r in audit.episodes if r["status"] == "infra_failure"]
    assert reasons[0] == "timeout: timeout=30.0s:" and reasons[-1].startswith("server_unreachable: [Errno 111]")
    aggregate = written(tmp_path / "new", vla_eval_aggregate("LIBEROBenchmark_libero_spatial", recorded, config))
    current = imported("vla-eval", aggregate, TEST_PLAN, "libero")
    assert Counter(r["status"] for r in current.episodes) == Counter(r["status"] for r in audit.episodes)
    assert current.source.reported.episodes_requested == len(recorded) == len(current.episodes)


def test_lbm_eval_read_mid_run_and_crashes_are_infrastructure(tmp_path: Path):
    skills = ["put_kiwi_in_center_of_table", "bimanual_stack_plates_on_table_from_table"]
    path = written(tmp_path, lbm_eval_results(skills, 3, outcome, finished=4,
                                              crashes={("put_kiwi_in_center_of_table", 1): grpc_crash(str(tmp_path))}))
    assert ":" in path.name  # lbm_eval's isoformat timestamp, colons and all
    audit = imported("lbm-eval", path, TEST_PLAN, "lbm")
    assert Counter(r["status"] for r in audit.episodes) == {"completed": 3, "infra_failure": 1, "pending": 2}
    assert {r["task_id"] for r in audit.episodes} == {"PutKiwiInCenterOfTable", "BimanualStackPlatesOnTableFromTable"}
    assert audit.source.reported.partial is True and audit.source.reported.discrepancies == []
    crash = next(r for r in audit.episodes if r["status"] == "infra_failure")
    assert "StatusCode.UNAVAILABLE" in crash["failure_reason"] and str(tmp_path) not in crash["failure_reason"]
    assert any(r.kind in {"home_path", "host_local_path"} for r in audit.redactions)
    counts = conformance(TEST_PLAN, audit)
    assert counts.out_of_protocol == 1  # scenario 2 of the kiwi skill was not planned


def test_maniskill_evaluator_floats_and_trajectory_seeds(tmp_path: Path):
    path = written(tmp_path / "eval", maniskill_episode_results(range(4), outcome))
    audit = imported("maniskill", path, TEST_PLAN, "maniskill")
    assert [r["success"] for r in audit.episodes] == [outcome("PickCube-v1", i) for i in range(4)]
    assert conformance(TEST_PLAN, audit).matched == 4
    trajectory = written(tmp_path / "videos", maniskill_trajectory("PickCube-v1", [0, 1, 2, 3, 4], outcome))
    traj = imported("maniskill", trajectory, TEST_PLAN, "maniskill")
    assert [r["seed"] for r in traj.episodes] == [0, 1, 2, 3, 4]
    assert {r["status"] for r in traj.episodes if not r["success"]} <= {"timeout"}  # ran out of steps
    counts = conformance(TEST_PLAN, traj)
    assert counts.out_of_protocol == 1  # episode 4 was not planned


def test_openvla_log_and_videos_are_a_weaker_grade_in_harness_order(tmp_path: Path):
    texts = [LANGUAGE[f"libero_spatial/{i}"] for i in range(10)]
    run = write(tmp_path, openvla_run("libero_spatial", texts, 3, outcome,
                                      exceptions={(3, 1): "Connection reset by peer"}))
    (log,) = (run / "experiments" / "logs").glob("EVAL-libero_spatial-openvla-*.txt")
    audit = imported("libero-log", log, TEST_PLAN, "libero")
    assert audit.source.evidence_kind == "log" and audit.source.identity == "harness_order"
    by_key = {(r["task_id"], r["episode_index"]): r for r in audit.episodes}
    assert by_key[("libero_spatial/3", 1)]["status"] == "infra_failure"
    assert by_key[("libero_spatial/0", 0)]["status"] == ("completed" if outcome("libero_spatial/0", 0) else "timeout")
    assert audit.source.reported.episodes_evaluated == 30 and audit.source.reported.discrepancies == []
    counts = conformance(TEST_PLAN, audit)
    assert counts.matched == 3 and counts.out_of_protocol == 30 - 3  # planned: 0/{0,1,2}, 3/{5,6,7}
    videos = imported("rollout-videos", run / "rollouts", TEST_PLAN, "libero")
    assert videos.source.evidence_kind == "file_names"
    assert {(r["task_id"], r["episode_index"]) for r in videos.episodes} == set(by_key)
    cut = write(tmp_path / "cut", openvla_run("libero_spatial", texts, 3, outcome, stop_after=5, prefix="INFO:root:"))
    mid = imported("libero-log", next((cut / "experiments" / "logs").iterdir()), TEST_PLAN, "libero")
    assert [r["status"] for r in mid.episodes][-1] == "pending" and len(mid.episodes) == 6


@pytest.mark.parametrize("lost", [{1, 4, 7, 10}, {1, 2, 3, 4}, {4, 5}, {10, 11, 12}],
                         ids=["first-of-every-task", "first-task-and-next-first", "second-task-first-two",
                              "last-task"])
def test_openvla_videos_keep_their_place_when_some_are_missing(tmp_path: Path, lost: set[int]):
    """Videos deleted or never written (episode=T of save_rollout_video) move no other video: each
    lands on the task and initial state the log gives for the same T."""
    texts = [LANGUAGE[f"libero_spatial/{i}"] for i in range(4)]
    files = openvla_run("libero_spatial", texts, 3, outcome)
    log = imported("libero-log", written(tmp_path / "log", {k: v for k, v in files.items() if k.endswith(".txt")}),
                   TEST_PLAN, "libero")
    place = [(r["task_id"], r["episode_index"]) for r in log.episodes]  # log order is T order
    kept = {name: text for name, text in files.items()
            if name.endswith(".mp4") and int(name.split("--episode=")[1].split("--")[0]) not in lost}
    videos = imported("rollout-videos", write(tmp_path / "run", kept) / "rollouts", TEST_PLAN, "libero")
    assert sorted((r["task_id"], r["episode_index"]) for r in videos.episodes) == sorted(
        place[t - 1] for t in range(1, 13) if t not in lost)


def test_simpler_env_video_names_carry_explicit_indexes(tmp_path: Path):
    folder = write(tmp_path / "results", simpler_env_videos("PutCarrotOnPlateInScene-v0", range(24), outcome))
    audit = imported("rollout-videos", folder, TEST_PLAN, "maniskill")
    assert audit.source.identity == "explicit" and audit.source.evidence_kind == "file_names"
    assert sorted(r["episode_index"] for r in audit.episodes) == list(range(24))
    # SimplerEnv's own name for the environment (simpler_env.ENVIRONMENT_MAP) is the task.
    assert {r["task_id"] for r in audit.episodes} == {"widowx_carrot_on_plate"}
    assert {r["harness_task"] for r in audit.episodes} == {"PutCarrotOnPlateInScene-v0"}


def test_one_importer_registry_serves_the_cli_the_probe_registry_and_the_triage():
    from worldflux_nb.core.importers import ALIASES, IMPORTERS, importer_for, sniffers

    for probe in builtin_registry().probes:
        for name in probe.harness_formats:
            assert importer_for(name) is not None, f"{probe.probe_id}: {name} names no importer"
    assert {i.name for i in sniffers(".json")} == {"lerobot", "vla-eval", "lbm-eval", "maniskill"}
    assert all(importer.failure_mapping for importer in IMPORTERS if importer.name not in ("jsonl", "csv", "parquet"))
    assert set(ALIASES.values()) <= set(FORMATS)


@pytest.mark.parametrize("fmt", ["lerobot", "vla-eval", "lbm-eval"])
def test_unplanned_tasks_never_refuse_a_file(fmt: str, tmp_path: Path):
    if fmt == "lerobot":
        path = written(tmp_path, lerobot_multitask([("libero_90", 12)], 2, outcome))
        probe = "libero"
    elif fmt == "vla-eval":
        config = VlaEvalConfig(subname="libero_goal", episodes_per_task=2, params={"suite": "libero_goal", "seed": 7})
        recorded, _ = vla_eval_episodes(libero_tasks("libero_goal", [0], lambda t: "open the middle drawer of the cabinet"),
                                        config, outcome)
        path, probe = written(tmp_path, vla_eval_aggregate("LIBEROBenchmark_libero_goal", recorded, config)), "libero"
    else:
        path, probe = written(tmp_path, lbm_eval_results(["turn_cup_upside_down"], 2, outcome)), "lbm"
    audit = imported(fmt, path, TEST_PLAN, probe)
    assert conformance(TEST_PLAN, audit).out_of_protocol == len(audit.episodes) == 2


def test_audit_verify_re_imports_files_and_results_folders(tmp_path: Path):
    from worldflux_nb.io.source_verify import verify_source

    config = VlaEvalConfig(subname="libero_spatial", episodes_per_task=3, params={"suite": "libero_spatial", "seed": 7})
    recorded, _ = vla_eval_episodes(libero_tasks("libero_spatial", [0, 3], LANGUAGE.__getitem__), config, outcome)
    folder = write(tmp_path / "results", vla_eval_aggregate("LIBEROBenchmark_libero_spatial", recorded, config))
    audit = imported("vla-eval", folder, TEST_PLAN, "libero")
    assert verify_source(audit, folder, TEST_PLAN).agrees
    videos = write(tmp_path / "sim", simpler_env_videos("PutCarrotOnPlateInScene-v0", range(5), outcome))
    from_names = imported("rollout-videos", videos, TEST_PLAN, "maniskill")
    assert verify_source(from_names, videos, TEST_PLAN).agrees
    lerobot = written(tmp_path, lerobot_multitask([("libero_spatial", 0)], 3, outcome))
    claimed = imported("lerobot", lerobot, TEST_PLAN, "libero", harness_version="0.6.1")
    assert verify_source(claimed, lerobot, TEST_PLAN).agrees
    lerobot.write_text(lerobot.read_text().replace("true", "false"))  # edited after import
    assert not verify_source(claimed, lerobot, TEST_PLAN).agrees
