"""Per probe, the exact invocation of each harness that can run its planned episodes.

Every option and config key used below is one the harness's own code defines, at the commit named
in HARNESSES (read there, never copied):
- LeRobot `lerobot-eval` (huggingface/lerobot@7427f31801f944f5ec9ce53cda02862ce7d1638b):
  `src/lerobot/configs/eval.py` EvalPipelineConfig (`seed`, default 1000; `output_dir`; `policy`),
  `src/lerobot/configs/default.py` EvalConfig (`n_episodes`, `batch_size`),
  `src/lerobot/envs/configs.py` LiberoEnv / `libero_plus` (`task`, `task_ids`, `init_states`).
  `src/lerobot/envs/libero.py` LiberoEnv ties sub-env j to initial state j and advances it by the
  batch size on each reset, and `scripts/lerobot_eval.py` eval_policy seeds episode i with
  `seed + i`: with `--eval.batch_size=1` episode i of a task is initial state i.
- vla-eval (allenai/vla-evaluation-harness@e1ee9adf64396e155eb10ae1dd3f5dbf9a12d26c):
  `vla-eval run --config` (`src/vla_eval/cli/main.py`); config keys from `src/vla_eval/config.py`
  EvalConfig.from_dict (`benchmark`, `subname`, `episodes_per_task`, `tasks`, `params`) and the
  top level (`server.url`, `output_dir`); `src/vla_eval/orchestrator.py` runs episode `ep` of a task
  as `episode_idx = ep` for ep in range(episodes_per_task) and filters `tasks` by task name
  (the instruction) or suite; `results/collector.py` promotes `params.seed` to the aggregate's
  top-level `seed`. Benchmark params: LIBEROBenchmark (`suite`, `seed`), LIBEROPlusBenchmark
  (`category`, `difficulty_level`), LIBEROProBenchmark (`perturbation`: swap, object, lan, task,
  env), SimplerEnvBenchmark (`task_name`, `seed`).
lbm_eval and ManiSkill run no probe of the built-in registry; custom contracts name their own
harness, so their episodes are stated as seeds (`run_seed + episode_index`) in generic evidence.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Sequence

from worldflux_nb.core.registry import (
    LIBERO_PLUS_CATEGORIES, LIBERO_PLUS_UNRATED, LIBERO_SUITES, libero_instruction, suite_of,
)
from worldflux_nb.models.plan import (
    EpisodeRange, HarnessInvocation, PlanCell, ProtocolPlan, SelectedProbe,
)

LEROBOT = "huggingface/lerobot@7427f31801f944f5ec9ce53cda02862ce7d1638b"
VLA_EVAL = "allenai/vla-evaluation-harness@e1ee9adf64396e155eb10ae1dd3f5dbf9a12d26c"

# The options and config keys each harness's code defines (file: names), at the commit above.
# Tests check every invocation uses only these; the citation is where each was read.
HARNESS_FLAGS: dict[str, dict[str, tuple[str, ...]]] = {
    "lerobot-eval": {
        "src/lerobot/configs/eval.py": ("--seed", "--output_dir", "--policy.path"),
        "src/lerobot/configs/default.py": ("--eval.n_episodes", "--eval.batch_size"),
        "src/lerobot/envs/configs.py": ("--env.type", "--env.task", "--env.task_ids",
                                        "--env.init_states"),
    },
    "vla-eval": {
        "src/vla_eval/cli/main.py": ("run", "--config"),
        "src/vla_eval/config.py": ("server.url", "output_dir", "benchmarks", "benchmark",
                                   "subname", "episodes_per_task", "tasks", "params"),
        "src/vla_eval/benchmarks/libero/benchmark.py": ("params.suite", "params.seed"),
        "src/vla_eval/benchmarks/libero_plus/benchmark.py": ("params.category",
                                                             "params.difficulty_level"),
        "src/vla_eval/benchmarks/libero_pro/benchmark.py": ("params.perturbation",),
        "src/vla_eval/benchmarks/simpler/benchmark.py": ("params.task_name",),
    },
}
HARNESS_COMMITS = {"lerobot-eval": LEROBOT, "vla-eval": VLA_EVAL}

# LIBERO-PRO axis -> vla-eval LIBEROProBenchmark perturbation name (its _PERTURBATION_ALIASES).
LIBERO_PRO_PERTURBATIONS = {"object_appearance": "object", "object_position": "swap",
                            "language_paraphrase": "lan", "new_task": "task",
                            "environment_swap": "env"}
PLUS_CATEGORY_NAMES = {axis: name for name, axis in LIBERO_PLUS_CATEGORIES.items()}
_BENCHMARKS = {
    "libero": "vla_eval.benchmarks.libero.benchmark:LIBEROBenchmark",
    "libero-plus": "vla_eval.benchmarks.libero_plus.benchmark:LIBEROPlusBenchmark",
    "libero-pro": "vla_eval.benchmarks.libero_pro.benchmark:LIBEROProBenchmark",
    "simpler-env": "vla_eval.benchmarks.simpler.benchmark:SimplerEnvBenchmark",
}
_POLICY = "YOUR_POLICY"
_SERVER = "ws://localhost:8000"


@dataclass(frozen=True)
class ProbeCells:
    """One probe's cells that a harness can run: each states its episodes as 0..n-1."""

    probe: SelectedProbe
    cells: list[PlanCell]

    @property
    def episodes(self) -> int:
        return sum(c.episode_count for c in self.cells)


