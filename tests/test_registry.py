import pytest

from worldflux_nb.models.digest import digest_of
from worldflux_nb.core.registry import (
    LIBERO_SUITES, builtin_registry, contract_probe, libero_instruction, select_probes,
    training_exposed,
)
from worldflux_nb.models import EvalProfile
from worldflux_nb.sample import reference_contract

from conftest import REFERENCE_PROFILE


def profile(**changes) -> EvalProfile:
    return EvalProfile.model_validate({**REFERENCE_PROFILE, **changes}).sealed()


WIDOWX = dict(simulator_family="simpler", robot_model="widowx", real_to_sim_calibration=None,
              training_exposure_possible_benchmark_family=[])
GOOGLE = dict(simulator_family="simpler", robot_model="google-robot")


def probes_by_id(registry=None):
    return {p.probe_id: p for p in (registry or builtin_registry()).probes}


def test_registry_is_sealed_versioned_and_stable():
    registry = builtin_registry()
    assert registry.registry_version
    assert registry.registry_digest == digest_of(registry.model_dump(mode="json"),
                                                 without="registry_digest")
    assert builtin_registry().registry_digest == registry.registry_digest
    assert set(probes_by_id(registry)) == {"libero", "libero-plus", "libero-pro", "simpler-env"}


def test_libero_suites_have_their_real_tasks_in_default_order():
    libero = probes_by_id()["libero"]
    ids = [t.task_id for t in libero.tasks]
    assert len(ids) == 40 and len(set(ids)) == 40
    for suite in ("libero_spatial", "libero_object", "libero_goal", "libero_10"):
        assert [i for i in ids if i.startswith(suite + "/")] == [f"{suite}/{n}" for n in range(10)]
    instructions = {t.task_id: t.instruction for t in libero.tasks}
    assert instructions["libero_spatial/0"] == (
        "pick up the black bowl between the plate and the ramekin and place it on the plate")
    assert instructions["libero_object/3"] == "pick up the bbq sauce and place it in the basket"
    assert instructions["libero_goal/7"] == "turn on the stove"
    assert instructions["libero_10/0"] == (
        "put both the alphabet soup and the tomato sauce in the basket")
    assert libero.initial_states_per_task == 50 and libero.standard_trials_per_task == 50
    assert libero.seed_mode == "initial_state_index"
    assert [a.axis for a in libero.axes] == ["nominal"] and libero.axes[0].levels == (0,)


def test_libero_instruction_strips_scene_prefix_only():
    assert libero_instruction("KITCHEN_SCENE3_turn_on_the_stove_and_put_the_moka_pot_on_it") == (
        "turn on the stove and put the moka pot on it")
    assert libero_instruction("put_the_bowl_on_the_plate") == "put the bowl on the plate"
    assert all(len(tasks) == 10 for tasks in LIBERO_SUITES.values())


def test_libero_plus_and_pro_axes():
    probes = probes_by_id()
    plus = probes["libero-plus"]
    assert [a.axis for a in plus.axes] == [
        "objects_layout", "camera_viewpoints", "robot_initial_states", "language_instructions",
        "light_conditions", "background_textures", "sensor_noise"]
    assert all(a.levels == (1, 2, 3, 4, 5) for a in plus.axes)
    pro = probes["libero-pro"]
    assert len(pro.axes) == 5
    assert [a.axis for a in pro.axes if a.exclusive] == ["new_task"]


def test_simpler_env_tasks_and_seed_mode():
    simpler = probes_by_id()["simpler-env"]
    ids = [t.task_id for t in simpler.tasks]
    assert {"widowx_carrot_on_plate", "widowx_spoon_on_towel", "widowx_stack_cube",
            "widowx_put_eggplant_in_basket", "google_robot_pick_coke_can", "google_robot_move_near",
            "google_robot_open_drawer", "google_robot_close_drawer"} == set(ids)
    assert simpler.standard_trials_per_task == 24 and simpler.seed_mode == "run_seed"


