"""A small hand-made plan for the importer tests, and helpers to run the CLI and read its output."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from conftest import REFERENCE_PROFILE

from worldflux_nb.cli import main
from worldflux_nb.io.files import json_text
from worldflux_nb.models.plan import AxisSelection, PlanCell, PowerTargets, ProtocolPlan, SelectedProbe
from worldflux_nb.models.profile import EvalProfile

HARNESS = Path(__file__).parent / "fixtures" / "harness"
# Fixed, so the module-level plan has the same digest with or without SOURCE_DATE_EPOCH.
CREATED = "2026-01-01T00:00:00Z"


def make_plan() -> ProtocolPlan:
    """Probes shaped like the harnesses': LIBERO (initial-state index), PushT (per-episode seed),
    lbm_eval skills, a ManiSkill task, and a LIBERO-plus probe with two perturbation cells."""
    profile = EvalProfile(**REFERENCE_PROFILE, created_at=CREATED).sealed()
    cells: list[PlanCell] = []
    probes: list[SelectedProbe] = []

    def probe(probe_id: str, seed_mode: str, tasks: dict[str, list[int]], *, run_seed=None,
              axes=(("nominal", 0),)) -> None:
        for task, indexes in tasks.items():
            for axis, level in axes:
                seeds = [run_seed + i for i in indexes] if seed_mode == "per_episode_seed" else [None] * len(indexes)
                cells.append(PlanCell(cell_id=f"{probe_id}:{task}:{axis}:{level}", probe_id=probe_id,
                                      task_id=task, axis=axis, level=level,
                                      episodes=indexes, seeds=seeds))
        by_axis: dict[str, list] = {}
        for axis, level in axes:
            by_axis.setdefault(axis, []).append(level)
        probes.append(SelectedProbe(
            probe_id=probe_id, probe_version="1", seed_mode=seed_mode, run_seed=run_seed,
            tasks=list(tasks), axes=[AxisSelection(axis=a, levels=lv) for a, lv in by_axis.items()],
            pinned_metadata={"environment_version": "libero-local"}))

    probe("libero", "initial_state_index", {"libero_spatial/0": [0, 1, 2], "libero_spatial/3": [5, 6, 7]},
          run_seed=7)
    probe("pusht", "per_episode_seed", {"pusht": [0, 1, 2, 3, 4]}, run_seed=1000)
    probe("lbm", "initial_state_index", {"PutKiwiInCenterOfTable": [0, 1],
                                         "BimanualStackPlatesOnTableFromTable": [0, 1, 2]})
    probe("maniskill", "run_seed", {"PickCube-v1": [0, 1, 2, 3]}, run_seed=0)
    probe("libero-plus", "initial_state_index", {"libero_spatial/0": [0, 1]},
          axes=(("camera_viewpoints", 3), ("light_conditions", 4)))
    return ProtocolPlan(
        plan_id="importer-tests", profile=profile, profile_digest=profile.profile_digest,
        registry_version="reg-1", registry_digest="sha256:" + "2" * 64, plan_seed=1234,
        seed_source="operator_supplied", episodes_per_cell=3,
        power_targets=PowerTargets(episodes_needed_for_target=40),
        selected_probes=probes, cells=cells, created_at=CREATED,
    ).sealed()


def write_plan(folder: Path, plan: ProtocolPlan | None = None) -> Path:
    path = folder / "plan.json"
    path.write_text(json_text((plan or make_plan()).to_json_dict()))
    return path


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_cli(argv: Sequence[Any]) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return Run(code, out.getvalue(), err.getvalue())


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
