"""The built-in probe registry and probe selection for a profile.

Suites, task order and instructions follow the benchmarks' own code, checked at these commits:
- LIBERO's `libero/libero/benchmark/libero_suite_task_map.py` (instruction = task name without the
  scene prefix); 50 initial states per task.
- LIBERO-plus (sylvestf/LIBERO-plus@4976dc30028e805ff8094b55501d532c48fec182): its suites'
  tasks (`libero_suite_task_map.py`) are all variants of LIBERO's tasks, each classified in
  `libero/libero/benchmark/task_classification.json` as {suite: [{id, name, category,
  difficulty_level}]} with id = task index + 1, seven categories and levels 1-5 (some null);
  README: "adjusting num_trials_per_task from 50 to 1". The classification is operator input
  (core.libero_plus), not part of this registry.
- LIBERO-PRO (Zxy-MLlab/LIBERO-PRO@97f459dab2892a0ad5241d5cdb10fc7b8ed7c8fb): five perturbations
  switched on or off in `evaluation_config.yaml` (use_environment, use_swap, use_object,
  use_language, use_task; README: use_task cannot be combined with the others); no strength levels.
- SimplerEnv (simpler-env/SimplerEnv@4ab7178e83e84ee06894034ec6dbf9e7aad1e882):
  `simpler_env/__init__.py` ENVIRONMENTS; Bridge tasks run `--obj-episode-range 0 24`
  (`scripts/octo_bridge.sh`). SimplerEnv writes no structured results; vla-eval
  (allenai/vla-evaluation-harness@e1ee9adf64396e155eb10ae1dd3f5dbf9a12d26c,
  `configs/benchmarks/simpler/widowx_vm.yaml`, `google_robot_vm.yaml`) runs it with
  episodes_per_task 24 and writes its aggregate.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Sequence

from worldflux_nb.models.common import Level
from worldflux_nb.models.digest import digest_of
from worldflux_nb.models.contract import CustomEvalContract
from worldflux_nb.models.plan import ExcludedAxis, ExcludedProbe
from worldflux_nb.models.profile import EvalProfile
from worldflux_nb.models.registry import (
    PerturbationAxis, Probe, ProbeRegistry, ProbeRequirements, ProbeTask,
)

REGISTRY_VERSION = "builtin-2026.3"

LIBERO_SUITES: dict[str, tuple[str, ...]] = {
    "libero_spatial": (
        "pick_up_the_black_bowl_between_the_plate_and_the_ramekin_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_next_to_the_ramekin_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_from_table_center_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_on_the_cookie_box_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_in_the_top_drawer_of_the_wooden_cabinet_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_on_the_ramekin_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_next_to_the_cookie_box_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_on_the_stove_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_next_to_the_plate_and_place_it_on_the_plate",
        "pick_up_the_black_bowl_on_the_wooden_cabinet_and_place_it_on_the_plate",
    ),
    "libero_object": (
        "pick_up_the_alphabet_soup_and_place_it_in_the_basket",
        "pick_up_the_cream_cheese_and_place_it_in_the_basket",
        "pick_up_the_salad_dressing_and_place_it_in_the_basket",
        "pick_up_the_bbq_sauce_and_place_it_in_the_basket",
        "pick_up_the_ketchup_and_place_it_in_the_basket",
        "pick_up_the_tomato_sauce_and_place_it_in_the_basket",
        "pick_up_the_butter_and_place_it_in_the_basket",
        "pick_up_the_milk_and_place_it_in_the_basket",
        "pick_up_the_chocolate_pudding_and_place_it_in_the_basket",
        "pick_up_the_orange_juice_and_place_it_in_the_basket",
    ),
    "libero_goal": (
        "open_the_middle_drawer_of_the_cabinet",
        "put_the_bowl_on_the_stove",
        "put_the_wine_bottle_on_top_of_the_cabinet",
        "open_the_top_drawer_and_put_the_bowl_inside",
        "put_the_bowl_on_top_of_the_cabinet",
        "push_the_plate_to_the_front_of_the_stove",
        "put_the_cream_cheese_in_the_bowl",
        "turn_on_the_stove",
        "put_the_bowl_on_the_plate",
        "put_the_wine_bottle_on_the_rack",
    ),
    "libero_10": (
        "LIVING_ROOM_SCENE2_put_both_the_alphabet_soup_and_the_tomato_sauce_in_the_basket",
        "LIVING_ROOM_SCENE2_put_both_the_cream_cheese_box_and_the_butter_in_the_basket",
        "KITCHEN_SCENE3_turn_on_the_stove_and_put_the_moka_pot_on_it",
        "KITCHEN_SCENE4_put_the_black_bowl_in_the_bottom_drawer_of_the_cabinet_and_close_it",
        "LIVING_ROOM_SCENE5_put_the_white_mug_on_the_left_plate_and_put_the_yellow_and_white_mug_on_the_right_plate",
        "STUDY_SCENE1_pick_up_the_book_and_place_it_in_the_back_compartment_of_the_caddy",
        "LIVING_ROOM_SCENE6_put_the_white_mug_on_the_plate_and_put_the_chocolate_pudding_to_the_right_of_the_plate",
        "LIVING_ROOM_SCENE1_put_both_the_alphabet_soup_and_the_cream_cheese_box_in_the_basket",
        "KITCHEN_SCENE8_put_both_moka_pots_on_the_stove",
        "KITCHEN_SCENE6_put_the_yellow_and_white_mug_in_the_microwave_and_close_it",
    ),
}
LIBERO_INITIAL_STATES = 50

WIDOWX_MODELS = ("widowx", "widowx-250", "widowx250", "widowx-250s")
GOOGLE_ROBOT_MODELS = ("google-robot", "google_robot", "everyday-robot")
FRANKA_MODELS = ("franka-panda", "franka_panda", "panda", "franka")
ANY_CAMERA = ("static", "wrist", "static_and_wrist", "moving")
STATIC_CAMERA = ("static", "static_and_wrist")

# (env name as SimplerEnv registers it, the instruction the env gives, robot models it needs)
SIMPLER_TASKS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("widowx_carrot_on_plate", "put carrot on plate", WIDOWX_MODELS),
    ("widowx_spoon_on_towel", "put the spoon on the towel", WIDOWX_MODELS),
    ("widowx_stack_cube", "stack the green block on the yellow block", WIDOWX_MODELS),
    ("widowx_put_eggplant_in_basket", "put eggplant into yellow basket", WIDOWX_MODELS),
    ("google_robot_pick_coke_can", "pick coke can", GOOGLE_ROBOT_MODELS),
    ("google_robot_move_near", "move the named object near the named target object",
     GOOGLE_ROBOT_MODELS),
    ("google_robot_open_drawer", "open the top, middle or bottom drawer", GOOGLE_ROBOT_MODELS),
    ("google_robot_close_drawer", "close the top, middle or bottom drawer", GOOGLE_ROBOT_MODELS),
)
SIMPLER_BRIDGE_EPISODES = 24

LIBERO_HARNESS_FORMATS = ("lerobot-eval-info", "vla-eval-aggregate", "jsonl", "csv")
SIMPLER_HARNESS_FORMATS = ("vla-eval-aggregate", "jsonl", "csv")

# LIBERO-plus task_classification.json `category` -> axis id (the seven categories of the file).
LIBERO_PLUS_CATEGORIES: dict[str, str] = {
    "Objects Layout": "objects_layout", "Camera Viewpoints": "camera_viewpoints",
    "Robot Initial States": "robot_initial_states", "Language Instructions": "language_instructions",
    "Light Conditions": "light_conditions", "Background Textures": "background_textures",
    "Sensor Noise": "sensor_noise",
}
LIBERO_PLUS_LEVELS = (1, 2, 3, 4, 5)
# The level of a variant whose difficulty_level the classification leaves null.
LIBERO_PLUS_UNRATED = "unrated"
LIBERO_PRO_ON = "on"

_SCENE_PREFIX = re.compile(r"^[A-Z_]+SCENE\d+_")


def libero_instruction(task_name: str) -> str:
    """LIBERO's language for a task: its name without the scene prefix, underscores as spaces."""
    return _SCENE_PREFIX.sub("", task_name).replace("_", " ")


