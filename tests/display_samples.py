"""Small, internally consistent artifacts built by hand for the display, chart and explorer tests.

They exercise presentation only; the planner, conformance and packet engines have their own tests.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from conftest import REFERENCE_PROFILE, cell_episodes
from worldflux_nb.models import (
    AuditInput, CustomEvalContract, EvalPacket, EvalProfile, ProtocolPlan, ReviewerBrief, RunSheet,
)
from worldflux_nb.models.packet import (
    CellResult, CherryPickSignals, Conformance, FlaggedEpisode, PolicyResult, ProbeSummary,
    Provenance, ReviewerQuestion,
)
from worldflux_nb.core.compare import build_comparison
from worldflux_nb.models.receipt import PlanReceipt
from worldflux_nb.models.plan import AxisSelection, PlanCell, PowerTargets, SelectedProbe

FAKE = "sha256:" + "ab" * 32
PROBES = ("libero", "libero-plus")
AXES = (("nominal", (0,)), ("camera_viewpoints", (1, 3)), ("light_conditions", (2,)))


def profile() -> EvalProfile:
    return EvalProfile.model_validate(REFERENCE_PROFILE).sealed()


def contract() -> CustomEvalContract:
    return CustomEvalContract(
        contract_id="acme-pick", task_manifest_ref="manifests/tasks.json", task_manifest_digest=FAKE,
        metric_schema_ref="metrics/v1.json", inclusion_rules=["all scripted tasks"],
        exclusion_rules=["none"], audit_metadata_keys=["station_id"],
        reviewer_owned_task_source="reviewer repo", customer_consent_marker="consent-2026-01",
        customer_use_case="bin picking", acceptance_question="does it pick?",
        workflow_claim="picks in under 10 s", task_owner="acme",
        tasks=[{"task_id": "pick-red", "instruction": "pick the red block"}],
        pinned_values={"station_id": "s1"},
    )


def plan(tasks_per_probe: int = 3, episodes: int = 6) -> ProtocolPlan:
    prof = profile()
    probes, cells = [], []
    for probe_id in PROBES:
        tasks = [f"libero_spatial/{i}" for i in range(tasks_per_probe)]
        probes.append(SelectedProbe(
            probe_id=probe_id, probe_version="1", seed_mode="per_episode_seed", run_seed=1000,
            tasks=tasks, axes=[AxisSelection(axis=a, levels=list(lv)) for a, lv in AXES],
            pinned_metadata={"environment_version": "libero-local"}))
        for task in tasks:
            for axis, levels in AXES:
                for level in levels:
                    cells.append(PlanCell(
                        cell_id=f"{probe_id}:{task}:{axis}:{level}", probe_id=probe_id, task_id=task,
                        axis=axis, level=level, episodes=list(range(episodes)),
                        seeds=[1000 + i for i in range(episodes)]))
    return ProtocolPlan(
        plan_id="plan-demo", profile=prof, profile_digest=prof.profile_digest, registry_version="r1",
        registry_digest=FAKE, plan_seed=1234, seed_source="operator_supplied",
        episodes_per_cell=episodes,
        power_targets=PowerTargets(max_ci_half_width=0.15, min_episodes_per_cell=10,
                                   episodes_needed_for_target=43),
        selected_probes=probes, cells=cells,
        missing_evidence_questions=["Where are the light-condition runs?"],
    ).sealed()


def run_sheet(p: ProtocolPlan) -> RunSheet:
    episodes = [
        {"cell_id": c.cell_id, "probe_id": c.probe_id, "task_id": c.task_id, "axis": c.axis,
         "level": c.level, "episode_index": i, "seed": s}
        for c in p.cells for i, s in cell_episodes(c)
    ]
    return RunSheet(plan_id=p.plan_id, plan_digest=p.plan_digest, episodes=episodes).sealed()


def evidence_frame(p: ProtocolPlan, seed: int = 7) -> pd.DataFrame:
    """Categorised evidence rows as the conformance engine reports them (one row per evidence row)."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in p.cells:
        for i, s in cell_episodes(c):
            draw = rng.random()
            if draw < 0.15:
                continue  # missing
            status = "infra_failure" if draw > 0.95 else "completed"
            base = {"cell_id": c.cell_id, "probe_id": c.probe_id, "task_id": c.task_id, "axis": c.axis,
                    "level": c.level, "episode_index": i, "seed": s, "status": status,
                    "success": None if status == "infra_failure" else bool(rng.random() < 0.6)}
            category = "seed_mismatch" if 0.15 <= draw < 0.18 else "matched"
            rows.append({**base, "seed": s + 1 if category == "seed_mismatch" else s, "category": category})
            if 0.9 < draw <= 0.95:
                rows.append({**base, "success": True, "category": "duplicate"})
        if c.axis == "nominal":
            rows.append({"cell_id": None, "probe_id": c.probe_id, "task_id": c.task_id, "axis": c.axis,
                         "level": c.level, "episode_index": 99, "seed": 1099, "status": "completed",
                         "success": True, "category": "out_of_protocol"})
    return pd.DataFrame(rows)


