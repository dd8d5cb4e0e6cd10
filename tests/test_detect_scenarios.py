"""Planted manipulations and clean controls, through conformance, detectors, packet and brief.

Each manipulation asserts the exact conformance counts, the finding it must raise (or, for a
count-only manipulation, the count), a brief question naming the right cells, and that the
`all_planned` headline does not move in the manipulator's favour — except where the rows look
conformant (edited or relabelled rows) and the finding is the only defence (`headline_may_rise`).
Clean controls assert that nothing is raised.
"""

from __future__ import annotations

import random

import pytest

from detect_support import (
    EPISODES, HARD, LIBERO_TASKS, PLUS_RUN_SEED, Scenario, audit_input, cell_id, cells_of,
    honest_inputs, honest_rows, honest_success, make_plan, row, run,
)
from worldflux_nb.core.detect import SourceEvidence
from worldflux_nb.core.registry import LIBERO_SUITES, libero_instruction
from worldflux_nb.models.evidence import ReportedSummary
from worldflux_nb.models.evidence_table import EvidenceTable
from worldflux_nb.models.receipt import PlanReceipt

PLUS = cells_of("libero-plus")
LIB = cells_of("libero")
TOTAL = len(LIB + PLUS) * EPISODES


def failures(cell: str) -> list[int]:
    return [i for i in range(EPISODES) if not honest_success(cell, i)]


def n_failures(cells: list[str]) -> int:
    return sum(len(failures(c)) for c in cells)


def instruction(k: int) -> str:
    return libero_instruction(LIBERO_SUITES["libero_spatial"][k])


def base(plan, probe):
    return audit_input(plan, probe, honest_rows(probe))


def other(plan, probe):
    """The honest input of the probe not being manipulated."""
    return base(plan, "libero-plus" if probe == "libero" else "libero")


# ------------------------------------------------------------------ campaign

def another_run_whole_probe(plan):
    rows = [row(c, i, seed=PLUS_RUN_SEED + 1000 + i) for c in PLUS for i in range(EPISODES)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {
        "seed_mismatches": 80, "missing": 80, "matched": 120}


def best_of_three(plan):
    rows, kept_other = [], 0
    for c in PLUS:
        for i in range(EPISODES):
            chosen = row(c, i)
            if not chosen["success"]:
                for offset in (1000, 2000):
                    if random.Random(f"{c}#{i}#{offset}").random() < 0.5:
                        chosen, kept_other = row(c, i, seed=PLUS_RUN_SEED + offset + i, success=True), kept_other + 1
                        break
            rows.append(chosen)
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {
        "seed_mismatches": kept_other, "missing": kept_other}


def reroll_replaces_first(plan):
    rows = [row(c, i, seed=7001, success=True) if c in HARD and not honest_success(c, i) else row(c, i)
            for c in LIB for i in range(EPISODES)]
    n = n_failures(HARD)
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"seed_mismatches": n, "missing": n}


def index_offset(plan):
    shifted = LIB[3]
    rows = [row(c, i + (5 if c == shifted else 0)) for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"out_of_protocol": 5, "missing": 5}


def fixed_seed(plan):
    rows = [row(c, i, seed=42) for c in PLUS for i in range(EPISODES)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {"seed_mismatches": 80, "missing": 80}


def runs_combined(plan):
    rows = [row(c, i, run_id="run-a") for c in LIB for i in range(EPISODES)]
    rows += [row(c, i, success=True, run_id="run-b") for c in HARD for i in failures(c)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"duplicates": n_failures(HARD), "missing": 0}


def keep_best_inferred(plan):
    # Run 25 per cell, report the best 20 with identity inferred from order.
    rows = []
    for c in PLUS:
        outcomes = sorted((honest_success(c, i) for i in range(25)), reverse=True)[:EPISODES]
        rows += [row(c, i, seed=None, success=s) for i, s in enumerate(outcomes)]
    reported = ReportedSummary(episodes_requested=100, episodes_evaluated=100)
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows, identity="inferred_from_order",
                                              reported=reported)], {"missing": 0, "unverified_seeds": 80}