def _from_zero(cell: PlanCell) -> bool:
    """Episodes 0..n-1: what a harness runs when told n episodes (initial states or seed offsets)."""
    return isinstance(cell.episodes, EpisodeRange) and cell.episodes.start == 0


def invocations_for(plan: ProtocolPlan) -> tuple[list[HarnessInvocation], list[str]]:
    """Every harness invocation for the plan's probes, and one line per probe no harness can run as planned."""
    by_probe: dict[str, list[PlanCell]] = {}
    for cell in plan.cells:
        by_probe.setdefault(cell.probe_id, []).append(cell)
    out: list[HarnessInvocation] = []
    gaps: list[str] = []
    for probe in plan.selected_probes:
        cells = by_probe.get(probe.probe_id, [])
        group = ProbeCells(probe, [c for c in cells if _from_zero(c)])
        builders = _BUILDERS.get(probe.probe_id, ())
        made: list[HarnessInvocation] = []
        for builder in builders:
            made += builder(group)
        covered = {"lerobot-eval": 0, "vla-eval": 0}
        for invocation in made:
            covered[invocation.harness] += invocation.episodes
        stray = sum(c.episode_count for c in cells if not _from_zero(c))
        if builders and stray:
            gaps.append(f"{probe.probe_id}: {stray} planned episodes are not episodes 0..n-1 of "
                        "their cell, which no harness can be told to run; no invocation covers them")
        uncovered = sum(c.episode_count for c in cells) - stray - max(covered.values(), default=0)
        if not builders:
            gaps.append(f"{probe.probe_id}: no built-in harness runs this probe; seed episode i with "
                        f"run seed {probe.run_seed} + i and record the rows as generic evidence "
                        "(audit import jsonl)" if probe.seed_mode == "per_episode_seed" else
                        f"{probe.probe_id}: no built-in harness invocation; record generic evidence")
        elif uncovered > 0:
            gaps.append(f"{probe.probe_id}: {uncovered} planned episodes have no harness invocation "
                        "(see the notes of this probe's invocations)")
        out += made
    return out, gaps


def _suites(cells: Sequence[PlanCell]) -> dict[str, list[PlanCell]]:
    suites: dict[str, list[PlanCell]] = {}
    for cell in cells:
        suites.setdefault(suite_of(cell.task_id), []).append(cell)
    return suites


def _task_index(task_id: str) -> int:
    return int(task_id.split("/", 1)[1])


def _per_task_count(cells: Sequence[PlanCell]) -> int | None:
    """The one episode count every cell shares, or None (a harness takes one count per run)."""
    counts = {c.episode_count for c in cells}
    return counts.pop() if len(counts) == 1 else None


def _records_lerobot(probe: SelectedProbe) -> tuple[dict[str, str], list[str]]:
    return ({"episode_index": "eval_info.json per_task[].metrics.successes[k] is initial state k "
                              "(LeRobot >= 0.6.1; say so with audit import --harness-version)",
             "run_seed": "not written to eval_info.json (multi-task layout): keep the command line"},
            sorted(probe.pinned_metadata))


def _records_vla_eval(probe: SelectedProbe) -> tuple[dict[str, str], list[str]]:
    return ({"episode_index": "*_aggregate.json tasks[].episodes[].episode_idx",
             "run_seed": "*_aggregate.json top-level seed (from params.seed)",
             "task": "tasks[].episodes[].task_id and suite"},
            sorted(probe.pinned_metadata))