def audit_input(p: ProtocolPlan, probe_id: str = "libero", run: str = "") -> AuditInput:
    frame = evidence_frame(p)
    frame = frame[frame["probe_id"] == probe_id]
    episodes = [
        {"probe_id": r.probe_id, "task_id": r.task_id, "axis": r.axis, "level": r.level,
         "episode_index": int(r.episode_index), "seed": int(r.seed), "status": r.status,
         "success": None if r.success is None or r.success != r.success else bool(r.success),
         "metadata": {"environment_version": "libero-local"}}
        for r in frame.itertuples()
    ]
    return AuditInput(plan_digest=p.plan_digest, probe_id=probe_id, episodes=episodes,
                      source={"importer": "jsonl", "format_version": "1", "identity": "explicit",
                              "notes": [f"run {run}"] if run else []}).sealed()


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float | None, float | None]:
    if n == 0:
        return None, None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def cell_results(p: ProtocolPlan, frame: pd.DataFrame) -> list[CellResult]:
    results = []
    for c in p.cells:
        rows = frame[frame["cell_id"] == c.cell_id]
        counts = rows["category"].value_counts()
        matched_rows = rows[rows["category"] == "matched"]
        matched = len(matched_rows)
        successes = int((matched_rows["success"] == True).sum())  # noqa: E712
        infra = int((matched_rows["status"] == "infra_failure").sum())
        pending = int((matched_rows["status"] == "pending").sum())
        n = c.episode_count
        low, high = wilson(successes, n)
        results.append(CellResult(
            cell_id=c.cell_id, probe_id=c.probe_id, task_id=c.task_id, axis=c.axis, level=c.level,
            planned=n, matched=matched, missing=n - matched, successes=successes, denominator=n,
            success_rate=successes / n, ci_low=low, ci_high=high,
            underpowered=(high - low) / 2 > p.power_targets.max_ci_half_width or n < 10,
            infra_failures=infra, completed=matched - infra - pending, pending=pending,
            duplicates=int(counts.get("duplicate", 0)),
            out_of_protocol=int(((frame["category"] == "out_of_protocol") & (frame["probe_id"] == c.probe_id)
                                 & (frame["task_id"] == c.task_id) & (frame["axis"] == c.axis)
                                 & (frame["level"] == c.level)).sum()),
            seed_mismatches=int(counts.get("seed_mismatch", 0))))
    return results


def packet_from_cells(cells: list[CellResult], plan_digest: str = FAKE,
                      flagged: list[FlaggedEpisode] | None = None) -> EvalPacket:
    total = lambda field: sum(getattr(c, field) for c in cells)  # noqa: E731
    planned, successes = total("planned"), total("successes")
    infra, missing = total("infra_failures"), total("missing")
    low, high = wilson(successes, planned)
    policies = [
        PolicyResult(policy="all_planned", successes=successes, denominator=planned,
                     success_rate=successes / planned, ci_low=low, ci_high=high, note="every planned episode"),
        PolicyResult(policy="attempted", successes=successes, denominator=planned - infra,
                     success_rate=successes / (planned - infra), ci_low=None, ci_high=None,
                     note="infra failures left out"),
        PolicyResult(policy="completed_only", successes=successes, denominator=planned - infra - missing,
                     success_rate=successes / max(1, planned - infra - missing), ci_low=None, ci_high=None,
                     optimistic=True, note="optimistic"),
    ]
    conformance = Conformance(
        planned_episodes=planned, matched=total("matched"), missing=missing,
        out_of_protocol=total("out_of_protocol"), duplicates=total("duplicates"),
        seed_mismatches=total("seed_mismatches"), metadata_mismatches=total("metadata_mismatches"),
        infra_failures=infra)
    probes = sorted({c.probe_id for c in cells})
    return EvalPacket(
        plan_id="plan-demo", plan_digest=plan_digest, profile_id="customer-vla-v3-tabletop",
        policy_id="customer_vla_v3", claim_intent="constrained tabletop manipulation evidence",
        denominator_policy="all_planned", conformance=conformance, cells=cells,
        denominator_policies=policies,
        probe_summaries=[ProbeSummary(probe_id=p, grade="B", grade_reasons=["seeds verified"],
                                      identity="explicit", importer="jsonl", planned=0, matched=0, missing=0)
                         for p in probes],
        cherry_pick_signals=CherryPickSignals(
            in_protocol_success_rate=0.5, out_of_protocol_success_rate=1.0, out_of_protocol_rows=2,
            rerolled_episodes=1, rerolled_failures_hidden=0, seed_mismatches=1, statements=["ok"]),
        unsupported_claims=["generalisation to new scenes"],
        missing_cells=[c.cell_id for c in cells if c.matched == 0],
        underpowered_cells=[c.cell_id for c in cells if c.underpowered],
        flagged_episodes=flagged or [],
        provenance=Provenance(
            tool_version="0.1.0", registry_version="r1", registry_digest=FAKE, plan_digest=plan_digest,
            profile_digest=FAKE, input_digests={}, result_digest=FAKE, interval_method="wilson",
            bootstrap_seed=0, created_at="2026-01-01T00:00:00Z"),
    ).sealed()