def rows_edited_rate_differs(plan):
    honest = honest_rows("libero")
    rate = sum(r["success"] for r in honest) / len(honest)
    flipped = 0
    rows = []
    for r in honest:
        if r["task_id"] == "libero_spatial/5" and not r["success"] and flipped < 10:
            r, flipped = dict(r, success=True), flipped + 1
        rows.append(r)
    return [audit_input(plan, "libero", rows, reported=ReportedSummary(success_rate=rate)),
            other(plan, "libero")], {"missing": 0}


def partial_run(plan):
    rows = [row(c, i) for c in PLUS for i in range(EPISODES - 5)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows, reported=ReportedSummary(partial=True))], {
        "missing": 20}


def reported_run_seed(plan):
    return [audit_input(plan, "libero", honest_rows("libero"), reported=ReportedSummary(run_seed=9999)),
            other(plan, "libero")], {"missing": 0, "seed_mismatches": 0}


def importer_discrepancy(plan):
    note = ["the harness's aggregate success 0.91 disagrees with the rows' 0.55"]
    return [audit_input(plan, "libero", honest_rows("libero"), reported=ReportedSummary(discrepancies=note)),
            other(plan, "libero")], {"missing": 0}


def request_differs(plan):
    rows = [row(c, i) for c in LIB[:5] for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows, reported=ReportedSummary(episodes_requested=100, episodes_evaluated=100)),
            other(plan, "libero")], {"missing": 20}


# ------------------------------------------------------------------ outcome dependence

def drop_failures_hard(plan):
    rows = [row(c, i) for c in LIB for i in range(EPISODES) if c not in HARD or honest_success(c, i) or i % 3 == 0]
    n = sum(1 for c in HARD for i in failures(c) if i % 3)
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"missing": n}


def drop_all_failures_two_cells(plan):
    two = HARD[1:]
    rows = [row(c, i) for c in LIB for i in range(EPISODES) if c not in two or honest_success(c, i)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"missing": n_failures(two)}


def failures_to_infra(plan):
    rows = [row(c, i, status="infra_failure") if c in HARD and not honest_success(c, i) else row(c, i)
            for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"infra_failures": n_failures(HARD), "missing": 0}


def failures_to_pending(plan):
    rows = [row(c, i, status="pending") if c in HARD and not honest_success(c, i) else row(c, i)
            for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"pending": n_failures(HARD), "missing": 0}


def all_failures_to_infra(plan):
    rows = [row(c, i, status="infra_failure") if not honest_success(c, i) else row(c, i)
            for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"infra_failures": n_failures(LIB)}


def infra_above_base_rate(plan):
    rows = [row(c, i, status="infra_failure") if i % 7 == 3 else row(c, i) for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"infra_failures": 18}


def unverified_seedless_successes(plan):
    # Half the episodes come from a seedless (cherry-picked) run in which every episode succeeds.
    rows = [row(c, i, seed=None, success=True) if i % 2 == 0 else row(c, i) for c in PLUS for i in range(EPISODES)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {"unverified_seeds": 40, "missing": 0}


def unverified_metadata_successes(plan):
    rows = [row(c, i, metadata=None, success=True) if i % 2 == 0 else row(c, i) for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"unverified_metadata": 60}


def early_stopping_tail(plan):
    rows = [row(c, i) for c in PLUS for i in range(EPISODES - 6)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {"missing": 24}


def stop_after_late_failure(plan):
    rows, missing = [], 0
    for c in LIB:
        stop = next((i for i in range(12, EPISODES) if not honest_success(c, i)), EPISODES) if c in HARD else EPISODES
        rows += [row(c, i) for i in range(stop)]
        missing += EPISODES - stop
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"missing": missing}


# ------------------------------------------------------------------ identity

def task_swap_easy_as_hard(plan):
    easy, hard = LIB[0], LIB[3]
    rows = [row(hard, i, success=honest_success(easy, i), harness_task=instruction(0)) if c == hard
            else row(c, i, harness_task=instruction(LIB.index(c))) for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"missing": 0}


def wrong_task_map(plan):
    name = LIBERO_SUITES["libero_spatial"][3]
    rows = [row(c, i, harness_task=name if c == LIB[5] else instruction(LIB.index(c)),
                success=honest_success(LIB[3], i) if c == LIB[5] else None)
            for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows, task_mapping={name: "libero_spatial/5"}),
            other(plan, "libero")], {"missing": 0}


def unplanned_task_relabelled(plan):
    rows = [row(c, i, harness_task=instruction(8), success=True) if c == LIB[4] else row(c, i)
            for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"missing": 0}