def _lerobot_command(env_type: str, suites: Sequence[str], task_ids: Sequence[int] | None,
                     n: int, run_seed: int, output_dir: str) -> str:
    parts = ["lerobot-eval", f"--policy.path={_POLICY}", f"--env.type={env_type}",
             f"--env.task={','.join(suites)}"]
    if task_ids is not None:
        parts.append(f"--env.task_ids=[{','.join(str(i) for i in task_ids)}]")
    parts += ["--env.init_states=true", f"--eval.n_episodes={n}", "--eval.batch_size=1",
              f"--seed={run_seed}", f"--output_dir={output_dir}"]
    return " \\\n    ".join(shlex.quote(part) for part in parts)


_LEROBOT_FLAGS = ["--policy.path", "--env.type", "--env.task", "--env.task_ids",
                  "--env.init_states", "--eval.n_episodes", "--eval.batch_size", "--seed",
                  "--output_dir"]


def _lerobot(env_type: str):
    def build(group: ProbeCells) -> list[HarnessInvocation]:
        probe = group.probe
        records, not_recorded = _records_lerobot(probe)
        out = []
        for suite, cells in _suites(group.cells).items():
            n = _per_task_count(cells)
            if n is None or suite not in LIBERO_SUITES:
                continue
            ids = sorted({_task_index(c.task_id) for c in cells})
            whole = env_type == "libero" and len(ids) == len(LIBERO_SUITES[suite])
            text = _lerobot_command(env_type, [suite], None if whole else ids, n,
                                    probe.run_seed or 0, f"outputs/{probe.probe_id}/{suite}")
            out.append(HarnessInvocation(
                probe_id=probe.probe_id, harness="lerobot-eval", harness_commit=LEROBOT,
                kind="command", text=text, flags=[f for f in _LEROBOT_FLAGS
                                                  if f != "--env.task_ids" or not whole],
                episodes=sum(c.episode_count for c in cells), records=records,
                not_recorded=not_recorded,
                notes=[f"runs {len(ids)} task(s) of {suite} x initial states 0..{n - 1}; "
                       "from LeRobot 0.6.1 on, episode k is initial state k (earlier versions "
                       "skipped states on reset: use 0.6.1 or later)",
                       f"writes outputs/{probe.probe_id}/{suite}/eval_info.json; import with "
                       f"audit import lerobot outputs/{probe.probe_id}/{suite}/eval_info.json "
                       f"--probe {probe.probe_id} --harness-version <the LeRobot version you ran>"]))
        return out
    return build


def _vla_eval_config(entries: list[dict], output_dir: str) -> str:
    """A vla-eval config as YAML (JSON is valid YAML; keys as config.py reads them)."""
    config = {"server": {"url": _SERVER}, "output_dir": output_dir, "benchmarks": entries}
    return "# vla-eval run --config <this file>\n" + json.dumps(config, indent=2) + "\n"


def _vla_eval_invocation(group: ProbeCells, entries: list[dict], episodes: int,
                         notes: list[str]) -> HarnessInvocation:
    probe = group.probe
    records, not_recorded = _records_vla_eval(probe)
    file_name = f"vla_eval_{probe.probe_id.replace(':', '_')}.yaml"
    used = {"benchmarks", "benchmark", "subname", "episodes_per_task", "params", "server.url",
            "output_dir"}
    used |= {f"params.{k}" for e in entries for k in e["params"]}
    used |= {"tasks"} if any("tasks" in e for e in entries) else set()
    return HarnessInvocation(
        probe_id=probe.probe_id, harness="vla-eval", harness_commit=VLA_EVAL, kind="config",
        file_name=file_name, text=_vla_eval_config(entries, f"./results/{probe.probe_id}"),
        run_with=f"vla-eval run --config {file_name}", flags=["run", "--config", *sorted(used)],
        episodes=episodes, records=records, not_recorded=not_recorded, notes=notes)


def _vla_eval_libero(group: ProbeCells) -> list[HarnessInvocation]:
    probe = group.probe
    instructions = {f"{suite}/{i}": libero_instruction(name)
                    for suite, names in LIBERO_SUITES.items() for i, name in enumerate(names)}
    entries, episodes = [], 0
    for suite, cells in _suites(group.cells).items():
        n = _per_task_count(cells)
        if n is None or any(c.task_id not in instructions for c in cells):
            continue
        entry = {"benchmark": _BENCHMARKS["libero"], "subname": suite, "episodes_per_task": n,
                 "params": {"suite": suite, "seed": probe.run_seed}}
        if len(cells) < len(LIBERO_SUITES[suite]):
            entry["tasks"] = [instructions[c.task_id] for c in cells]  # filtered by task name
        entries.append(entry)
        episodes += sum(c.episode_count for c in cells)
    return [_vla_eval_invocation(group, entries, episodes, [
        "episode_idx ep runs initial state ep for ep in range(episodes_per_task)"])] if entries else []


