"""Synthetic plans and harness evidence at benchmark scale, with the defects real campaigns have.

The plan is built directly from the models (the registry's real task lists cannot reach a million
episodes); evidence is written in the generic JSONL format and as vla-eval `*_aggregate.json` files.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from worldflux_nb.core.plan_cells import expand_cells
from worldflux_nb.models.digest import digest_of
from worldflux_nb.models import EvalProfile, ProtocolPlan
from worldflux_nb.models.plan import (
    AxisSelection, EpisodeRange, PlanCell, PowerTargets, SeedRule, SelectedProbe,
)
from worldflux_nb.sample.reference import REFERENCE_PROFILE_VALUES

SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000, "1M": 1_000_000, "10M": 10_000_000}
EPISODES_PER_CELL = 100
PLAN_SEED = 1234

# The reference profile, renamed for the benchmark campaign.
PROFILE = {
    **REFERENCE_PROFILE_VALUES,
    "profile_id": "bench-vla-tabletop", "policy_id": "bench_vla",
    "use_case": "benchmark-scale tabletop manipulation campaign",
    "training_exposure_caveat": ["benchmark data: no training manifest"],
    "claim_intent": "benchmark-scale tabletop manipulation evidence",
    "reviewer_next_action": "review conformance at scale",
}
PINNED = {"environment_version": "libero-local", "adapter_version": "worldflux-libero-bridge",
          "camera_config_id": "static-front-v1"}
LIBERO_SUITES = ("libero_spatial", "libero_object", "libero_goal", "libero_10")
PLUS_AXES = ("objects_layout", "camera_viewpoints", "robot_initial_states", "language_instructions",
             "light_conditions", "background_textures", "sensor_noise")


@dataclass(frozen=True)
class BenchProbe:
    """A probe's shape in the synthetic plan: its axes, seeding and share of the cells."""

    probe_id: str
    seed_mode: str
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    share: float
    run_seed: int | None = None
    harness_formats: tuple[str, ...] = field(default=())


PROBES = (
    BenchProbe("libero", "initial_state_index", (("nominal", (0,)),), 0.2,
               harness_formats=("vla_eval", "jsonl")),
    BenchProbe("libero-plus", "initial_state_index",
               tuple((axis, (1, 2, 3, 4, 5)) for axis in PLUS_AXES), 0.5,
               harness_formats=("vla_eval", "jsonl")),
    BenchProbe("simpler-env", "per_episode_seed",
               (("nominal", (0,)), ("lighting", ("dim", "bright")), ("distractors", (1, 2, 3))),
               0.3, run_seed=1000, harness_formats=("lerobot", "jsonl")),
)


def task_ids(count: int) -> list[str]:
    """LIBERO's own task ids first, then synthetic suites once the real 40 run out."""
    ids = [f"{suite}/{i}" for suite in LIBERO_SUITES for i in range(10)]
    suite = 0
    while len(ids) < count:
        ids += [f"bench_suite_{suite}/{i}" for i in range(10)]
        suite += 1
    return ids[:count]


def seed_rule(probe: BenchProbe) -> SeedRule:
    if probe.run_seed is None:
        return SeedRule(rule="none")
    rule = "run_seed_plus_index" if probe.seed_mode == "per_episode_seed" else "run_seed"
    return SeedRule(rule=rule, run_seed=probe.run_seed)  # type: ignore[arg-type]


