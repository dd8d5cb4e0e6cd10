"""Evidence as a table: every bad value refused naming its row and field, one table however it was
given, no way to change evidence in place, and conformance the same for loaded and fresh inputs."""

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
from worldflux_nb.core.evidence_columns import evidence_columns
from worldflux_nb.core.plan_keys import plan_keys
from worldflux_nb.errors import InputError
from worldflux_nb.io.artifacts import artifact_json, load
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.evidence_table import EvidenceError, EvidenceTable
from worldflux_nb.models.plan import PlanCell, ProtocolPlan

BASE = {"plan_digest": "sha256:" + "0" * 64, "probe_id": "beta",
        "source": {"importer": "generic_jsonl", "format_version": "1", "identity": "explicit"}}
ROW = {"axis": "light", "episode_index": 3, "level": "dim", "metadata": {"camera_config_id": "c"},
       "probe_id": "beta", "seed": 7, "status": "completed", "success": True, "task_id": "suite/0"}

# Each a value the evidence table refuses (it coerces nothing: True is not 1, 2.0 is not 2).
CHANGES = [
    {"level": True}, {"level": 2.0}, {"level": ""}, {"level": "x" * 65}, {"level": None},
    {"seed": True}, {"seed": 1.0}, {"seed": 2**63}, {"seed": -(2**63) - 1}, {"seed": "7"},
    {"episode_index": -1}, {"episode_index": 2**63}, {"episode_index": True}, {"episode_index": "3"},
    {"success": 1}, {"success": "true"}, {"status": "done"}, {"status": None}, {"task_id": 5},
    {"probe_id": None}, {"axis": ["a"]}, {"metadata": []},
    {"metadata": {"k": [1]}}, {"metadata": {"k": {"a": 1}}}, {"metadata": {"k": float("nan")}},
    {"metadata": {"k": float("inf")}}, {"extra": 1},
]


def columns_equal(a, b) -> bool:
    arrays = ("place", "status", "episode_index", "seed", "seed_missing", "success", "metadata")
    return (all(np.array_equal(getattr(a, n), getattr(b, n)) for n in arrays)
            and a.places == b.places and a.statuses == b.statuses and a.metadatas == b.metadatas)


@pytest.mark.parametrize("change", CHANGES + [{"missing": "seed"}])
def test_every_bad_value_is_refused_naming_its_row_and_field(change):
    row = dict(ROW, **change)
    if "missing" in change:
        row = {k: v for k, v in ROW.items() if k != "seed"}
    field = next(iter(change)) if "missing" not in change else "seed"
    with pytest.raises(EvidenceError) as caught:
        EvidenceTable.build([dict(ROW), dict(ROW), row])
    assert caught.value.location == f"episodes[2].{field}"


@pytest.mark.parametrize("change", CHANGES)
def test_the_same_values_are_refused_as_arrow_or_python_columns(change):
    import pyarrow as pa

    name, value = next(iter(change.items()))
    if name in ("extra", "metadata") or isinstance(value, (list, dict)):
        return  # no Arrow column of these types: covered by the row test
    column = [ROW[name], value]
    try:
        arrow = pa.array(column)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return  # Arrow itself cannot hold the mix
    columns = {k: [v, v] for k, v in ROW.items() if k != "metadata"}
    # A column whose Arrow type is wrong (2.0 made it float) is refused at its first row.
    with pytest.raises(EvidenceError, match=rf"episodes\[[01]\]\.{name}"):
        EvidenceTable.build({**columns, name: arrow})


def test_rows_columns_and_arrow_give_one_table():
    rows = random_rows(random.Random(3), 500)
    from_rows = EvidenceTable.build(rows)
    columns = {name: [row.get(name) for row in rows] for name in ROW}
    assert EvidenceTable.build(columns) == from_rows
    assert EvidenceTable.build(from_rows.arrow) == from_rows
    assert EvidenceTable.build(from_rows.to_pandas()) == from_rows
    assert from_rows.to_pylist() == rows


def test_loading_gives_the_sealed_table_and_its_columns(tmp_path):
    plan = make_plan(400)
    rows = defective_rows(plan, random.Random(4))
    path = tmp_path / "audit.json"
    for probe, probe_rows in rows.items():
        sealed = audit(plan, probe, probe_rows)
        path.write_text(artifact_json(sealed), encoding="utf-8")
        loaded = load(path)
        assert loaded == sealed
        assert columns_equal(evidence_columns(loaded.episodes), evidence_columns(sealed.episodes))


def test_a_bad_row_is_refused_naming_row_and_field(tmp_path):
    plan = make_plan(4)
    sealed = audit(plan, "beta", [dict(ROW, episode_index=i) for i in range(4)])
    data = json.loads(artifact_json(sealed))
    data["episodes"][2]["status"] = "finished"
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(InputError, match=r"audit\.json: episodes\[2\]\.status: 'finished' is not a status"):
        load(path)