def level_relabelled(plan):
    hard = cell_id("libero-plus", "libero_spatial/0", "camera_viewpoints", 2)
    easy = cell_id("libero-plus", "libero_spatial/0", "camera_viewpoints", 1)
    rows = [row(c, i, success=honest_success(easy, i), metadata={**{"environment_version": "libero-local"},
                                                                  "difficulty_level": 1})
            if c == hard else row(c, i) for c in PLUS for i in range(EPISODES)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {"missing": 0}


def category_relabelled(plan):
    target = PLUS[3]
    rows = [row(c, i, metadata={"environment_version": "libero-local", "category": "light_conditions"})
            if c == target else row(c, i) for c in PLUS for i in range(EPISODES)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {"missing": 0}


# ------------------------------------------------------------------ sources and time

def resealed_edit(plan):
    honest = audit_input(plan, "libero", honest_rows("libero"))
    edited_rows = [dict(r, success=True) if r["task_id"] == "libero_spatial/5" else r for r in honest_rows("libero")]
    edited = honest.model_copy(update={"episodes": EvidenceTable.build(edited_rows), "audit_digest": None}).sealed()
    return [edited, other(plan, "libero")], {"missing": 0}


def resealed_sources(plan, inputs):
    from worldflux_nb.core.detect_sources import compare_audit_inputs

    fresh = audit_input(plan, "libero", honest_rows("libero"))
    return SourceEvidence(verified={0: compare_audit_inputs(inputs[0], fresh)})


def before_freeze(plan):
    rows = [row(c, i, recorded_at="2025-12-01T10:00:00Z") for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"missing": 0}


def before_receipt(plan):
    rows = [row(c, i, recorded_at="2026-01-02T10:00:00Z") for c in PLUS for i in range(EPISODES)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {"missing": 0}


def receipt_later(plan, inputs):
    receipt = PlanReceipt(plan_id=plan.plan_id, plan_digest=plan.plan_digest,
                          received_at="2026-01-05T09:00:00Z", received_by="reviewer").sealed()
    return SourceEvidence(receipt=receipt)


# ------------------------------------------------------------------ counted (no test needed)

def drop_scattered_failures(plan):
    rows = [row(c, i) for c in LIB for i in range(EPISODES) if honest_success(c, i) or i % 5]
    n = sum(1 for c in LIB for i in failures(c) if i % 5 == 0)
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"missing": n}


def rerun_failures_same_seed(plan):
    rows = honest_rows("libero") + [row(c, i, success=True) for c in LIB for i in failures(c)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"duplicates": n_failures(LIB)}


def extra_unplanned_easy(plan):
    rows = honest_rows("libero") + [row(LIB[0], i, success=True) for i in range(EPISODES, EPISODES + 30)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"out_of_protocol": 30}


def drift_on_failures(plan):
    rows = [row(c, i, metadata={"environment_version": "libero-easy"}) if not honest_success(c, i) else row(c, i)
            for c in LIB for i in range(EPISODES)]
    n = n_failures(LIB)
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"metadata_mismatches": n, "missing": n}


def drop_hardest_level(plan):
    # Every episode of the hardest perturbation level left out: whole cells, so nothing to test
    # against; under all_planned they count as failures and the brief asks about each cell.
    rows = [row(c, i) for c in PLUS if not c.endswith(":2") for i in range(EPISODES)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {"missing": 40, "matched": 160}


def seed_mismatch_singletons(plan):
    picked = [(c, failures(c)[0]) for c in HARD]
    rows = [row(c, i, seed=7000 + 17 * (k + 1), success=True) if (c, i) in picked else row(c, i)
            for k, (c, i) in enumerate((c, i) for c in LIB for i in range(EPISODES))]
    rows = [r if (cell_id("libero", r["task_id"], "nominal", 0), r["episode_index"]) not in picked
            else dict(r, seed=7000 + 100 * (HARD.index(cell_id("libero", r["task_id"], "nominal", 0)) + 1))
            for r in rows]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"seed_mismatches": 3, "missing": 3}


def wrong_digest(plan):
    return [base(plan, "libero"), audit_input(plan, "libero-plus", honest_rows("libero-plus"),
                                              digest="sha256:" + "9" * 64)], {"missing": 80}


def order_inferred(plan):
    rows = [row(c, i, seed=None) for c in PLUS for i in range(EPISODES)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows, identity="inferred_from_order")], {
        "missing": 0, "unverified_seeds": 80}


