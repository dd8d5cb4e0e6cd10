"""Comparisons of policies on one plan: pairing, the re-run rule, denominators, families, asymmetries."""

from __future__ import annotations

import random

import numpy as np
import pytest

from compare_support import arm, audit, episode_indexes, rows_for, small_plan
from worldflux_nb.core.compare import build_comparison
from worldflux_nb.core.compare_design import log_e_value, with_comparisons
from worldflux_nb.core.compare_stats import mcnemar_exact
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_from_json, artifact_json
from worldflux_nb.models.comparison import Comparison

import json


def coin(seed: int, rate: float):
    generator = random.Random(seed)
    table: dict = {}

    def outcome(cell: str, index: int):
        return table.setdefault((cell, index), generator.random() < rate)
    return outcome


def row(comparison: Comparison, scope: str, baseline: str = "base", candidate: str = "cand"):
    return next(r for r in comparison.comparisons
                if r.scope == scope and r.baseline == baseline and r.candidate == candidate)


def test_paired_counts_and_mcnemar_on_every_scope():
    plan = small_plan()
    base_o, cand_o = coin(1, 0.5), coin(2, 0.7)
    c = build_comparison(plan, {"base": arm(plan, base_o), "cand": arm(plan, cand_o)})
    scopes = {r.scope for r in c.comparisons}
    assert {"all", "probe:alpha", "probe:beta", "axis:alpha/nominal", "axis:alpha/camera",
            "axis:beta/light"} <= scopes
    assert {f"cell:{cell.cell_id}" for cell in plan.cells} <= scopes
    for r in c.comparisons:
        cells = [cell for cell in plan.cells if r.scope in ("all", f"probe:{cell.probe_id}",
                 f"axis:{cell.probe_id}/{cell.axis}", f"cell:{cell.cell_id}")]
        keys = [(cell.cell_id, i) for cell in cells for i in episode_indexes(cell)]
        b = sum(base_o(*k) and not cand_o(*k) for k in keys)
        cc = sum(cand_o(*k) and not base_o(*k) for k in keys)
        assert r.paired and r.test == "mcnemar_exact" and r.pairs == len(keys)
        assert (r.discordant_baseline_only, r.discordant_candidate_only) == (b, cc)
        assert r.baseline_successes == sum(base_o(*k) for k in keys)
        assert r.candidate_successes == sum(cand_o(*k) for k in keys)
        assert r.difference == pytest.approx((cc - b) / len(keys), abs=1e-12)
        assert r.p_value == pytest.approx(float(mcnemar_exact(b, cc)), abs=1e-12)
        assert r.ci_low <= r.difference <= r.ci_high
        assert not r.confirmatory and r.family == "exploratory"
    assert not c.declared and "exploratory" in c.headline[0]


def test_rerolling_a_failure_never_helps_the_candidate():
    plan = small_plan()
    same = coin(3, 0.5)
    failures = [(cell.cell_id, cell, i) for cell in plan.cells if cell.probe_id == "alpha"
                for i in episode_indexes(cell) if not same(cell.cell_id, i)][:5]
    rerolls = [{"probe_id": "alpha", "task_id": cell.task_id, "axis": cell.axis, "level": cell.level,
                "episode_index": i, "seed": 100 + i, "success": True, "status": "completed"}
               for _, cell, i in failures]
    c = build_comparison(plan, {"base": arm(plan, same), "cand": arm(plan, same, {"alpha": rerolls})})
    overall = row(c, "all")
    assert overall.difference == 0 and overall.discordant_candidate_only == 0
    kinds = {(a.kind, a.scope) for a in c.asymmetries}
    assert all(("re_run", f"cell:{cell_id}") in kinds for cell_id, _, _ in failures)
    assert any("re-ran" in q.question for q in c.reviewer_questions)


