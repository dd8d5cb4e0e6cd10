"""The robot/policy under review: one field per flag of `eval-profile create`."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from worldflux_nb.models.common import (
    Artifact, Digest, ShortText, Slug, empty_list, now_field, redacted_text, refuse_secret,
)

EmbodimentClass = Literal[
    "single_arm_tabletop", "bimanual_tabletop", "mobile_manipulator", "humanoid", "legged",
    "other",
]
SimulatorFamily = Literal[
    "libero", "simpler", "maniskill", "robosuite", "isaac", "mujoco", "real_world", "custom",
]
ActionSpace = Literal[
    "end_effector_delta_pose", "end_effector_absolute_pose", "joint_position", "joint_velocity",
    "joint_delta", "joint_torque", "gripper_action", "base_velocity",
]
ActionControlMode = Literal[
    "delta_pose", "absolute_pose", "joint_position", "joint_velocity", "torque",
]
CoordinateFrame = Literal["end_effector", "robot_base", "world", "camera"]
GripperControl = Literal["binary", "continuous", "none"]
ObservationSpace = Literal[
    "rgb_static_camera", "rgb_wrist_camera", "depth_camera", "proprioception",
    "language_instruction", "point_cloud", "tactile",
]
CameraTopology = Literal["static", "wrist", "static_and_wrist", "moving", "none"]
ResetPolicy = Literal["episode_reset", "manual_reset", "no_reset"]
MetricContract = Literal[
    "boolean_success_per_episode", "partial_success_per_episode", "continuous_score_per_episode",
]

# Flags that may be repeated on the command line; each is a list field of the same name.
REPEATABLE_FLAGS = (
    "action_space", "observation_space", "training_exposure_possible_benchmark_family",
    "training_exposure_caveat",
)
# Flags that take no value.
BOOLEAN_FLAGS = ("language_input",)
# Profile values that evidence must repeat in its metadata when present.
PINNED_PROFILE_FIELDS = (
    "environment_version", "adapter_version", "camera_config_id", "control_frequency_hz",
    "robot_model", "action_control_mode",
)


class EvalProfile(Artifact):
    """A robot/policy profile; field names are the reference command's flag names."""

    KIND = "profile"
    DIGEST_FIELD = "profile_digest"

    profile_id: Slug
    policy_id: Slug
    use_case: ShortText
    embodiment_class: EmbodimentClass
    robot_model: Slug
    simulator_family: SimulatorFamily
    action_space: list[ActionSpace] = Field(min_length=1)
    action_control_mode: ActionControlMode
    coordinate_frame: CoordinateFrame
    # Humanoids have a few dozen; a bound keeps nonsense (and C-integer overflows) out at the boundary.
    degrees_of_freedom: PositiveInt = Field(le=1000)
    gripper_control: GripperControl
    observation_space: list[ObservationSpace] = Field(min_length=1)
    camera_topology: CameraTopology
    camera_config_id: Slug
    language_input: bool = False
    control_frequency_hz: PositiveFloat
    reset_policy: ResetPolicy
    metric_contract: MetricContract
    real_to_sim_calibration: Slug | None = None
    environment_version: Slug
    adapter_version: Slug
    training_exposure_possible_benchmark_family: list[Slug] = Field(default_factory=empty_list)
    training_exposure_caveat: list[ShortText] = Field(default_factory=empty_list)
    claim_intent: ShortText
    reviewer_next_action: ShortText
    created_at: str = now_field()
    profile_digest: Digest | None = None

    @field_validator("action_space", "observation_space",
                     "training_exposure_possible_benchmark_family")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("lists a value more than once")
        return values

    # Secrets typed into a profile would reach every plan, packet and brief: free text is redacted,
    # identifiers that look like secrets are refused.
    _redact = field_validator("use_case", "claim_intent", "reviewer_next_action",
                              "training_exposure_caveat")(redacted_text)
    _no_secret_ids = field_validator(
        "profile_id", "policy_id", "robot_model", "camera_config_id", "real_to_sim_calibration",
        "environment_version", "adapter_version", "training_exposure_possible_benchmark_family",
    )(refuse_secret)

    @field_validator("control_frequency_hz")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"),) or value > 10_000:
            raise ValueError("must be a finite frequency no higher than 10000 Hz")
        return value