def libero_tasks() -> tuple[ProbeTask, ...]:
    return tuple(
        ProbeTask(task_id=f"{suite}/{index}", instruction=libero_instruction(name))
        for suite, names in LIBERO_SUITES.items() for index, name in enumerate(names)
    )


def suite_of(task_id: str) -> str:
    """The suite a task belongs to: the part of its id before `/`, or the id itself."""
    return task_id.split("/", 1)[0] if "/" in task_id else task_id


_LIBERO_REQUIRES = ProbeRequirements(
    simulator_families=("libero",), embodiment_classes=("single_arm_tabletop",),
    robot_models=FRANKA_MODELS, camera_topologies=ANY_CAMERA,
)
_LANGUAGE = ProbeRequirements(language_input=True)
_NOMINAL = PerturbationAxis(axis="nominal", description="no perturbation: the benchmark as released",
                            levels=(0,))


def _libero() -> Probe:
    return Probe(
        probe_id="libero", family="libero", version="libero-1.0", tasks=libero_tasks(),
        description=("LIBERO: four suites of ten language-conditioned tabletop tasks on a Franka "
                     "Panda, 50 fixed initial states per task."),
        axes=(_NOMINAL,), standard_trials_per_task=50,
        initial_states_per_task=LIBERO_INITIAL_STATES, seed_mode="initial_state_index",
        requires=_LIBERO_REQUIRES, harness_formats=LIBERO_HARNESS_FORMATS,
    )