def test_mcnemar_is_chosen_exactly_when_pairs_exist():
    # completed_only: an episode is counted only where it completed, so some scopes lose every pair.
    plan = small_plan(episodes=6, policy="completed_only")
    rng = np.random.default_rng(5)
    statuses = ["completed", "completed", "timeout", "infra_failure", "pending", None]

    def outcomes(seed):
        g = np.random.default_rng(seed)
        table = {}

        def outcome(cell, index):
            if (cell, index) not in table:
                status = statuses[g.integers(len(statuses))]
                table[(cell, index)] = bool(g.random() < 0.6) if status == "completed" else status
            return table[(cell, index)]
        return outcome

    for trial in range(6):
        base, cand = outcomes(int(rng.integers(1 << 30))), outcomes(int(rng.integers(1 << 30)))
        c = build_comparison(plan, {"base": arm(plan, base), "cand": arm(plan, cand)})
        for r in c.comparisons:
            assert r.paired == (r.pairs > 0)
            if r.pairs > 0:
                assert r.test == "mcnemar_exact" and r.baseline_denominator == r.candidate_denominator == r.pairs
            elif r.baseline_denominator and r.candidate_denominator:
                assert r.test == "boschloo" and r.p_value is not None  # small tables: the exact test
            else:
                assert r.test is None and r.p_value is None and r.difference is None


def test_attempted_policy_leaves_infra_failures_out_and_says_so():
    plan = small_plan(policy="attempted")
    base = coin(4, 0.5)
    first = plan.cells[0]

    def cand(cell, index):
        return "infra_failure" if cell == first.cell_id and index < 3 else base(cell, index)
    c = build_comparison(plan, {"base": arm(plan, base), "cand": arm(plan, cand)})
    overall = row(c, "all")
    assert overall.pairs == plan.planned_episodes - 3 and overall.unpaired_left_out == 3
    assert any(a.kind == "infra_failure" and a.scope == f"cell:{first.cell_id}" and a.candidate_count == 3
               for a in c.asymmetries)
    assert any("left out of the paired" in w for w in c.warnings)


def test_missing_and_out_of_protocol_asymmetries():
    plan = small_plan()
    base = coin(5, 0.6)
    cell = plan.cells[1]

    def cand(cell_id, index):
        return None if cell_id == cell.cell_id and index >= 8 else base(cell_id, index)
    stray = {"probe_id": "alpha", "task_id": cell.task_id, "axis": cell.axis, "level": cell.level,
             "episode_index": 40, "seed": 140, "success": True, "status": "completed"}
    unknown = dict(stray, task_id="suite/9")
    c = build_comparison(plan, {"base": arm(plan, base), "cand": arm(plan, cand, {"alpha": [stray, unknown]})})
    found = {(a.kind, a.scope): (a.baseline_count, a.candidate_count) for a in c.asymmetries}
    assert found[("missing", f"cell:{cell.cell_id}")] == (0, 4)
    assert found[("out_of_protocol", f"cell:{cell.cell_id}")] == (0, 1)
    assert found[("out_of_protocol", "probe:alpha")] == (0, 1)
    assert c.asymmetries[0].kind == "missing"  # largest difference first
    # The stray successes count nowhere; the 4 missing episodes count as the candidate's failures.
    expected = sum(bool(cand(cl.cell_id, i)) for cl in plan.cells for i in episode_indexes(cl))
    assert row(c, "all").candidate_successes == expected
    assert all(a.question.startswith(a.scope) for a in c.asymmetries)


