"""Charts carry a local SVG with their marks beside an aggregated Vega-Lite spec, at 24 and 10,000 cells."""

from __future__ import annotations

import base64
import html
import json
import re
import struct

import pandas as pd
import pytest

import display_samples as samples
from test_display import assert_offline
from worldflux_nb.render import charts
from worldflux_nb.render.conformance_view import ConformanceView

PLAN = samples.plan()
PACKET = samples.packet(PLAN)
EVIDENCE = samples.evidence_frame(PLAN)
BIG = samples.big_packet(10_000)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def spec_rows(spec) -> int:
    """Every inline data row in a spec: the datasets Altair writes plus any inline `values`."""
    rows = sum(len(values) for values in spec.get("datasets", {}).values())

    def inline(node):
        if isinstance(node, dict):
            values = node.get("values") if isinstance(node.get("values"), list) else []
            return len(values) + sum(inline(v) for k, v in node.items() if k != "datasets")
        if isinstance(node, list):
            return sum(inline(v) for v in node)
        return 0

    return rows + inline(spec)


def marks(svg: str) -> set[str]:
    return set(re.findall(r'class="mark-([a-z]+) role-mark', svg))


def check_bundle(chart, expected_marks: set[str], max_rows: int, max_svg: int = 400_000,
                 max_png: int = 400_000) -> dict:
    bundle, metadata = chart._repr_mimebundle_()
    # A picture every frontend's sanitiser allows (PNG), SVG beside it, and no Vega-Lite mimetype.
    assert set(bundle) == {"image/png", "image/svg+xml", "text/plain"}
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(PNG_SIGNATURE) and len(bundle["image/png"]) < max_png
    width, height = metadata["image/png"]["width"], metadata["image/png"]["height"]
    assert width > 50 and height > 50
    assert struct.unpack(">II", png[16:24]) == (width * charts.PNG_SCALE, height * charts.PNG_SCALE)
    assert bundle["image/svg+xml"].startswith("<svg")
    svg_tag = bundle["image/svg+xml"].split(">", 1)[0]
    assert f'aria-label="{html.escape(chart.summary)}"' in svg_tag  # alt text: the one-line summary
    assert bundle["text/plain"] == chart.summary
    assert expected_marks <= marks(bundle["image/svg+xml"]), marks(bundle["image/svg+xml"])
    assert "$schema" not in chart.spec
    json.dumps(chart.spec, allow_nan=False)  # a notebook message must be strict JSON
    assert 0 < spec_rows(chart.spec) <= max_rows
    assert len(bundle["image/svg+xml"]) < max_svg
    assert_offline(bundle)
    return bundle


def test_one_palette_gives_each_category_one_colour_and_a_shape():
    from worldflux_nb.render.conformance_view import DISPLAY_CATEGORIES

    colours = {name: colour for name, colour in charts.PALETTE.items()}
    # Synonyms share a colour (matched = success = powered); anything else has a colour of its own.
    groups = {}
    for name, colour in colours.items():
        groups.setdefault(colour, set()).add(name)
    assert all(len(names) == 1 or names == {"matched", "success", "powered"} for names in groups.values())
    assert set(DISPLAY_CATEGORIES) <= set(charts.SHAPES)
    assert len({charts.SHAPES[c] for c in DISPLAY_CATEGORIES}) == len(DISPLAY_CATEGORIES)


def test_recompressed_png_is_the_same_picture_smaller():
    import zlib

    chart = charts.power_chart(PACKET, PLAN)
    import vl_convert

    original = vl_convert.vegalite_to_png(chart.spec, scale=1)
    smaller = charts.recompressed_png(original)

    def pixels(png):
        data, position, out = png, 8, b""
        while position < len(data):
            (length,) = struct.unpack(">I", data[position:position + 4])
            if data[position + 4:position + 8] == b"IDAT":
                out += data[position + 8:position + 8 + length]
            position += 12 + length
        return zlib.decompress(out)

    assert pixels(smaller) == pixels(original) and len(smaller) < len(original)
    assert smaller[:33] == original[:33]  # signature and header unchanged


def test_small_matrix_is_one_mark_per_episode_and_matches_the_packet():
    chart = charts.conformance_matrix(PACKET, evidence=EVIDENCE, plan=PLAN)
    extra_rows = int((~EVIDENCE["category"].isin(["matched"])).sum())
    check_bundle(chart, {"symbol"}, PLAN.planned_episodes + extra_rows)
    counts = chart.data["category"].value_counts()
    c = PACKET.conformance
    assert counts["missing"] == c.missing
    assert counts["matched"] + counts["infra_failure"] == c.matched
    assert counts["duplicate"] == c.duplicates and counts["out_of_protocol"] == c.out_of_protocol
    assert chart.data["cell_id"].isin([cell.cell_id for cell in PLAN.cells]).all()


