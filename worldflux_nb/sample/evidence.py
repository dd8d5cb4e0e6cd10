"""Bundled sample evidence for a plan, in the harnesses' own file formats, with the imperfections real
evaluations have — so the demo exercises every part of a packet.

Deterministic: every outcome comes from a generator seeded by the plan seed. What is planted:
- `libero` as a LeRobot multi-task `eval_info.json` (identity inferred from order): one task two
  outcomes short (missing episodes), another with two outcomes beyond the plan (out of protocol);
- `libero-plus` as vla-eval `*_aggregate.json`, one run per perturbation axis and level (the file
  carries no perturbation fields): a missing episode, a re-rolled failure, an infrastructure failure
  (`server_unreachable`), a timeout and an unplanned initial state;
- the custom contract as generic JSONL with seeds and pinned metadata: a metadata drift, a seed
  mismatch, a plain re-run and a pending episode;
- other probes (`libero-pro`) as generic JSONL with one planned cell never run, plus an audit input for
  that cell imported against a draft of the plan (a plan digest mismatch).
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
from worldflux_nb.io.files import json_text, write_outputs
from worldflux_nb.models.plan import ProtocolPlan

# Success probability by probe; perturbation levels lower it a little per level.
BASE_RATE = {"libero": 0.84, "libero-plus": 0.72, "libero-pro": 0.55}
CUSTOM_RATE = 0.8


@dataclass(frozen=True)
class SampleFile:
    """One sample file and how to import it (`audit import FORMAT PATH --probe PROBE ...options`)."""

    probe_id: str
    format: str  # an importer name, or "audit_input" for a file that already is an audit input
    name: str
    content: str
    options: tuple[tuple[str, str], ...] = ()
    planted: tuple[str, ...] = ()

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
    return (rng.random(len(episodes)) < rates).tolist()


def _lerobot_multi_task(plan: ProtocolPlan, probe_id: str, episodes: pd.DataFrame,
                        rng: np.random.Generator) -> SampleFile:
    per_task, groups = [], {}
    tasks = list(dict.fromkeys(episodes["task_id"]))
    for t, task in enumerate(tasks):
        outcomes = _outcomes(rng, episodes[episodes["task_id"] == task])
        if t == 0:
            outcomes = outcomes[:-2]                 # two planned episodes never ran
        if t == 1:
            outcomes = outcomes + [True, True]       # two extra episodes beyond the plan
        group, _, index = task.partition("/")
        rewards = [1.0 if s else float(np.round(rng.uniform(0, 0.6), 3)) for s in outcomes]
        per_task.append({"task_group": group, "task_id": int(index) if index.isdigit() else index,
                         "metrics": {"sum_rewards": rewards, "max_rewards": [min(r, 1.0) for r in rewards],
                                     "successes": outcomes}})
        groups.setdefault(group, []).extend(outcomes)
    every = [s for outcomes in groups.values() for s in outcomes]
    body = {
        "per_task": per_task,
        "per_group": {g: {"pc_success": 100.0 * sum(v) / len(v), "n_episodes": len(v)}
                      for g, v in groups.items()},
        "overall": {"pc_success": 100.0 * sum(every) / len(every), "n_episodes": len(every),
                    "eval_s": float("nan"), "eval_ep_s": float("nan")},
    }
    # LeRobot writes json.dump(..., allow_nan=True): bare NaN in the aggregates is part of the format.
    return SampleFile(probe_id, "lerobot", f"{_slug(probe_id)}_eval_info.json",
                      json.dumps(body, indent=2) + "\n",
                      planted=("missing episodes", "out-of-protocol episodes", "identity inferred from order"))


def _vla_eval(plan: ProtocolPlan, probe_id: str, episodes: pd.DataFrame,
              rng: np.random.Generator) -> list[SampleFile]:
    run_seed = plan.probe(probe_id).run_seed
    runs = []
    for (axis, level), cell_rows in episodes.groupby(["axis", "level"], sort=False):
        tasks = []
        for task, rows in cell_rows.groupby("task_id", sort=False):
            suite, _, index = task.partition("/")
            eps = []
            for i, (idx, ok) in enumerate(zip(rows["episode_index"], _outcomes(rng, rows))):
                eps.append({"episode_id": i, "suite": suite, "task_id": int(index) if index.isdigit() else index,
                            "episode_idx": int(idx), "metrics": {"success": bool(ok)},
                            "steps": int(rng.integers(80, 400)),
                            "elapsed_sec": float(np.round(rng.uniform(8, 40), 2))})
            tasks.append({"task": task, "episodes": eps})
        runs.append((axis, level, tasks, cell_rows))
    # The flaws go into the run with the most planned episodes (LIBERO-plus variants run one each).
    flawed = max(range(len(runs)), key=lambda r: len(runs[r][3]), default=None)
    files = []
    for r, (axis, level, tasks, cell_rows) in enumerate(runs):
        planted = _plant_vla_eval_flaws(tasks, rows_planned=cell_rows) if r == flawed else []
        body = {"benchmark": "libero_plus", "harness_version": "0.4.1", "seed": run_seed,
                "config": {"perturbation": axis, "level": level}, "tasks": tasks}
        files.append(SampleFile(probe_id, "vla-eval", f"{_slug(probe_id)}_{_slug(axis)}_{level}_aggregate.json",
                                json_text(body), options=(("--axis", str(axis)), ("--level", str(level))),
                                planted=tuple(planted)))
    return files


def _plant_vla_eval_flaws(tasks: list[dict[str, Any]], rows_planned: pd.DataFrame) -> list[str]:
    """Plant the flaws of one vla-eval run over its variant tasks (one or more episodes each)."""
    eps = [ep for task in tasks for ep in task["episodes"]]
    if len(eps) < 4:
        return []
    planted = []
    first, timed_out, failed = eps[0], eps[1], eps[2]
    first["metrics"] = {"success": False}
    first["failure_reason"], first["failure_detail"] = (
        "server_unreachable", "policy server did not answer within 30 s")
    planted.append("infrastructure failure")
    timed_out["metrics"], timed_out["failure_reason"] = {"success": False}, "timeout"
    failed["metrics"] = {"success": False}
    owner = next(t for t in tasks if any(ep is failed for ep in t["episodes"]))
    owner["episodes"].append({**failed, "episode_id": len(owner["episodes"]),
                              "metrics": {"success": True}})
    planted.append("re-rolled failure")
    home = tasks[0]["episodes"]
    planned = set(rows_planned.loc[rows_planned["task_id"] == tasks[0]["task"], "episode_index"])
    unplanned = min(set(range(50)) - planned)
    home.append({**home[0], "episode_id": len(home), "episode_idx": unplanned,
                 "metrics": {"success": True}})
    home[-1].pop("failure_reason", None)
    home[-1].pop("failure_detail", None)
    planted.append("out-of-protocol episode")
    last = tasks[-1]["episodes"]
    if last and last[-1] is not failed and last[-1] is not first and last[-1] is not timed_out:
        last.pop()  # never ran
        planted.append("missing episode")
    return planted


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


def sample_files(plan: ProtocolPlan) -> list[SampleFile]:
    """The sample files for every selected probe of the plan (pure: nothing is written)."""
    rng = np.random.default_rng(stable_seed(plan.plan_seed, "sample-evidence"))
    frame = planned_episodes_frame(plan)
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
            files += _vla_eval(plan, probe.probe_id, episodes, rng)
        else:
            files += _generic_with_missing_cell(plan, probe.probe_id, episodes, rng)
    return files


def write_sample_evidence(plan: ProtocolPlan, directory: str | Path) -> list[SampleFile]:
    """Write the sample files into `directory` (all or nothing) and return them."""
    files = sample_files(plan)
    write_outputs({Path(directory) / f.name: f.content for f in files})
    return files