def test_evidence_cannot_be_changed_in_place_so_the_packet_cannot_go_stale():
    """The issue's case: `audit.episodes[0]` changed in place used to leave the packet's numbers stale."""
    from worldflux_nb.core.packet import build_packet

    plan = make_plan(4)
    rows = [dict(ROW, episode_index=i, seed=None) for i in range(4)]
    sealed = audit(plan, "beta", rows)
    before = build_packet(plan, [sealed]).model_dump(exclude={"packet_digest", "created_at"})
    with pytest.raises(TypeError):
        sealed.episodes[0]["success"] = False  # rows are read-only views
    with pytest.raises((AttributeError, TypeError)):
        sealed.episodes._table = None
    with pytest.raises(ValidationError):
        sealed.episodes = EvidenceTable.build(rows[:1])  # the audit input is frozen
    copy = sealed.episodes.to_pylist()
    copy[0]["success"] = False  # a copy: the table is untouched
    rows[1]["success"] = False  # nor does the table follow the list it was built from
    assert sealed.episodes[0]["success"] is True and sealed.episodes[1]["success"] is True
    assert build_packet(plan, [sealed]).model_dump(exclude={"packet_digest", "created_at"}) == before
    assert sealed.digest_problem() is None
    with pytest.raises(TypeError):
        EvidenceTable(sealed.episodes.arrow)  # only build() makes tables: every one is checked


def test_a_plan_changed_in_place_is_checked_as_it_is_now():
    """No episode keys are kept on the plan: conformance after an in-place change of its cells
    counts the changed plan, exactly as a plan built with those cells from the start."""
    plan = make_plan(4)
    rows = [dict(ROW, episode_index=i, seed=None, metadata={"camera_config_id": "static-front-v1"})
            for i in range(4)]
    sealed = audit(plan, "beta", rows)
    assert check_conformance(plan, [sealed]).conformance.matched == 4
    place = next(i for i, c in enumerate(plan.cells) if c.probe_id == "beta")
    beta = plan.cells[place]
    plan.cells[place] = PlanCell(**{**beta.model_dump(), "episodes": [0, 1], "seeds": [None, None]})
    changed = check_conformance(plan, [sealed]).conformance  # the list inside a frozen model changed
    assert changed.matched == 2 and changed.out_of_protocol == 2
    fresh = check_conformance(ProtocolPlan.model_validate(plan.model_dump()), [sealed]).conformance
    assert changed == fresh and changed.planned_episodes == plan.planned_episodes
    assert changed.matched + changed.missing == changed.planned_episodes


def test_conformance_is_the_same_for_loaded_and_fresh_inputs(tmp_path):
    plan = make_plan(300)
    rows = defective_rows(plan, random.Random(8))
    inputs = [audit(plan, probe, probe_rows) for probe, probe_rows in rows.items()]
    loaded = []
    for i, ai in enumerate(inputs):
        path = tmp_path / f"audit{i}.json"
        path.write_text(artifact_json(ai), encoding="utf-8")
        loaded.append(load(path))
    fresh = check_conformance(plan, [AuditInput.model_validate(ai.to_json_dict()) for ai in inputs])
    again = check_conformance(plan, loaded)
    assert fresh.conformance == again.conformance
    assert fresh.rows.equals(again.rows) and fresh.episodes.equals(again.episodes)
    categories, _ = reference_conformance(plan, inputs)
    assert list(again.rows["category"].astype(str)) == categories


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
    assert result.arrays.ev.episode_index.dtype == np.int64  # (2**63 - 1 needs it)
    assert result.arrays.keys.episode_index.dtype == (np.int64 if make is sparse_plan else np.int32)
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
    # Held as int32 (every index fits), given as int64 like the table's column.
    assert result.arrays.ev.episode_index.dtype == np.int32 and whole["episode_index"].dtype == np.int64


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


def test_dictionary_encoded_columns_are_checked_on_the_values_rows_use():
    """A dictionary-encoded column (Parquet's text) is kept encoded: a bad value a row uses is refused
    naming that row; a bad value in the dictionary that no row uses is not evidence."""
    import pyarrow as pa

    columns = {k: [v] * 3 for k, v in ROW.items() if k != "metadata"}
    statuses = pa.array(["completed", "finished"])
    used = pa.DictionaryArray.from_arrays(pa.array([0, 0, 1], type=pa.int32()), statuses)
    with pytest.raises(EvidenceError, match=r"episodes\[2\]\.status: 'finished' is not a status"):
        EvidenceTable.build({**columns, "status": used})
    unused = pa.DictionaryArray.from_arrays(pa.array([0, 0, 0], type=pa.int32()), statuses)
    plain = EvidenceTable.build(columns)
    assert EvidenceTable.build({**columns, "status": unused}) == plain
    good = pa.DictionaryArray.from_arrays(pa.array([0, 1, 0], type=pa.int32()), pa.array(["completed", "timeout"]))
    table = EvidenceTable.build({**columns, "status": good, "success": [True, False, True]})
    assert pa.types.is_dictionary(table.encoded.schema.field("status").type)  # kept encoded
    assert table.arrow.schema == plain.arrow.schema
    assert table == EvidenceTable.build({**columns, "status": ["completed", "timeout", "completed"],
                                         "success": [True, False, True]})
    nulls = pa.DictionaryArray.from_arrays(pa.array([0, None, 0], type=pa.int32()), pa.array(["suite/0"]))
    with pytest.raises(EvidenceError, match=r"episodes\[1\]\.task_id: must not be null"):
        EvidenceTable.build({**columns, "task_id": nulls})