def _axis_maker(levels: tuple[Level, ...]) -> Callable[..., PerturbationAxis]:
    """A short way to declare a LIBERO variant's axes, all at the same levels."""

    def axis(name: str, text: str, requires: ProbeRequirements = ProbeRequirements(),
             exclusive: bool = False) -> PerturbationAxis:
        return PerturbationAxis(axis=name, description=text, levels=levels, requires=requires,
                                exclusive=exclusive)

    return axis


def _libero_plus() -> Probe:
    axis = _axis_maker(LIBERO_PLUS_LEVELS)
    return Probe(
        probe_id="libero-plus", family="libero", version="libero-plus-1.1", tasks=libero_tasks(),
        description=("LIBERO-plus: about 10,000 variant tasks of the LIBERO suites, each classified "
                     "by the benchmark under one of seven perturbation categories and a difficulty "
                     "level 1-5; one trial (initial state 0) per variant in its own protocol. The "
                     "variants come from the benchmark's task classification file."),
        axes=(
            axis("objects_layout", "distractor objects added and target objects moved"),
            axis("camera_viewpoints", "fixed camera moved in position, angle and field of view",
                 ProbeRequirements(camera_topologies=STATIC_CAMERA)),
            axis("robot_initial_states", "robot joint configuration at reset perturbed"),
            axis("language_instructions", "instruction rewritten or padded with distracting text",
                 _LANGUAGE),
            axis("light_conditions", "light direction, colour, intensity and shadows changed",
                 ProbeRequirements(camera_topologies=ANY_CAMERA)),
            axis("background_textures", "table and scene textures replaced",
                 ProbeRequirements(camera_topologies=ANY_CAMERA)),
            axis("sensor_noise", "camera images degraded by noise and blur",
                 ProbeRequirements(camera_topologies=ANY_CAMERA)),
        ),
        standard_trials_per_task=1, initial_states_per_task=LIBERO_INITIAL_STATES,
        seed_mode="initial_state_index", requires=_LIBERO_REQUIRES,
        harness_formats=LIBERO_HARNESS_FORMATS,
    )


