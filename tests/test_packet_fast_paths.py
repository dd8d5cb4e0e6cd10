"""The packet's column-wise shortcuts agree with the plain definitions they replace: the episodes
frame for a few planned episodes, the shifted-index cells and the early-stopping strata, each
against a per-cell loop over random evidence with every defect (tests/test_scale.py's generator)
and planted index shifts."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from test_conformance import audit, make_plan
from test_scale import defective_rows
from worldflux_nb.core.conformance import check_conformance
from worldflux_nb.core import detect_campaign
from worldflux_nb.core.detect_campaign import shifted_cells
from worldflux_nb.core.detect_outcome import tail_strata
from worldflux_nb.core.episode_outcomes import episode_outcomes
from worldflux_nb.models.plan import PlanCell


def evidence(seed: int):
    plan, inputs = evidence_inputs(seed)
    return plan, check_conformance(plan, inputs)


def evidence_inputs(seed: int):
    rng = random.Random(seed)
    plan = make_plan(int(rng.choice([6, 9])))
    rows = defective_rows(plan, rng)
    for probe, probe_rows in rows.items():  # shift a few cells' indexes, or drop their tails
        for cell in plan.cells:
            if cell.probe_id != probe or rng.random() < 0.5:
                continue
            mine = [r for r in probe_rows if (r["task_id"], r["axis"], str(r["level"])) ==
                    (cell.task_id, cell.axis, str(cell.level))]
            if rng.random() < 0.5:
                shift = rng.choice([-3, -1, 2, 5, 10])
                if mine and min(r["episode_index"] for r in mine) + shift < 0:
                    shift = -shift  # indexes stay non-negative
                for r in mine:
                    r["episode_index"] += shift
            else:
                for r in sorted(mine, key=lambda r: r["episode_index"])[-rng.randrange(1, 4):]:
                    probe_rows.remove(r)
    return plan, [audit(plan, probe, probe_rows) for probe, probe_rows in rows.items()]


def reference_shifted(plan, result):
    a = result.arrays
    planned: dict[int, set[int]] = {}
    for cell, index in zip(a.keys.planned_cell.tolist(), a.keys.episode_index.tolist()):
        planned.setdefault(cell, set()).add(index)
    found: dict[int, set[int]] = {}
    for cell, index in zip(result.named_cells.tolist(), a.ev.episode_index.tolist()):
        if cell >= 0:
            found.setdefault(cell, set()).add(index)
    out: dict[tuple[str, int], list[int]] = {}
    for cell in sorted(found):
        indexes = found[cell]
        if cell not in planned:
            continue
        offset = min(indexes) - min(planned[cell])
        if offset and all(i - offset in planned[cell] for i in indexes) and \
                not all(i in planned[cell] for i in indexes):
            out.setdefault((plan.cells[cell].probe_id, offset), []).append(cell)
    return out


def reference_strata(result, outcomes):
    keys = result.arrays.keys
    missing = ~outcomes.matched
    n, m, hits = [], [], []
    for cell in range(len(keys.cells)):
        mine = np.flatnonzero(keys.planned_cell == cell)
        gone = missing[mine][np.argsort(keys.episode_index[mine], kind="stable")]
        n.append(len(gone))
        m.append(int(gone.sum()))
        hits.append(int(gone[len(gone) - m[-1]:].sum()) if m[-1] else 0)
    return n, m, hits


@pytest.mark.parametrize("seed", range(8))
def test_shortcuts_agree_with_per_cell_loops(seed, monkeypatch):
    plan, result = evidence(seed)
    assert result.arrays.keys.ascending  # (every cell lists its episodes ascending)
    assert shifted_cells(plan, result) == reference_shifted(plan, result)
    monkeypatch.setattr(detect_campaign, "ROW_BLOCK", 7)  # rows read in many blocks, cells split across them
    assert shifted_cells(plan, result) == reference_shifted(plan, result)
    ours = tail_strata(result, episode_outcomes(result.arrays))
    assert [x.tolist() for x in ours] == [list(x) for x in reference_strata(result, episode_outcomes(result.arrays))]
    missing = np.flatnonzero(result.arrays.attempts == 0)
    for at in (missing[:25], np.array([3, 0, len(result.arrays.keys) - 1]), np.array([], dtype=np.int64)):
        pd.testing.assert_frame_equal(result.episodes_at(at), result.episodes.iloc[at])
        pd.testing.assert_frame_equal(result.arrays.keys.planned_at(at), result.arrays.keys.planned.iloc[at])


def test_planted_shift_is_found():
    shifts = [shifted_cells(*evidence(seed)) for seed in range(8)]
    assert any(shifts), "no seed planted a detectable shift: the comparison above would prove little"


def test_flag_rows_name_the_cell_the_merge_names():
    """flagged_episodes reads each row's named cell from conformance instead of merging the rows
    with the plan's cells on probe/task/axis/level: same cell per row, same flags."""
    from worldflux_nb.core.packet import _flag, _rows_named, with_named_cell

    seen: list = []
    for seed in range(8):
        plan, inputs = evidence_inputs(seed)
        if seed == 0:  # a row naming no plan cell at all
            rows = inputs[0].episodes.to_pylist()
            rows.append(dict(rows[0], task_id="suite/none", episode_index=0))
            inputs[0] = audit(plan, inputs[0].probe_id, rows)
        result = check_conformance(plan, inputs)
        everything = np.arange(len(result.arrays.ev))
        ours = _rows_named(plan, result, everything, None)
        merged = with_named_cell(plan, result.rows_at(everything))
        cells = [row["cell_of_key"] for row in ours]
        assert cells == [None if pd.isna(c) else c for c in merged["cell_of_key"]]
        flags = [_flag("out_of_protocol", row, "a row") for row in ours]
        assert flags == [_flag("out_of_protocol", row, "a row") for _, row in merged.iterrows()]
        seen += cells
    assert None in seen and any(seen), "rows both in and outside the plan's cells, or this proves little"


