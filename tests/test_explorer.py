"""The explorer driven through its widgets: filters, the cell table and the episode drill-down."""

from __future__ import annotations


import display_samples as samples
from conftest import cell_episodes
from worldflux_nb.render.explorer import Explorer, explore

PLAN = samples.plan()
PACKET = samples.packet(PLAN)
EVIDENCE = samples.evidence_frame(PLAN)


def test_filters_narrow_the_cell_table():
    ex = explore(PACKET, EVIDENCE, plan=PLAN)
    assert isinstance(ex, Explorer) and len(ex.filtered) == len(PACKET.cells)
    ex.probe.value = ("libero-plus",)
    ex.axis.value = ("camera_viewpoints",)
    ex.level.value = ("3",)
    kept = ex.filtered
    assert len(kept) == 3 and set(kept["probe_id"]) == {"libero-plus"} and set(kept["level"]) == {"3"}
    assert "Cells: 3 of 24" in ex.table.value and kept.iloc[0]["cell_id"] in ex.table.value
    assert list(ex.cell.options) == list(kept["cell_id"])
    ex.task.value = ("libero_spatial/2",)
    assert list(ex.filtered["cell_id"]) == ["libero-plus:libero_spatial/2:camera_viewpoints:3"]
    ex.probe.value = ex.axis.value = ex.level.value = ex.task.value = ()
    assert len(ex.filtered) == len(PACKET.cells)


def test_category_filter_keeps_cells_with_any_chosen_category():
    ex = explore(PACKET, EVIDENCE, plan=PLAN)
    ex.category.value = ("duplicate", "seed_mismatch")
    expected = {c.cell_id for c in PACKET.cells if c.duplicates or c.seed_mismatches}
    assert set(ex.filtered["cell_id"]) == expected and expected
    ex.category.value = ("underpowered",)
    assert set(ex.filtered["cell_id"]) == set(PACKET.underpowered_cells)


def test_drill_down_lists_the_cells_episodes_with_flags_and_replay_hints():
    ex = explore(PACKET, EVIDENCE, plan=PLAN)
    ex.category.value = ("seed_mismatch",)
    cell = ex.cell.value
    rows = ex.episode_rows()
    planned = next(c for c in PLAN.cells if c.cell_id == cell)
    assert cell in ex.episodes.value
    assert "seed_mismatch" in set(rows["flags"])
    in_plan = rows[rows["category"].isin(["matched", "missing"])]
    assert sorted(in_plan["episode_index"]) == sorted(i for i, _ in cell_episodes(planned))  # each planned episode once
    mismatch = rows[rows["category"] == "seed_mismatch"].iloc[0]
    assert mismatch["replay"] == (f"task {planned.task_id} · seed {mismatch['seed']} · "
                                  f"episode {mismatch['episode_index']}")
    assert mismatch["replay"] in ex.episodes.value


def test_drill_down_falls_back_to_the_packets_flagged_episodes():
    ex = explore(PACKET)
    ex.category.value = ("out_of_protocol",)
    rows = ex.episode_rows()
    assert len(rows) >= 1 and set(rows["category"]) == {"out_of_protocol"}
    assert "flagged episodes from the packet" in ex.episodes.value


def test_filtering_ten_thousand_cells_keeps_the_table_bounded():
    # Its speed (under 100 ms a change) is measured in bench/, not asserted here.
    ex = explore(samples.big_packet(10_000))
    for value in (("libero",), ("libero-plus",), ()):
        ex.probe.value = value
        assert len(ex.filtered) == sum(1 for c in ex.packet.cells if not value or c.probe_id in value)
    ex.category.value = ("duplicate",)
    assert len(ex.filtered) == sum(1 for c in ex.packet.cells if c.duplicates)
    assert ex.table.value.count("<tr") <= ex.max_table_rows + 1


def test_packet_explore_method_returns_the_explorer():
    ex = PACKET.explore(EVIDENCE)
    assert isinstance(ex, Explorer) and ex.packet is PACKET
    assert ex.children[2] is ex.status and ex.table in ex.children and ex.episodes in ex.children