def test_matrix_without_episodes_counts_categories_per_cell():
    chart = charts.conformance_matrix(PACKET)
    check_bundle(chart, {"rect"}, len(PACKET.cells) * 7)
    per_cell = chart.data.pivot_table(index="group", columns="category", values="count", aggfunc="sum")
    planned = per_cell[["matched", "infra_failure", "missing"]].fillna(0).sum(axis=1)
    assert (planned == PLAN.episodes_per_cell).all()


def test_ten_thousand_cells_are_aggregated_and_small():
    chart = charts.conformance_matrix(BIG)
    bundle = check_bundle(chart, {"rect"}, 7 * charts.ROWS_LIMIT)
    assert "10000 cells" in bundle["text/plain"]
    assert chart.data["count"].sum() == sum(
        c.planned + c.duplicates + c.out_of_protocol + c.seed_mismatches + c.metadata_mismatches
        for c in BIG.cells)


@pytest.mark.parametrize("packet", [PACKET, BIG], ids=["24-cells", "10k-cells"])
def test_denominator_chart_reproduces_each_policy_denominator(packet):
    chart = charts.denominator_chart(packet)
    check_bundle(chart, {"rect"}, 3 * 6 * 40)
    counted = chart.data[chart.data["value"] > 0].groupby("policy")["value"].sum()
    for policy in packet.denominator_policies:
        if getattr(policy, "probe_id", None) is not None:  # per-probe readings: checked by their sums
            continue
        assert counted[policy.policy] == policy.denominator, policy.policy
    left_out = chart.data[chart.data["value"] < 0]
    assert set(left_out.loc[left_out["policy"] == "all_planned", "component"]) <= {"out_of_protocol"}
    assert "infra_failure" in set(left_out.loc[left_out["policy"] == "attempted", "component"])


def test_power_curve_is_the_wilson_half_width():
    from statsmodels.stats.proportion import proportion_confint

    for n in (10, 50, 200):
        low, high = proportion_confint(n // 2, n, alpha=0.05, method="wilson")
        # The chart draws core.power's half-width (n first, then the rate: one implementation).
        assert charts.wilson_half_width(n, 0.5) == pytest.approx((high - low) / 2, rel=1e-9)
        assert charts.wilson_half_width(n, 0.2) != charts.wilson_half_width(0.2, n)


def test_power_chart_places_every_cell_and_marks_underpowered_ones():
    chart = charts.power_chart(PACKET, plan=PLAN)
    check_bundle(chart, {"line", "rule", "symbol"}, 200 + len(PACKET.cells))
    cells = chart.data[chart.data["layer"] == "cells"]
    assert len(cells) == len(PACKET.cells)
    assert (cells["status"] == "underpowered").sum() == len(PACKET.underpowered_cells)
    assert "target half-width 0.15" in chart.summary


def test_power_chart_aggregates_many_cells_without_a_plan():
    chart = charts.power_chart(BIG)
    bundle = check_bundle(chart, {"line", "symbol"}, 400)
    cells = chart.data[chart.data["layer"] == "cells"]
    assert cells["cells"].sum() == len(BIG.cells)
    assert "pass plan=" in bundle["text/plain"]


def test_live_chart_is_offline():
    widget = charts.power_chart(PACKET, plan=PLAN).live()
    assert "cdn.jsdelivr" not in widget._esm


def test_conformance_view_displays_like_an_artifact():
    view = ConformanceView(PACKET, evidence=EVIDENCE, plan=PLAN)
    bundle = view._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "text/markdown",
                           "application/vnd.worldflux-nb.conformance_view.v1+json"}
    assert "121/144 planned episodes matched" in bundle["text/plain"]
    data = bundle["application/vnd.worldflux-nb.conformance_view.v1+json"]
    assert data["conformance"] == PACKET.conformance.model_dump(mode="json")
    assert sum(row["planned"] for row in data["probes"]) == PACKET.conformance.planned_episodes
    assert_offline(bundle)
    assert "symbol" in marks(view.chart().svg)
    big = ConformanceView(BIG)._repr_mimebundle_()
    assert len(big["text/html"]) < 300_000 and "more rows in the JSON artifact" in big["text/markdown"]