def completed_only_drop(plan):
    rows = [row(c, i) for c in LIB for i in range(EPISODES) if c not in HARD or honest_success(c, i) or i % 3 == 0]
    n = sum(1 for c in HARD for i in failures(c) if i % 3)
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"missing": n}


def infra_after_rerun(plan):
    # An honest success re-run placed before the infra attempt it replaced: counted the same either way.
    rows = honest_rows("libero-plus") + [row(PLUS[0], i, status="infra_failure") for i in range(5)]
    return [base(plan, "libero"), audit_input(plan, "libero-plus", rows)], {"infra_failures": 5, "duplicates": 5}


# ------------------------------------------------------------------ clean controls

def clean(plan):
    return honest_inputs(plan), {"missing": 0, "matched": TOTAL, "duplicates": 0, "out_of_protocol": 0}


def clean_random_missing(plan):
    keep = lambda c, i: random.Random(f"drop:{c}:{i}").random() >= 0.1  # noqa: E731
    rows = {p: [row(c, i) for c in cells_of(p) for i in range(EPISODES) if keep(c, i)] for p in ("libero", "libero-plus")}
    missing = sum(1 for c in LIB + PLUS for i in range(EPISODES) if not keep(c, i))
    return [audit_input(plan, p, r) for p, r in rows.items()], {"missing": missing}


def clean_infra_at_base_rate(plan):
    rows = [row(c, i, status="infra_failure") if (c, i) in {(LIB[1], 4), (LIB[4], 9)} else row(c, i)
            for c in LIB for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), other(plan, "libero")], {"infra_failures": 2}


def clean_recorded_everything(plan):
    rows = [row(c, i, run_id="run-1", recorded_at="2026-01-03T10:00:00Z",
                harness_task=LIBERO_SUITES["libero_spatial"][LIB.index(c)]) for c in LIB for i in range(EPISODES)]
    plus = [row(c, i, metadata={"environment_version": "libero-local", "category": "Camera Viewpoints",
                                "difficulty_level": int(c.rsplit(":", 1)[1])}, run_id="run-2")
            for c in PLUS for i in range(EPISODES)]
    return [audit_input(plan, "libero", rows), audit_input(plan, "libero-plus", plus)], {"missing": 0}


def clean_verified(plan):
    return honest_inputs(plan), {"missing": 0}


def clean_sources(plan, inputs):
    from worldflux_nb.core.detect_sources import compare_audit_inputs

    return SourceEvidence(verified={i: compare_audit_inputs(ai, ai) for i, ai in enumerate(inputs)})


def infra_plan():
    return make_plan(infra_base_rate=0.02)


def infra_plan_lenient():
    return make_plan(infra_base_rate=0.05)