def _libero_pro() -> Probe:
    axis = _axis_maker((LIBERO_PRO_ON,))
    return Probe(
        probe_id="libero-pro", family="libero", version="libero-pro-1.1", tasks=libero_tasks(),
        description=("LIBERO-PRO: the LIBERO suites with object, position (swap), language, task "
                     "and environment perturbations, each switched on or off (no strength levels); "
                     "50 trials per task as in LIBERO."),
        axes=(
            axis("object_appearance", "manipulated objects change colour and texture",
                 ProbeRequirements(camera_topologies=ANY_CAMERA)),
            axis("object_position", "object positions swapped from the training layout"),
            axis("language_paraphrase", "instruction paraphrased with the same meaning", _LANGUAGE),
            axis("new_task", "a new task in the same scene; never combined with the other axes",
                 _LANGUAGE, True),
            axis("environment_swap", "scene and table replaced by another LIBERO environment",
                 ProbeRequirements(camera_topologies=ANY_CAMERA)),
        ),
        standard_trials_per_task=50, initial_states_per_task=LIBERO_INITIAL_STATES,
        seed_mode="initial_state_index", requires=_LIBERO_REQUIRES,
        harness_formats=LIBERO_HARNESS_FORMATS,
    )


def _simpler_env() -> Probe:
    return Probe(
        probe_id="simpler-env", family="simpler", version="simpler-env-1.2",
        description=("SimplerEnv real-to-sim evaluation, visual matching: WidowX/Bridge and "
                     "Google-robot tasks, 24 episodes each, run through vla-eval, which records "
                     "the results. Variant aggregation is not planned: vla-eval runs it as its own "
                     "per-variant configs (google_robot_*_va.yaml, 25 episodes per scene variant) "
                     "that no task x level cell states."),
        tasks=tuple(ProbeTask(task_id=name, instruction=text,
                              requires=ProbeRequirements(robot_models=robots))
                    for name, text, robots in SIMPLER_TASKS),
        # A plan needs nothing a harness cannot be told: SimplerEnv's variant aggregation lives in
        # vla-eval's per-variant configs (configs/benchmarks/simpler/google_robot_*_va.yaml at
        # e1ee9ad), not in one (task, level) a config entry could name, so it is no axis here.
        axes=(PerturbationAxis(axis="nominal", levels=(0,),
                               description="visual matching: the prepackaged real-to-sim scene"),),
        standard_trials_per_task=SIMPLER_BRIDGE_EPISODES,
        initial_states_per_task=SIMPLER_BRIDGE_EPISODES, seed_mode="run_seed",
        requires=ProbeRequirements(simulator_families=("simpler",),
                                   robot_models=WIDOWX_MODELS + GOOGLE_ROBOT_MODELS,
                                   camera_topologies=ANY_CAMERA),
        harness_formats=SIMPLER_HARNESS_FORMATS,
    )


def seal_registry(registry: ProbeRegistry) -> ProbeRegistry:
    """The registry with registry_digest = digest of everything else."""
    digest = digest_of(registry.model_dump(mode="json"), without="registry_digest")
    return registry.model_copy(update={"registry_digest": digest})


def builtin_registry() -> ProbeRegistry:
    """The versioned built-in registry, sealed with its digest."""
    return seal_registry(ProbeRegistry(
        registry_version=REGISTRY_VERSION,
        probes=(_libero(), _libero_plus(), _libero_pro(), _simpler_env()),
    ))


def contract_probe(contract: CustomEvalContract) -> Probe:
    """A customer-owned probe: the contract's tasks, unperturbed, each episode seeded run_seed + index."""
    trials = contract.episodes_per_task or 20
    return Probe(
        probe_id=contract.probe_id, family="custom", version=f"contract-{contract.contract_id}",
        description=f"Customer-owned probe for {contract.customer_use_case}",
        tasks=tuple(ProbeTask(task_id=t.task_id, instruction=t.instruction) for t in contract.tasks),
        axes=(_NOMINAL,), standard_trials_per_task=trials, seed_mode="per_episode_seed",
        harness_formats=("jsonl", "csv"), custom=True,
    )


