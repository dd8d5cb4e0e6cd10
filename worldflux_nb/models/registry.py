"""The candidate probes: benchmark family variants with their tasks, axes and requirements."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from worldflux_nb.models.common import Digest, Frozen, Level, ShortText, Slug

# How a probe's harnesses identify and seed an episode:
# - initial_state_index: the episode index is the fixed initial-state index (LIBERO family); no seed.
# - per_episode_seed: each episode is seeded `run_seed + episode_index` (LeRobot's legacy layout).
# - run_seed: one seed for the whole run, recorded on every episode (vla-eval, SimplerEnv).
SeedMode = Literal["initial_state_index", "per_episode_seed", "run_seed"]


class ProbeRequirements(Frozen):
    """What a profile must have for a probe (or an axis) to apply; empty means no constraint."""

    simulator_families: tuple[str, ...] = ()
    embodiment_classes: tuple[str, ...] = ()
    robot_models: tuple[str, ...] = ()
    observation_spaces_all: tuple[str, ...] = ()
    camera_topologies: tuple[str, ...] = ()
    language_input: bool | None = None


class ProbeTask(Frozen):
    task_id: Slug
    instruction: ShortText
    # Task-level requirements (SimplerEnv: WidowX tasks need a WidowX, Google-robot tasks a Google robot).
    requires: ProbeRequirements | None = None


class PerturbationAxis(Frozen):
    axis: Slug
    description: ShortText
    levels: tuple[Level, ...] = Field(min_length=1)
    requires: ProbeRequirements = ProbeRequirements()
    # An axis that cannot be combined with the others (LIBERO-PRO's new-task swap).
    exclusive: bool = False


class Probe(Frozen):
    probe_id: Slug
    family: Slug
    version: Slug
    description: ShortText
    tasks: tuple[ProbeTask, ...] = Field(min_length=1)
    axes: tuple[PerturbationAxis, ...] = Field(min_length=1)
    standard_trials_per_task: int = Field(gt=0)
    # Bound on episode indexes (LIBERO: 50 fixed initial states per task); None when unbounded.
    initial_states_per_task: int | None = Field(default=None, gt=0)
    seed_mode: SeedMode
    requires: ProbeRequirements = ProbeRequirements()
    harness_formats: tuple[Slug, ...] = ()
    custom: bool = False


class ProbeRegistry(Frozen):
    registry_version: Slug
    probes: tuple[Probe, ...]
    registry_digest: Digest | None = None
