"""Property tests over random plans and evidence: conformance invariants, agreement with the per-row
baseline in bench/, determinism under row order, and digests that do not depend on the process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REFERENCE_PROFILE, cell_episodes

from worldflux_nb.core.conformance import check_conformance
from worldflux_nb.models.digest import digest_of
from worldflux_nb.models import AuditInput, EvalProfile, ProtocolPlan
from worldflux_nb.models.evidence import AuditSource
from worldflux_nb.models.plan import AxisSelection, PlanCell, PowerTargets, SelectedProbe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from baseline import conformance_counts  # noqa: E402

PROFILE = EvalProfile.model_validate(REFERENCE_PROFILE).sealed()
PINNED = {"environment_version": "libero-local", "adapter_version": "bridge-1"}
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def plans(draw: st.DrawFn) -> ProtocolPlan:
    """A small sealed plan: 1-2 probes, a few cells, 1-5 episodes each, seeded or not."""
    probes, cells = [], []
    for p in range(draw(st.integers(1, 2))):
        probe_id = f"probe-{p}"
        seeded = draw(st.booleans())
        run_seed = draw(st.integers(0, 10_000))
        tasks = [f"task-{t}" for t in range(draw(st.integers(1, 3)))]
        # Levels whose text forms differ: the conformance key compares levels as text.
        levels = draw(st.lists(st.sampled_from([0, 1, 2, "dim", "bright"]), min_size=1, max_size=3,
                               unique_by=str))
        for task in tasks:
            for level in levels:
                indexes = sorted(draw(st.sets(st.integers(0, 30), min_size=1, max_size=5)))
                cells.append(PlanCell(
                    cell_id=f"{probe_id}/{task}/axis/{level}", probe_id=probe_id, task_id=task,
                    axis="axis", level=level, episodes=indexes,
                    seeds=[run_seed + i if seeded else None for i in indexes]))
        probes.append(SelectedProbe(
            probe_id=probe_id, probe_version="1", seed_mode="per_episode_seed" if seeded else "initial_state_index",
            run_seed=run_seed, tasks=tasks, axes=[AxisSelection(axis="axis", levels=levels)],
            pinned_metadata=dict(PINNED)))
    return ProtocolPlan(
        plan_id="prop", profile=PROFILE, profile_digest=PROFILE.profile_digest,
        registry_version="r1", registry_digest=digest_of("r"), plan_seed=1,
        seed_source="operator_supplied", episodes_per_cell=5,
        power_targets=PowerTargets(episodes_needed_for_target=43), selected_probes=probes,
        cells=cells).sealed()


ATTEMPT = st.fixed_dictionaries({
    "seed": st.sampled_from(["planned", "planned", "planned", "wrong", "none"]),
    "metadata": st.sampled_from(["pinned", "pinned", "pinned", "differs", "absent"]),
    "outcome": st.sampled_from(["success", "failure", "timeout", "infra_failure", "pending"]),
})


def row_for(cell: PlanCell, index: int, seed: int | None, attempt: dict[str, str]) -> dict[str, Any]:
    status, success = {"success": ("completed", True), "failure": ("completed", False),
                       "timeout": ("timeout", False), "infra_failure": ("infra_failure", None),
                       "pending": ("pending", None)}[attempt["outcome"]]
    recorded = {"planned": seed, "wrong": (seed or 0) + 7919, "none": None}[attempt["seed"]]
    metadata = {"pinned": dict(PINNED), "differs": {**PINNED, "environment_version": "other"},
                "absent": {"adapter_version": PINNED["adapter_version"]}}[attempt["metadata"]]
    return {"probe_id": cell.probe_id, "task_id": cell.task_id, "axis": cell.axis, "level": cell.level,
            "episode_index": index, "seed": recorded, "success": success, "status": status,
            "metadata": metadata}


@st.composite
def evidence(draw: st.DrawFn, plan: ProtocolPlan) -> list[dict[str, Any]]:
    """Rows for a plan: 0-3 attempts per planned episode, unplanned extras, in a random order."""
    rows = []
    for cell in plan.cells:
        for index, seed in cell_episodes(cell):
            for attempt in draw(st.lists(ATTEMPT, max_size=3)):
                rows.append(row_for(cell, index, seed, attempt))
        for extra in draw(st.lists(st.integers(31, 40), max_size=2)):
            rows.append(row_for(cell, extra, None, draw(ATTEMPT)))
    return draw(st.permutations(rows))


def audit_inputs(plan: ProtocolPlan, rows: list[dict[str, Any]], *, digest: str | None = None) -> list[AuditInput]:
    inputs = []
    for probe in plan.selected_probes:
        mine = [r for r in rows if r["probe_id"] == probe.probe_id]
        if mine:
            inputs.append(AuditInput(
                plan_digest=digest or plan.plan_digest, probe_id=probe.probe_id, episodes=mine,
                source=AuditSource(importer="jsonl", format_version="test", identity="explicit")).sealed())
    return inputs


COUNTS = ("planned_episodes", "matched", "missing", "out_of_protocol", "duplicates", "seed_mismatches",
          "metadata_mismatches", "infra_failures", "pending", "unverified_seeds", "unverified_metadata",
          "evidence_rows")


@FAST
@given(data=st.data())
def test_conformance_invariants_and_baseline_agreement(data: st.DataObject) -> None:
    plan = data.draw(plans())
    rows = data.draw(evidence(plan))
    inputs = audit_inputs(plan, rows)
    result = check_conformance(plan, inputs)
    c = result.conformance

    assert c.matched + c.missing == c.planned_episodes == plan.planned_episodes
    assert c.evidence_rows == len(rows)
    # Every row falls in exactly one category.
    assert (c.out_of_protocol + c.seed_mismatches + c.metadata_mismatches + c.duplicates + c.matched
            == c.evidence_rows)
    assert list(result.rows["category"].isna()) == [False] * len(rows)
    assert c.infra_failures + c.pending <= c.matched
    assert not c.digest_mismatches

    # A per-row implementation of the same rules gives the same numbers.
    expected = conformance_counts(plan.to_json_dict(), [ai.to_json_dict() for ai in inputs])
    assert {k: getattr(c, k) for k in COUNTS} == {k: expected[k] for k in COUNTS}
    assert int(result.episodes["success"].sum()) == expected["successes_all_planned"]

    # Re-rolling never helps: an episode with any failed conformant attempt is not a success.
    failed = result.episodes[result.episodes["attempt_failures"] > 0]
    assert not failed["success"].any()


@FAST
@given(data=st.data())
def test_row_order_between_episodes_does_not_matter(data: st.DataObject) -> None:
    """Reordering rows, keeping each episode's own attempts in order, changes nothing at all."""
    plan = data.draw(plans())
    rows = data.draw(evidence(plan))
    by_episode: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_episode.setdefault((row["probe_id"], row["task_id"], str(row["level"]), row["episode_index"]),
                              []).append(row)
    groups = data.draw(st.permutations(list(by_episode.values())))
    # Episodes move as blocks, so each episode keeps its own attempts in their order.
    reordered = [row for group in groups for row in group]

    first = check_conformance(plan, audit_inputs(plan, rows))
    second = check_conformance(plan, audit_inputs(plan, reordered))
    assert first.conformance == second.conformance
    columns = ["cell_id", "episode_index", "matched", "success", "status", "attempts"]
    assert first.episodes[columns].equals(second.episodes[columns])


