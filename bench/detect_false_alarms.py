"""How often the detectors raise a finding on clean evidence (run by hand; prints a table).

Each replicate is an honest campaign: cells of different difficulty, outcomes drawn at the cell's
rate, and under the null of each test the nuisance it looks at planted at random — episodes
missing at random, infrastructure failures at the plan's declared base rate, rows without a seed
at random, missing episodes anywhere in the run order. A valid test raises its finding in at most
DETECTION_ALPHA of the replicates; the table shows the observed rate and its ratio to that level,
and, for contrast, how often the same finding is raised when the matching manipulation is planted.

    .venv/bin/python bench/detect_false_alarms.py [--replicates 300] [--cells 12] [--episodes 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from worldflux_nb.core.conformance import check_conformance
from worldflux_nb.core.detect_campaign import campaign_findings
from worldflux_nb.core.detect_outcome import outcome_findings
from worldflux_nb.core.exact_tests import DETECTION_ALPHA
from worldflux_nb.models.evidence import AuditInput, AuditSource
from worldflux_nb.models.plan import AxisSelection, PlanCell, PowerTargets, ProtocolPlan, SelectedProbe
from worldflux_nb.models.profile import EvalProfile
from worldflux_nb.sample.reference import REFERENCE_PROFILE_VALUES

RUN_SEED = 100
BASE_RATE = 0.03
KINDS = ("missing_tracks_outcome", "infra_tracks_outcome", "pending_tracks_outcome",
         "unverified_succeed_more", "early_stopping", "infra_above_base_rate", "another_run")


def make_plan(cells: int, episodes: int) -> ProtocolPlan:
    profile = EvalProfile(**REFERENCE_PROFILE_VALUES).sealed()
    tasks = [f"suite/{i}" for i in range(cells)]
    plan_cells = [PlanCell(cell_id=f"p:{t}:nominal:0", probe_id="p", task_id=t, axis="nominal", level=0,
                           episodes=list(range(episodes)), seeds=[RUN_SEED + i for i in range(episodes)])
                  for t in tasks]
    probe = SelectedProbe(probe_id="p", probe_version="1", seed_mode="per_episode_seed", run_seed=RUN_SEED,
                          tasks=tasks, axes=[AxisSelection(axis="nominal", levels=[0])])
    return ProtocolPlan(
        plan_id="bench", profile=profile, profile_digest=profile.profile_digest, registry_version="b",
        registry_digest="sha256:" + "4" * 64, plan_seed=5, seed_source="operator_supplied",
        episodes_per_cell=episodes, infra_base_rate=BASE_RATE,
        power_targets=PowerTargets(episodes_needed_for_target=episodes), selected_probes=[probe],
        cells=plan_cells).sealed()


def campaign(plan: ProtocolPlan, rng: np.random.Generator, manipulate: str | None) -> AuditInput:
    rows = []
    for cell in plan.cells:
        n = cell.episode_count
        p = rng.uniform(0.15, 0.9)
        success = rng.random(n) < p
        keep = rng.random(n) >= 0.08                      # honest losses, at random
        infra = rng.random(n) < BASE_RATE                  # honest harness faults at the base rate
        unverified = rng.random(n) < 0.1                   # rows whose seed was not recorded
        if manipulate == "missing_tracks_outcome" and p < 0.5:
            keep &= success | (rng.random(n) < 0.4)        # failures dropped in hard cells
        if manipulate == "infra_tracks_outcome" and p < 0.5:
            infra |= ~success & (rng.random(n) < 0.6)      # failures relabelled infrastructure
        if manipulate == "unverified_succeed_more":
            success |= unverified                          # unverified rows from a better run
        if manipulate == "early_stopping" and p < 0.5:
            keep[n - n // 4:] = False                      # runs stopped before their last quarter
        for i in range(n):
            if not keep[i]:
                continue
            status = "infra_failure" if infra[i] else "completed"
            rows.append({"probe_id": "p", "task_id": cell.task_id, "axis": "nominal", "level": 0,
                         "episode_index": i, "seed": None if unverified[i] else RUN_SEED + i,
                         "success": bool(success[i]) if status == "completed" else None, "status": status})
    return AuditInput(plan_digest=plan.plan_digest, probe_id="p", episodes=rows,
                      source=AuditSource(importer="generic", format_version="bench", identity="explicit")).sealed()


def raised(plan: ProtocolPlan, audit: AuditInput) -> set[str]:
    result = check_conformance(plan, [audit])
    return {f.kind for f in outcome_findings(plan, result) + campaign_findings(plan, result)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=300)
    parser.add_argument("--cells", type=int, default=12)
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    plan = make_plan(args.cells, args.episodes)
    started = time.perf_counter()
    clean = dict.fromkeys(KINDS, 0)
    planted = dict.fromkeys(KINDS, 0)
    planted_runs = {"missing_tracks_outcome", "infra_tracks_outcome", "unverified_succeed_more", "early_stopping"}
    for r in range(args.replicates):
        for kind in raised(plan, campaign(plan, np.random.default_rng(r), None)):
            clean[kind] += 1
        for kind in planted_runs:
            if kind in raised(plan, campaign(plan, np.random.default_rng(10_000 + r), kind)):
                planted[kind] += 1
    seconds = time.perf_counter() - started
    print(f"{args.replicates} clean and {args.replicates} planted campaigns per manipulation; "
          f"{args.cells} cells x {args.episodes} episodes; stated rate {DETECTION_ALPHA:.0%}; {seconds:.0f} s")
    print(f"{'finding':28} {'clean: raised':>14} {'rate':>7} {'/ stated':>9} {'planted: raised':>16}")
    for kind in KINDS:
        rate = clean[kind] / args.replicates
        power = f"{planted[kind] / args.replicates:.0%}" if kind in planted_runs else "—"
        print(f"{kind:28} {clean[kind]:>14} {rate:>7.2%} {rate / DETECTION_ALPHA:>8.2f}x {power:>16}")


if __name__ == "__main__":
    main()