def _vla_eval_libero_plus(group: ProbeCells) -> list[HarnessInvocation]:
    probe = group.probe
    entries, episodes = [], 0
    for suite, cells in _suites(group.cells).items():
        n = _per_task_count(cells)
        if n is None or suite not in LIBERO_SUITES:
            continue
        groups: dict[tuple[str, object], list[PlanCell]] = {}
        for cell in cells:
            groups.setdefault((cell.axis, cell.level), []).append(cell)
        for (axis, level), members in groups.items():
            if level == LIBERO_PLUS_UNRATED or axis not in PLUS_CATEGORY_NAMES:
                continue  # vla-eval cannot filter on a null level: run by the whole-suite entry
            entries.append({"benchmark": _BENCHMARKS["libero-plus"],
                            "subname": f"libero_plus_{suite}_{axis}_{level}",
                            "episodes_per_task": n,
                            "params": {"suite": suite, "seed": probe.run_seed,
                                       "category": PLUS_CATEGORY_NAMES[axis],
                                       "difficulty_level": level}})
            episodes += sum(c.episode_count for c in members)
    notes = ["each entry runs every variant of one (suite, category, difficulty level) group, "
             "task_id = the variant's index in the suite"]
    if any(c.level == LIBERO_PLUS_UNRATED for c in group.cells):
        notes.append("variants with no difficulty level are not selected by any entry "
                     "(vla-eval filters on the level); run them with the LeRobot command")
    return [_vla_eval_invocation(group, entries, episodes, notes)] if entries else []


def _vla_eval_libero_pro(group: ProbeCells) -> list[HarnessInvocation]:
    probe = group.probe
    entries, episodes, skipped = [], 0, 0
    for suite, cells in _suites(group.cells).items():
        by_axis: dict[str, list[PlanCell]] = {}
        for cell in cells:
            by_axis.setdefault(cell.axis, []).append(cell)
        for axis, members in by_axis.items():
            n = _per_task_count(members)
            if (n is None or suite not in LIBERO_SUITES or axis not in LIBERO_PRO_PERTURBATIONS
                    or len(members) < len(LIBERO_SUITES[suite])):
                skipped += sum(c.episode_count for c in members)
                continue  # a perturbed suite cannot be filtered to some tasks by name
            entries.append({"benchmark": _BENCHMARKS["libero-pro"],
                            "subname": f"libero_pro_{suite}_{axis}", "episodes_per_task": n,
                            "params": {"suite": suite, "perturbation": LIBERO_PRO_PERTURBATIONS[axis],
                                       "seed": probe.run_seed}})
            episodes += sum(c.episode_count for c in members)
    notes = ["LIBERO-PRO's perturbation suites <suite>_<perturbation> need its pre-generated BDDL "
             "and init files (perturbation.py); task i of the perturbed suite is read as task i "
             "of the base suite"]
    if skipped:
        notes.append(f"{skipped} planned episodes sit in cells that are not a whole suite: "
                     "vla-eval cannot run some tasks of a perturbed suite (its task names change "
                     "under the language and task perturbations)")
    return [_vla_eval_invocation(group, entries, episodes, notes)] if entries else []


def _vla_eval_simpler(group: ProbeCells) -> list[HarnessInvocation]:
    probe = group.probe
    entries, episodes, skipped = [], 0, 0
    for cell in group.cells:
        if cell.axis != "nominal":
            skipped += cell.episode_count
            continue
        entries.append({"benchmark": _BENCHMARKS["simpler-env"], "subname": cell.task_id,
                        "episodes_per_task": cell.episode_count,
                        "params": {"task_name": cell.task_id, "seed": probe.run_seed}})
        episodes += cell.episode_count
    notes = ["SimplerEnv's own evaluator writes no structured results; vla-eval does"]
    if skipped:
        notes.append(f"{skipped} perturbed episodes have no invocation: vla-eval names SimplerEnv "
                     "scene variants only in its per-variant configs (google_robot_*_va.yaml)")
    return [_vla_eval_invocation(group, entries, episodes, notes)] if entries else []


_BUILDERS = {
    "libero": (_lerobot("libero"), _vla_eval_libero),
    "libero-plus": (_lerobot("libero_plus"), _vla_eval_libero_plus),
    "libero-pro": (_vla_eval_libero_pro,),
    "simpler-env": (_vla_eval_simpler,),
}
