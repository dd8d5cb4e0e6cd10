"""A small campaign for the detector scenarios: a frozen plan over two registry probes, the honest
outcome of every planned episode, and builders for evidence rows and audit inputs.

`libero` records one run seed on every episode (as vla-eval does), `libero-plus` seeds episode i
with run_seed + i (LeRobot's `start_seed + i`). Cells differ in difficulty, so dropping or
relabelling failures in the hard ones is the manipulation that would pay.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Callable

from conftest import REFERENCE_PROFILE
from worldflux_nb.core.brief import build_brief
from worldflux_nb.core.detect import SourceEvidence
from worldflux_nb.core.packet import build_packet
from worldflux_nb.models.digest import sha256_bytes
from worldflux_nb.models.evidence import AuditInput, AuditSource, ReportedSummary, SourceFile
from worldflux_nb.models.packet import EvalPacket, ReviewerBrief
from worldflux_nb.models.plan import AxisSelection, PlanCell, PowerTargets, ProtocolPlan, SelectedProbe
from worldflux_nb.models.profile import EvalProfile

EPISODES = 20
LIBERO_RUN_SEED = 7000
PLUS_RUN_SEED = 500
PINS = {"libero": {"environment_version": "libero-local"},
        "libero-plus": {"environment_version": "libero-local"}}
# True success probability per cell: easy tasks first, hard ones last.
LIBERO_TASKS = {"libero_spatial/0": 0.9, "libero_spatial/1": 0.85, "libero_spatial/2": 0.8,
                "libero_spatial/3": 0.3, "libero_spatial/4": 0.25, "libero_spatial/5": 0.2}
PLUS_CELLS = {("libero_spatial/0", 1): 0.7, ("libero_spatial/0", 2): 0.4,
              ("libero_spatial/1", 1): 0.6, ("libero_spatial/1", 2): 0.3}
HARD = ["libero:libero_spatial/3:nominal:0", "libero:libero_spatial/4:nominal:0",
        "libero:libero_spatial/5:nominal:0"]


def cell_id(probe: str, task: str, axis: str, level: Any) -> str:
    return f"{probe}:{task}:{axis}:{level}"


def make_plan(*, policy: str = "all_planned", infra_base_rate: float | None = None) -> ProtocolPlan:
    profile = EvalProfile(**REFERENCE_PROFILE).sealed()
    cells = [PlanCell(cell_id=cell_id("libero", task, "nominal", 0), probe_id="libero", task_id=task,
                      axis="nominal", level=0, episodes=list(range(EPISODES)),
                      seeds=[LIBERO_RUN_SEED] * EPISODES) for task in LIBERO_TASKS]
    cells += [PlanCell(cell_id=cell_id("libero-plus", task, "camera_viewpoints", level), probe_id="libero-plus",
                       task_id=task, axis="camera_viewpoints", level=level, episodes=list(range(EPISODES)),
                       seeds=[PLUS_RUN_SEED + i for i in range(EPISODES)]) for task, level in PLUS_CELLS]
    probes = [
        SelectedProbe(probe_id="libero", probe_version="libero-1.0", seed_mode="run_seed",
                      run_seed=LIBERO_RUN_SEED, tasks=list(LIBERO_TASKS),
                      axes=[AxisSelection(axis="nominal", levels=[0])], pinned_metadata=PINS["libero"]),
        SelectedProbe(probe_id="libero-plus", probe_version="1", seed_mode="per_episode_seed",
                      run_seed=PLUS_RUN_SEED, tasks=["libero_spatial/0", "libero_spatial/1"],
                      axes=[AxisSelection(axis="camera_viewpoints", levels=[1, 2])],
                      pinned_metadata=PINS["libero-plus"]),
    ]
    return ProtocolPlan(
        plan_id="detect-scenarios", profile=profile, profile_digest=profile.profile_digest,
        registry_version="builtin", registry_digest="sha256:" + "3" * 64, plan_seed=99,
        seed_source="operator_supplied", episodes_per_cell=EPISODES, denominator_policy=policy,
        infra_base_rate=infra_base_rate,
        power_targets=PowerTargets(max_ci_half_width=0.25, min_episodes_per_cell=10,
                                   episodes_needed_for_target=16),
        selected_probes=probes, cells=cells, created_at="2026-01-01T00:00:00Z").sealed()


def honest_success(cell: str, index: int) -> bool:
    """The outcome the policy really had on a planned episode (fixed per cell and index)."""
    probe, task, _, level = cell.split(":")
    p = LIBERO_TASKS[task] if probe == "libero" else PLUS_CELLS[(task, int(level))]
    return random.Random(f"{cell}#{index}").random() < p


def row(cell: str, index: int, *, success: bool | None = None, status: str = "completed",
        seed: int | None | str = "planned", metadata: dict | None | str = "pinned", **extra: Any) -> dict:
    """One evidence row for a planned (or shifted) episode of a cell; defaults are the honest row."""
    probe, task, axis, level = cell.split(":")
    planned_seed = LIBERO_RUN_SEED if probe == "libero" else PLUS_RUN_SEED + index
    if success is None and status == "completed":
        success = honest_success(cell, index)
    if status == "timeout":
        success = False
    if status in ("infra_failure", "pending"):
        success = None
    out = {"probe_id": probe, "task_id": task, "axis": axis, "level": int(level), "episode_index": index,
           "seed": planned_seed if seed == "planned" else seed, "success": success, "status": status}
    meta = dict(PINS[probe]) if metadata == "pinned" else metadata
    if meta:
        out["metadata"] = meta
    out.update({k: v for k, v in extra.items() if v is not None})
    return out


def cells_of(probe: str) -> list[str]:
    if probe == "libero":
        return [cell_id("libero", task, "nominal", 0) for task in LIBERO_TASKS]
    return [cell_id("libero-plus", task, "camera_viewpoints", level) for task, level in PLUS_CELLS]


def honest_rows(probe: str, **extra: Any) -> list[dict]:
    return [row(cell, i, **extra) for cell in cells_of(probe) for i in range(EPISODES)]


def audit_input(plan: ProtocolPlan, probe: str, rows: list[dict], *, name: str | None = None,
                identity: str = "explicit", reported: ReportedSummary | None = None,
                task_mapping: dict[str, str] | None = None, digest: str | None = None) -> AuditInput:
    """A sealed audit input naming a source file whose bytes are the rows as JSONL."""
    data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows).encode()
    source = AuditSource(importer="generic", format_version="generic JSONL", identity=identity,
                         files=[SourceFile(name=name or f"{probe}.jsonl", digest=sha256_bytes(data),
                                           size_bytes=len(data))],
                         reported=reported or ReportedSummary(), task_mapping=task_mapping or {})
    return AuditInput(plan_digest=digest or plan.plan_digest, probe_id=probe, episodes=rows,
                      source=source).sealed()


def honest_inputs(plan: ProtocolPlan) -> list[AuditInput]:
    return [audit_input(plan, p, honest_rows(p)) for p in ("libero", "libero-plus")]


@dataclass
class Outcome:
    packet: EvalPacket
    brief: ReviewerBrief

    def overall(self, policy: str = "all_planned") -> float:
        return next(p.success_rate for p in self.packet.denominator_policies
                    if p.probe_id is None and p.policy == policy)

    def kinds(self) -> list[str]:
        return [f.kind for f in self.packet.findings]

    def finding(self, kind: str):
        return next(f for f in self.packet.findings if f.kind == kind)

    def asks(self, *needles: str) -> list[str]:
        """The brief's questions that name every needle."""
        return [q.question for q in self.brief.reviewer_questions if all(n in q.question for n in needles)]


def run(plan: ProtocolPlan, inputs: list[AuditInput], sources: SourceEvidence | None = None) -> Outcome:
    packet = build_packet(plan, inputs, sources=sources)
    return Outcome(packet, build_brief(packet))


@dataclass
class Scenario:
    """A planted manipulation (or a clean control) and what the packet and brief must show for it."""

    name: str
    family: str
    # Builds the audit inputs (and any re-import results) and returns the exact conformance counts expected.
    build: Callable[[ProtocolPlan], tuple[list[AuditInput], dict[str, int]]]
    finding: str | None = None
    asks: tuple[str, ...] = ()
    plan: Callable[[], ProtocolPlan] = make_plan
    sources: Callable[[ProtocolPlan, list[AuditInput]], SourceEvidence] | None = None
    # A manipulation conformance cannot keep out of the score (rows that look conformant): the
    # finding is the defence, and the headline may move.
    headline_may_rise: bool = False
