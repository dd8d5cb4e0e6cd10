import json
import os
import subprocess
import sys

import pytest
from statsmodels.stats.proportion import proportion_confint

from worldflux_nb.core.planning import build_plan
from worldflux_nb.core.power import episodes_needed_for_target, wilson_half_width
from worldflux_nb.core.registry import builtin_registry
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_from_json, artifact_json, load
from worldflux_nb.models import EvalProfile, ProtocolPlan
from worldflux_nb.models.digest import digest_of, seals
from worldflux_nb.models.plan import SeedRule
from worldflux_nb.models.profile import PINNED_PROFILE_FIELDS
from worldflux_nb.sample import reference_contract, reference_profile

from conftest import REFERENCE_PROFILE, cell_episodes

CUSTOM = "custom:acme-bin-picking-station-3"


@pytest.fixture(scope="module")
def plan() -> ProtocolPlan:
    with pytest.MonkeyPatch.context() as patch:  # the autouse fixture is function-scoped
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        return build_plan(reference_profile(), seed=1234, contracts=[reference_contract()])


def selections(plan: ProtocolPlan):
    return ([(p.probe_id, p.tasks, [(a.axis, a.levels) for a in p.axes]) for p in plan.selected_probes],
            [(c.cell_id, c.episodes, c.seeds) for c in plan.cells])


def test_plan_is_sealed_and_loads_back(plan):
    assert plan.plan_digest and plan.digest_problem() is None
    assert plan.profile_digest == plan.profile.profile_digest
    assert plan.registry_digest == builtin_registry().registry_digest
    assert artifact_from_json(json.loads(json.dumps(plan.to_json_dict())), "plan.json") == plan


def test_same_inputs_give_the_same_plan(plan):
    again = build_plan(reference_profile(), seed=1234, contracts=[reference_contract()])
    assert again.plan_digest == plan.plan_digest
    assert again.to_json_dict() == plan.to_json_dict()


def test_another_seed_gives_another_selection(plan):
    other = build_plan(reference_profile(), seed=1235, contracts=[reference_contract()])
    assert other.plan_digest != plan.plan_digest
    probes, cells = selections(plan)
    other_probes, other_cells = selections(other)
    tasks = {p: t for p, t, _ in probes}
    other_tasks = {p: t for p, t, _ in other_probes}
    assert tasks["libero"] != other_tasks["libero"]
    assert dict(probes_axes(probes))["libero-pro"] == dict(probes_axes(other_probes))["libero-pro"]
    # A cell present in both plans runs the same initial states 0..n-1 (a harness cannot be told
    # otherwise), under each plan's own run seed.
    shared = {c for c, _, _ in cells} & {c for c, _, _ in other_cells}
    mine, theirs = ({c: (e, s) for c, e, s in found} for found in (cells, other_cells))
    assert shared and all(mine[c][0] == theirs[c][0] for c in shared)
    assert all(mine[c][1] != theirs[c][1] for c in shared)
    assert plan.probe(CUSTOM).run_seed != other.probe(CUSTOM).run_seed


def probes_axes(probes):
    return [(p, axes) for p, _, axes in probes]


def test_plan_does_not_depend_on_python_hash_randomisation(plan):
    code = ("import os; os.environ['SOURCE_DATE_EPOCH']='1767225600';"
            "from worldflux_nb.core.planning import build_plan;"
            "from worldflux_nb.sample import reference_profile, reference_contract;"
            "print(build_plan(reference_profile(), seed=1234, contracts=[reference_contract()]).plan_digest)")
    digests = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": str(s)}).stdout.strip()
        for s in (1, 2)
    }
    assert digests == {plan.plan_digest}


def test_cells_are_unique_readable_and_complete(plan):
    ids = [c.cell_id for c in plan.cells]
    assert len(ids) == len(set(ids))
    for cell in plan.cells:
        assert cell.cell_id == f"{cell.probe_id}:{cell.task_id}:{cell.axis}:{cell.level}"
    for probe in plan.selected_probes:
        expected = {(t, a.axis, lv) for t in probe.tasks for a in probe.axes for lv in a.levels}
        got = {(c.task_id, c.axis, c.level) for c in plan.cells if c.probe_id == probe.probe_id}
        assert got == expected


def test_default_plan_is_modest(plan):
    assert 300 <= plan.planned_episodes <= 2000
    assert plan.episodes_per_cell >= plan.power_targets.min_episodes_per_cell