def make_plan(episodes: int, *, episodes_per_cell: int = EPISODES_PER_CELL,
              seed: int = PLAN_SEED) -> ProtocolPlan:
    """A sealed plan of about `episodes` planned episodes spread over the three bench probes."""
    profile = EvalProfile.model_validate(PROFILE).sealed()
    total_cells = max(len(PROBES), math.ceil(episodes / episodes_per_cell))
    selected, cells = [], []
    for probe in PROBES:
        combos = [(axis, level) for axis, levels in probe.axes for level in levels]
        budget = max(1, round(total_cells * probe.share))
        tasks = task_ids(math.ceil(budget / len(combos)))
        probe_cells = [(t, a, lv) for t in tasks for a, lv in combos][:budget]
        used_tasks = sorted({t for t, _, _ in probe_cells}, key=tasks.index)
        used_axes = {a for _, a, _ in probe_cells}
        selected.append(SelectedProbe(
            probe_id=probe.probe_id, probe_version="bench-1", seed_mode=probe.seed_mode,  # type: ignore[arg-type]
            run_seed=probe.run_seed, tasks=used_tasks,
            axes=[AxisSelection(axis=a, levels=list(lv)) for a, lv in probe.axes if a in used_axes],
            pinned_metadata=dict(PINNED), harness_formats=list(probe.harness_formats),
            training_exposure=probe.probe_id.startswith("libero"),
        ))
        for task, axis, level in probe_cells:
            # Episodes 0..n-1 with seeds by rule, as the planner states them (core.planning).
            cells.append(PlanCell(
                cell_id=f"{probe.probe_id}/{task}/{axis}/{level}", probe_id=probe.probe_id,
                task_id=task, axis=axis, level=level, episodes=EpisodeRange(count=episodes_per_cell),
                seeds=seed_rule(probe)))
    plan = ProtocolPlan(
        plan_id=f"bench-{episodes}", profile=profile, profile_digest=profile.profile_digest,
        registry_version="bench-registry-1", registry_digest=digest_of({"bench": "registry"}),
        plan_seed=seed, seed_source="operator_supplied", episodes_per_cell=episodes_per_cell,
        power_targets=PowerTargets(episodes_needed_for_target=43), selected_probes=selected,
        cells=cells)
    return plan.sealed()


# Defect rates per planned episode; out-of-protocol extras are per planned episode too.
DEFECTS = {"missing": 0.03, "infra_failure": 0.01, "pending": 0.005, "timeout": 0.02,
           "rerun": 0.02, "seed_mismatch": 0.005, "metadata_mismatch": 0.005,
           "no_seed": 0.02, "no_metadata_key": 0.01, "out_of_protocol": 0.01}


def evidence_rows(plan: ProtocolPlan, probe_id: str, *, seed: int = 7) -> Iterator[dict[str, Any]]:
    """Generic evidence rows for one probe of any plan: planned episodes run once, defects mixed in."""
    rng = random.Random(f"{seed}:{probe_id}")
    probe = plan.probe(probe_id)
    pinned = dict(probe.pinned_metadata)
    differing = next(iter(pinned), None)

    def seed_for(index: int) -> int | None:
        if probe.seed_mode == "per_episode_seed":
            return (probe.run_seed or 0) + index
        return probe.run_seed if probe.seed_mode == "run_seed" else None

    for cell in plan.cells:
        if cell.probe_id != probe_id:
            continue
        rate = rng.uniform(0.2, 0.9)
        base = {"probe_id": cell.probe_id, "task_id": cell.task_id, "axis": cell.axis,
                "level": cell.level}
        expanded = expand_cells([cell])
        planned = set(expanded.episode_index.tolist())
        planned_seeds = [None if missing else s for s, missing in
                         zip(expanded.seed.tolist(), expanded.seed_missing.tolist())]
        for index, planned_s in zip(expanded.episode_index.tolist(), planned_seeds):
            if rng.random() < DEFECTS["missing"]:
                continue
            row = {**base, "episode_index": index, "seed": planned_s,
                   "success": rng.random() < rate, "status": "completed", "metadata": dict(pinned)}
            roll = rng.random()
            if roll < DEFECTS["infra_failure"]:
                row.update(status="infra_failure", success=None)
            elif roll < DEFECTS["infra_failure"] + DEFECTS["pending"]:
                row.update(status="pending", success=None)
            elif roll < DEFECTS["infra_failure"] + DEFECTS["pending"] + DEFECTS["timeout"]:
                row.update(status="timeout", success=False)
            roll = rng.random()
            if planned_s is not None and roll < DEFECTS["seed_mismatch"]:
                row["seed"] = planned_s + 100_000
            elif planned_s is not None and roll < DEFECTS["seed_mismatch"] + DEFECTS["no_seed"]:
                row["seed"] = None
            roll = rng.random()
            if differing and roll < DEFECTS["metadata_mismatch"]:
                row["metadata"] = {**pinned, differing: f"{pinned[differing]}-patched"}
            elif differing and roll < DEFECTS["metadata_mismatch"] + DEFECTS["no_metadata_key"]:
                row["metadata"] = {k: v for k, v in pinned.items() if k != differing}
            yield row
            # A re-run: failures and infra faults get another go, usually a better one.
            if (row["success"] is not True and rng.random() < 0.1) or rng.random() < DEFECTS["rerun"] / 2:
                yield {**row, "success": rng.random() < 0.8, "status": "completed"}
        # Out-of-protocol extras: unplanned indexes run anyway, and they tend to be the good ones.
        for extra in range(2 * len(planned)):
            if extra not in planned and rng.random() < DEFECTS["out_of_protocol"]:
                yield {**base, "episode_index": extra, "seed": seed_for(extra),
                       "success": rng.random() < 0.9, "status": "completed", "metadata": dict(pinned)}


