"""Every count and finding the same under any order of rows and any split into audit inputs."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import test_detect_scenarios as scenarios
from detect_support import audit_input, make_plan, run

BUILDERS = [scenarios.best_of_three, scenarios.runs_combined, scenarios.drop_failures_hard,
            scenarios.failures_to_infra, scenarios.early_stopping_tail, scenarios.task_swap_easy_as_hard,
            scenarios.infra_after_rerun, scenarios.rerun_failures_same_seed, scenarios.unverified_seedless_successes,
            scenarios.index_offset, scenarios.level_relabelled, scenarios.clean_random_missing]


def summary(outcome):
    p = outcome.packet
    return (p.conformance.model_dump(exclude={"digest_mismatches"}),
            [c.model_dump() for c in p.cells],
            [x.model_dump() for x in p.denominator_policies],
            sorted((f.kind, f.probe_id or "", f.planned_affected, round(f.share, 12),
                    None if f.p_value is None else round(f.p_value, 12), tuple(f.cells)) for f in p.findings),
            p.flagged_totals, p.flagged_cells)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(builder=st.sampled_from(BUILDERS), seed=st.integers(0, 10_000))
def test_counts_and_findings_follow_no_order(builder, seed):
    plan = make_plan()
    inputs, _ = builder(plan)
    reference = summary(run(plan, inputs))
    rng = random.Random(seed)
    shuffled = []
    for ai in inputs:
        rows = [dict(r) for r in ai.episodes.to_pylist()]
        rng.shuffle(rows)
        cut = rng.randint(1, len(rows) - 1) if len(rows) > 1 else len(rows)
        parts = [rows[:cut], rows[cut:]] if rng.random() < 0.5 else [rows]
        for k, part in enumerate(p for p in parts if p):
            shuffled.append(audit_input(plan, ai.probe_id, part, name=f"{ai.probe_id}-{seed}-{k}.jsonl",
                                        identity=ai.source.identity, task_mapping=dict(ai.source.task_mapping),
                                        digest=ai.plan_digest))
    rng.shuffle(shuffled)
    assert summary(run(plan, shuffled)) == reference
