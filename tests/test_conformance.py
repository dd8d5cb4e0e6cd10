"""Conformance: each evidence row in exactly one category, every planned episode matched or missing."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REFERENCE_PROFILE, cell_episodes
from worldflux_nb.core.bulk import narrowest_int
from worldflux_nb.core.conformance import check_conformance, episode_counts, normalise_value
from worldflux_nb.models.contract import CustomEvalContract
from worldflux_nb.models.evidence_table import EvidenceTable
from worldflux_nb.models.evidence import AuditInput, AuditSource
from worldflux_nb.models.plan import AxisSelection, PlanCell, PowerTargets, ProtocolPlan, SelectedProbe
from worldflux_nb.models.profile import EvalProfile

PIN = {"environment_version": "libero-local", "control_frequency_hz": 20.0}


def make_contract() -> CustomEvalContract:
    return CustomEvalContract(
        contract_id="pick", task_manifest_ref="manifests/pick.json",
        task_manifest_digest="sha256:" + "1" * 64, metric_schema_ref="schemas/metric.json",
        inclusion_rules=["all planned episodes"], exclusion_rules=["none"],
        audit_metadata_keys=["replay_id_scheme", "fixture_version"],
        reviewer_owned_task_source="reviewer repo", customer_consent_marker="consent-2026-01",
        customer_use_case="bin picking", acceptance_question="does it pick?",
        workflow_claim="picks parts", task_owner="ops",
        tasks=[{"task_id": "pick/bin", "instruction": "pick from the bin"}],
        pinned_values={"fixture_version": "fx-3"})


def make_plan(episodes: int = 6, *, seeds: bool = True, min_episodes: int = 4,
              half_width: float = 0.45) -> ProtocolPlan:
    """A small hand-made plan: a seeded probe with two axes, an unseeded one, and a custom contract."""
    profile = EvalProfile(**REFERENCE_PROFILE).sealed()
    cells: list[PlanCell] = []

    def add(probe: str, task: str, axis: str, level, start: int, seeded: bool) -> None:
        indexes = list(range(start, start + episodes))
        cells.append(PlanCell(
            cell_id=f"{probe}:{task}:{axis}:{level}", probe_id=probe, task_id=task, axis=axis,
            level=level, episodes=indexes,
            seeds=[1000 + i for i in indexes] if seeded else [None] * episodes))

    for task in ("suite/0", "suite/1"):
        add("alpha", task, "nominal", 0, 0, seeds)
        add("alpha", task, "camera", 2, 10, seeds)
    add("beta", "suite/0", "light", "dim", 0, False)
    add("custom:pick", "pick/bin", "nominal", 0, 0, seeds)
    probes = [
        SelectedProbe(probe_id="alpha", probe_version="1", seed_mode="per_episode_seed",
                      run_seed=1000, tasks=["suite/0", "suite/1"],
                      axes=[AxisSelection(axis="nominal", levels=[0]), AxisSelection(axis="camera", levels=[2])],
                      pinned_metadata=PIN, training_exposure=True,
                      training_exposure_note="libero may be in the training data"),
        SelectedProbe(probe_id="beta", probe_version="1", seed_mode="initial_state_index",
                      tasks=["suite/0"], axes=[AxisSelection(axis="light", levels=["dim"])],
                      pinned_metadata={"camera_config_id": "static-front-v1"}),
        SelectedProbe(probe_id="custom:pick", probe_version="1", seed_mode="per_episode_seed",
                      tasks=["pick/bin"], axes=[AxisSelection(axis="nominal", levels=[0])],
                      pinned_metadata={"fixture_version": "fx-3"}),
    ]
    return ProtocolPlan(
        plan_id="plan-test", profile=profile, profile_digest=profile.profile_digest,
        registry_version="reg-1", registry_digest="sha256:" + "2" * 64, plan_seed=1234,
        seed_source="operator_supplied", episodes_per_cell=episodes,
        power_targets=PowerTargets(max_ci_half_width=half_width, min_episodes_per_cell=min_episodes,
                                   episodes_needed_for_target=40),
        selected_probes=probes, cells=cells, custom_contracts=[make_contract()],
        missing_evidence_questions=["Where is the training-data manifest?"],
    ).sealed()


def perfect_rows(plan: ProtocolPlan, probe_id: str, succeed=lambda i: i % 3 != 0) -> list[dict]:
    pins = plan.probe(probe_id).pinned_metadata
    rows = []
    for cell in plan.cells:
        if cell.probe_id != probe_id:
            continue
        for index, seed in cell_episodes(cell):
            rows.append({"probe_id": probe_id, "task_id": cell.task_id, "axis": cell.axis,
                         "level": cell.level, "episode_index": index, "seed": seed,
                         "success": bool(succeed(index)), "status": "completed",
                         "metadata": dict(pins)})
    return rows


def audit(plan: ProtocolPlan, probe_id: str, rows: list[dict], *, identity="explicit",
          digest: str | None = None) -> AuditInput:
    return AuditInput(
        plan_digest=digest or plan.plan_digest, probe_id=probe_id, episodes=rows,
        source=AuditSource(importer="generic_jsonl", format_version="1", identity=identity),
    ).sealed()


def test_perfect_evidence_matches_everything():
    plan = make_plan()
    inputs = [audit(plan, p.probe_id, perfect_rows(plan, p.probe_id)) for p in plan.selected_probes]
    result = check_conformance(plan, inputs)
    c = result.conformance
    assert c.planned_episodes == plan.planned_episodes == c.matched == c.evidence_rows
    assert c.missing == c.out_of_protocol == c.duplicates == c.seed_mismatches == 0
    assert c.metadata_mismatches == c.infra_failures == c.unverified_seeds == c.unverified_metadata == 0
    assert result.episodes["matched"].all()


def plant_defects(plan: ProtocolPlan) -> tuple[list[AuditInput], dict[str, int]]:
    """Evidence with a known number of each defect; returns the inputs and the expected counts."""
    alpha = perfect_rows(plan, "alpha")
    beta = perfect_rows(plan, "beta")
    custom = perfect_rows(plan, "custom:pick")
    # 2 missing episodes in alpha.
    del alpha[3], alpha[0]
    # 1 out-of-protocol in alpha (episode index never planned) and 1 with an unknown task.
    extra = dict(alpha[1], episode_index=99, metadata=dict(PIN))
    alpha.append(extra)
    alpha.append(dict(alpha[1], task_id="suite/9", metadata=dict(PIN)))
    # 1 seed mismatch in alpha: a second row for a planned episode with another seed (not a missing one).
    alpha.append(dict(alpha[4], seed=77, metadata=dict(PIN)))
    # 1 metadata mismatch (drift) in alpha on another episode.
    alpha.append(dict(alpha[5], metadata={**PIN, "environment_version": "libero-drifted"}))
    # 2 duplicates: a re-roll of a failure that now "succeeds", and a plain re-run.
    failed = next(r for r in alpha if not r["success"] and r["episode_index"] < 90)
    alpha.append(dict(failed, success=True, metadata=dict(PIN)))
    rerun = next(r for r in alpha[6:] if r["success"] and r["episode_index"] < 90)
    alpha.append(dict(rerun, metadata=dict(PIN)))
    # 1 infra failure (matched) in beta, plus one row with no seed/metadata keys (unverified).
    beta[2] = dict(beta[2], success=None, status="infra_failure")
    # Custom: one row lacking the pinned key (unverified metadata), one with no seed.
    custom[0] = dict(custom[0], metadata={})
    custom[1] = dict(custom[1], seed=None)
    inputs = [audit(plan, "alpha", alpha), audit(plan, "beta", beta),
              audit(plan, "custom:pick", custom),
              # A wrong plan digest: all of its rows rejected, even though they would match.
              audit(plan, "beta", perfect_rows(plan, "beta"), digest="sha256:" + "f" * 64)]
    expected = {"missing": 2, "out_of_protocol": 2, "seed_mismatches": 1, "metadata_mismatches": 1,
                "duplicates": 2, "infra_failures": 1, "unverified_metadata": 1, "unverified_seeds": 1,
                "rerolled_failure_episode": (failed["task_id"], failed["episode_index"])}
    return inputs, expected


def test_planted_defects_are_counted_exactly():
    plan = make_plan()
    inputs, expected = plant_defects(plan)
    result = check_conformance(plan, inputs)
    c = result.conformance
    for name in ("missing", "out_of_protocol", "seed_mismatches", "metadata_mismatches",
                 "duplicates", "infra_failures", "unverified_metadata", "unverified_seeds"):
        assert getattr(c, name) == expected[name], name
    assert c.matched + c.missing == c.planned_episodes
    assert [(d.probe_id, d.found, d.rows_rejected) for d in c.digest_mismatches] == [
        ("beta", "sha256:" + "f" * 64, 6)]
    assert c.evidence_rows == sum(len(i.episodes) for i in inputs[:3])
    assert set(result.rows["input"]) == {0, 1, 2}
    # The re-rolled failure stays a failure.
    task, index = expected["rerolled_failure_episode"]
    ep = result.episodes[(result.episodes.probe_id == "alpha") & (result.episodes.task_id == task)
                         & (result.episodes.episode_index == index)].iloc[0]
    assert ep.attempts == 2 and not ep.success


def test_first_conformant_row_is_matched_and_drift_is_not_conformant():
    plan = make_plan()
    rows = perfect_rows(plan, "beta")
    drifted = dict(rows[0], metadata={"camera_config_id": "wrist-v2"}, success=False)
    result = check_conformance(plan, [audit(plan, "beta", [drifted] + rows)])
    assert list(result.rows["category"][:2]) == ["metadata_mismatch", "matched"]
    assert result.conformance.duplicates == 0


def test_levels_compare_as_text_and_numbers_as_values():
    assert normalise_value(20) == normalise_value(20.0) == normalise_value("20")
    assert normalise_value(True) != normalise_value(1)
    plan = make_plan()
    rows = perfect_rows(plan, "alpha")
    for r in rows:
        r["level"] = str(r["level"])
        r["metadata"]["control_frequency_hz"] = 20
    assert check_conformance(plan, [audit(plan, "alpha", rows)]).conformance.matched == len(rows)


def test_unseeded_plan_accepts_any_recorded_seed():
    plan = make_plan(seeds=False)
    rows = [dict(r, seed=5) for r in perfect_rows(plan, "alpha")]
    c = check_conformance(plan, [audit(plan, "alpha", rows)]).conformance
    assert c.seed_mismatches == 0 and c.unverified_seeds == 0 and c.matched == len(rows)


def summary(result) -> tuple:
    eps = result.episodes.sort_values("planned_ix")
    cats = result.rows.groupby("category", observed=False).size().to_dict()
    return (result.conformance.model_dump(), cats, list(eps["matched"]), list(eps["success"]))


def test_shuffling_rows_of_different_planned_episodes_changes_nothing():
    plan = make_plan()
    inputs, _ = plant_defects(plan)
    before = summary(check_conformance(plan, inputs))
    rng = random.Random(7)
    shuffled = []
    for ai in inputs:
        rows = list(ai.episodes)
        # A stable sort by a random key per planned episode keeps the order within each episode.
        keys = {}
        for r in rows:
            keys.setdefault((r["task_id"], r["axis"], str(r["level"]), r["episode_index"]), rng.random())
        rows.sort(key=lambda r: keys[(r["task_id"], r["axis"], str(r["level"]), r["episode_index"])])
        shuffled.append(audit(plan, ai.probe_id, rows, digest=ai.plan_digest))
    assert summary(check_conformance(plan, shuffled)) == before


row_strategy = st.fixed_dictionaries({
    "task_id": st.sampled_from(["suite/0", "suite/1", "suite/2"]),
    "axis": st.sampled_from(["nominal", "camera"]),
    "level": st.sampled_from([0, 2, "2", 3]),
    "episode_index": st.integers(0, 16),
    "seed_delta": st.sampled_from([0, 0, 0, 1, None]),
    "success": st.booleans(),
    "status": st.sampled_from(["completed", "completed", "timeout", "infra_failure", "pending"]),
    "env": st.sampled_from(["libero-local", "libero-local", "other", None]),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(row_strategy, max_size=60))
def test_invariants_hold_for_any_evidence(specs):
    plan = make_plan()
    rows = []
    for s in specs:
        meta = {} if s["env"] is None else {"environment_version": s["env"]}
        rows.append({"probe_id": "alpha", "task_id": s["task_id"], "axis": s["axis"],
                     "level": s["level"], "episode_index": s["episode_index"],
                     "seed": None if s["seed_delta"] is None else 1000 + s["episode_index"] + s["seed_delta"],
                     "success": s["success"], "status": s["status"], "metadata": meta})
    result = check_conformance(plan, [audit(plan, "alpha", rows)])
    c = result.conformance
    assert c.matched + c.missing == c.planned_episodes
    assert (c.matched + c.out_of_protocol + c.duplicates + c.seed_mismatches
            + c.metadata_mismatches) == c.evidence_rows == len(rows)
    assert result.rows["category"].notna().all()
    # At most one matched row per planned episode, and the success rule never beats the first attempt.
    matched = result.rows_in("matched")
    assert matched["planned_ix"].is_unique
    eps = result.episodes
    assert not (eps["success"] & ~eps["matched"]).any()
    first_ok = matched.set_index("planned_ix")["row_success"]
    assert not (eps.set_index("planned_ix")["success"].reindex(first_ok.index) & ~first_ok).any()
    # Reversing the order of whole planned episodes changes nothing.
    order = {}
    for i, r in enumerate(rows):
        order.setdefault((r["task_id"], r["axis"], str(r["level"]), r["episode_index"]), -i)
    reordered = sorted(rows, key=lambda r: order[(r["task_id"], r["axis"], str(r["level"]), r["episode_index"])])
    assert summary(check_conformance(plan, [audit(plan, "alpha", reordered)])) == summary(result)


def test_many_out_of_protocol_rows_are_categorised():
    plan = make_plan(episodes=1)
    base = perfect_rows(plan, "alpha")[0]
    rows = [dict(base, episode_index=i % 5000) for i in range(200_000)]
    ai = AuditInput.model_construct(plan_digest=plan.plan_digest, probe_id="alpha",
                                    episodes=EvidenceTable.build(rows),
                                    source=AuditSource(importer="x", format_version="1", identity="explicit"),
                                    redactions=[], schema_version=AuditInput.schema_id())
    c = check_conformance(plan, [ai]).conformance
    assert c.matched == 1 and c.out_of_protocol == 200_000 - 200_000 // 5000


def test_episode_counts_of_a_few_positions_are_bincounts():
    """A few positions among many planned episodes are counted by sorting them: the same counts and type."""
    rng = np.random.default_rng(7)
    for size, many in ((100_000, 50), (100_000, 5_000), (1_000, 500), (10, 0)):
        positions = rng.integers(0, size, many)
        positions[: many // 3] = positions[0] if many else 0  # one episode attempted many times
        got, expected = episode_counts(positions, size), np.bincount(positions, minlength=size)
        assert got.tolist() == expected.tolist()
        assert got.dtype == narrowest_int(int(expected.max()))
    assert episode_counts(np.array([3, 3, 3]), 1_000).dtype == np.int8
    assert episode_counts(np.full(200, 5), 10_000).dtype == np.int16
    with pytest.raises(ValueError):
        episode_counts(np.array([-1, 4]), 1_000)


def test_an_episode_run_more_times_than_a_byte_holds_is_counted_exactly():
    """Per-episode counts are stored as narrow as they fit (conformance.episode_counts)."""
    assert episode_counts(np.array([0, 0, 2]), 4).dtype == np.int8
    assert episode_counts(np.full(300, 1), 2).tolist() == [0, 300]
    plan = make_plan()
    rows = perfect_rows(plan, "beta")
    first = rows[0]  # a failure (index 0)
    reruns = [dict(first, success=i % 2 == 0) for i in range(299)]
    result = check_conformance(plan, [audit(plan, "beta", rows + reruns)])
    assert result.conformance.duplicates == 299
    episodes = result.episodes
    episode = episodes[(episodes.probe_id == "beta") & (episodes.task_id == first["task_id"])
                       & (episodes.episode_index == first["episode_index"])].iloc[0]
    assert (episode.attempts, episode.attempt_successes, episode.attempt_failures) == (300, 150, 150)
    assert not episode.success


def test_each_planned_episode_carries_its_matched_rows_status_whole_or_picked():
    """The episodes frame gives each planned episode the status of its matched (first conformant) row,
    missing where nothing matched, the same for the whole frame and for positions picked from it."""
    plan = make_plan(6)
    kinds = [[("completed", True)], [("pending", None), ("completed", False)], [("infra_failure", None)],
             [("timeout", False)], [], []]
    rows = []
    for row in perfect_rows(plan, "alpha"):
        if (row["task_id"], row["axis"]) == ("suite/0", "nominal"):
            rows += [{**row, "status": status, "success": success} for status, success in kinds[row["episode_index"]]]
    result = check_conformance(plan, [audit(plan, "alpha", rows)])
    episodes = result.episodes
    cell = episodes[(episodes.probe_id == "alpha") & (episodes.task_id == "suite/0") & (episodes.axis == "nominal")]
    statuses = cell.sort_values("episode_index")["status"].tolist()
    assert statuses[:4] == ["completed", "pending", "infra_failure", "timeout"]
    assert pd.isna(statuses[4]) and pd.isna(statuses[5])
    picked = result.episodes_at(np.asarray(cell.index))
    assert picked["status"].tolist()[:4] == cell["status"].tolist()[:4]


def test_an_episode_re_run_many_times_keeps_its_attempts_in_evidence_order():
    """Attempt numbers follow the evidence order within an episode however many times it was re-run
    (an unstable sort keeps the order of only a few equal keys): the first row, pending here, is the
    episode's matched row, for every one of six episodes re-run forty times, their rows interleaved."""
    plan = make_plan(6)
    base = [r for r in perfect_rows(plan, "alpha") if (r["task_id"], r["axis"]) == ("suite/0", "nominal")]
    rows = [{**r, "status": "pending", "success": None} for r in base]
    rows += [{**r, "status": "completed", "success": bool((k + r["episode_index"]) % 2)} for k in range(39) for r in base]
    result = check_conformance(plan, [audit(plan, "alpha", rows)])
    episodes = result.episodes
    cell = episodes[(episodes.probe_id == "alpha") & (episodes.task_id == "suite/0") & (episodes.axis == "nominal")]
    assert (cell["attempts"] == 40).all() and (cell["status"] == "pending").all()
    assert result.conformance.duplicates == 6 * 39