@pytest.mark.parametrize("seed", range(3))
def test_tail_strata_sort_plans_listing_episodes_out_of_order(seed):
    """A plan may list a cell's episodes in any order (an explicit list); the run order is still by
    episode index, so the strata must match the per-cell loop there too (not only for ranges)."""
    from worldflux_nb.models.plan import EpisodeRange

    rng = random.Random(seed)
    plan = make_plan(6)
    cells = []
    for cell in plan.cells:
        episodes = cell.episodes
        indexes = list(range(episodes.start, episodes.start + episodes.count)) \
            if isinstance(episodes, EpisodeRange) else list(episodes)
        rng.shuffle(indexes)
        cells.append(cell.model_copy(update={"episodes": indexes}))
    plan = plan.model_copy(update={"cells": cells})
    rows = defective_rows(plan, rng)
    result = check_conformance(plan, [audit(plan, probe, probe_rows) for probe, probe_rows in rows.items()])
    assert (np.diff(result.arrays.keys.episode_index) < 0).any()  # the lexsort branch is taken
    assert not result.arrays.keys.ascending
    outcomes = episode_outcomes(result.arrays)
    ours = tail_strata(result, outcomes)
    assert [x.tolist() for x in ours] == [list(x) for x in reference_strata(result, outcomes)]