FIELD_ORDER = ("probe_id", "task_id", "axis", "level", "episode_index", "seed", "success", "status",
               "metadata")
ROW_FORMAT = "{{" + ",".join(f'"{k}":{{}}' for k in FIELD_ORDER) + "}}\n"


def write_jsonl(rows: Iterator[dict[str, Any]], path: Path, *, keep: Any = None) -> int:
    """Rows written as compact JSON Lines (the bytes of `json.dumps(row, separators=(",", ":"))`),
    streamed; rows for which `keep(row)` is true are also collected in `keep.rows`."""
    count = 0
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    texts: dict[Any, str] = {}

    def text(value: Any) -> str:  # values repeat: each distinct one is encoded once
        key = (type(value), value if type(value) is not dict else tuple(value.items()))
        found = texts.get(key)
        if found is None:
            found = texts[key] = dumps(value)
        return found

    with path.open("w", encoding="utf-8") as handle:
        lines: list[str] = []
        for row in rows:
            if tuple(row) == FIELD_ORDER:  # every generated row: one format string, no per-key join
                lines.append(ROW_FORMAT.format(*(v if type(v) is int else text(v) for v in row.values())))
            else:
                lines.append("{" + ",".join(f'"{k}":{v if type(v) is int else text(v)}'
                                            for k, v in row.items()) + "}\n")
            count += 1
            if keep is not None and keep(row):
                keep.rows.append(row)
            if len(lines) >= 65536:
                handle.write("".join(lines))
                lines.clear()
        handle.write("".join(lines))
    return count


