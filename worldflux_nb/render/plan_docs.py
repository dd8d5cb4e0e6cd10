"""Documents for the pre-score artifacts: profile, custom contract, protocol plan and run sheet."""

from __future__ import annotations

from collections import Counter

from worldflux_nb.core.plan_cells import episodes_text, seeds_text
from worldflux_nb.core.power import power_guidance, wilson_half_width
from worldflux_nb.core.registry import builtin_registry, contract_probe
from worldflux_nb.models.contract import CustomEvalContract
from worldflux_nb.models.plan import DENOMINATOR_POLICIES, ProtocolPlan, RunSheet
from worldflux_nb.models.profile import EvalProfile
from worldflux_nb.render.document import (
    Banner, BulletList, Code, Document, Heading, KeyValues, Paragraph, Table,
)

PRIVATE_BANNER = ("LOCAL_PRIVATE: for internal review and private reviewer handoff only. Not a "
                  "public certification and not a deployment decision.")
CONSENT_NOTE = ("Customer consent markers are recorded as declared and never verified; legal "
                "consent validity is outside this tool.")
MAX_TABLE_ROWS = 200
# The Markdown run sheet is the handoff, so it lists every row up to a size a reader can open.
MAX_RUN_SHEET_ROWS = 2500

_POLICY_TEXT = {
    "all_planned": "every planned episode is in the denominator; missing, pending and "
                   "infrastructure failures count as failures (the default, and the strictest)",
    "attempted": "infrastructure failures leave the denominator and are reported; missing "
                 "episodes still count as failures",
    "completed_only": "only completed and timed-out episodes count; optimistic, because missing "
                      "and failed-to-run episodes disappear",
}


def _profile_items(profile: EvalProfile) -> list[tuple[str, object]]:
    return [
        ("Profile", profile.profile_id), ("Policy", profile.policy_id),
        ("Use case", profile.use_case), ("Embodiment", profile.embodiment_class),
        ("Robot model", profile.robot_model), ("Simulator family", profile.simulator_family),
        ("Action spaces", profile.action_space), ("Action control mode", profile.action_control_mode),
        ("Coordinate frame", profile.coordinate_frame),
        ("Degrees of freedom", profile.degrees_of_freedom),
        ("Gripper control", profile.gripper_control),
        ("Observation spaces", profile.observation_space),
        ("Camera topology", profile.camera_topology), ("Camera config", profile.camera_config_id),
        ("Language input", profile.language_input),
        ("Control frequency (Hz)", profile.control_frequency_hz),
        ("Reset policy", profile.reset_policy), ("Metric contract", profile.metric_contract),
        ("Real-to-sim calibration", profile.real_to_sim_calibration),
        ("Environment version", profile.environment_version),
        ("Adapter version", profile.adapter_version),
        ("Possible training exposure", profile.training_exposure_possible_benchmark_family or None),
        ("Training exposure caveats", profile.training_exposure_caveat or None),
        ("Claim intent", profile.claim_intent),
        ("Reviewer next action", profile.reviewer_next_action),
    ]


def profile_document(profile: EvalProfile) -> Document:
    """The robot/policy profile as a reviewer reads it."""
    return Document(title=f"Eval profile {profile.profile_id}", blocks=[
        Banner(PRIVATE_BANNER),
        KeyValues(_profile_items(profile)),
        KeyValues([("Profile digest", profile.profile_digest), ("Created", profile.created_at)]),
    ])


def contract_document(contract: CustomEvalContract) -> Document:
    """A custom eval contract: every required item, its tasks and its pinned values."""
    return Document(title=f"Custom eval contract {contract.contract_id}", blocks=[
        Banner(PRIVATE_BANNER),
        Banner(CONSENT_NOTE, tone="warning"),
        KeyValues([
            ("Probe", contract.probe_id), ("Customer use case", contract.customer_use_case),
            ("Acceptance question", contract.acceptance_question),
            ("Workflow claim", contract.workflow_claim), ("Task owner", contract.task_owner),
            ("Task manifest", contract.task_manifest_ref),
            ("Task manifest digest", contract.task_manifest_digest),
            ("Metric schema", contract.metric_schema_ref),
            ("Reviewer-owned task source", contract.reviewer_owned_task_source),
            ("Customer consent marker (not verified)", contract.customer_consent_marker),
            ("Episodes per task", contract.episodes_per_task),
        ]),
        Heading("Inclusion rules", 3), BulletList(contract.inclusion_rules),
        Heading("Exclusion rules", 3), BulletList(contract.exclusion_rules),
        Heading("Audit metadata", 3),
        Table(["key", "pinned value"],
              [(k, contract.pinned_values.get(k, "recorded, not pinned"))
               for k in contract.audit_metadata_keys]),
        Heading("Tasks", 3),
        Table(["task", "instruction"], [(t.task_id, t.instruction) for t in contract.tasks]),
    ])