@pytest.mark.parametrize("which", [0, -1])
def test_task_mapped_and_order_inferred_flags_are_the_rows_of_that_input(which):
    """The task-mapped flag marks exactly the rows of an input whose plan task an importer mapped
    another harness name onto (per place in the code, checked here row by row); the order-inferred
    flag, exactly the in-plan rows of an input whose identity was inferred from order."""
    from worldflux_nb.core.packet import _flag_rows

    plan, inputs = evidence_inputs(1)
    position = which % len(inputs)
    chosen = inputs[position]
    task = chosen.episodes.to_pylist()[0]["task_id"]
    inputs[position] = chosen.model_copy(update={"source": chosen.source.model_copy(
        update={"task_mapping": {"harness name": task, task: task}, "identity": "inferred_from_order"})})
    result = check_conformance(plan, inputs)
    rows = result.rows
    mine = (rows["input"] == position).to_numpy()
    expected = np.flatnonzero(mine & (rows["task_id"] == task).to_numpy())
    assert len(expected) and len(expected) < len(rows)
    flags = _flag_rows(plan, result, inputs)
    assert flags["task_mapped"].tolist() == expected.tolist()
    inferred = np.flatnonzero(mine & (rows["planned_ix"] >= 0).to_numpy())
    assert len(inferred) and flags["order_inferred"].tolist() == inferred.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_cell_rows_are_valid_cell_results(seed):
    """The packet's cell results hold their rows unchecked (Frozen.trusted_rows) and the results
    digest reads the rows as built: validating them changes nothing, down to each value's type and
    JSON spelling."""
    from worldflux_nb.core.packet import cell_columns, cell_results
    from worldflux_nb.models.digest import canonical_json
    from worldflux_nb.models.packet import CellResult

    plan, result = evidence(seed)
    for method in ("wilson", "clopper_pearson"):
        columns = cell_columns(plan, result, method)
        assert list(columns) == list(CellResult.model_fields)
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
        validated = [CellResult(**row) for row in rows]
        assert [{k: type(v) for k, v in c.__dict__.items()} for c in validated] == \
            [{k: type(v) for k, v in row.items()} for row in rows]
        assert canonical_json([c.model_dump(mode="json") for c in validated]) == canonical_json(rows)
        cells = cell_results(plan, result, method)
        assert cells == validated
        assert canonical_json([c.model_dump(mode="json") for c in cells]) == canonical_json(rows)


def test_trusted_rows_refuse_a_row_without_every_field():
    from worldflux_nb.models.packet import ContractCheck

    row = {"probe_id": "p", "key": "k", "pinned": 1, "rows_matching": 0, "rows_differing": 0,
           "rows_missing_key": 0}
    assert ContractCheck.trusted_rows([dict(row)]) == [ContractCheck(**row)]
    for bad in ({k: v for k, v in row.items() if k != "key"}, {**row, "extra": 1}):
        with pytest.raises(ValueError):
            ContractCheck.trusted_rows([bad])


@pytest.mark.parametrize("seed", range(4))
def test_flags_read_rows_as_dicts_as_they_read_series(seed):
    """flagged_episodes reads each shown row as a dict built from the numpy columns (missing values
    None), not from the rows frame: the dicts are the frame's records (pandas' NA as None), and every
    kind of flag and its detail read alike from either, for every row and every missing episode."""
    from worldflux_nb.core.conformance_frames import row_columns
    from worldflux_nb.core.packet import FLAG_KINDS, _flag, _flag_rows, _row_detail, _rows_named, with_named_cell
    from worldflux_nb.core.table_columns import records

    plan, inputs = evidence_inputs(seed)
    result = check_conformance(plan, inputs)
    seen: set[str] = set()
    everything = np.arange(len(result.arrays.ev))
    frame = with_named_cell(plan, result.rows_at(everything))
    dicts = _rows_named(plan, result, everything, None)
    as_none = [{k: None if pd.isna(v) else v for k, v in row.items()} for row in frame.to_dict("records")]
    assert dicts == as_none
    assert records(row_columns(result.arrays, everything)) == \
        [{k: v for k, v in row.items() if k != "cell_of_key"} for row in as_none]
    selections = _flag_rows(plan, result, inputs)
    for kind in FLAG_KINDS[:-1]:  # each kind over the rows it flags
        chosen = selections[kind].tolist()
        as_series = [_flag(kind, frame.iloc[i], _row_detail(kind, frame.iloc[i], result.pinned_keys)) for i in chosen]
        assert as_series == [_flag(kind, dicts[i], _row_detail(kind, dicts[i], result.pinned_keys)) for i in chosen]
        seen.add(kind) if chosen else None
    at = np.arange(len(result.arrays.keys))
    episodes = result.episodes_at(at)
    assert ([_flag("missing", row.drop(labels=["status", "success"]), "d") for _, row in episodes.iterrows()]
            == [_flag("missing", row, "d") for row in records(result.arrays.keys.planned_columns(at))])
    assert len(seen) >= 5, seen  # most kinds flag some row here, or this proves little


