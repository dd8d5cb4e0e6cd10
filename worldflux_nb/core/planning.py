"""The frozen, pre-score protocol plan: which cells, episodes and seeds, decided by the plan seed.

Episodes and seeds follow each probe's harnesses, so that a harness can be told to run exactly them:
- ``initial_state_index`` (LIBERO family): a task's episodes are initial states ``0 .. n-1`` (no
  harness can be told to run an arbitrary subset of them); every episode's planned seed is the run
  seed, the one seed the operator passes to the harness and the one vla-eval records.
- ``per_episode_seed`` (custom contracts): episodes ``0 .. n-1`` seeded ``run_seed + episode_index``.
- ``run_seed`` (SimplerEnv): episodes ``0 .. n-1``, the run seed recorded on every episode.
Each cell states its episodes as a range and its seeds as a rule (models.plan), so a plan of a
million episodes stays a few MB.

Every random choice comes from a PCG64 generator keyed by sha256(plan seed, probe, purpose), never
Python's ``hash()``, so the same inputs give the same plan on every machine.
"""

from __future__ import annotations

import hashlib
from typing import Sequence, get_args

import numpy as np

from worldflux_nb.core.libero_plus import CLASSIFICATION_FILE, Classification
from worldflux_nb.core.power import episodes_needed_for_target
from worldflux_nb.core.registry import (
    builtin_registry, seal_registry, select_probes, suite_of, training_exposed,
)
from worldflux_nb.errors import InputError
from worldflux_nb.models.common import Level, MetadataValue, utc_timestamp
from worldflux_nb.models.contract import CustomEvalContract
from worldflux_nb.models.plan import (
    DENOMINATOR_POLICIES, PROTOCOLS, AxisSelection, EpisodeRange, ExcludedProbe, PlanCell,
    PowerTargets, ProtocolPlan, SeedRule, SeedSource, SelectedProbe,
)
from worldflux_nb.models.profile import PINNED_PROFILE_FIELDS, EvalProfile
from worldflux_nb.models.registry import Probe, ProbeRegistry

DEFAULT_EPISODES_PER_CELL = 20
# Tasks drawn per suite; probes not listed run every task (SimplerEnv, custom contracts).
TASKS_PER_SUITE = {"libero": 2}
# Whole suites drawn in the sampled protocol: LIBERO-PRO's perturbed suites cannot be filtered to
# some of their tasks (vla-eval selects tasks by name, which its language and task perturbations
# change), so a sampled plan takes whole suites.
WHOLE_SUITES_SAMPLED = {"libero-pro": 1}
LEVELS_PER_AXIS = 2
# LIBERO-plus suites drawn in the sampled protocol (every suite in the standard one).
PLUS_SUITES_SAMPLED = 1
LIBERO_PLUS = "libero-plus"
NO_CLASSIFICATION = (
    "its variants come from LIBERO-plus's own task classification "
    f"({CLASSIFICATION_FILE} of the LIBERO-plus repository), which was not given "
    "(--libero-plus-classification PATH): without it the plan cannot name the variant tasks, "
    "their perturbation categories or difficulty levels")
SEED_SOURCES = get_args(SeedSource)
_RUN_SEED_BOUND = 2**30

DENOMINATOR_EXPLANATIONS = {
    "all_planned": ("denominator = every planned episode; missing, pending and infrastructure "
                    "failures count as failures"),
    "attempted": ("infrastructure failures leave the denominator (and are reported); missing "
                  "episodes still count as failures"),
    "completed_only": ("only completed and timed-out episodes count; optimistic, because missing "
                       "and failed-to-run episodes vanish"),
}