def _probe_rows(plan: ProtocolPlan) -> list[tuple]:
    cells = Counter(c.probe_id for c in plan.cells)
    episodes = Counter()
    for cell in plan.cells:
        episodes[cell.probe_id] += cell.episode_count
    return [
        (p.probe_id, p.probe_version, len(p.tasks),
         "; ".join(f"{a.axis} {', '.join(str(v) for v in a.levels)}" for a in p.axes),
         cells[p.probe_id], episodes[p.probe_id], p.seed_mode, p.run_seed,
         "yes: " + (p.training_exposure_note or "") if p.training_exposure else "no")
        for p in plan.selected_probes
    ]


def _task_rows(plan: ProtocolPlan) -> list[tuple]:
    probes = {p.probe_id: p for p in builtin_registry().probes}
    probes.update({c.probe_id: contract_probe(c) for c in plan.custom_contracts})
    rows = []
    for selected in plan.selected_probes:
        known = probes.get(selected.probe_id)
        instructions = {t.task_id: t.instruction for t in known.tasks} if known else {}
        rows += [(selected.probe_id, task, instructions.get(task)) for task in selected.tasks]
    return rows


def plan_document(plan: ProtocolPlan) -> Document:
    """The frozen protocol plan, top to bottom in the order a reviewer needs it."""
    targets = plan.power_targets
    per_cell = plan.episodes_per_cell
    width_now = wilson_half_width(per_cell, targets.planning_success_rate, targets.confidence)
    blocks = [
        Banner(PRIVATE_BANNER),
        Paragraph("This plan was frozen before any score was seen. Evidence is checked against "
                  "it; episodes outside it are reported as out of protocol, never merged in."),
        Heading("Profile"),
        KeyValues([
            ("Profile", plan.profile.profile_id), ("Policy", plan.profile.policy_id),
            ("Use case", plan.profile.use_case), ("Robot model", plan.profile.robot_model),
            ("Simulator family", plan.profile.simulator_family),
            ("Claim intent", plan.profile.claim_intent),
            ("Possible training exposure",
             plan.profile.training_exposure_possible_benchmark_family or None),
            ("Training exposure caveats", plan.profile.training_exposure_caveat or None),
        ]),
        Heading("Digests and seed"),
        KeyValues([
            ("Plan", plan.plan_id), ("Plan digest", plan.plan_digest),
            ("Profile digest", plan.profile_digest),
            ("Registry", f"{plan.registry_version} {plan.registry_digest}"),
            ("Plan seed", f"{plan.plan_seed} ({plan.seed_source.replace('_', ' ')})"),
            ("Created", plan.created_at),
            ("Cells", len(plan.cells)), ("Planned episodes", plan.planned_episodes),
        ]),
        Heading("Selected probes"),
        Table(["probe", "version", "tasks", "axes and levels", "cells", "episodes", "seed mode",
               "run seed", "training exposure"], _probe_rows(plan)),
        Heading("Selected tasks", 3),
        Table(["probe", "task", "instruction"], _task_rows(plan), max_rows=MAX_TABLE_ROWS),
        Heading("Excluded probes"),
        BulletList([f"{p.probe_id}: {'; '.join(p.reasons)}" for p in plan.excluded_probes],
                   empty_text="No probe was excluded."),
        Heading("Excluded axes"),
        BulletList([f"{a.probe_id} / {a.axis}: {a.reason}" for a in plan.excluded_axes],
                   empty_text="No axis was excluded."),
        Heading("Cells"),
        Table(["cell", "probe", "task", "axis", "level", "episodes", "episode indexes", "seeds"],
              [(c.cell_id, c.probe_id, c.task_id, c.axis, c.level, c.episode_count,
                episodes_text(c), seeds_text(c)) for c in plan.cells],
              max_rows=MAX_TABLE_ROWS),
        Heading("Power targets"),
        KeyValues([
            ("Confidence", f"{targets.confidence:.0%} Wilson score interval"),
            ("Target half-width", targets.max_ci_half_width),
            ("Minimum episodes per cell", targets.min_episodes_per_cell),
            ("Planning success rate", targets.planning_success_rate),
            ("Episodes needed per cell for the target", targets.episodes_needed_for_target),
            ("Planned episodes per cell", per_cell),
            ("Half-width at the planned count", round(float(width_now), 3)),
        ]),
        Table(["target half-width", "episodes needed per cell"],
              power_guidance(targets.planning_success_rate, targets.confidence),
              caption=f"Plan-time guidance at a {targets.planning_success_rate:.0%} success rate"),
        Heading("Denominator policy"),
        Paragraph(f"This plan reports under {plan.denominator_policy}: "
                  f"{_POLICY_TEXT[plan.denominator_policy]}. The packet shows all three policies "
                  "side by side so a reviewer sees how much the number moves."),
        BulletList([f"{p}: {_POLICY_TEXT[p]}" for p in DENOMINATOR_POLICIES]),
        Heading("Missing-evidence questions"),
        BulletList(plan.missing_evidence_questions, empty_text="No open questions from the profile."),
        Heading("Notes"),
        BulletList(plan.notes),
    ]
    if plan.custom_contracts:
        blocks += [
            Heading("Custom eval contracts"),
            Banner(CONSENT_NOTE, tone="warning"),
            Table(["probe", "use case", "acceptance question", "task owner", "consent marker",
                   "manifest digest"],
                  [(c.probe_id, c.customer_use_case, c.acceptance_question, c.task_owner,
                    c.customer_consent_marker, c.task_manifest_digest)
                   for c in plan.custom_contracts]),
        ]
    if plan.comparison_design is not None:
        from worldflux_nb.render.compare_docs import design_blocks

        blocks += design_blocks(plan.comparison_design)
    return Document(title=f"Protocol plan {plan.plan_id}", blocks=blocks)