@pytest.mark.parametrize("seed", range(4))
def test_bootstrap_groups_are_the_frame_groupby(seed):
    """The bootstraps' per-task sums, grouped in numpy from the cell indicators, are pandas' groupby of
    the cell sums as the packet used to read them: the same groups in the same order, the same tasks."""
    from worldflux_nb.core.packet import INDICATORS, bootstraps, cell_indicators

    plan, result = evidence(seed)
    sums = pd.DataFrame(cell_indicators(plan, result), index=pd.Index([c.cell_id for c in plan.cells]))
    for name in ("probe_id", "task_id", "axis"):
        sums[name] = [getattr(c, name) for c in plan.cells]
    for policy in ("all_planned", "attempted", "completed_only"):
        plan = plan.model_copy(update={"denominator_policy": policy})
        for by_axis in (False, True):
            group = ["probe_id", "axis"] if by_axis else ["probe_id"]
            per_task = sums.groupby(group + ["task_id"], sort=False)[INDICATORS].sum()
            per_task["n"] = {"all_planned": per_task["planned"], "attempted": per_task["planned"] - per_task["infra"],
                             "completed_only": per_task["completed"]}[policy]
            expected = [(key if isinstance(key, tuple) else (key,), rows["success"].tolist(), rows["n"].tolist())
                        for key, rows in per_task.groupby(level=list(range(len(group))), sort=False)]
            for given in (cell_indicators(plan, result), sums):
                ours = bootstraps(plan, given, by_axis=by_axis).groups
                assert [(key, s.tolist(), n.tolist()) for key, s, n, _ in ours] == expected
                assert all(s.dtype == n.dtype == np.int64 for _, s, n, _ in ours)


@pytest.mark.parametrize("seed", range(4))
def test_the_first_flagged_rows_are_those_of_the_whole_sort(seed):
    from worldflux_nb.core.packet import _flag_rows, _in_plan_order

    plan, inputs = evidence_inputs(seed)
    result = check_conformance(plan, inputs)
    for chosen in [*_flag_rows(plan, result, inputs).values(), np.arange(len(result.arrays.ev))]:
        for first in (1, 2, 5, 25):
            assert _in_plan_order(result, chosen, first).tolist() == _in_plan_order(result, chosen)[:first].tolist()


def test_first_appearance_codes_are_pandas_factorize():
    from worldflux_nb.core.bulk import first_appearance
    from worldflux_nb.models.arrow_build import keys_first_appearance

    rng = np.random.default_rng(5)
    for keys in (rng.integers(0, 50, 1000), rng.integers(-2**62, 2**62, 300), np.zeros(0, dtype=np.int64)):
        codes, uniques = keys_first_appearance(keys)
        expected_codes, expected_uniques = pd.factorize(keys)
        assert codes.tolist() == expected_codes.tolist() and uniques.tolist() == expected_uniques.tolist()
    values = ["b", "a", "b", 1, 1.0, True, "1", 2.5, "a", -0.0, 0]
    codes, uniques = first_appearance(values)
    expected_codes, expected_uniques = pd.factorize(np.asarray(values, dtype=object))
    assert codes.tolist() == expected_codes.tolist() and uniques == list(expected_uniques)
    with pytest.raises(TypeError):
        first_appearance(["a", ["unhashable"]])