def plan_rng(seed: int, probe_id: str, purpose: str) -> np.random.Generator:
    """A generator keyed by (plan seed, probe, purpose): independent draws that never shift each other."""
    key = hashlib.sha256(f"{seed}|{probe_id}|{purpose}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(key[:16], "big")))


def _choose(rng: np.random.Generator, items: Sequence, k: int) -> list:
    """k items in their original order (all of them when k covers the list)."""
    if k >= len(items):
        return list(items)
    picked = rng.choice(len(items), size=k, replace=False)
    return [items[i] for i in sorted(picked.tolist())]


def _select_tasks(probe: Probe, seed: int, protocol: str) -> list[str]:
    per_suite = TASKS_PER_SUITE.get(probe.probe_id) if protocol == "sampled" else None
    whole = WHOLE_SUITES_SAMPLED.get(probe.probe_id) if protocol == "sampled" else None
    task_ids = [t.task_id for t in probe.tasks]
    suites: dict[str, list[str]] = {}
    for task_id in task_ids:
        suites.setdefault(suite_of(task_id), []).append(task_id)
    if whole is not None:
        chosen = _choose(plan_rng(seed, probe.probe_id, "suites"), list(suites), whole)
        return [task_id for suite in chosen for task_id in suites[suite]]
    if per_suite is None:
        return task_ids
    return [task_id for suite, ids in suites.items()
            for task_id in _choose(plan_rng(seed, probe.probe_id, f"tasks:{suite}"), ids, per_suite)]


def _select_axes(probe: Probe, seed: int, protocol: str) -> list[AxisSelection]:
    per_axis = LEVELS_PER_AXIS if protocol == "sampled" else None
    return [AxisSelection(axis=axis.axis, levels=_choose(
                plan_rng(seed, probe.probe_id, f"levels:{axis.axis}"), list(axis.levels),
                per_axis or len(axis.levels)))
            for axis in probe.axes]


def _libero_plus_places(probe: Probe, classification: Classification, seed: int,
                        protocol: str) -> list[tuple[str, str, Level]]:
    """(variant task, axis, level) of every planned LIBERO-plus variant, grouped as harnesses filter.

    Standard: every classified variant of the axes the profile allows. Sampled: one suite drawn by
    the seed and, per axis, LEVELS_PER_AXIS of its rated levels; every variant of each chosen
    (suite, category, level) group is planned, because that group is what a harness can be told to
    run (vla-eval's `category` + `difficulty_level` filters; LeRobot's `--env.task_ids`).
    """
    axes = [a.axis for a in probe.axes]
    variants = [v for v in classification.variants if v.axis in axes]
    if protocol == "sampled":
        suites = _choose(plan_rng(seed, probe.probe_id, "suites"), classification.suites(),
                         PLUS_SUITES_SAMPLED)
        variants = [v for v in variants if v.suite in suites]
        chosen = {}
        for axis in axes:
            rated = sorted({v.level for v in variants if v.axis == axis and isinstance(v.level, int)})
            chosen[axis] = set(_choose(plan_rng(seed, probe.probe_id, f"levels:{axis}"), rated,
                                       LEVELS_PER_AXIS))
        variants = [v for v in variants if v.level in chosen[v.axis]]
    suite_order = {s: i for i, s in enumerate(classification.suites())}
    variants.sort(key=lambda v: (suite_order[v.suite], axes.index(v.axis), str(v.level), v.index))
    return [(v.task_id, v.axis, v.level) for v in variants]


def _places(probe: Probe, seed: int, protocol: str, classification: Classification | None
            ) -> tuple[list[str], list[AxisSelection], list[tuple[str, str, Level]]]:
    """The probe's planned tasks, axes with levels, and (task, axis, level) cells in plan order."""
    if probe.probe_id == LIBERO_PLUS and classification is not None:
        places = _libero_plus_places(probe, classification, seed, protocol)
        levels: dict[str, list[Level]] = {}
        for _, axis, level in places:
            if level not in levels.setdefault(axis, []):
                levels[axis].append(level)
        return (list(dict.fromkeys(task for task, _, _ in places)),
                [AxisSelection(axis=a, levels=lv) for a, lv in levels.items()], places)
    tasks = _select_tasks(probe, seed, protocol)
    axes = _select_axes(probe, seed, protocol)
    return tasks, axes, [(t, a.axis, level) for t in tasks for a in axes for level in a.levels]


def _seed_rule(probe: Probe, run_seed: int) -> SeedRule:
    """Per-episode seeds as the probe's harnesses derive them from the run seed the operator passes."""
    if probe.seed_mode == "per_episode_seed":
        return SeedRule(rule="run_seed_plus_index", run_seed=run_seed)
    return SeedRule(rule="run_seed", run_seed=run_seed)


def _episodes_per_task(probe: Probe, contract: CustomEvalContract | None, per_cell: int,
                       protocol: str) -> int:
    """Trials per task: the benchmark's own count where it fixes one (LIBERO-plus; every benchmark
    under the standard protocol), else the contract's or the plan's episodes per cell."""
    if contract and contract.episodes_per_task:
        n = contract.episodes_per_task
    elif probe.probe_id == LIBERO_PLUS or (protocol == "standard" and not probe.custom):
        n = probe.standard_trials_per_task
    else:
        n = per_cell
    bound = probe.initial_states_per_task
    if bound is not None and n > bound:
        raise InputError(None, "episodes_per_cell",
                         f"{n} exceeds the {bound} fixed initial states per task of {probe.probe_id}")
    return n


def cell_id_for(probe_id: str, task_id: str, axis: str, level: object) -> str:
    """Readable, stable, unique: e.g. `libero-plus:libero_spatial/3:camera_viewpoints:2`."""
    return f"{probe_id}:{task_id}:{axis}:{level}"


def _pinned(profile: EvalProfile, contract: CustomEvalContract | None) -> dict[str, MetadataValue]:
    pinned: dict[str, MetadataValue] = {name: getattr(profile, name) for name in PINNED_PROFILE_FIELDS}
    if contract is not None:
        pinned.update(contract.pinned_values)
    return pinned


def missing_evidence_questions(profile: EvalProfile,
                               contracts: Sequence[CustomEvalContract] = ()) -> list[str]:
    """Questions a reviewer should put to the operator before any score is read."""
    questions = []
    if profile.training_exposure_possible_benchmark_family:
        families = ", ".join(profile.training_exposure_possible_benchmark_family)
        questions.append(
            f"Training exposure to {families} is declared possible: can the operator provide the "
            "training-data manifest, so exposure to the planned tasks can be ruled in or out?")
    if profile.real_to_sim_calibration is None and profile.simulator_family != "real_world":
        questions.append(
            "No real-to-sim calibration id is given: what links these simulator results to the "
            f"real {profile.robot_model} and its {profile.use_case}?")
    if not any(ch.isdigit() for ch in profile.environment_version):
        questions.append(
            f"environment_version {profile.environment_version!r} names no release or commit: "
            "which exact upstream version does it correspond to?")
    if not any(ch.isdigit() for ch in profile.adapter_version):
        questions.append(
            f"adapter_version {profile.adapter_version!r} names no release or commit: which "
            "adapter build will produce the evidence?")
    if profile.language_input and "language_instruction" not in profile.observation_space:
        questions.append("The profile declares language input but no language_instruction "
                         "observation: how does the instruction reach the policy?")
    if "rgb_wrist_camera" in profile.observation_space and profile.camera_topology == "static":
        questions.append("A wrist camera observation is listed but the camera topology is static: "
                         "which cameras does the policy actually see?")
    if profile.reset_policy != "episode_reset":
        questions.append(f"Reset policy is {profile.reset_policy}: how is each episode's starting "
                         "state made comparable to the planned one?")
    if profile.metric_contract != "boolean_success_per_episode":
        questions.append(f"The metric contract is {profile.metric_contract}: which threshold turns "
                         "an episode's score into the success the packet counts?")
    for contract in contracts:
        questions.append(
            f"{contract.probe_id}: the consent marker {contract.customer_consent_marker!r} is "
            "recorded as declared, never verified: who confirmed it, and does it cover sharing "
            "the evidence with this reviewer?")
        unpinned = [k for k in contract.audit_metadata_keys if k not in contract.pinned_values]
        if unpinned:
            questions.append(
                f"{contract.probe_id}: audit metadata keys {', '.join(unpinned)} have no pinned "
                "value: which values would make an episode out of protocol?")
    return questions


MIN_CI_HALF_WIDTH = 0.001


PLAN_SEED_LIMIT = 2**63  # a seed every harness and int64 column can hold


def check_plan_seed(seed: object, field: str = "seed") -> int:
    """The plan seed, or InputError: an integer from 0 to 2**63 - 1 (not a bool, not a float)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < PLAN_SEED_LIMIT:
        raise InputError(None, field, "must be an integer from 0 to 2**63 - 1")
    return seed


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_options(seed_source: str, episodes_per_cell: int | None, denominator_policy: str,
                   max_ci_half_width: float, min_episodes_per_cell: int) -> None:
    if seed_source not in SEED_SOURCES:
        raise InputError(None, "seed_source", f"must be one of {', '.join(SEED_SOURCES)}")
    if denominator_policy not in DENOMINATOR_POLICIES:
        raise InputError(None, "denominator_policy",
                         f"must be one of {', '.join(DENOMINATOR_POLICIES)}")
    if isinstance(max_ci_half_width, bool) or not isinstance(max_ci_half_width, (int, float)) or \
            not MIN_CI_HALF_WIDTH <= max_ci_half_width < 0.5:  # also refuses NaN
        # Narrower than this needs millions of episodes per cell: a typo, not a plan.
        raise InputError(None, "max_ci_half_width", f"must be at least {MIN_CI_HALF_WIDTH} and below 0.5, "
                         f"not {max_ci_half_width!r}")
    if not _positive_int(min_episodes_per_cell):
        raise InputError(None, "min_episodes_per_cell", "must be a positive integer")
    if episodes_per_cell is not None and not _positive_int(episodes_per_cell):
        raise InputError(None, "episodes_per_cell", "must be a positive integer")


def _sealed_profile(profile: EvalProfile) -> EvalProfile:
    if profile.profile_digest is None:
        return profile.sealed()
    problem = profile.digest_problem()
    if problem:
        raise InputError(None, "profile_digest", problem)
    return profile


def _contracts_checked(contracts: Sequence[CustomEvalContract]) -> list[CustomEvalContract]:
    seen: set[str] = set()
    for contract in contracts:
        if contract.contract_id in seen:
            raise InputError(None, "contract_id", f"{contract.contract_id!r} is given twice")
        seen.add(contract.contract_id)
        stray = sorted(set(contract.pinned_values) - set(contract.audit_metadata_keys))
        if stray:
            raise InputError(None, "pinned_values",
                             f"{', '.join(stray)} not listed in audit_metadata_keys")
    return list(contracts)


def build_plan(
    profile: EvalProfile, *, seed: int, seed_source: str = "operator_supplied",
    contracts: Sequence[CustomEvalContract] = (), episodes_per_cell: int | None = None,
    denominator_policy: str = "all_planned", max_ci_half_width: float = 0.15,
    min_episodes_per_cell: int = 10, registry: ProbeRegistry | None = None,
    created_at: str | None = None, protocol: str = "sampled",
    libero_plus_classification: Classification | None = None,
) -> ProtocolPlan:
    """The sealed protocol plan for a profile, deterministic from the seed and the other inputs.

    `protocol` "standard" plans whole suites at each benchmark's own trial count; "sampled" draws
    tasks and levels with the seed. LIBERO-plus is planned only from its task classification.
    `created_at` defaults to now, or SOURCE_DATE_EPOCH when set, so byte-identical plans need one
    of the two. Bad options raise InputError naming the option; the command line adds the source.
    """
    check_plan_seed(seed)
    _check_options(seed_source, episodes_per_cell, denominator_policy, max_ci_half_width,
                   min_episodes_per_cell)
    if protocol not in PROTOCOLS:
        raise InputError(None, "protocol", f"must be one of {', '.join(PROTOCOLS)}")
    profile = _sealed_profile(profile)
    contracts = _contracts_checked(contracts)
    registry = seal_registry(registry) if registry is not None else builtin_registry()
    by_probe = {c.probe_id: c for c in contracts}
    probes, excluded, excluded_axes = select_probes(profile, registry, contracts)
    if libero_plus_classification is None and any(p.probe_id == LIBERO_PLUS for p in probes):
        probes = [p for p in probes if p.probe_id != LIBERO_PLUS]
        excluded.append(ExcludedProbe(probe_id=LIBERO_PLUS, reasons=[NO_CLASSIFICATION]))
    if not probes:
        reasons = "; ".join(f"{p.probe_id}: {', '.join(p.reasons)}" for p in excluded)
        raise InputError(None, "profile", f"no probe applies to this profile ({reasons})")
    per_cell = episodes_per_cell or max(DEFAULT_EPISODES_PER_CELL, min_episodes_per_cell)

    selected: list[SelectedProbe] = []
    cells: list[PlanCell] = []
    notes: list[str] = []
    for probe in probes:
        contract = by_probe.get(probe.probe_id)
        n = _episodes_per_task(probe, contract, per_cell, protocol)
        run_seed = int(plan_rng(seed, probe.probe_id, "run_seed").integers(0, _RUN_SEED_BOUND))
        classification = libero_plus_classification if probe.probe_id == LIBERO_PLUS else None
        tasks, axes, places = _places(probe, seed, protocol, classification)
        if not places:
            excluded.append(ExcludedProbe(probe_id=probe.probe_id, reasons=[
                "the task classification holds no variant of an axis this profile can run"]))
            continue
        exposed = training_exposed(probe, profile)
        selected.append(SelectedProbe(
            probe_id=probe.probe_id, probe_version=probe.version, seed_mode=probe.seed_mode,
            run_seed=run_seed, tasks=tasks, axes=axes, pinned_metadata=_pinned(profile, contract),
            training_exposure=exposed,
            training_exposure_note=(
                f"the profile declares possible training exposure to the {probe.family} family; "
                "success here may reflect training data rather than generalisation"
                if exposed else None),
            harness_formats=list(probe.harness_formats),
            classification_digest=classification.digest if classification else None))
        episodes, seeds = EpisodeRange(start=0, count=n), _seed_rule(probe, run_seed)
        cells += [PlanCell(cell_id=cell_id_for(probe.probe_id, task_id, axis, level),
                           probe_id=probe.probe_id, task_id=task_id, axis=axis, level=level,
                           episodes=episodes, seeds=seeds)
                  for task_id, axis, level in places]
        if probe.probe_id == LIBERO_PLUS:
            notes.append(f"{LIBERO_PLUS}: every variant runs {n} trial(s) (initial state 0 .. {n - 1}) "
                         "as the benchmark's own protocol does, whatever the episodes per cell.")
        if any(a.exclusive for a in probe.axes):
            notes.append(f"{probe.probe_id}: "
                         + ", ".join(a.axis for a in probe.axes if a.exclusive)
                         + " is never combined with another axis; each cell perturbs one axis only.")

    planning_rate = 0.5
    needed = episodes_needed_for_target(max_ci_half_width, planning_rate)
    if per_cell < max(needed, min_episodes_per_cell):
        notes.append(
            f"{per_cell} episodes per cell is below the {needed} needed for a ±{max_ci_half_width:.2f} "
            "interval at a 50% success rate: single cells will read as underpowered; pooled "
            "per-probe and per-axis aggregates are the intended reading.")
    notes += [
        "LIBERO-family episodes are initial states 0..n-1 of each task (the episode index), in the "
        "harness's own loop order; every episode's planned seed is the probe's run seed, the one "
        "seed the operator passes to the harness.",
        f"Denominator policy {denominator_policy}: {DENOMINATOR_EXPLANATIONS[denominator_policy]}.",
    ]
    notes += [f"{c.probe_id}: customer consent marker {c.customer_consent_marker!r} is recorded "
              "as declared and never verified; legal consent validity is outside this tool."
              for c in contracts]

    plan = ProtocolPlan(
        plan_id=f"{profile.profile_id[:96]}-seed-{seed}",
        profile=profile, profile_digest=profile.profile_digest,
        registry_version=registry.registry_version,
        registry_digest=registry.registry_digest,
        plan_seed=seed, seed_source=seed_source, protocol=protocol, episodes_per_cell=per_cell,
        denominator_policy=denominator_policy,
        power_targets=PowerTargets(max_ci_half_width=max_ci_half_width,
                                   min_episodes_per_cell=min_episodes_per_cell,
                                   planning_success_rate=planning_rate,
                                   episodes_needed_for_target=needed),
        selected_probes=selected, excluded_probes=excluded, excluded_axes=excluded_axes,
        cells=cells, missing_evidence_questions=missing_evidence_questions(profile, contracts),
        custom_contracts=contracts, notes=notes, created_at=created_at or utc_timestamp(),
    )
    return plan.sealed()