def unmet_requirements(requires: ProbeRequirements | None, profile: EvalProfile) -> list[str]:
    """Each requirement the profile does not meet, as a sentence a reviewer can read."""
    if requires is None:
        return []
    unmet = []
    if requires.simulator_families and profile.simulator_family not in requires.simulator_families:
        unmet.append(f"needs simulator family {' or '.join(requires.simulator_families)}; "
                     f"the profile declares {profile.simulator_family}")
    if requires.embodiment_classes and profile.embodiment_class not in requires.embodiment_classes:
        unmet.append(f"needs embodiment {' or '.join(requires.embodiment_classes)}; "
                     f"the profile declares {profile.embodiment_class}")
    if requires.robot_models and profile.robot_model.lower() not in requires.robot_models:
        unmet.append(f"needs robot model {' or '.join(requires.robot_models)}; "
                     f"the profile declares {profile.robot_model}")
    missing_obs = [o for o in requires.observation_spaces_all if o not in profile.observation_space]
    if missing_obs:
        unmet.append(f"needs observation space {', '.join(missing_obs)}, which the profile lacks")
    if requires.camera_topologies and profile.camera_topology not in requires.camera_topologies:
        unmet.append(f"needs camera topology {' or '.join(requires.camera_topologies)}; "
                     f"the profile declares {profile.camera_topology}")
    if requires.language_input is True and not profile.language_input:
        unmet.append("needs language input; the profile declares none")
    if requires.language_input is False and profile.language_input:
        unmet.append("applies only to policies without language input")
    return unmet


def training_exposed(probe: Probe, profile: EvalProfile) -> bool:
    """Whether the profile declares possible training exposure to the probe's benchmark family."""
    families = {f.lower() for f in profile.training_exposure_possible_benchmark_family}
    return probe.family.lower() in families or probe.probe_id.lower() in families


def select_probes(
    profile: EvalProfile, registry: ProbeRegistry, contracts: Sequence[CustomEvalContract] = (),
) -> tuple[list[Probe], list[ExcludedProbe], list[ExcludedAxis]]:
    """The probes that apply to a profile, narrowed to the tasks and axes it can run.

    Every probe, task group or axis left out is returned with the reason, so a plan can show it.
    """
    selected: list[Probe] = []
    excluded: list[ExcludedProbe] = []
    excluded_axes: list[ExcludedAxis] = []
    candidates: Iterable[Probe] = (*registry.probes, *(contract_probe(c) for c in contracts))
    for probe in candidates:
        reasons = unmet_requirements(probe.requires, profile)
        if reasons:
            excluded.append(ExcludedProbe(probe_id=probe.probe_id, reasons=reasons))
            continue
        tasks = tuple(t for t in probe.tasks if not unmet_requirements(t.requires, profile))
        if not tasks:
            excluded.append(ExcludedProbe(probe_id=probe.probe_id, reasons=[
                "no task of this probe fits the profile's robot model "
                f"{profile.robot_model}"]))
            continue
        axes = []
        for axis in probe.axes:
            axis_reasons = unmet_requirements(axis.requires, profile)
            if axis_reasons:
                excluded_axes.append(ExcludedAxis(probe_id=probe.probe_id, axis=axis.axis,
                                                  reason="; ".join(axis_reasons)))
            else:
                axes.append(axis)
        if not axes:
            excluded.append(ExcludedProbe(probe_id=probe.probe_id, reasons=[
                "every perturbation axis of this probe needs something the profile lacks"]))
            continue
        selected.append(probe.model_copy(update={"tasks": tasks, "axes": tuple(axes)}))
    return selected, excluded, excluded_axes