class Nominal:
    """Collects the nominal-axis rows of a probe (what a vla-eval run of it would record)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def __call__(self, row: dict[str, Any]) -> bool:
        return row["axis"] == "nominal"


def write_vla_eval(plan: ProtocolPlan, probe_id: str, rows: list[dict[str, Any]], path: Path) -> None:
    """The same rows as a vla-eval aggregate: tasks[].episodes[] with failure reasons for faults."""
    reasons = ("server_unreachable", "connection_closed", "timeout", "exception")
    tasks: dict[str, list[dict[str, Any]]] = {}
    for n, row in enumerate(rows):
        suite, _, task_number = row["task_id"].partition("/")
        # The harness names a task `suite/task_id`, which is the plan's LIBERO task id.
        episode: dict[str, Any] = {"episode_idx": row["episode_index"], "task_id": task_number,
                                   "suite": suite, "metrics": {"success": bool(row["success"])}}
        if row["status"] == "infra_failure":
            episode["failure_reason"] = reasons[n % 2]
        elif row["status"] == "timeout":
            episode["failure_reason"] = "timeout"
        tasks.setdefault(row["task_id"], []).append(episode)
    probe = plan.probe(probe_id)
    document = {"benchmark": probe_id, "seed": probe.run_seed,
                "tasks": [{"task": t, "episodes": eps} for t, eps in tasks.items()]}
    path.write_text(json.dumps(document), encoding="utf-8")


def generate(size: str, out_dir: Path) -> dict[str, Any]:
    """Write plan.json and per-probe evidence for one size; return what was written."""
    from worldflux_nb.io.artifacts import artifact_json

    out_dir.mkdir(parents=True, exist_ok=True)
    plan = make_plan(SIZES[size])
    (out_dir / "plan.json").write_text(artifact_json(plan), encoding="utf-8")
    written: dict[str, Any] = {"plan": str(out_dir / "plan.json"),
                               "planned_episodes": plan.planned_episodes, "cells": len(plan.cells),
                               "jsonl": {}, "vla_eval": {}}
    for probe in PROBES:
        name = probe.probe_id.replace(":", "_")
        jsonl = out_dir / f"{name}.jsonl"
        # vla-eval records one nominal run; its rows are the nominal axis only (up to 1M episodes:
        # beyond that one aggregate JSON document is not what a harness writes).
        nominal = Nominal() if "vla_eval" in probe.harness_formats and SIZES[size] <= 1_000_000 else None
        count = write_jsonl(evidence_rows(plan, probe.probe_id), jsonl, keep=nominal)
        written["jsonl"][probe.probe_id] = {"path": str(jsonl), "rows": count}
        if nominal is not None and nominal.rows:
            path = out_dir / f"{name}_aggregate.json"
            write_vla_eval(plan, probe.probe_id, nominal.rows, path)
            written["vla_eval"][probe.probe_id] = {"path": str(path), "rows": len(nominal.rows)}
    return written


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10k")
    parser.add_argument("--out", default="bench/data")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        print(json.dumps(generate(size, Path(args.out) / size), indent=2))


def template_inputs(episodes: int, out_dir: Path, *, per_task: int = 500) -> dict[str, Any]:
    """Inputs the template notebook can run on at scale: the reference profile, a customer contract
    with enough tasks to reach about `episodes` planned episodes, and audit inputs with defects.

    The template rebuilds the plan from the profile and contract (same seed, same SOURCE_DATE_EPOCH),
    so the audit inputs made here answer the plan it builds.
    """
    from worldflux_nb.cli import main
    from worldflux_nb.core.planning import build_plan
    from worldflux_nb.io.artifacts import artifact_json
    from worldflux_nb.sample.reference import reference_contract_data, reference_profile

    out_dir.mkdir(parents=True, exist_ok=True)
    profile = reference_profile()
    others = build_plan(profile, seed=PLAN_SEED).planned_episodes
    tasks = max(1, math.ceil((episodes - others) / per_task))
    contract = reference_contract_data() | {
        "contract_id": "bench-station", "episodes_per_task": per_task,
        "tasks": [{"task_id": f"station/item-{i:04d}", "instruction": f"pick item class {i}"}
                  for i in range(tasks)]}
    contract["task_manifest_digest"] = digest_of(contract["tasks"])
    (out_dir / "profile.json").write_text(artifact_json(profile), encoding="utf-8")
    (out_dir / "contract.json").write_text(json.dumps(contract), encoding="utf-8")
    code = main(["eval-portfolio", "plan", "--profile", str(out_dir / "profile.json"), "--seed",
                 str(PLAN_SEED), "--seed-source", "operator_supplied", "--custom-eval-contract",
                 str(out_dir / "contract.json"), "--output", str(out_dir / "plan.json")])
    assert code == 0, "bench plan for the template failed"
    from worldflux_nb import load

    plan = load(out_dir / "plan.json")
    audits = []
    for probe in plan.selected_probes:
        name = probe.probe_id.replace(":", "_")
        write_jsonl(evidence_rows(plan, probe.probe_id), out_dir / f"{name}.jsonl")
        audits.append(str(out_dir / f"audit_{name}.json"))
        code = main(["audit", "import", "jsonl", str(out_dir / f"{name}.jsonl"), "--plan",
                     str(out_dir / "plan.json"), "--probe", probe.probe_id, "--output", audits[-1]])
        assert code == 0, f"bench audit import for {probe.probe_id} failed"
    return {"profile": str(out_dir / "profile.json"), "contract": str(out_dir / "contract.json"),
            "audit_inputs": audits, "planned_episodes": plan.planned_episodes,
            "cells": len(plan.cells)}