def test_seeds_follow_each_probes_harness(plan):
    for cell in plan.cells:
        probe = plan.probe(cell.probe_id)
        pairs = cell_episodes(cell)
        # Every probe's episodes are 0..n-1: initial states for the LIBERO family, seeds offsets otherwise.
        assert [i for i, _ in pairs] == list(range(plan.episodes_per_cell))
        if probe.seed_mode == "initial_state_index":
            assert cell.seeds == SeedRule(rule="run_seed", run_seed=probe.run_seed)
            assert {s for _, s in pairs} == {probe.run_seed}
        elif probe.seed_mode == "per_episode_seed":
            assert [s for _, s in pairs] == [probe.run_seed + i for i, _ in pairs]


def test_simpler_env_plan_records_the_run_seed_on_every_episode():
    widowx = EvalProfile.model_validate({**REFERENCE_PROFILE, "simulator_family": "simpler",
                                         "robot_model": "widowx"})
    plan = build_plan(widowx, seed=7)
    probe = plan.probe("simpler-env")
    assert probe.seed_mode == "run_seed"
    assert all({s for _, s in cell_episodes(c)} == {probe.run_seed} for c in plan.cells)
    assert all(max(i for i, _ in cell_episodes(c)) < 24 for c in plan.cells)
    assert plan.excluded_axes == []


def test_pinned_metadata_holds_profile_values_and_contract_pins(plan):
    profile = plan.profile
    for probe in plan.selected_probes:
        for name in PINNED_PROFILE_FIELDS:
            assert probe.pinned_metadata[name] == getattr(profile, name)
    custom = plan.probe(CUSTOM).pinned_metadata
    assert custom["station_id"] == "station-3" and custom["fixture_version"] == "fx-2.1"
    assert "station_id" not in plan.probe("libero").pinned_metadata


def test_training_exposure_marks_libero_family_only(plan):
    marked = {p.probe_id: p.training_exposure for p in plan.selected_probes}
    assert marked == {"libero": True, "libero-pro": True, CUSTOM: False}
    assert all(p.training_exposure_note for p in plan.selected_probes if p.training_exposure)


def test_missing_evidence_questions_come_from_the_profile(plan):
    text = " ".join(plan.missing_evidence_questions)
    assert "training-data manifest" in text
    assert "calibration" not in text  # the reference profile names one
    no_calibration = build_plan(
        EvalProfile.model_validate({**REFERENCE_PROFILE, "real_to_sim_calibration": None}), seed=1)
    assert any("real-to-sim calibration" in q for q in no_calibration.missing_evidence_questions)


def test_consent_marker_is_recorded_never_verified(plan):
    notes = " ".join(plan.notes)
    assert "acme-consent-2026-01-reviewer-share" in notes and "never verified" in notes
    assert plan.custom_contracts == [reference_contract()]


def test_power_targets_use_the_guidance(plan):
    targets = plan.power_targets
    assert targets.max_ci_half_width == 0.15
    assert targets.episodes_needed_for_target == episodes_needed_for_target(0.15, 0.5)


@pytest.mark.parametrize("width,p", [(0.05, 0.5), (0.1, 0.5), (0.15, 0.5), (0.2, 0.8), (0.1, 0.9)])
def test_episodes_needed_matches_statsmodels_wilson(width, p):
    n = episodes_needed_for_target(width, p)

    def half_width(k):
        lo, hi = proportion_confint(p * k, k, alpha=0.05, method="wilson")
        return (hi - lo) / 2

    assert half_width(n) <= width + 1e-12 < half_width(n - 1)
    assert wilson_half_width(n, p) == pytest.approx(half_width(n))


@pytest.mark.parametrize("option,value,field", [
    ("episodes_per_cell", 60, "episodes_per_cell"),
    ("episodes_per_cell", 0, "episodes_per_cell"),
    ("max_ci_half_width", 0.0, "max_ci_half_width"),
    ("max_ci_half_width", 0.5, "max_ci_half_width"),
    ("min_episodes_per_cell", 0, "min_episodes_per_cell"),
    ("denominator_policy", "best_case", "denominator_policy"),
    ("seed_source", "guessed", "seed_source"),
])
def test_bad_options_name_the_option(option, value, field):
    with pytest.raises(InputError) as err:
        build_plan(reference_profile(), seed=1, **{option: value})
    assert err.value.field == field


