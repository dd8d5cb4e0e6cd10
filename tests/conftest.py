"""Shared fixtures: the reference profile as command-line flags and as field values."""

from __future__ import annotations

import pytest

from worldflux_nb.sample.reference import REFERENCE_PROFILE_VALUES

REFERENCE_PROFILE_ARGS = [
    "--profile-id", "customer-vla-v3-tabletop", "--policy-id", "customer_vla_v3",
    "--use-case", "fixed-camera tabletop pick-and-place demo",
    "--embodiment-class", "single_arm_tabletop", "--robot-model", "franka-panda",
    "--simulator-family", "libero", "--action-space", "end_effector_delta_pose",
    "--action-space", "gripper_action", "--action-control-mode", "delta_pose",
    "--coordinate-frame", "end_effector", "--degrees-of-freedom", "6", "--gripper-control", "binary",
    "--observation-space", "rgb_static_camera", "--observation-space", "language_instruction",
    "--camera-topology", "static", "--camera-config-id", "static-front-v1", "--language-input",
    "--control-frequency-hz", "20", "--reset-policy", "episode_reset",
    "--metric-contract", "boolean_success_per_episode", "--real-to-sim-calibration", "calibration-v1",
    "--environment-version", "libero-local", "--adapter-version", "worldflux-libero-bridge",
    "--training-exposure-possible-benchmark-family", "libero",
    "--training-exposure-caveat", "operator did not provide a full training-data manifest",
    "--claim-intent", "constrained tabletop manipulation evidence",
    "--reviewer-next-action", "review conformance, missing cells, and unsupported claims",
]

REFERENCE_PROFILE = dict(REFERENCE_PROFILE_VALUES)


@pytest.fixture(autouse=True)
def _fixed_source_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


@pytest.fixture(scope="session")
def reference_flow(tmp_path_factory: pytest.TempPathFactory):
    """The reference flow, profile to brief, built once per session through the command line.

    Read-only for tests: copy it before changing anything (see tests/hardening_support.py).
    """
    from hardening_support import build_flow

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1767225600")
        return build_flow(tmp_path_factory.mktemp("reference_flow"))


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory):
    """One JupyterLab on loopback for the session's Lab browser tests (browser_support.jupyterlab), serving a
    folder each module copies its own notebooks into; yields url, token, env, root and settings by name."""
    from browser_support import jupyterlab, missing_browser

    reason = missing_browser("jupyterlab")
    if reason:
        pytest.skip(reason)
    home = tmp_path_factory.mktemp("lab")
    root = home / "root"
    root.mkdir()
    with jupyterlab(home, root) as (url, token, env, settings):
        yield {"url": url, "token": token, "env": env, "root": root, "settings": settings}


def cell_episodes(cell) -> list[tuple[int, int | None]]:
    """A plan cell's planned (episode index, seed) pairs, expanded by the one rule (core.plan_cells)."""
    from worldflux_nb.core.plan_cells import expand_cells

    expanded = expand_cells([cell])
    return [(index, None if missing else seed) for index, seed, missing in zip(
        expanded.episode_index.tolist(), expanded.seed.tolist(), expanded.seed_missing.tolist())]


# A small synthetic file in the exact format of LIBERO-plus's task_classification.json
# (sylvestf/LIBERO-plus@4976dc3, libero/libero/benchmark/task_classification.json): two suites,
# seven categories, levels 1-5 and some null. Not LIBERO-plus's data.
from pathlib import Path  # noqa: E402

LIBERO_PLUS_FIXTURE = Path(__file__).parent / "fixtures" / "libero_plus_task_classification.json"


def libero_plus_fixture():
    from worldflux_nb.io.artifacts import load_libero_plus_classification

    return load_libero_plus_classification(LIBERO_PLUS_FIXTURE)