SCENARIOS = [
    Scenario("another run, whole probe", "campaign", another_run_whole_probe, "another_run", ("libero-plus", "1500")),
    Scenario("best of three runs", "campaign", best_of_three, "another_run", ("libero-plus", "run seed")),
    Scenario("re-rolled attempt replaces the first", "campaign", reroll_replaces_first, "another_run", ("7001",)),
    Scenario("index offset", "campaign", index_offset, "another_run", ("libero_spatial/3", "+5")),
    Scenario("one fixed seed", "campaign", fixed_seed, "another_run", ("libero-plus", "42")),
    Scenario("runs combined, failures re-run", "campaign", runs_combined, "runs_combined", ("2 harness runs",)),
    Scenario("keep the best 20 of 25, order-inferred", "campaign", keep_best_inferred, "reported_count_differs",
             ("100 episodes evaluated", "80 rows"), headline_may_rise=True),
    Scenario("rows edited, harness rate disagrees", "campaign", rows_edited_rate_differs, "reported_rate_differs",
             ("audit input #1",), headline_may_rise=True),
    Scenario("partial run", "campaign", partial_run, "partial_run", ("partial",)),
    Scenario("harness records another run seed", "campaign", reported_run_seed, "another_run", ("9999",)),
    Scenario("importer discrepancy", "campaign", importer_discrepancy, "importer_discrepancy", ("0.91",)),
    Scenario("requested fewer episodes than planned", "campaign", request_differs, "reported_request_differs",
             ("100 episodes against 120",)),
    Scenario("failures dropped in hard cells", "outcome", drop_failures_hard, "missing_tracks_outcome",
             ("missing", "libero:libero_spatial/")),
    Scenario("all failures dropped in two cells", "outcome", drop_all_failures_two_cells, "missing_tracks_outcome",
             ("missing", HARD[1])),
    Scenario("failures relabelled infrastructure", "outcome", failures_to_infra, "infra_tracks_outcome",
             ("infrastructure", HARD[0])),
    Scenario("failures relabelled pending", "outcome", failures_to_pending, "pending_tracks_outcome",
             ("pending", HARD[0])),
    Scenario("every failure relabelled infrastructure", "outcome", all_failures_to_infra, "infra_tracks_outcome",
             ("infrastructure", "libero_spatial/5")),
    Scenario("infrastructure above the declared base rate", "outcome", infra_above_base_rate,
             "infra_above_base_rate", ("2.0%",), plan=infra_plan),
    Scenario("half the episodes from a seedless run that always succeeds", "outcome", unverified_seedless_successes,
             "unverified_succeed_more", ("libero-plus", "unverified"), headline_may_rise=True),
    Scenario("half the episodes from a run lacking the pinned key", "outcome", unverified_metadata_successes,
             "unverified_succeed_more", ("libero", "unverified"), headline_may_rise=True),
    Scenario("runs stopped early", "outcome", early_stopping_tail, "early_stopping", ("stopped", PLUS[0])),
    Scenario("stopped after a late failure", "outcome", stop_after_late_failure, "early_stopping",
             ("stopped", "libero:libero_spatial/")),
    Scenario("easy task filed as a hard one", "identity", task_swap_easy_as_hard, "task_identity_differs",
             ("libero_spatial/3",), headline_may_rise=True),
    Scenario("task map onto the wrong task", "identity", wrong_task_map, "task_identity_differs",
             ("mapped", "libero_spatial/5"), headline_may_rise=True),
    Scenario("unplanned task relabelled as planned", "identity", unplanned_task_relabelled,
             "task_identity_differs", ("libero_spatial/4",), headline_may_rise=True),
    Scenario("easy level filed as a hard one", "identity", level_relabelled, "perturbation_differs",
             (cell_id("libero-plus", "libero_spatial/0", "camera_viewpoints", 2),), headline_may_rise=True),
    Scenario("another perturbation category", "identity", category_relabelled, "perturbation_differs",
             (PLUS[3],)),
    Scenario("rows edited and resealed", "sources", resealed_edit, "source_disagrees",
             ("audit input #1",), headline_may_rise=True, sources=resealed_sources),
    Scenario("evidence dated before the plan", "time", before_freeze, "evidence_before_freeze",
             ("libero", "freeze")),
    Scenario("evidence dated before the reviewer's receipt", "time", before_receipt, "evidence_before_freeze",
             ("libero-plus", "freeze"), sources=receipt_later),
    Scenario("failures dropped here and there", "counted", drop_scattered_failures, None,
             ("no conformant evidence",)),
    Scenario("failures re-run with the same seed", "counted", rerun_failures_same_seed, None, ("more than once",)),
    Scenario("unplanned easy episodes added", "counted", extra_unplanned_easy, None, ("outside the plan", LIB[0])),
    Scenario("failures run in another environment", "counted", drift_on_failures, None, ("drifts from the plan",)),
    Scenario("hardest perturbation level left out", "counted", drop_hardest_level, None,
             ("no conformant evidence", "camera_viewpoints:2")),
    Scenario("single re-seeded failures", "counted", seed_mismatch_singletons, None, ("seed other than", HARD[0])),
    Scenario("evidence against another plan", "counted", wrong_digest, None, ("rejected",)),
    Scenario("identity inferred from order", "counted", order_inferred, None, ("inferred from row order",)),
    Scenario("completed_only plan, failures dropped", "counted", completed_only_drop, "missing_tracks_outcome",
             ("missing",), plan=lambda: make_plan(policy="completed_only")),
    Scenario("infrastructure row after a re-run", "counted", infra_after_rerun, None, ("infrastructure failure",)),
]