@pytest.mark.parametrize("widths", [[1, 7, 3, 5], [1, 1, 1, 1], [2**21, 2**21, 2**21, 3], [2**40, 2**30, 5, 2**33]])
def test_place_codes_are_the_distinct_tuples_in_order_of_first_appearance(widths):
    """Rows' (probe, task, axis, level) codes numbered by first appearance, and each place's codes read
    back from its key, also where the key is re-coded to stay inside int64 (widths whose product is
    past 2**62)."""
    from worldflux_nb.core.evidence_columns import _place_codes

    rng = np.random.default_rng(len(widths) + widths[1])
    base = [rng.integers(0, width, 12) for width in widths]
    codes = [np.resize(column, 400)[rng.permutation(400)].astype(np.int64) for column in base]
    rows = list(zip(*(column.tolist() for column in codes)))
    numbered: dict[tuple[int, ...], int] = {}
    expected = [numbered.setdefault(row, len(numbered)) for row in rows]
    place, per_column = _place_codes(codes, widths)
    assert place.tolist() == expected
    assert list(zip(*(column.tolist() for column in per_column))) == list(numbered)


def packet_in_fresh_interpreter(folder, plan, inputs, suffix: str, *extra: str) -> tuple[str, bool]:
    """Write the plan and audit inputs (`suffix`: parquet or json) into `folder`, run the packet
    command on them in a fresh interpreter, and give its exit code and whether it imported pandas."""
    import subprocess
    import sys

    from worldflux_nb.io.artifacts import artifact_json, audit_input_parquet

    (folder / "plan.json").write_text(artifact_json(plan), encoding="utf-8")
    argv = ["eval-portfolio", "packet", "--plan", str(folder / "plan.json"), *extra,
            "--output", str(folder / "packet.md"), "--packet-json", str(folder / "packet.json")]
    for i, ai in enumerate(inputs):
        path = folder / f"audit_{i}.{suffix}"
        if suffix == "parquet":
            path.write_bytes(audit_input_parquet(ai))
        else:
            path.write_text(artifact_json(ai), encoding="utf-8")
        argv += ["--audit-input", f"{ai.probe_id}={path}"]
    code = f"""
import sys
from worldflux_nb.cli import main
code = main({argv!r})
print(code, "pandas" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    exit_code, loaded = out.stdout.strip().splitlines()[-1].split()
    return exit_code, loaded == "True"


@pytest.mark.parametrize("suffix", ["parquet", "json"])
def test_the_packet_command_never_loads_pandas(tmp_path, suffix):
    """pandas' import costs ~0.6 s, more than a third of the packet at 1M: the packet command reads
    its Parquet or JSON inputs (the JSON rows' columns built from buffers, models/arrow_build.py) and
    builds, seals and writes the packet with numpy and pyarrow only (the notebooks and the explorer
    still build DataFrames from the same columns)."""
    plan, inputs = evidence_inputs(3)
    assert packet_in_fresh_interpreter(tmp_path, plan, inputs, suffix) == ("0", False)
    assert (tmp_path / "packet.json").exists()


def test_plan_keys_handed_in_are_let_go_before_the_packet_is_sealed(monkeypatch):
    """The packet command builds the plan's keys while its audit inputs are read and hands them on;
    like the conformance result that holds them (~0.2 GB at ten million episodes), they are not held
    while the packet is sealed and written."""
    import weakref

    from worldflux_nb.core import packet
    from worldflux_nb.core.plan_keys import plan_keys

    plan, inputs = evidence_inputs(1)
    keys = [plan_keys(plan)]
    alive = weakref.ref(keys[0])
    seen = []
    timestamp = packet.utc_timestamp
    monkeypatch.setattr(packet, "utc_timestamp", lambda: seen.append(alive() is not None) or timestamp())
    expected = packet.build_packet(plan, inputs)  # keys built inside
    given = packet.build_packet(plan, inputs, keys=keys.pop())  # (not in an assert: pytest would hold them)
    assert seen == [True, False] and given == expected


@pytest.mark.parametrize("seed", range(4))
def test_sparse_plan_keys_find_the_planned_episode_of_each_row(seed):
    """A plan whose episode indexes are sparse or huge is searched through sorted keys instead of the
    dense (cell x index) table: each (cell, index) finds its planned episode, anything else -1."""
    from worldflux_nb.core.plan_keys import plan_keys

    rng = random.Random(seed)
    plan = make_plan(6)
    cells = [cell.model_copy(update={"episodes": sorted(rng.sample(range(10**9), 6))}) for cell in plan.cells]
    plan = plan.model_copy(update={"cells": cells})
    keys = plan_keys(plan)
    assert keys._dense is None  # the sparse branch
    expected: dict[tuple[int, int], int] = {}
    for cell, index in zip(keys.planned_cell.tolist(), keys.episode_index.tolist()):
        expected[(cell, index)] = len(expected)
    known = list(expected)
    queries = known + [(c, i + 1) for c, i in known] + [(-1, known[0][1]), (len(cells) - 1, -5), (0, 0)]
    cell = np.array([c for c, _ in queries])
    index = np.array([i for _, i in queries], dtype=np.int64)
    assert keys.positions(cell, index).tolist() == [expected.get(q, -1) for q in queries]


@pytest.mark.parametrize("change", ["none", "longer", "later", "listed"])
def test_the_dense_table_holds_each_planned_episodes_position(change):
    """Cells that all plan episodes 0..n-1 as ranges take the table of positions in order; a cell
    planning more, starting later or listing its indexes (here out of order) takes the scatter."""
    from worldflux_nb.core.plan_keys import plan_keys

    plan = make_plan(6)
    count = 6
    ranged = {"episodes": {"start": 0, "count": count}, "seeds": {"rule": "none"}}
    cells = [PlanCell.model_validate({**cell.model_dump(), **ranged}) for cell in plan.cells]
    episodes = {"none": ranged["episodes"], "longer": {"start": 0, "count": count + 1},
                "later": {"start": 1, "count": count}, "listed": [1, 0, *range(2, count)]}[change]
    cells[1] = PlanCell.model_validate({**cells[1].model_dump(), "episodes": episodes})
    keys = plan_keys(plan.model_copy(update={"cells": cells}))
    width = int(keys.episode_index.max()) + 1
    expected = np.full(len(cells) * width + 1, -1, dtype=np.int32)
    expected[keys.planned_cell.astype(np.int64) * width + keys.episode_index] = np.arange(len(keys))
    assert keys._dense is not None and keys._dense.tolist() == expected.tolist()


@pytest.mark.parametrize("seed", range(4))
def test_per_cell_counts_what_a_bincount_of_the_chosen_cells_counts(seed):
    """PlanKeys.per_cell sums each cell's run of planned episodes; cells without any (first, inner,
    last) count zero."""
    import dataclasses

    plan, result = evidence(seed)
    keys = result.arrays.keys
    rng = np.random.default_rng(seed)
    sizes = np.bincount(keys.planned_cell, minlength=len(keys.cells))
    gapped = np.repeat(np.arange(len(sizes) + 3)[[*range(1, 3), *range(4, len(sizes) + 2)]], sizes)
    for planned_cell in (keys.planned_cell, gapped):
        these = dataclasses.replace(keys, planned_cell=planned_cell,
                                    cells=tuple(keys.cells) + tuple(keys.cells[:3]))
        size = len(these.cells)
        assert these.per_cell().tolist() == np.bincount(planned_cell, minlength=size).tolist()
        for share in (0.0, 0.3, 1.0):
            chosen = rng.random(len(planned_cell)) < share
            counts = these.per_cell(chosen)
            assert counts.dtype == np.int64
            assert counts.tolist() == np.bincount(planned_cell[chosen], minlength=size).tolist()


def test_the_collector_stays_paused_until_the_last_pause_in_any_thread_ends():
    """The packet command loads the plan under a pause while another thread's pause (reading the
    audit inputs) ends first: the collector must not resume under the plan load."""
    import gc
    import threading

    from worldflux_nb.core.bulk import gc_paused

    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other_thread() -> None:
        with gc_paused():
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=other_thread)
    thread.start()
    entered.wait(10)
    with gc_paused():
        release.set()
        thread.join(10)
        assert not gc.isenabled()  # the other thread's pause has ended, this one has not
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # a collector disabled before is left disabled
    finally:
        gc.enable()