@FAST
@given(data=st.data())
def test_any_row_order_keeps_the_order_free_counts(data: st.DataObject) -> None:
    """Under any shuffle, which episodes are matched, missing or successful stays the same."""
    plan = data.draw(plans())
    rows = data.draw(evidence(plan))
    shuffled = data.draw(st.permutations(rows))
    a = check_conformance(plan, audit_inputs(plan, rows)).conformance
    b = check_conformance(plan, audit_inputs(plan, shuffled)).conformance
    for name in ("planned_episodes", "matched", "missing", "out_of_protocol", "duplicates",
                 "seed_mismatches", "metadata_mismatches", "unverified_seeds", "unverified_metadata",
                 "evidence_rows"):
        assert getattr(a, name) == getattr(b, name), name


@FAST
@given(data=st.data())
def test_wrong_plan_digest_rejects_the_whole_input(data: st.DataObject) -> None:
    plan = data.draw(plans())
    rows = data.draw(evidence(plan))
    stale = "sha256:" + "0" * 64
    inputs = audit_inputs(plan, rows, digest=stale)
    c = check_conformance(plan, inputs).conformance
    assert c.matched == 0 and c.missing == c.planned_episodes and c.evidence_rows == 0
    assert sorted(m.probe_id for m in c.digest_mismatches) == sorted(ai.probe_id for ai in inputs)
    assert sum(m.rows_rejected for m in c.digest_mismatches) == len(rows)


DIGEST_SCRIPT = """
import json, sys
from worldflux_nb.io.artifacts import load
from worldflux_nb.models.digest import digest_of
artifact = load(sys.argv[1])
print(json.dumps([artifact.computed_digest(), digest_of(json.load(open(sys.argv[1])), without=artifact.DIGEST_FIELD)]))
"""


@settings(max_examples=5, deadline=None)
@given(plan=plans())
def test_digest_is_the_same_in_another_process(plan: ProtocolPlan, tmp_path_factory: pytest.TempPathFactory) -> None:
    from worldflux_nb.io.artifacts import artifact_json

    path = tmp_path_factory.mktemp("digest") / "plan.json"
    path.write_text(artifact_json(plan), encoding="utf-8")
    # A different hash seed changes dict and set iteration order; the digest must not care.
    env = {"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", DIGEST_SCRIPT, str(path)], capture_output=True,
                         text=True, env=env, check=True).stdout
    assert json.loads(out) == [plan.plan_digest, plan.plan_digest]