def test_declared_comparisons_are_confirmatory_in_their_primary_scopes_only():
    plan = with_comparisons(small_plan(), [("cand", "base")], primary_scopes=["all", "probe:beta"],
                            multiplicity="holm")
    c = build_comparison(plan, {"base": arm(plan, coin(6, 0.4)), "cand": arm(plan, coin(7, 0.8))})
    confirmatory = [r for r in c.comparisons if r.confirmatory]
    assert {r.scope for r in confirmatory} == {"all", "probe:beta"}
    # The declared orientation wins over the first arm: cand is the baseline here.
    assert all((r.baseline, r.candidate) == ("cand", "base") for r in c.comparisons)
    from statsmodels.stats.multitest import multipletests
    assert [r.p_adjusted for r in confirmatory] == pytest.approx(
        list(multipletests([r.p_value for r in confirmatory], method="holm")[1]), abs=1e-12)
    exploratory = [r for r in c.comparisons if not r.confirmatory]
    assert [r.p_adjusted for r in exploratory] == pytest.approx(
        list(multipletests([r.p_value for r in exploratory], method="fdr_bh")[1]), abs=1e-12)
    assert c.declared and len(c.headline) == 2


def test_three_arms_compare_every_pair_with_letters():
    plan = small_plan(episodes=30)
    arms = {"a": arm(plan, coin(8, 0.2)), "b": arm(plan, coin(9, 0.25)), "c": arm(plan, coin(10, 0.9))}
    c = build_comparison(plan, arms, baseline="b")
    pairs = {(r.baseline, r.candidate) for r in c.comparisons}
    assert pairs == {("a", "b"), ("b", "c"), ("a", "c")} - {("a", "b")} | {("b", "a")}
    letters = {g.scope: g.letters for g in c.letters}
    assert letters["all"]["c"] == "a" and "a" not in letters["all"]["a"] + letters["all"]["b"]
    assert set(letters["all"]["a"]) & set(letters["all"]["b"])


def test_sequential_looks_follow_the_e_value():
    plan = with_comparisons(small_plan(episodes=25), [("base", "cand")], sequential_looks=4)
    c = build_comparison(plan, {"base": arm(plan, coin(11, 0.3)), "cand": arm(plan, coin(12, 0.9))})
    (result,) = c.sequential
    assert [k.episodes for k in result.looks] == [25, 50, 75, 100]
    for look in result.looks:
        expected = log_e_value(look.discordant_baseline_only, look.discordant_candidate_only) >= np.log(20)
        assert look.crossed == bool(expected)
    assert result.stopped_at_look == next(k.look for k in result.looks if k.crossed)


def test_row_and_input_order_do_not_change_any_count():
    plan = small_plan()
    base, cand = arm(plan, coin(13, 0.5)), arm(plan, coin(14, 0.6))
    def rows(a):  # the evidence table (to_pylist) or, on older models, the row list
        return a.episodes.to_pylist() if hasattr(a.episodes, "to_pylist") else [dict(r) for r in a.episodes]
    shuffled = [audit(plan, a.probe_id, random.Random(1).sample(rows(a), len(a.episodes))) for a in reversed(cand)]
    one = build_comparison(plan, {"base": base, "cand": cand})
    two = build_comparison(plan, {"base": base, "cand": shuffled})
    assert [r.model_dump() for r in one.comparisons] == [r.model_dump() for r in two.comparisons]


def test_digest_mismatched_evidence_is_left_out_with_a_warning():
    plan = small_plan()
    stale = audit(plan, "alpha", rows_for(plan, "alpha", coin(15, 0.9)), digest="sha256:" + "9" * 64)
    c = build_comparison(plan, {"base": arm(plan, coin(15, 0.5)), "cand": [stale]})
    assert c.arms[1].conformance.matched == 0 and c.arms[1].conformance.digest_mismatches
    assert any("another plan digest" in w for w in c.warnings)


def test_comparison_round_trips_and_refuses_tampering():
    plan = small_plan()
    c = build_comparison(plan, {"base": arm(plan, coin(16, 0.5)), "cand": arm(plan, coin(17, 0.6))})
    data = json.loads(artifact_json(c))
    assert data["schema_version"] == "worldflux_nb.comparison.v1" and data["privacy"] == "LOCAL_PRIVATE"
    assert artifact_from_json(data, "comparison.json") == c
    data["comparisons"][0]["p_value"] = 0.0001
    with pytest.raises(InputError, match="comparison_digest"):
        artifact_from_json(data, "comparison.json")


