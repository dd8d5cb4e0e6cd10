"""Evidence as columns: the column-wise row check agrees with pydantic, the cached views follow the
data they were built from, and conformance gives the same answer however the columns were made."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from pydantic import ValidationError

from test_conformance import audit, make_plan
from test_scale import defective_rows, random_rows, reference_conformance
from conftest import cell_episodes
from worldflux_nb.core.conformance import check_conformance
from worldflux_nb.core.evidence_columns import build_columns, evidence_columns
from worldflux_nb.core.plan_keys import plan_keys
from worldflux_nb.core.row_check import checked_columns
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_json, load
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.plan import PlanCell, ProtocolPlan

BASE = {"plan_digest": "sha256:" + "0" * 64, "probe_id": "beta",
        "source": {"importer": "generic_jsonl", "format_version": "1", "identity": "explicit"}}
ROW = {"axis": "light", "episode_index": 3, "level": "dim", "metadata": {"camera_config_id": "c"},
       "probe_id": "beta", "seed": 7, "status": "completed", "success": True, "task_id": "suite/0"}

# Each a value pydantic would coerce (so the row would not be kept as written) or refuse.
CHANGES = [
    {"level": True}, {"level": 2.0}, {"level": ""}, {"level": "x" * 65}, {"level": None},
    {"seed": True}, {"seed": 1.0}, {"seed": 2**63}, {"seed": -(2**63) - 1}, {"seed": "7"},
    {"episode_index": -1}, {"episode_index": 2**63}, {"episode_index": True}, {"episode_index": "3"},
    {"success": 1}, {"success": "true"}, {"status": "done"}, {"status": None}, {"task_id": 5},
    {"probe_id": None}, {"axis": ["a"]}, {"metadata": None}, {"metadata": []},
    {"metadata": {"k": [1]}}, {"metadata": {"k": {"a": 1}}}, {"metadata": {"k": float("nan")}},
    {"metadata": {"k": float("inf")}}, {"extra": 1},
]


def columns_equal(a, b) -> bool:
    arrays = ("place", "status", "episode_index", "seed", "seed_missing", "success", "metadata")
    return (all(np.array_equal(getattr(a, n), getattr(b, n)) for n in arrays)
            and a.places == b.places and a.statuses == b.statuses
            and [sorted(m.items(), key=repr) for m in a.metadatas]
            == [sorted(m.items(), key=repr) for m in b.metadatas])


def test_rows_pass_the_column_check_exactly_when_validation_keeps_them():
    rows = random_rows(random.Random(3), 500)
    columns = checked_columns(rows)
    assert columns is not None
    validated = AuditInput.model_validate({**BASE, "episodes": rows})
    assert validated.episodes == rows
    assert columns_equal(columns, build_columns(validated.episodes))
    for change in CHANGES + [{"missing": "seed"}]:
        row = dict(ROW, **change)
        if "missing" in change:
            row = {k: v for k, v in ROW.items() if k != "seed"}
        bad = [dict(ROW), row]
        assert checked_columns(bad) is None, change
        try:
            kept = AuditInput.model_validate({**BASE, "episodes": bad}).episodes
        except ValidationError:
            continue
        assert repr(kept) != repr(bad), change  # coerced: True became 1, 2.0 became 2, ...


def test_loading_takes_the_column_path_and_matches_full_validation(tmp_path):
    plan = make_plan(400)
    rows = defective_rows(plan, random.Random(4))
    path = tmp_path / "audit.json"
    for probe, probe_rows in rows.items():
        sealed = audit(plan, probe, probe_rows)
        path.write_text(artifact_json(sealed), encoding="utf-8")
        assert checked_columns(json.loads(path.read_text(encoding="utf-8"))["episodes"]) is not None
        loaded = load(path)
        assert loaded == sealed
        assert loaded._columns.get(loaded.episodes) is not None  # built during the load
        assert columns_equal(evidence_columns(loaded), build_columns(sealed.episodes))


def test_a_bad_row_is_refused_with_pydantics_message(tmp_path):
    plan = make_plan(4)
    sealed = audit(plan, "beta", [dict(ROW, episode_index=i) for i in range(4)])
    data = json.loads(artifact_json(sealed))
    data["episodes"][2]["status"] = "finished"
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=r"episodes\.2\.status"):
        load(path)


def test_cached_columns_follow_the_episodes_they_were_built_from():
    plan = make_plan(4)
    first = audit(plan, "beta", [dict(ROW, episode_index=i) for i in range(4)])
    columns = evidence_columns(first)
    assert evidence_columns(first) is columns
    other = first.model_copy(update={"episodes": [dict(ROW, episode_index=0, seed=None)]})
    assert len(evidence_columns(other)) == 1 and bool(evidence_columns(other).seed_missing[0])
    assert len(evidence_columns(first)) == 4
    assert first == AuditInput.model_validate(first.to_json_dict())  # the cache is never compared
    assert "_columns" not in first.to_json_dict()


def test_conformance_is_the_same_with_columns_from_load_or_from_rows(tmp_path):
    plan = make_plan(300)
    rows = defective_rows(plan, random.Random(8))
    inputs = [audit(plan, probe, probe_rows) for probe, probe_rows in rows.items()]
    loaded = []
    for i, ai in enumerate(inputs):
        path = tmp_path / f"audit{i}.json"
        path.write_text(artifact_json(ai), encoding="utf-8")
        loaded.append(load(path))
    fresh = check_conformance(plan, [AuditInput.model_validate(ai.to_json_dict()) for ai in inputs])
    cached = check_conformance(plan, loaded)
    assert fresh.conformance == cached.conformance
    assert fresh.rows.equals(cached.rows) and fresh.episodes.equals(cached.episodes)
    categories, _ = reference_conformance(plan, inputs)
    assert list(cached.rows["category"].astype(str)) == categories


def sparse_plan() -> ProtocolPlan:
    """Episode indexes far apart, so planned episodes are found by hashing, not a dense table."""
    plan = make_plan(4)
    cells = [PlanCell(**{**c.model_dump(), "episodes": [i * 10**12 + 5 for i, _ in cell_episodes(c)]})
             for c in plan.cells]
    return ProtocolPlan.model_validate({**plan.model_dump(), "cells": [c.model_dump() for c in cells],
                                        "plan_digest": None}).sealed()


@pytest.mark.parametrize("make", [make_plan, sparse_plan])
def test_dense_and_hashed_plan_lookups_agree_with_the_per_row_rules(make):
    plan = make()
    assert (plan_keys(plan)._dense is None) == (make is sparse_plan)
    rows = defective_rows(plan, random.Random(12))
    for probe_rows in rows.values():  # a few unplanned indexes next to planned ones
        probe_rows += [dict(probe_rows[0], episode_index=probe_rows[0]["episode_index"] + 1),
                       dict(probe_rows[0], episode_index=2**63 - 1)]
    inputs = [audit(plan, probe, probe_rows) for probe, probe_rows in rows.items()]
    result = check_conformance(plan, inputs)
    categories, outcomes = reference_conformance(plan, inputs)
    assert list(result.rows["category"].astype(str)) == categories
    episodes = result.episodes
    keys = zip(episodes["probe_id"], episodes["task_id"], episodes["axis"],
               episodes["level"].map(str), episodes["episode_index"])
    assert [outcomes[key] for key in keys] == list(zip(episodes["matched"], episodes["success"]))


def test_rows_at_gives_the_same_rows_as_the_whole_frame():
    plan = make_plan(50)
    rows = defective_rows(plan, random.Random(2))
    result = check_conformance(plan, [audit(plan, p, r) for p, r in rows.items()])
    positions = np.array([0, 7, 31, len(result.rows) - 1])
    part = result.rows_at(positions)
    whole = result.rows.iloc[positions].reset_index(drop=True)
    assert part.equals(whole)


def test_the_cached_planned_frame_is_the_run_sheet_frame():
    from worldflux_nb.core.plan_keys import planned_frame

    for plan in (make_plan(7), sparse_plan()):
        assert plan_keys(plan).planned.equals(planned_frame(plan))
        assert plan_keys(plan).planned.dtypes.equals(planned_frame(plan).dtypes)


def test_importing_the_package_loads_neither_numpy_nor_pandas():
    """The columns and plan keys are built on load, with numpy and pandas imported then, not before."""
    import subprocess
    import sys

    code = "import sys, worldflux_nb; print(sorted(m for m in ('numpy', 'pandas') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