def real_flow():
    """A plan from the planner, evidence with re-runs, gaps and unplanned rows, the real packet."""
    from worldflux_nb.core.conformance import check_conformance
    from worldflux_nb.core.packet import build_packet
    from worldflux_nb.core.planning import build_plan
    from worldflux_nb.core.run_sheet import planned_episodes_frame
    from worldflux_nb.models import AuditInput
    from worldflux_nb.sample.reference import reference_profile

    plan = build_plan(reference_profile(), seed=1234)
    inputs = []
    for probe_id, rows in planned_episodes_frame(plan).groupby("probe_id"):
        out = []
        for i, r in enumerate(rows.itertuples()):
            if i % 9 == 0:
                continue  # missing
            row = {"probe_id": r.probe_id, "task_id": r.task_id, "axis": r.axis, "level": r.level,
                   "episode_index": int(r.episode_index), "seed": None if r.seed is pd.NA else int(r.seed),
                   "success": i % 3 != 0, "status": "infra_failure" if i % 29 == 0 else "completed"}
            out.append(row)
            if i % 17 == 0:
                out.append({**row, "success": True})  # a re-run
            if i % 23 == 0:
                out.append({**row, "episode_index": 9999})  # never planned
        inputs.append(AuditInput(plan_digest=plan.plan_digest, probe_id=probe_id, episodes=out,
                                 source={"importer": "jsonl", "format_version": "1", "identity": "explicit"}))
    return plan, build_packet(plan, inputs), check_conformance(plan, inputs).rows


def test_real_packet_and_conformance_rows_chart_and_explore():
    plan, packet, rows = real_flow()
    matrix = charts.conformance_matrix(packet, evidence=rows, plan=plan, episode_marks_limit=10_000,
                                       rows_limit=10_000)
    # Forced to episode level past its default size limit, to check the real rows' dtypes.
    check_bundle(matrix, {"symbol"}, len(rows) + packet.conformance.missing, max_svg=2_000_000,
                 max_png=4_000_000)
    counts = matrix.data["category"].value_counts()
    assert counts["missing"] == packet.conformance.missing
    assert counts["duplicate"] == packet.conformance.duplicates
    check_bundle(charts.conformance_matrix(packet, evidence=rows, plan=plan), {"rect"}, 7 * len(packet.cells))
    check_bundle(charts.denominator_chart(packet), {"rect"}, 3 * 6 * 40)
    check_bundle(charts.power_chart(packet, plan=plan), {"line", "rule", "symbol"}, 200 + len(packet.cells))
    explorer = packet.explore(rows, plan=plan)
    explorer.filter(category=["duplicate"])
    assert set(explorer.filtered["cell_id"]) == {c.cell_id for c in packet.cells if c.duplicates}
    assert (explorer.episode_rows(explorer.filtered["cell_id"].iloc[0])["category"] == "duplicate").any()
    fallback = packet.explore().filter(category=["out_of_protocol"])
    assert any((fallback.episode_rows(c)["category"] == "out_of_protocol").any() for c in fallback.filtered["cell_id"])
    assert_offline(packet._repr_mimebundle_())


def test_live_chart_is_an_offline_jupyter_chart():
    pytest.importorskip("anywidget")
    import altair as alt

    live = charts.power_chart(PACKET, PLAN).live()
    assert isinstance(live, alt.JupyterChart)
    # Offline mode bundles Vega's JavaScript from vl-convert instead of importing it from a CDN.
    assert "cdn" not in live._esm.lower() and "http" not in live._esm[:2000].lower()


def test_denominator_chart_totals_equal_the_packets_under_every_policy_on_the_demo_evidence():
    from demo_support import demo

    packet = demo().packet
    assert packet.conformance.pending > 0  # the demo has a pending episode: it must not read as a failure
    for by in ("probe", "axis", "cell"):
        chart = charts.denominator_chart(packet, by=by)
        data = chart.data
        for policy in packet.denominator_policies:
            rows = data[(data["policy"] == policy.policy) & (data["value"] > 0)]
            if policy.probe_id is not None:
                groups = {c.cell_id: c.probe_id for c in packet.cells} if by == "cell" else None
                rows = rows[[(groups[g] if groups else g.split(" / ")[0]) == policy.probe_id
                             for g in rows["group"]]]
            assert rows["value"].sum() == policy.denominator, (by, policy.policy, policy.probe_id)
            successes = rows.loc[rows["component"] == "success", "value"].sum()
            assert successes == policy.successes, (by, policy.policy, policy.probe_id)
        pending = data[(data["component"] == "pending")]
        assert set(pending.loc[pending["value"] > 0, "policy"]) == {"all_planned", "attempted"}
        assert (pending.loc[pending["policy"] == "completed_only", "value"] < 0).all()
    bundle, _ = chart._repr_mimebundle_()
    for policy in packet.denominator_policies:  # each header repeats the packet's own numbers
        if policy.probe_id is None:
            assert f"{policy.successes}/{policy.denominator}" in bundle["text/plain"]
