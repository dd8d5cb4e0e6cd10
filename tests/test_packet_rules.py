"""The packet's rules, read from the packet itself: each test here fails under one of the rule
changes issue 15 lists (re-runs, bootstrap, aggregate policy, underpowered threshold, success by
status, the re-rolled-failure signal), which the rest of the suite used to let pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_conformance import audit, make_plan
from worldflux_nb.core.packet import build_packet
from worldflux_nb.core.statistics import wilson_interval
from worldflux_nb.models.plan import ProtocolPlan


def rows_for(plan: ProtocolPlan, probe: str, outcomes) -> list[dict]:
    """One row per planned episode of the probe; `outcomes(cell, i)` gives a list of (status, success)
    attempts (empty: the episode is missing)."""
    from worldflux_nb.core.run_sheet import planned_episodes_frame

    frame = planned_episodes_frame(plan)
    frame = frame[frame["probe_id"] == probe]
    pins = dict(plan.probe(probe).pinned_metadata)
    rows = []
    for i, episode in enumerate(frame.itertuples(index=False)):
        for status, success in outcomes(episode, i):
            rows.append({"probe_id": probe, "task_id": episode.task_id, "axis": episode.axis,
                         "level": episode.level, "episode_index": int(episode.episode_index),
                         "seed": None if pd.isna(episode.seed) else int(episode.seed),
                         "success": success, "status": status, "metadata": pins})
    return rows


def packet_for(plan: ProtocolPlan, outcomes, probe: str = "alpha"):
    return build_packet(plan, [audit(plan, probe, rows_for(plan, probe, outcomes))])


def cell(packet, cell_id: str):
    return next(c for c in packet.cells if c.cell_id == cell_id)


OK, FAIL = ("completed", True), ("completed", False)


def test_a_re_run_counts_as_a_success_only_if_every_attempt_succeeded():
    plan = make_plan(6)
    attempts = {0: [FAIL, OK], 1: [OK, FAIL], 2: [OK, OK], 3: [FAIL, FAIL], 4: [OK], 5: [FAIL]}
    packet = packet_for(plan, lambda e, i: attempts[i % 6] if e.cell_id == "alpha:suite/0:nominal:0" else [OK])
    target = cell(packet, "alpha:suite/0:nominal:0")
    assert (target.successes, target.denominator, target.duplicates) == (2, 6, 4)
    signals = packet.cherry_pick_signals
    assert signals.rerolled_episodes == 4 and signals.rerolled_failures_hidden == 2
    assert any("in 2 of them a failed attempt sits next to a successful one" in s for s in signals.statements)


def test_success_counts_only_for_completed_episodes():
    """Evidence may hold a success on a pending or infra-failed row; conformance must not count it."""
    plan = make_plan(6)
    kinds = [("pending", True), ("infra_failure", True), ("timeout", True), OK, OK, FAIL]
    packet = packet_for(plan, lambda e, i: [kinds[i % 6]] if e.cell_id == "alpha:suite/1:camera:2" else [OK])
    assert cell(packet, "alpha:suite/1:camera:2").successes == 2


def test_aggregates_use_the_plans_policy_not_completed_only():
    plan = make_plan(10)
    assert plan.denominator_policy == "all_planned"
    # Every fourth episode missing, every fifth an infra failure: the policies' denominators differ.
    def outcomes(e, i):
        return [] if i % 4 == 0 else [("infra_failure", None)] if i % 5 == 0 else [OK if i % 3 else FAIL]

    packet = packet_for(plan, outcomes)
    planned = sum(c.planned for c in packet.cells if c.probe_id == "alpha")
    successes = sum(c.successes for c in packet.cells if c.probe_id == "alpha")
    probe = next(a for a in packet.probe_aggregates if a.probe_id == "alpha")
    assert (probe.successes, probe.denominator) == (successes, planned)
    low, high = wilson_interval(successes, planned)
    assert (probe.pooled_ci_low, probe.pooled_ci_high) == pytest.approx((float(low), float(high)))
    for axis in ("nominal", "camera"):
        aggregate = next(a for a in packet.axis_aggregates if a.probe_id == "alpha" and a.axis == axis)
        assert aggregate.denominator == sum(c.planned for c in packet.cells
                                            if c.probe_id == "alpha" and c.axis == axis)


def test_the_bootstrap_resamples_each_task_at_its_own_rate_at_95_percent():
    """Two tasks at 10% and 90% over 200 episodes each: the task-weighted interval's half-width is
    the normal approximation's within 8% (a pooled 50% rate would widen it by 2/3, a 90% level
    would narrow it by 16%)."""
    plan = make_plan(200, half_width=0.2)
    rates = {"suite/0": 0.1, "suite/1": 0.9}
    packet = packet_for(plan, lambda e, i: [OK if (int(e.episode_index) % 200) < 200 * rates[e.task_id] else FAIL])
    for aggregate in (a for a in packet.axis_aggregates if a.probe_id == "alpha"):
        expected = 1.959964 * np.sqrt(sum(p * (1 - p) / 200 for p in rates.values())) / 2
        half = (aggregate.bootstrap_ci_high - aggregate.bootstrap_ci_low) / 2
        assert aggregate.task_weighted_rate == pytest.approx(0.5)
        assert half == pytest.approx(expected, rel=0.08), aggregate.axis


def test_each_aggregate_draws_its_own_bootstrap():
    """The nominal and camera groups hold identical counts; seeded by their group, they draw differently."""
    plan = make_plan(200, half_width=0.2)
    rates = {"suite/0": 0.3, "suite/1": 0.6}
    packet = packet_for(plan, lambda e, i: [OK if (int(e.episode_index) % 200) < 200 * rates[e.task_id] else FAIL])
    nominal, camera = (next(a for a in packet.axis_aggregates if a.probe_id == "alpha" and a.axis == axis)
                       for axis in ("nominal", "camera"))
    assert (nominal.successes, nominal.denominator) == (camera.successes, camera.denominator)
    assert (nominal.bootstrap_ci_low, nominal.bootstrap_ci_high) != (camera.bootstrap_ci_low, camera.bootstrap_ci_high)


def test_a_cell_with_exactly_the_minimum_episodes_is_not_underpowered_for_its_count():
    plan = make_plan(4, min_episodes=4, half_width=0.45)
    packet = packet_for(plan, lambda e, i: [OK])
    target = cell(packet, "alpha:suite/0:nominal:0")
    assert target.denominator == 4 and not target.underpowered
    assert "alpha:suite/0:nominal:0" not in packet.underpowered_cells


@pytest.mark.parametrize("margin, underpowered", [(0.005, False), (-0.005, True)])
def test_the_half_width_target_is_the_plans_to_the_hundredth(margin, underpowered):
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(7, 10, alpha=0.05, method="wilson")
    width = (high - low) / 2  # the half-width, from statsmodels rather than the code under test
    plan = make_plan(10, min_episodes=1, half_width=round(width + margin, 4))
    packet = packet_for(plan, lambda e, i: [OK if i % 10 < 7 else FAIL])
    target = cell(packet, "alpha:suite/0:nominal:0")
    assert (target.successes, target.denominator) == (7, 10)
    assert target.underpowered is underpowered


def test_a_cell_exactly_at_the_half_width_target_is_not_underpowered():
    """Underpowered means an interval wider than the target: one exactly as wide is not."""
    probe = packet_for(make_plan(10, min_episodes=1), lambda e, i: [OK if i % 10 < 7 else FAIL])
    measured = cell(probe, "alpha:suite/0:nominal:0")
    width = (measured.ci_high - measured.ci_low) / 2
    at_target = packet_for(make_plan(10, min_episodes=1, half_width=width),
                           lambda e, i: [OK if i % 10 < 7 else FAIL])
    assert cell(at_target, "alpha:suite/0:nominal:0").underpowered is False
    above = packet_for(make_plan(10, min_episodes=1, half_width=float(np.nextafter(width, 0))),
                       lambda e, i: [OK if i % 10 < 7 else FAIL])
    assert cell(above, "alpha:suite/0:nominal:0").underpowered is True


def test_each_denominator_policy_counts_what_design_says():
    """Per planned episode: success, failure, timeout, infra failure, pending, missing (DESIGN.md)."""
    plan = make_plan(6)
    kinds = [[OK], [FAIL], [("timeout", False)], [("infra_failure", None)], [("pending", None)], []]
    packet = packet_for(plan, lambda e, i: kinds[i % 6] if e.cell_id == "alpha:suite/0:nominal:0" else [])
    policies = {p.policy: p for p in packet.denominator_policies if p.probe_id == "alpha"}
    assert {name: (p.successes, p.denominator) for name, p in policies.items()} == {
        "all_planned": (1, 24), "attempted": (1, 23), "completed_only": (1, 3)}
    assert policies["completed_only"].optimistic and not policies["all_planned"].optimistic


@pytest.mark.parametrize("policy", ["all_planned", "attempted", "completed_only"])
def test_a_comparison_arm_counts_what_the_packet_counts(policy: str):
    """The comparison's arms and the packet read one denominator rule: the same evidence gives the
    same successes and denominator under each policy, re-runs and infra-then-success included."""
    from worldflux_nb.core.compare import arm_evidence

    plan = make_plan(6).model_copy(update={"denominator_policy": policy})
    kinds = [[OK], [FAIL], [("timeout", False)], [("infra_failure", None)], [("pending", None)], [],
             [("infra_failure", None), OK], [FAIL, OK], [("pending", None), FAIL]]
    evidence = [audit(plan, "alpha", rows_for(plan, "alpha", lambda e, i: kinds[i % len(kinds)]))]
    overall = next(p for p in build_packet(plan, evidence).denominator_policies
                   if p.probe_id is None and p.policy == policy)
    arm = arm_evidence(plan, "candidate", evidence)
    assert (int(np.count_nonzero(arm.counted & arm.success)), int(np.count_nonzero(arm.counted))) == (
        overall.successes, overall.denominator)


def test_pending_and_infra_counts_read_every_attempt():
    """Conformance counts an episode pending only while all its attempts are pending, and an
    infrastructure failure if any attempt was one (DESIGN.md), whatever the order of the rows."""
    plan = make_plan(6)
    kinds = [[("pending", None)], [("pending", None), FAIL], [FAIL, ("pending", None)],
             [("infra_failure", None)], [OK, ("infra_failure", None)], [OK]]
    for order in (1, -1):
        packet = packet_for(plan, lambda e, i: kinds[i % 6][::order] if e.cell_id == "alpha:suite/0:nominal:0" else [])
        assert (packet.conformance.pending, packet.conformance.infra_failures) == (1, 2)


def test_groups_follow_the_plans_order_and_every_interval_its_confidence():
    """Per-probe policy results and the aggregates come in the plan's order (probes beta, alpha,
    custom:pick; alpha's axes nominal before camera), not sorted; each counts its group's cells; the
    pooled rate is successes over the denominator; and every interval is at the plan's confidence
    (80% here): pooled and per-policy intervals against statsmodels, the bootstrap against the
    task-weighted bootstrap seeded by the plan seed and the group, as DESIGN.md specifies."""
    from statsmodels.stats.proportion import proportion_confint

    from worldflux_nb.core.statistics import stable_seed, task_weighted

    order = ["beta", "alpha", "custom:pick"]
    base = make_plan(100)  # fine enough that the bootstrap's percentiles move with its seed
    plan = base.model_copy(update={
        "selected_probes": sorted(base.selected_probes, key=lambda p: order.index(p.probe_id)),
        "cells": sorted(base.cells, key=lambda c: order.index(c.probe_id)),
        "power_targets": base.power_targets.model_copy(update={"confidence": 0.8})})
    evidence = [audit(plan, probe, rows_for(plan, probe, lambda e, i: [] if i % 7 == 0 else
                                            [OK if (i * (3 + len(probe))) % 5 < 3 else FAIL]))
                for probe in ("alpha", "beta")]
    packet = build_packet(plan, evidence)

    def wilson(s: int, n: int) -> tuple:
        return tuple(map(float, proportion_confint(s, n, alpha=0.2, method="wilson"))) if n else (None, None)

    per_probe = [p for p in packet.denominator_policies if p.probe_id is not None]
    assert list(dict.fromkeys(p.probe_id for p in per_probe)) == order
    for result in packet.denominator_policies:
        assert (result.ci_low, result.ci_high) == pytest.approx(wilson(result.successes, result.denominator))
    assert [a.probe_id for a in packet.probe_aggregates] == order
    assert [(a.probe_id, a.axis) for a in packet.axis_aggregates] == [
        ("beta", "light"), ("alpha", "nominal"), ("alpha", "camera"), ("custom:pick", "nominal")]
    for aggregate in [*packet.probe_aggregates, *packet.axis_aggregates]:
        key = (aggregate.probe_id,) if aggregate.axis is None else (aggregate.probe_id, aggregate.axis)
        cells = [c for c in packet.cells if c.probe_id == aggregate.probe_id
                 and aggregate.axis in (None, c.axis)]
        assert aggregate.cells == len(cells)
        s, n = aggregate.successes, aggregate.denominator
        assert (s, n) == (sum(c.successes for c in cells), sum(c.denominator for c in cells))
        assert aggregate.pooled_rate == pytest.approx(s / n)
        assert (aggregate.pooled_ci_low, aggregate.pooled_ci_high) == pytest.approx(wilson(s, n))
        tasks = list(dict.fromkeys(c.task_id for c in cells))
        weighted = task_weighted(np.array([sum(c.successes for c in cells if c.task_id == t) for t in tasks]),
                                 np.array([sum(c.denominator for c in cells if c.task_id == t) for t in tasks]),
                                 seed=stable_seed(plan.plan_seed, *key), confidence=0.8)
        assert (aggregate.bootstrap_ci_low, aggregate.bootstrap_ci_high) == (weighted.ci_low, weighted.ci_high)
    for target in packet.cells:
        if target.denominator:
            assert (target.ci_low, target.ci_high) == pytest.approx(wilson(target.successes, target.denominator))


def test_a_cells_pending_infra_completed_and_missing_counts_are_each_their_own():
    """One cell of six planned episodes: two completed (one a success), one pending, two infrastructure
    failures and one missing; each count names only its own episodes."""
    plan = make_plan(6)
    kinds = [[OK], [FAIL], [("pending", None)], [("infra_failure", None)], [("infra_failure", None)], []]
    packet = packet_for(plan, lambda e, i: kinds[i % 6] if e.cell_id == "alpha:suite/0:nominal:0" else [])
    target = cell(packet, "alpha:suite/0:nominal:0")
    assert (target.planned, target.matched, target.missing) == (6, 5, 1)
    assert (target.completed, target.pending, target.infra_failures, target.successes) == (2, 1, 2, 1)


def test_a_cells_rows_outside_the_match_are_counted_by_kind():
    """One cell's evidence: a matched row and its duplicate, a row with another seed, a row with other
    pinned metadata, and a row of the cell's task naming an episode the plan does not hold; each count
    names its own row, and none of them is matched."""
    plan = make_plan(6)
    target = "alpha:suite/0:nominal:0"
    rows = [r for r in rows_for(plan, "alpha", lambda e, i: [OK]) if r["task_id"] == "suite/0" and r["axis"] == "nominal"]
    by_index = {r["episode_index"]: r for r in rows}
    evidence = [by_index[0], *[dict(by_index[0])] * 3, {**by_index[1], "seed": 7}, {**by_index[4], "seed": 8},
                {**by_index[2], "metadata": {**by_index[2]["metadata"], "environment_version": "libero-other"}},
                by_index[3], *[{**by_index[3], "episode_index": 96 + k, "seed": None} for k in range(4)]]
    packet = build_packet(plan, [audit(plan, "alpha", evidence)])
    got = cell(packet, target)
    assert (got.matched, got.successes, got.missing) == (2, 2, 4)
    assert (got.duplicates, got.seed_mismatches, got.metadata_mismatches, got.out_of_protocol) == (3, 2, 1, 4)