def test_episodes_per_cell_and_policy_options_are_honoured():
    plan = build_plan(reference_profile(), seed=3, episodes_per_cell=12,
                      denominator_policy="attempted", max_ci_half_width=0.2,
                      min_episodes_per_cell=12)
    assert {c.episode_count for c in plan.cells} == {12}
    assert plan.denominator_policy == "attempted"
    assert plan.power_targets.episodes_needed_for_target == episodes_needed_for_target(0.2)


def test_contract_pins_must_be_audit_keys():
    contract = reference_contract().model_copy(update={"pinned_values": {"shift": "night"}})
    with pytest.raises(InputError) as err:
        build_plan(reference_profile(), seed=1, contracts=[contract])
    assert err.value.field == "pinned_values" and "shift" in err.value.problem


def test_same_contract_twice_is_refused():
    with pytest.raises(InputError) as err:
        build_plan(reference_profile(), seed=1, contracts=[reference_contract()] * 2)
    assert err.value.field == "contract_id"


def test_a_plan_file_as_written_is_checked_on_its_json_without_dumping_the_model(plan, tmp_path, monkeypatch):
    path = tmp_path / "plan.json"
    path.write_text(artifact_json(plan), encoding="utf-8")

    def not_needed(self):
        raise AssertionError("the JSON as read is the sealed content: the model need not be dumped")

    monkeypatch.setattr(ProtocolPlan, "computed_digest", not_needed)
    monkeypatch.setattr(EvalProfile, "computed_digest", not_needed)
    assert load(path, ProtocolPlan) == plan


def test_json_spelt_unlike_the_sealed_json_is_judged_by_the_models_content(plan):
    data = plan.to_json_dict()
    data["episodes_per_cell"] = float(data["episodes_per_cell"])  # validates to the same integer
    data["profile"]["degrees_of_freedom"] = float(data["profile"]["degrees_of_freedom"])
    assert not seals(plan.plan_digest, data, without="plan_digest")
    assert not seals(plan.profile_digest, data["profile"], without="profile_digest")
    assert artifact_from_json(data, "plan.json") == plan
    data["episodes_per_cell"] += 1
    with pytest.raises(InputError) as err:
        artifact_from_json(data, "plan.json")
    assert err.value.field == "plan_digest" and "does not match the content" in err.value.problem


def test_only_the_sealed_content_seals():
    value = {"a": [1, "x", None, {"b": 2.5}], "digest": "ignored"}
    digest = digest_of(value, without="digest")
    assert seals(digest, value, without="digest")
    assert seals(digest, {**value, "digest": "other"}, without="digest")
    assert not seals(None, value, without="digest")
    for other in ({"a": [1.0, "x", None, {"b": 2.5}]}, {"a": [1, "x", None, {"b": 2.5, "c": None}]},
                  {"a": [1, "x", None, {"b": 2.5}], "c": 0}, {"a": [1, "x ", None, {"b": 2.5}]}):
        assert not seals(digest, other, without="digest"), other
    small = {"p": 1e-05}  # orjson spells it 0.00001, json.dumps 1e-05: not proof, so the model decides
    assert not seals(digest_of(small), small, without="digest")
    big = {"n": 2**70}  # beyond orjson's 64 bits
    assert not seals(digest_of(big), big, without="digest")


def test_profile_with_no_probe_is_refused():
    real = EvalProfile.model_validate({**REFERENCE_PROFILE, "simulator_family": "real_world"})
    with pytest.raises(InputError) as err:
        build_plan(real, seed=1)
    assert err.value.field == "profile" and "simpler-env" in err.value.problem


def test_resealed_plan_with_swapped_profile_is_refused(plan):
    data = plan.to_json_dict()
    data["profile"]["robot_model"] = "franka-fr3"
    resealed = ProtocolPlan.model_validate(data).sealed().to_json_dict()
    with pytest.raises(InputError) as err:
        artifact_from_json(resealed, "plan.json")
    assert "plan.json" in err.value.one_line() and "profile" in err.value.problem

    data = plan.to_json_dict()
    data["profile_digest"] = "sha256:" + "0" * 64
    resealed = ProtocolPlan.model_validate(data).sealed().to_json_dict()
    with pytest.raises(InputError) as err:
        artifact_from_json(resealed, "plan.json")
    assert "profile_digest" in err.value.problem
