"""The reference profile (the flags of the reference `eval-profile create`) and a sample contract."""

from __future__ import annotations

from typing import Any

from worldflux_nb.models.digest import digest_of
from worldflux_nb.models.contract import CustomEvalContract
from worldflux_nb.models.profile import EvalProfile

REFERENCE_PROFILE_VALUES: dict[str, Any] = {
    "profile_id": "customer-vla-v3-tabletop", "policy_id": "customer_vla_v3",
    "use_case": "fixed-camera tabletop pick-and-place demo",
    "embodiment_class": "single_arm_tabletop", "robot_model": "franka-panda",
    "simulator_family": "libero", "action_space": ["end_effector_delta_pose", "gripper_action"],
    "action_control_mode": "delta_pose", "coordinate_frame": "end_effector",
    "degrees_of_freedom": 6, "gripper_control": "binary",
    "observation_space": ["rgb_static_camera", "language_instruction"],
    "camera_topology": "static", "camera_config_id": "static-front-v1", "language_input": True,
    "control_frequency_hz": 20, "reset_policy": "episode_reset",
    "metric_contract": "boolean_success_per_episode", "real_to_sim_calibration": "calibration-v1",
    "environment_version": "libero-local", "adapter_version": "worldflux-libero-bridge",
    "training_exposure_possible_benchmark_family": ["libero"],
    "training_exposure_caveat": ["operator did not provide a full training-data manifest"],
    "claim_intent": "constrained tabletop manipulation evidence",
    "reviewer_next_action": "review conformance, missing cells, and unsupported claims",
}

BIN_PICKING_TASKS = [
    {"task_id": "tote-to-bin/rigid-box",
     "instruction": "pick the rigid carton from the tote and place it in the outbound bin"},
    {"task_id": "tote-to-bin/polybag",
     "instruction": "pick the polybagged item from the tote and place it in the outbound bin"},
    {"task_id": "tote-to-bin/cylinder",
     "instruction": "pick the cylindrical bottle from the tote and place it upright in the bin"},
    {"task_id": "tote-to-bin/cluttered",
     "instruction": "pick the named item from a cluttered tote and place it in the outbound bin"},
]


def reference_profile() -> EvalProfile:
    """The reference tabletop Franka/LIBERO profile, sealed."""
    return EvalProfile.model_validate(REFERENCE_PROFILE_VALUES).sealed()


def reference_contract_data() -> dict[str, Any]:
    """The sample contract as the JSON a customer would hand over (also tests/fixtures/contract.json)."""
    return {
        "schema_version": CustomEvalContract.schema_id(),
        "privacy": "LOCAL_PRIVATE",
        "contract_id": "acme-bin-picking-station-3",
        "task_manifest_ref": "acme/station-3/task_manifest_v2.json",
        # The digest of the task list itself, so the manifest reference is checkable.
        "task_manifest_digest": digest_of(BIN_PICKING_TASKS),
        "metric_schema_ref": "acme/station-3/metric_schema_v1.json (boolean success per pick)",
        "inclusion_rules": [
            "episode ran on station 3 with fixture version fx-2.1",
            "item drawn from the reviewer-owned task source, not chosen by the operator",
        ],
        "exclusion_rules": [
            "episodes aborted by the safety controller before the first grasp are reported as "
            "infrastructure failures, never dropped",
            "no episode is excluded after its outcome is known",
        ],
        "audit_metadata_keys": ["station_id", "fixture_version", "gripper_firmware", "operator_id"],
        "reviewer_owned_task_source": "reviewer-held item list drawn before the run, sealed envelope 2026-01",
        "customer_consent_marker": "acme-consent-2026-01-reviewer-share",
        "customer_use_case": "tote-to-bin picking at an e-commerce fulfilment station",
        "acceptance_question": "does the policy pick and place the station's item mix reliably enough to start a supervised pilot?",
        "workflow_claim": "the policy completes tote-to-bin picks for the station's four item classes without operator help",
        "task_owner": "ACME fulfilment engineering",
        "tasks": BIN_PICKING_TASKS,
        "pinned_values": {"station_id": "station-3", "fixture_version": "fx-2.1",
                          "gripper_firmware": "gf-4.7.2"},
        "episodes_per_task": 20,
    }


def reference_contract() -> CustomEvalContract:
    """A realistic customer contract: a four-task bin-picking station with pinned station values."""
    return CustomEvalContract.model_validate(reference_contract_data())