def run_sheet_document(run_sheet: RunSheet, episodes_total: int | None = None) -> Document:
    """The run sheet: instructions, each harness's invocation, then the planned episodes.

    `episodes_total` is given when `run_sheet.episodes` holds only the first rows (core.run_sheet
    writes a million-episode sheet column-wise and shows its head here).
    """
    total = len(run_sheet.episodes) if episodes_total is None else episodes_total
    shown = run_sheet.episodes[:MAX_RUN_SHEET_ROWS]
    blocks = [
        Banner(PRIVATE_BANNER),
        KeyValues([("Plan digest", run_sheet.plan_digest),
                   ("Run sheet digest", run_sheet.run_sheet_digest),
                   ("Planned episodes", total),
                   ("Created", run_sheet.created_at)]),
        Heading("Instructions"),
        BulletList(run_sheet.instructions),
        Heading("Harness invocations"),
    ]
    if not run_sheet.invocations:
        blocks.append(Paragraph("No built-in harness runs these probes; follow the episodes below."))
    for inv in run_sheet.invocations:
        blocks += [
            Heading(f"{inv.probe_id} with {inv.harness}", 3),
            KeyValues([("Checked against", inv.harness_commit),
                       ("Planned episodes it runs", inv.episodes),
                       *([("Save as", inv.file_name), ("Run", inv.run_with)] if inv.file_name else []),
                       *[(f"Recorded: {what}", where) for what, where in inv.records.items()],
                       ("Not recorded by this harness", ", ".join(inv.not_recorded) or "none")]),
            Code(inv.text, "yaml" if inv.kind == "config" else "bash"),
            BulletList(inv.notes, empty_text=""),
        ]
    blocks += [
        Heading("Episodes"),
        Table(["cell_id", "probe_id", "task_id", "axis", "level", "episode_index", "seed"],
              [(e["cell_id"], e["probe_id"], e["task_id"], e["axis"], e["level"],
                e["episode_index"], e["seed"]) for e in shown]),
    ]
    if total > len(shown):
        blocks.append(Paragraph(f"The first {len(shown)} of {total} planned episodes; "
                                "run_sheet.json and run_sheet.csv hold every one."))
    return Document(title=f"Run sheet for {run_sheet.plan_id}", blocks=blocks)