CLEAN = [
    Scenario("honest evidence", "clean", clean),
    Scenario("honest evidence, 10% missing at random", "clean", clean_random_missing),
    Scenario("honest infrastructure failures at the base rate", "clean", clean_infra_at_base_rate,
             plan=infra_plan_lenient),
    Scenario("honest evidence with run ids, times, task names and categories", "clean", clean_recorded_everything),
    Scenario("honest evidence, every input re-imported", "clean", clean_verified, sources=clean_sources),
]


@pytest.fixture(scope="module")
def honest_headline() -> dict[str, float]:
    plans = {"all_planned": make_plan(), "completed_only": make_plan(policy="completed_only")}
    return {name: run(plan, honest_inputs(plan)).overall() for name, plan in plans.items()}


def test_there_are_enough_scenarios():
    assert len(SCENARIOS) >= 40 and len(CLEAN) >= 5
    assert {s.family for s in SCENARIOS} >= {"campaign", "outcome", "identity", "sources", "time"}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_manipulation_is_surfaced(scenario: Scenario, honest_headline: dict[str, float]) -> None:
    plan = scenario.plan()
    inputs, counts = scenario.build(plan)
    outcome = run(plan, inputs, scenario.sources(plan, inputs) if scenario.sources else None)
    c = outcome.packet.conformance
    for name, value in counts.items():
        assert getattr(c, name) == value, (name, getattr(c, name), value)
    if scenario.finding:
        assert scenario.finding in outcome.kinds(), outcome.kinds()
        found = outcome.finding(scenario.finding)
        assert found.statement in outcome.packet.warnings
        if found.p_value is not None:
            assert found.p_value <= 0.01 and found.test and found.cells
    assert outcome.asks(*scenario.asks), [q.question for q in outcome.brief.reviewer_questions]
    if not scenario.headline_may_rise:
        assert outcome.overall() <= honest_headline["all_planned"] + 1e-12


@pytest.mark.parametrize("scenario", CLEAN, ids=[s.name for s in CLEAN])
def test_clean_control_raises_nothing(scenario: Scenario) -> None:
    plan = scenario.plan()
    inputs, counts = scenario.build(plan)
    outcome = run(plan, inputs, scenario.sources(plan, inputs) if scenario.sources else None)
    for name, value in counts.items():
        assert getattr(outcome.packet.conformance, name) == value
    assert outcome.packet.findings == [], [f.statement for f in outcome.packet.findings]
    assert not any("re-run" in w for w in outcome.packet.warnings)


def test_flags_carry_what_the_harness_recorded():
    plan = make_plan()
    rows = honest_rows("libero")
    rows[3] = row(LIB[0], 3, status="infra_failure", run_id="run-7", recorded_at="2026-01-03T10:00:00Z",
                  failure_reason="connection closed by the model server")
    outcome = run(plan, [audit_input(plan, "libero", rows), audit_input(plan, "libero-plus", honest_rows("libero-plus"))])
    infra = [f for f in outcome.packet.flagged_episodes if f.category == "infra_failure"]
    assert len(infra) == 1 and infra[0].cell_id == LIB[0]
    for text in ("'run-7'", "'2026-01-03T10:00:00Z'", "connection closed by the model server"):
        assert text in infra[0].detail


def test_importer_notes_reach_the_packet():
    plan = make_plan()
    ai = audit_input(plan, "libero", honest_rows("libero"))
    noted = ai.model_copy(update={"source": ai.source.model_copy(update={"notes": [
        "rows beyond the plan are kept out of protocol", "the harness marked this run partial"]}),
        "audit_digest": None}).sealed()
    outcome = run(plan, [noted, audit_input(plan, "libero-plus", honest_rows("libero-plus"))])
    assert any("importer notes" in w and "marked this run partial" in w for w in outcome.packet.warnings)


def test_a_partial_run_counts_its_probes_planned_episodes_without_an_attempt():
    """The partial run's reach: libero-plus's episodes with no attempt (its 20 missing ones), not the
    probe's planned episodes nor the other probe's."""
    plan = make_plan()
    inputs, _ = partial_run(plan)
    inputs[0] = audit_input(plan, "libero", honest_rows("libero")[7:])  # 7 of libero's missing too
    outcome = run(plan, inputs)
    assert outcome.packet.conformance.missing == 27
    found = outcome.finding("partial_run")
    assert found.probe_id == "libero-plus" and found.planned_affected == 20
