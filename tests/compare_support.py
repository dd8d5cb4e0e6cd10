"""A small plan and hand-made evidence for two or more policies, for the comparison tests."""

from __future__ import annotations

import hashlib
import itertools
from typing import Callable

from conftest import REFERENCE_PROFILE
from worldflux_nb.models.evidence import AuditInput, AuditSource, SourceFile
from worldflux_nb.models.plan import AxisSelection, PlanCell, PowerTargets, ProtocolPlan, SelectedProbe
from worldflux_nb.models.profile import EvalProfile

CELLS = [("alpha", "suite/0", "nominal", 0), ("alpha", "suite/1", "nominal", 0),
         ("alpha", "suite/0", "camera", 2), ("beta", "suite/0", "light", "dim")]


def small_plan(episodes: int = 12, policy: str = "all_planned") -> ProtocolPlan:
    """Two probes, four cells, seeded episodes 0..n-1."""
    profile = EvalProfile(**REFERENCE_PROFILE).sealed()
    cells = [PlanCell(cell_id=f"{p}:{t}:{a}:{lv}", probe_id=p, task_id=t, axis=a, level=lv,
                      episodes=list(range(episodes)), seeds=[100 + i for i in range(episodes)])
             for p, t, a, lv in CELLS]
    probes = [
        SelectedProbe(probe_id="alpha", probe_version="1", seed_mode="per_episode_seed", run_seed=100,
                      tasks=["suite/0", "suite/1"],
                      axes=[AxisSelection(axis="nominal", levels=[0]), AxisSelection(axis="camera", levels=[2])]),
        SelectedProbe(probe_id="beta", probe_version="1", seed_mode="per_episode_seed", run_seed=100,
                      tasks=["suite/0"], axes=[AxisSelection(axis="light", levels=["dim"])]),
    ]
    return ProtocolPlan(
        plan_id="compare-test", profile=profile, profile_digest=profile.profile_digest,
        registry_version="reg-1", registry_digest="sha256:" + "2" * 64, plan_seed=7,
        seed_source="operator_supplied", episodes_per_cell=episodes, denominator_policy=policy,
        power_targets=PowerTargets(episodes_needed_for_target=40), selected_probes=probes, cells=cells,
    ).sealed()


def episode_indexes(cell: PlanCell) -> list[int]:
    """small_plan's cells list their episodes explicitly."""
    return list(cell.episodes)  # type: ignore[arg-type]


Outcome = Callable[[str, int], "bool | str"]  # (cell_id, episode) -> success, or a status


def rows_for(plan: ProtocolPlan, probe_id: str, outcome: Outcome) -> list[dict]:
    """One row per planned episode of the probe; an outcome of None leaves the episode out."""
    rows = []
    for cell in plan.cells:
        if cell.probe_id != probe_id:
            continue
        for index, seed in zip(episode_indexes(cell), cell.seeds):
            result = outcome(cell.cell_id, index)
            if result is None:
                continue
            status = result if isinstance(result, str) else "completed"
            rows.append({"probe_id": probe_id, "task_id": cell.task_id, "axis": cell.axis,
                         "level": cell.level, "episode_index": index, "seed": seed,
                         "success": bool(result) if status == "completed" else (False if status == "timeout" else None),
                         "status": status})
    return rows


_RUNS = itertools.count()


def audit(plan: ProtocolPlan, probe_id: str, rows: list[dict], digest: str | None = None) -> AuditInput:
    """An audit input as an import of its own run's file makes it (two arms' files always differ,
    even where their outcomes agree)."""
    name = f"run_{next(_RUNS)}.jsonl"
    source = SourceFile(name=name, digest=f"sha256:{hashlib.sha256(name.encode()).hexdigest()}", size_bytes=0)
    return AuditInput(plan_digest=digest or plan.plan_digest, probe_id=probe_id, episodes=rows,
                      source=AuditSource(importer="generic_jsonl", format_version="1", identity="explicit",
                                         files=[source]),
                      ).sealed()


def arm(plan: ProtocolPlan, outcome: Outcome, extra: dict[str, list[dict]] | None = None) -> list[AuditInput]:
    """An arm's audit inputs (one per probe), with extra rows appended per probe."""
    extra = extra or {}
    return [audit(plan, p.probe_id, rows_for(plan, p.probe_id, outcome) + extra.get(p.probe_id, []))
            for p in plan.selected_probes]
