"""The explorer: filters that narrow each other, clear, a cell's episodes, and a static view without a kernel."""

from __future__ import annotations

import re
import pytest

import display_samples as samples
from conftest import cell_episodes
from worldflux_nb.render.explorer import Explorer, explore

PLAN = samples.plan()
PACKET = samples.packet(PLAN)
EVIDENCE = samples.evidence_frame(PLAN)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def test_filters_narrow_the_cell_table_and_clear():
    ex = explore(PACKET, EVIDENCE, plan=PLAN)
    assert isinstance(ex, Explorer) and len(ex.filtered) == len(PACKET.cells)
    ex.filter(probe_id=["libero-plus"], axis=["camera_viewpoints"], level=["3"])
    kept = ex.filtered
    assert len(kept) == 3 and set(kept["probe_id"]) == {"libero-plus"} and set(kept["level"]) == {"3"}
    assert "Explorer: 3 of 24 cells" in ex.static_html() and kept.iloc[0]["cell_id"] in ex.static_html()
    ex.filter(task_id=["libero_spatial/2"])
    assert list(ex.filtered["cell_id"]) == ["libero-plus:libero_spatial/2:camera_viewpoints:3"]
    ex.filter(task_id=[])
    assert len(ex.filtered) == 3
    ex.clear()
    assert len(ex.filtered) == len(PACKET.cells) and ex.selected == ""
    with pytest.raises(ValueError, match="unknown filter"):
        ex.filter(robot=["x"])


def test_options_offered_are_those_the_other_filters_leave():
    ex = explore(PACKET, EVIDENCE, plan=PLAN)
    assert set(ex.options("axis")) == {"nominal", "camera_viewpoints", "light_conditions"}
    ex.filter(axis=["light_conditions"])
    assert set(ex.options("level")) == {"2"}  # only the levels light_conditions has
    assert set(ex.options("axis")) == {"nominal", "camera_viewpoints", "light_conditions"}  # not itself
    counts = ex.options("category")
    assert counts["underpowered"] == sum(1 for c in PACKET.cells if c.underpowered and c.axis == "light_conditions")


def test_category_filter_keeps_cells_with_any_chosen_category():
    ex = explore(PACKET, EVIDENCE, plan=PLAN)
    ex.filter(category=["duplicate", "seed_mismatch"])
    expected = {c.cell_id for c in PACKET.cells if c.duplicates or c.seed_mismatches}
    assert set(ex.filtered["cell_id"]) == expected and expected
    ex.filter(category=["underpowered"])
    assert set(ex.filtered["cell_id"]) == set(PACKET.underpowered_cells)


def test_drill_down_lists_the_cells_episodes_with_flags_and_replay_hints():
    ex = explore(PACKET, EVIDENCE, plan=PLAN)
    ex.filter(category=["seed_mismatch"])
    cell = ex.filtered["cell_id"].iloc[0]
    ex.selected = cell
    rows = ex.episode_rows()
    planned = next(c for c in PLAN.cells if c.cell_id == cell)
    assert "seed_mismatch" in set(rows["flags"])
    in_plan = rows[rows["category"].isin(["matched", "missing"])]
    assert sorted(in_plan["episode_index"]) == sorted(i for i, _ in cell_episodes(planned))  # each planned episode once
    mismatch = rows[rows["category"] == "seed_mismatch"].iloc[0]
    assert mismatch["replay"] == (f"task {planned.task_id} · seed {mismatch['seed']} · "
                                  f"episode {mismatch['episode_index']}")
    html = ex.static_html()
    assert mismatch["replay"] in html
    assert re.search(r"<details open[^>]*><summary[^>]*><b>" + re.escape(cell), html)  # the open cell
    # The front end gets the same rows (it writes the replay hint itself from the cell's task).
    shipped = ex.data["episodes"][cell]
    assert [r[:2] for r in shipped] == [[r.episode_index, r.seed] for r in rows.itertuples()]


def test_drill_down_falls_back_to_the_packets_flagged_episodes():
    ex = explore(PACKET)
    ex.filter(category=["out_of_protocol"])
    rows = ex.episode_rows(ex.filtered["cell_id"].iloc[0])
    assert len(rows) >= 1 and set(rows["category"]) == {"out_of_protocol"}
    assert "flagged episodes from the packet" in ex.static_html()


def test_display_is_the_widget_with_a_static_html_view_and_never_a_repr():
    ex = explore(PACKET, EVIDENCE, plan=PLAN).filter(probe_id=["libero"])
    bundle = ex._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle[WIDGET_VIEW]["model_id"] == ex.model_id
    assert not bundle["text/plain"].startswith("Explorer(") and "12 of 24 cells" in bundle["text/plain"]
    html = bundle["text/html"]
    assert "<script" not in html.lower() and "http" not in html.lower()
    assert html.count("<details") == 12 and "Filters: probe_id = libero" in html
    assert "<h1" not in html and "<h2" not in html  # the notebook's own headings stay the outline


def test_front_end_is_bundled_and_offline():
    source = explore(PACKET)._esm
    assert "export default" in source and "render" in source
    assert not re.search(r"https?://|import\s*\(|from\s+['\"]", source)  # imports nothing, fetches nothing


def test_filtering_ten_thousand_cells_keeps_views_bounded():
    # Its speed is measured in bench/, not asserted here.
    ex = explore(samples.big_packet(10_000))
    for value in (["libero"], ["libero-plus"], []):
        ex.filter(probe_id=value)
        assert len(ex.filtered) == sum(1 for c in ex.packet.cells if not value or c.probe_id in value)
    ex.filter(category=["duplicate"])
    assert len(ex.filtered) == sum(1 for c in ex.packet.cells if c.duplicates)
    assert ex.static_html().count("<details") <= 100


def test_packet_explore_method_returns_the_explorer():
    ex = PACKET.explore(EVIDENCE)
    assert isinstance(ex, Explorer) and ex.packet is PACKET


def test_search_narrows_with_the_filters_and_is_saved_in_the_widget_state():
    ex = explore(PACKET, EVIDENCE, plan=PLAN)
    ex.search = "  CAMERA_viewpoints:3 "  # case and surrounding spaces do not matter
    assert set(ex.filtered["cell_id"].str.rsplit(":", n=2).str[-2:].str.join(":")) == {"camera_viewpoints:3"}
    searched = len(ex.filtered)
    ex.filter(probe_id=["libero"])
    assert 0 < len(ex.filtered) < searched and set(ex.filtered["probe_id"]) == {"libero"}
    assert set(ex.options("probe_id")) == {"libero", "libero-plus"}  # options honour the search too
    assert ex.options("axis") == {"camera_viewpoints": len(ex.filtered)}
    assert "search = CAMERA_viewpoints:3" in ex.static_html()
    assert ex.get_state()["search"] == "  CAMERA_viewpoints:3 "
    ex.search = "no such cell"
    assert ex.filtered.empty and "Explorer: 0 of 24 cells" in ex.static_html()
    ex.clear()
    assert ex.search == "" and len(ex.filtered) == len(PACKET.cells)