def test_reference_profile_selects_libero_family_and_says_why_simpler_is_out():
    selected, excluded, excluded_axes = select_probes(profile(), builtin_registry())
    assert [p.probe_id for p in selected] == ["libero", "libero-plus", "libero-pro"]
    assert [e.probe_id for e in excluded] == ["simpler-env"]
    reasons = " ".join(excluded[0].reasons)
    assert "simulator family simpler" in reasons and "franka-panda" in reasons
    assert excluded_axes == []


def test_widowx_profile_gets_bridge_tasks_only():
    selected, excluded, excluded_axes = select_probes(profile(**WIDOWX), builtin_registry())
    assert [p.probe_id for p in selected] == ["simpler-env"]
    assert {e.probe_id for e in excluded} == {"libero", "libero-plus", "libero-pro"}
    assert all("simulator family libero" in " ".join(e.reasons) for e in excluded)
    assert all(t.task_id.startswith("widowx_") for t in selected[0].tasks)
    assert excluded_axes == []


def test_google_robot_profile_gets_visual_matching_only():
    """Variant aggregation is no axis: no harness config names it as one (task, level) cell."""
    selected, _, excluded_axes = select_probes(profile(**GOOGLE), builtin_registry())
    assert all(t.task_id.startswith("google_robot_") for t in selected[0].tasks)
    assert [a.axis for a in selected[0].axes] == ["nominal"]
    assert excluded_axes == []


def test_language_axes_are_excluded_without_language_input():
    no_language = profile(language_input=False, observation_space=["rgb_static_camera"])
    selected, _, excluded_axes = select_probes(no_language, builtin_registry())
    out = {(a.probe_id, a.axis): a.reason for a in excluded_axes}
    assert set(out) == {("libero-plus", "language_instructions"),
                        ("libero-pro", "language_paraphrase"), ("libero-pro", "new_task")}
    assert all("language input" in reason for reason in out.values())
    plus = next(p for p in selected if p.probe_id == "libero-plus")
    assert "language_instructions" not in [a.axis for a in plus.axes]


def test_camera_viewpoints_need_a_static_camera():
    wrist_only = profile(camera_topology="wrist", observation_space=["rgb_wrist_camera"])
    _, _, excluded_axes = select_probes(wrist_only, builtin_registry())
    assert [(a.probe_id, a.axis) for a in excluded_axes] == [("libero-plus", "camera_viewpoints")]
    assert "static" in excluded_axes[0].reason


def test_real_world_profile_is_left_with_only_its_contract():
    real = profile(simulator_family="real_world")
    selected, excluded, _ = select_probes(real, builtin_registry(), [reference_contract()])
    assert [p.probe_id for p in selected] == ["custom:acme-bin-picking-station-3"]
    assert len(excluded) == 4 and all(e.reasons for e in excluded)


def test_training_exposure_marks_the_family():
    probes = probes_by_id()
    assert training_exposed(probes["libero-pro"], profile())
    assert not training_exposed(probes["simpler-env"], profile())
    assert not training_exposed(probes["libero"],
                                profile(training_exposure_possible_benchmark_family=[]))


def test_contract_becomes_a_custom_probe():
    contract = reference_contract()
    probe = contract_probe(contract)
    assert probe.probe_id == "custom:acme-bin-picking-station-3" and probe.custom
    assert [t.task_id for t in probe.tasks] == [t.task_id for t in contract.tasks]
    assert probe.seed_mode == "per_episode_seed"
    assert probe.standard_trials_per_task == contract.episodes_per_task


@pytest.mark.parametrize("robot", ["widowx", "WidowX"])
def test_robot_model_match_ignores_case(robot):
    selected, _, _ = select_probes(profile(**{**WIDOWX, "robot_model": robot}), builtin_registry())
    assert [p.probe_id for p in selected] == ["simpler-env"]
