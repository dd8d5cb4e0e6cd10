"""Bundled sample evidence for a plan, written by the harnesses' own writers (sample.harness_files), with
the imperfections real evaluations have — so the demo shows what a team following the run sheet sees.

Deterministic: every outcome comes from a generator seeded by the plan seed. What is planted:
- `libero` as LeRobot (>= 0.6.1) multi-task `eval_info.json`, identity in the harness's own order:
  the operator ran two more episodes per task than planned (initial states beyond the plan: out of
  protocol) and left the last planned task out of the task list (missing episodes);
- `libero-plus` as vla-eval `*_aggregate.json`, one run per (category, difficulty level) as vla-eval's
  filters select them: policy failures that used up the step budget (timeouts), the model server not
  answering `act()` in time and a closed connection (infrastructure failures), a run aborted by an
  unreachable server (the rest of that run missing), an extra episode per task in one run (out of
  protocol) and a re-run of a failed episode in a second results file (a re-rolled failure);
- `libero-pro` as vla-eval `*_aggregate.json` per LIBERO-PRO suite, one perturbation never run (a
  missing cell) plus an audit input for it imported against a draft of the plan (a digest mismatch);
- the custom contract as generic JSONL with seeds and pinned metadata: a metadata drift, a seed
  mismatch, a plain re-run and a pending episode;
- any other probe as generic JSONL with one planned cell never run and its stale audit input.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from worldflux_nb.core.run_sheet import planned_episodes_frame
from worldflux_nb.core.statistics import stable_seed
from worldflux_nb.io.files import make_private_folder, write_outputs
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.sample import harness_files

# Success probability by probe; perturbation levels lower it a little per level.
BASE_RATE = {"libero": 0.84, "libero-plus": 0.72, "libero-pro": 0.55}
CUSTOM_RATE = 0.8


@dataclass(frozen=True)
class SampleFile:
    """One sample file (or a harness's results folder) and how to import it
    (`audit import FORMAT PATH --probe PROBE ...options`)."""

    probe_id: str
    format: str  # an importer name, or "audit_input" for a file that already is an audit input
    name: str
    content: str
    options: tuple[tuple[str, str], ...] = ()
    planted: tuple[str, ...] = ()
    # A results folder: its files (relative path, text); `name` is then the folder and `content` empty.
    files: tuple[tuple[str, str], ...] = ()

    def outputs(self, directory: str | Path) -> dict[Path, str]:
        """What writing this sample puts where."""
        if self.files:
            return {Path(directory) / self.name / name: text for name, text in self.files}
        return {Path(directory) / self.name: self.content}

    def import_args(self, directory: str | Path, plan_path: str | Path, output: str | Path) -> list[str]:
        """The `worldflux-nb` arguments that import this file (only for harness formats)."""
        args = ["audit", "import", self.format, str(Path(directory) / self.name), "--plan",
                str(plan_path), "--probe", self.probe_id, "--output", str(output)]
        for flag, value in self.options:
            args += [flag, value]
        return args


def _rate(probe_id: str, level: Any) -> float:
    base = CUSTOM_RATE if probe_id.startswith("custom:") else BASE_RATE.get(probe_id, 0.7)
    return max(0.15, base - 0.06 * level) if isinstance(level, int) else base


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _outcomes(rng: np.random.Generator, episodes: pd.DataFrame) -> list[bool]:
    rates = np.array([_rate(p, lv) for p, lv in zip(episodes["probe_id"], episodes["level"])])
    # A second policy's sample (sample_files(policy=..., rate_shift=...)) carries its shift as a column.
    rates = np.clip(rates + episodes.get("rate_shift", 0.0), 0.02, 0.98)
    return (rng.random(len(episodes)) < rates).tolist()


def _shift(episodes: pd.DataFrame) -> float:
    """The rate shift a second policy's sample carries on its episodes (0 for the first policy)."""
    return float(episodes["rate_shift"].iloc[0]) if "rate_shift" in episodes and len(episodes) else 0.0


def _outcome_model(rng: np.random.Generator, probe_id: str, shift: float = 0.0) -> Any:
    """A policy's outcome per (task, index), drawn once per pair so every writer sees the same policy."""
    drawn: dict[tuple[str, int], bool] = {}
    rate = float(np.clip(_rate(probe_id, None) + shift, 0.02, 0.98))

    def outcome(task: str, index: int) -> bool:
        if (task, index) not in drawn:
            drawn[(task, index)] = bool(rng.random() < rate)
        return drawn[(task, index)]

    return outcome


def _lerobot_multi_task(plan: ProtocolPlan, probe_id: str, episodes: pd.DataFrame,
                        rng: np.random.Generator) -> SampleFile:
    per_task = episodes.groupby("task_id", sort=False).size()
    tasks = [(task.split("/")[0], int(task.split("/")[1])) for task in per_task.index[:-1]]
    files = harness_files.lerobot_multitask(tasks, int(per_task.max()) + 2,
                                            _outcome_model(rng, probe_id, _shift(episodes)))
    (text,) = files.values()
    return SampleFile(probe_id, "lerobot", f"{_slug(probe_id)}_eval_info.json", text,
                      options=(("--harness-version", "0.6.1"),),
                      planted=("two episodes per task beyond the plan (out of protocol)",
                               f"task {per_task.index[-1]} left out of the run (missing episodes)",
                               "identity in LeRobot's own order (>= 0.6.1)"))


def _category(axis: str) -> str:
    """The LIBERO-plus classification's category for an axis id (`camera_viewpoints` -> `Camera Viewpoints`)."""
    return " ".join(word.capitalize() for word in axis.split("_"))


def _level_value(level: Any) -> Any:
    return level if isinstance(level, int) else None  # vla-eval drops a null difficulty_level


def _vla_eval_libero_plus(plan: ProtocolPlan, probe_id: str, episodes: pd.DataFrame,
                          rng: np.random.Generator) -> list[SampleFile]:
    """A vla-eval results folder: one benchmark entry per (suite, category, difficulty level), as
    vla-eval's LIBERO-plus filters select the plan's variants, and a second folder re-running one."""
    seed = plan.probe(probe_id).run_seed
    outcome = _outcome_model(rng, probe_id, _shift(episodes))
    results: dict[str, str] = {}
    planted: list[str] = ["policy failures that used up the step budget (timeouts)"]
    rerun: dict[str, str] = {}
    for g, ((axis, level), rows) in enumerate(episodes.groupby(["axis", "level"], sort=False)):
        per_task = rows.groupby("task_id", sort=False).size()
        for suite in sorted({task.split("/")[0] for task in per_task.index}):
            ids = [int(t.split("/")[1]) for t in per_task.index if t.startswith(suite + "/")]
            n = int(per_task[f"{suite}/{ids[0]}"])
            config = harness_files.VlaEvalConfig(
                benchmark="vla_eval.benchmarks.libero_plus.benchmark:LIBEROPlusBenchmark",
                subname=f"{suite}_{axis}_{level}", episodes_per_task=n + (1 if g == 1 else 0), max_steps=220,
                params={"suite": suite, "seed": seed, "category": _category(axis),
                        "difficulty_level": _level_value(level)})
            tasks = [{"name": _instruction(plan, probe_id, f"{suite}/{i}"), "suite": suite, "task_id": i,
                      "category": _category(axis), **({"difficulty_level": level} if isinstance(level, int) else {})}
                     for i in ids]
            failures: harness_files.Failures = {}
            work = [(t, e) for t in range(len(ids)) for e in range(n)]  # the orchestrator's work items
            if g == 0 and not results and len(work) > 1:
                failures = {work[0]: ("timeout", "timeout=30.0s: model server did not answer act()"),
                            work[1]: ("connection_closed", "code=1011 reason=keepalive ping timeout")}
                planted += ["the model server not answering act() in time (infrastructure)",
                            "a closed connection (infrastructure)"]
            elif g >= 2 and len(work) > 2 and not any("aborted" in p for p in planted):
                failures = {work[len(work) // 2]: ("server_unreachable", "[Errno 111] Connection refused")}
                planted.append("a run aborted by an unreachable server (its remaining episodes missing)")
            elif g == 1 and not any("beyond" in p for p in planted):
                planted.append("one episode per task beyond the plan in one run (out of protocol)")
            recorded, _ = harness_files.vla_eval_episodes(tasks, config, outcome, failures)
            safe = f"LIBEROPlusBenchmark_{suite}_{axis}_{level}"
            results.update(harness_files.vla_eval_aggregate(safe, recorded, config))
            failed = next(((name, row) for name, row in recorded
                           if not row["metrics"]["success"] and not row.get("failure_reason")), None)
            if not rerun and failed is not None:
                again = [(failed[0], {**failed[1], "sid": "s-91be", "eid": "e00001", "metrics": {"success": True},
                                      "steps": 131, "elapsed_sec": 14.41})]
                rerun = harness_files.vla_eval_aggregate(
                    safe, again, harness_files.VlaEvalConfig(**{**config.__dict__, "episodes_per_task": 1}),
                    eval_id="51d2c7aa-0e3f-4b8c-a1d9-77e3f0c2b6a4")
    name = f"{_slug(probe_id)}_vla_eval_results"
    files = [SampleFile(probe_id, "vla-eval", name, "", planted=tuple(planted), files=tuple(results.items()))]
    if rerun:
        files.append(SampleFile(probe_id, "vla-eval", f"{name}_rerun", "", files=tuple(rerun.items()),
                                planted=("a failed episode re-run until it succeeded (a re-rolled failure)",)))
    return files


def _vla_eval_libero_pro(plan: ProtocolPlan, probe_id: str, episodes: pd.DataFrame,
                         rng: np.random.Generator) -> list[SampleFile]:
    """A vla-eval results folder, one benchmark entry per LIBERO-PRO suite; one perturbation never run."""
    from worldflux_nb.core.importers.vla_eval import PRO_AXES

    seed = plan.probe(probe_id).run_seed
    outcome = _outcome_model(rng, probe_id, _shift(episodes))
    suffix = {axis: name for name, axis in PRO_AXES.items()}
    skipped_axis = episodes["axis"].iloc[-1]
    results: dict[str, str] = {}
    for axis, rows in episodes[episodes["axis"] != skipped_axis].groupby("axis", sort=False):
        per_task = rows.groupby("task_id", sort=False).size()
        for suite in sorted({task.split("/")[0] for task in per_task.index}):
            ids = [int(t.split("/")[1]) for t in per_task.index if t.startswith(suite + "/")]
            pro_suite = f"{suite}_{suffix.get(axis, axis)}"
            config = harness_files.VlaEvalConfig(
                benchmark="vla_eval.benchmarks.libero_pro.benchmark:LIBEROProBenchmark", subname=pro_suite,
                episodes_per_task=int(per_task[f"{suite}/{ids[0]}"]), max_steps=220,
                params={"suite": suite, "perturbation": suffix.get(axis, axis), "seed": seed})
            tasks = [{"name": _instruction(plan, probe_id, f"{suite}/{i}"), "suite": pro_suite, "task_id": i}
                     for i in ids]
            recorded, _ = harness_files.vla_eval_episodes(tasks, config, outcome)
            results.update(harness_files.vla_eval_aggregate(f"LIBEROProBenchmark_{pro_suite}", recorded, config))
    stale = episodes[episodes["cell_id"] == episodes["cell_id"].iloc[-1]]
    return [SampleFile(probe_id, "vla-eval", f"{_slug(probe_id)}_vla_eval_results", "",
                       planted=(f"perturbation {skipped_axis} never run (missing cells)",),
                       files=tuple(results.items())),
            _stale_audit_input(plan, probe_id, _jsonl_rows(plan, probe_id, stale, rng))]


def _instruction(plan: ProtocolPlan, probe_id: str, task_id: str) -> str:
    """The language the harness records as the task's name (LIBERO's instruction)."""
    from worldflux_nb.core.registry import builtin_registry

    for probe in builtin_registry().probes:
        for task in probe.tasks:
            if probe.probe_id == probe_id and task.task_id == task_id and task.instruction:
                return task.instruction
    return task_id


def _jsonl_rows(plan: ProtocolPlan, probe_id: str, episodes: pd.DataFrame,
                rng: np.random.Generator) -> list[dict[str, Any]]:
    pins = plan.probe(probe_id).pinned_metadata
    rows = []
    for rec, ok in zip(episodes.to_dict("records"), _outcomes(rng, episodes)):
        seed = None if pd.isna(rec["seed"]) else int(rec["seed"])
        rows.append({"probe_id": probe_id, "task_id": rec["task_id"], "axis": rec["axis"],
                     "level": rec["level"], "episode_index": int(rec["episode_index"]), "seed": seed,
                     "success": bool(ok), "status": "completed", "metadata": dict(pins)})
    return rows


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)


def _custom(plan: ProtocolPlan, probe_id: str, episodes: pd.DataFrame,
            rng: np.random.Generator) -> SampleFile:
    rows = _jsonl_rows(plan, probe_id, episodes, rng)
    drift_key = next((k for k in ("fixture_version", "environment_version") if k in rows[0]["metadata"]),
                     next(iter(rows[0]["metadata"]), None))
    planted = []
    if drift_key is not None:
        rows[1]["metadata"] = {**rows[1]["metadata"], drift_key: f"{rows[1]['metadata'][drift_key]}-drift"}
        planted.append("metadata drift")
    if rows[2]["seed"] is not None:
        rows[2]["seed"] += 7
        planted.append("seed mismatch")
    rows.append({**rows[4], "success": not rows[4]["success"]})
    planted.append("re-run")
    rows[5] = {**rows[5], "success": None, "status": "pending"}
    planted.append("pending episode")
    return SampleFile(probe_id, "jsonl", f"{_slug(probe_id)}_episodes.jsonl", _jsonl(rows),
                      planted=tuple(planted))


def _generic_with_missing_cell(plan: ProtocolPlan, probe_id: str, episodes: pd.DataFrame,
                               rng: np.random.Generator) -> list[SampleFile]:
    rows = _jsonl_rows(plan, probe_id, episodes, rng)
    skipped = episodes["cell_id"].iloc[-1]
    kept = [r for r, cell in zip(rows, episodes["cell_id"]) if cell != skipped]
    stale = [r for r, cell in zip(rows, episodes["cell_id"]) if cell == skipped]
    files = [SampleFile(probe_id, "jsonl", f"{_slug(probe_id)}_episodes.jsonl", _jsonl(kept),
                        planted=(f"missing cell {skipped}",))]
    files.append(_stale_audit_input(plan, probe_id, stale))
    return files


def _stale_audit_input(plan: ProtocolPlan, probe_id: str, rows: list[dict[str, Any]]) -> SampleFile:
    """The skipped cell's episodes, imported against a draft of the plan (another seed)."""
    from worldflux_nb.core.planning import build_plan
    from worldflux_nb.io.artifacts import artifact_json
    from worldflux_nb.models.evidence import AuditInput, AuditSource

    draft = build_plan(plan.profile, seed=plan.plan_seed + 1, seed_source=plan.seed_source,
                       contracts=plan.custom_contracts, episodes_per_cell=plan.episodes_per_cell,
                       created_at=plan.created_at)
    audit = AuditInput(
        plan_digest=draft.plan_digest, probe_id=probe_id, episodes=rows,
        source=AuditSource(importer="generic", format_version="generic JSONL", identity="explicit",
                           notes=["imported against a draft plan before the plan was frozen"]),
        created_at=plan.created_at,
    ).sealed()
    return SampleFile(probe_id, "audit_input", f"{_slug(probe_id)}_audit_draft_plan.json",
                      artifact_json(audit), planted=("plan digest mismatch",))


def sample_files(plan: ProtocolPlan, *, policy: str | None = None,
                 rate_shift: float = 0.0) -> list[SampleFile]:
    """The sample files for every selected probe of the plan (pure: nothing is written).

    `policy` and `rate_shift` make another policy's evidence on the same plan (its own outcomes,
    success rates shifted by `rate_shift`, the same planted imperfections), for comparisons.
    """
    parts = (plan.plan_seed, "sample-evidence") + ((policy,) if policy else ())
    rng = np.random.default_rng(stable_seed(*parts))
    frame = planned_episodes_frame(plan)
    if rate_shift:
        frame["rate_shift"] = rate_shift
    files: list[SampleFile] = []
    for probe in plan.selected_probes:
        episodes = frame[frame["probe_id"] == probe.probe_id].reset_index(drop=True)
        one_cell_per_task = not episodes.duplicated(["task_id"]).any() or \
            episodes.groupby("task_id")[["axis", "level"]].nunique().max().max() == 1
        if probe.probe_id.startswith("custom:"):
            files.append(_custom(plan, probe.probe_id, episodes, rng))
        elif probe.probe_id == "libero" and one_cell_per_task:
            files.append(_lerobot_multi_task(plan, probe.probe_id, episodes, rng))
        elif probe.probe_id == "libero-plus":
            files += _vla_eval_libero_plus(plan, probe.probe_id, episodes, rng)
        elif probe.probe_id == "libero-pro":
            files += _vla_eval_libero_pro(plan, probe.probe_id, episodes, rng)
        else:
            files += _generic_with_missing_cell(plan, probe.probe_id, episodes, rng)
    return files


def write_sample_evidence(plan: ProtocolPlan, directory: str | Path, *, policy: str | None = None,
                          rate_shift: float = 0.0) -> list[SampleFile]:
    """Write the sample files into `directory` (all or nothing) and return them."""
    files = sample_files(plan, policy=policy, rate_shift=rate_shift)
    outputs = {path: text for f in files for path, text in f.outputs(directory).items()}
    for folder in sorted({path.parent for path in outputs} - {Path(directory)}):
        make_private_folder(folder)  # a results folder, as the harness leaves it (owner-only)
    write_outputs(outputs)
    return files