def test_bad_arms_are_refused():
    plan = small_plan()
    with pytest.raises(InputError, match="two arms"):
        build_comparison(plan, {"only": arm(plan, coin(1, 0.5))})
    with pytest.raises(InputError, match="baseline"):
        build_comparison(plan, {"a": arm(plan, coin(1, 0.5)), "b": arm(plan, coin(2, 0.5))}, baseline="z")
    # One evidence in two arms would compare a policy with itself and report a tie.
    shared = arm(plan, coin(1, 0.5))
    with pytest.raises(InputError, match=r"arms\.b\[2\]\.audit_digest.*arm 'a'"):
        build_comparison(plan, {"a": shared, "b": arm(plan, coin(2, 0.5)) + shared[:1]})


def test_forest_chart_draws_every_interval_offline():
    import re

    from worldflux_nb.render.compare_chart import FINDING_COLOURS, forest_chart

    plan = with_comparisons(small_plan(episodes=30), [("base", "cand")])
    c = build_comparison(plan, {"base": arm(plan, coin(20, 0.2)), "cand": arm(plan, coin(21, 0.8))})
    chart = forest_chart(c)
    assert len(chart.data) == len(c.comparisons)
    assert chart.data["scope"].iloc[0] == "all (confirmatory)"
    for _, r in chart.data.iterrows():
        assert r.ci_low <= r.difference <= r.ci_high
    assert set(chart.data["finding"]) <= set(FINDING_COLOURS)
    assert "candidate better" in set(chart.data["finding"])
    svg = chart.svg
    assert svg.startswith("<svg") and not re.search(r"https?://(?!www\.w3\.org)", svg)
    assert "$schema" not in chart.spec
    assert len(forest_chart(c, limit=3).data) == 3


def test_bundled_two_policy_sample_compares_with_a_missing_asymmetry(tmp_path):
    from worldflux_nb.core.planning import build_plan
    from worldflux_nb.io.evidence_entries import import_entries, sample_entries
    from worldflux_nb.sample import reference_contract, reference_profile
    from worldflux_nb.sample.comparison import write_comparison_sample

    plan = with_comparisons(build_plan(reference_profile(), seed=1234, contracts=[reference_contract()],
                                       episodes_per_cell=10), [("baseline", "candidate")])
    samples = write_comparison_sample(plan, tmp_path)
    arms = {name: import_entries(sample_entries(files, tmp_path / name), plan) for name, files in samples.items()}
    c = build_comparison(plan, arms)
    assert [a.name for a in c.arms] == ["baseline", "candidate"]
    kinds = {a.kind for a in c.asymmetries}
    assert {"missing", "re_run"} <= kinds and "unverified" not in kinds
    assert any(a.kind == "missing" and a.candidate_count > a.baseline_count == 0 for a in c.asymmetries)
    assert any(a.kind == "re_run" and a.candidate_count > a.baseline_count for a in c.asymmetries)
    assert {a.kind for a in c.asymmetries} == {"missing", "re_run"}  # nothing else differs between the arms


def test_comparison_displays_itself_without_scripts():
    plan = small_plan()
    c = build_comparison(plan, {"base": arm(plan, coin(30, 0.5)), "cand": arm(plan, coin(31, 0.6))})
    bundle = c._repr_mimebundle_()
    assert "<script" not in bundle["text/html"] and "http" not in bundle["text/html"]
    assert bundle["application/vnd.worldflux-nb.comparison.v1+json"]["comparison_digest"] == c.comparison_digest
    assert "Policy comparison" in bundle["text/markdown"] and "LOCAL_PRIVATE" in bundle["text/plain"]


def test_an_arm_named_like_a_secret_is_refused():
    plan = small_plan()
    with pytest.raises(InputError, match="secret"):
        build_comparison(plan, {"ghp_" + "a" * 36: arm(plan, coin(1, 0.5)), "cand": arm(plan, coin(2, 0.5))})