def test_a_row_of_a_task_the_plan_lacks_is_out_of_protocol_whatever_its_index_and_seed():
    """A row naming no plan cell stays out of protocol even when its episode index and seed are those of
    a planned episode of another cell (here alpha:suite/0:camera:2's episode 10, seed 1010)."""
    plan = make_plan(6)
    row = {"probe_id": "alpha", "task_id": "suite/9", "axis": "camera", "level": 2, "episode_index": 10,
           "seed": 1010, "success": True, "status": "completed", "metadata": dict(PIN)}
    c = check_conformance(plan, [audit(plan, "alpha", [row])]).conformance
    assert (c.matched, c.out_of_protocol) == (0, 1)


def test_a_non_conformant_first_row_does_not_take_a_re_run_episodes_first_attempt():
    """An episode whose first row has the wrong seed, then a success and a failure: the success is its
    first conformant attempt, so the episode is matched (and, re-run with a failure, not a success)."""
    plan = make_plan(6)
    (first,) = [r for r in perfect_rows(plan, "alpha") if (r["task_id"], r["axis"], r["episode_index"])
                == ("suite/0", "nominal", 0)]
    rows = [{**first, "seed": 7}, {**first, "success": True}, {**first, "success": False}]
    result = check_conformance(plan, [audit(plan, "alpha", rows)])
    assert (result.conformance.matched, result.conformance.seed_mismatches, result.conformance.duplicates) == (1, 1, 1)
    episode = result.episodes[(result.episodes.task_id == "suite/0") & (result.episodes.axis == "nominal")
                              & (result.episodes.episode_index == 0)].iloc[0]
    assert episode["matched"] and episode["attempts"] == 2 and not episode["success"]