def flagged_from(frame: pd.DataFrame) -> list[FlaggedEpisode]:
    rows = frame[frame["category"] != "matched"]
    return [FlaggedEpisode(category=r.category, probe_id=r.probe_id, task_id=r.task_id, axis=r.axis,
                           level=r.level, episode_index=int(r.episode_index), seed=int(r.seed),
                           success=None if r.success is None or r.success != r.success else bool(r.success),
                           status=r.status, detail="from sample evidence")
            for r in rows.itertuples()]


def packet(p: ProtocolPlan) -> EvalPacket:
    frame = evidence_frame(p)
    return packet_from_cells(cell_results(p, frame), p.plan_digest, flagged_from(frame))


def big_packet(n_cells: int, episodes: int = 20, seed: int = 3) -> EvalPacket:
    """A synthetic packet with many cells, built vectorised so 10,000 cells stay quick."""
    rng = np.random.default_rng(seed)
    matched = rng.integers(episodes // 2, episodes + 1, n_cells)
    successes = rng.binomial(matched, 0.6)
    infra = np.minimum(rng.integers(0, 2, n_cells), matched - successes)
    cells = []
    for i in range(n_cells):
        probe = PROBES[i % 2]
        axis, levels = AXES[(i // 2) % len(AXES)]
        s, n = int(successes[i]), episodes
        low, high = wilson(s, n)
        cells.append(CellResult(
            cell_id=f"{probe}:task{i // 6}:{axis}:{levels[0]}:{i}", probe_id=probe, task_id=f"task{i // 6}",
            axis=axis, level=levels[0], planned=n, matched=int(matched[i]), missing=n - int(matched[i]),
            successes=s, denominator=n, success_rate=s / n, ci_low=low, ci_high=high,
            underpowered=(high - low) / 2 > 0.15, infra_failures=int(infra[i]),
            completed=int(matched[i] - infra[i]),
            duplicates=int(i % 7 == 0), out_of_protocol=int(i % 11 == 0), seed_mismatches=int(i % 13 == 0)))
    return packet_from_cells(cells)


def brief(pk: EvalPacket) -> ReviewerBrief:
    return ReviewerBrief(
        banner="LOCAL_PRIVATE reviewer brief: not public-share-ready.", plan_digest=pk.plan_digest,
        packet_digest=pk.packet_digest, profile_id=pk.profile_id, policy_id=pk.policy_id,
        claim_intent=pk.claim_intent, warnings=["2 cells missing"], unsupported_claims=pk.unsupported_claims,
        missing_evidence=pk.missing_cells[:3],
        reviewer_questions=[ReviewerQuestion(about="libero", question="Why was cell 3 re-run?")],
    ).sealed()


def every_artifact() -> dict[str, object]:
    p = plan()
    pk = packet(p)
    return {"profile": p.profile, "contract": contract(), "plan": p, "run_sheet": run_sheet(p),
            "audit_input": audit_input(p), "packet": pk, "brief": brief(pk),
            "receipt": PlanReceipt(plan_id=p.plan_id, plan_digest=p.plan_digest, received_by="reviewer").sealed(),
            "comparison": build_comparison(p, {"baseline": [audit_input(p)],
                                                     "candidate": [audit_input(p, run="candidate")]})}
