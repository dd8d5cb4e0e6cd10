"""Altair charts of an eval packet, each shown as a locally rendered PNG and SVG (vl-convert, offline).

An output carries `image/png` (what an untrusted notebook in JupyterLab or Notebook 7, GitHub and VS Code
show: their sanitisers drop SVG from untrusted outputs), `image/svg+xml` (crisp where trusted, in
nbconvert HTML) and a one-line `text/plain` summary. No Vega-Lite mimetype: JupyterLab does not know
Altair 6's v6 one, and nbconvert would load Vega from a CDN for a known one. Data is aggregated before
charting, so charts stay small at 10,000 cells. Altair and vl_convert load only when a chart is drawn.

One palette (Okabe-Ito, safe for colour-blind readers) gives each category one colour in every chart;
each category is carried by shape or by an axis label too. Backgrounds are transparent and text is a
mid grey, so a chart reads on light and dark themes alike.
"""

from __future__ import annotations

import base64
from html import escape
import struct
import zlib
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Collection, Literal

import numpy as np
import pandas as pd

from worldflux_nb.core.power import wilson_half_width
from worldflux_nb.core.run_sheet import planned_episodes_frame
from worldflux_nb.core.statistics import DENOMINATOR_COMPONENTS
from worldflux_nb.models.common import PRIVACY
from worldflux_nb.render.conformance_view import (
    DISPLAY_CATEGORIES, PLANNED_CATEGORIES, category_counts, cells_frame, place_on_cells,
)

if TYPE_CHECKING:
    from worldflux_nb.models.packet import EvalPacket
    from worldflux_nb.models.plan import ProtocolPlan

# One colour per name in every chart (Okabe-Ito, plus Tol's wine and sand); never two meanings.
PALETTE = {
    "matched": "#009E73", "success": "#009E73", "powered": "#009E73",
    "failure": "#D55E00", "missing": "#999999", "pending": "#F0E442", "infra_failure": "#CC79A7",
    "duplicate": "#DDCC77", "out_of_protocol": "#0072B2", "seed_mismatch": "#56B4E9",
    "metadata_mismatch": "#882255", "underpowered": "#E69F00",
}
# Shape carries the category in the matrix and the power chart, so colour is never alone.
SHAPES = {
    "matched": "square", "infra_failure": "triangle-up", "missing": "cross", "duplicate": "diamond",
    "out_of_protocol": "triangle-down", "seed_mismatch": "triangle-right", "metadata_mismatch": "triangle-left",
    "powered": "circle", "underpowered": "triangle-up",
}
# The denominator chart's components, in the order its rows are drawn (each row labelled by name).
COMPONENTS = ("success", "failure", "pending", "missing", "infra_failure", "out_of_protocol")
TEXT_GREY = "#808080"  # about 4:1 against both white and JupyterLab's dark background
GRID = "rgba(128,128,128,0.3)"
EPISODE_MARKS_LIMIT = 600
ROWS_LIMIT = 40  # rows of the counts matrix: past this, cells are grouped (probe / axis / level, ...)
PNG_SCALE = 2  # sharp on high-density screens; shown at its CSS size through the output's metadata


def _altair() -> Any:
    import altair as alt

    return alt


def _vl_convert_version() -> str | None:
    import vl_convert

    major_minor = ".".join(_altair().SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return major_minor if major_minor in vl_convert.get_vegalite_versions() else None


class PacketChart:
    """A chart ready to display anywhere: PNG, SVG, alt text and the aggregated rows it draws."""

    def __init__(self, chart: Any, data: pd.DataFrame, summary: str) -> None:
        self.chart = chart
        self.data = data  # the aggregated rows the chart draws
        self.summary = summary  # also the chart's alt text

    @cached_property
    def spec(self) -> dict[str, Any]:
        spec = self.chart.to_dict()
        spec.pop("$schema", None)  # no URL in any output
        spec["description"] = self.summary
        return spec

    @cached_property
    def svg(self) -> str:
        import vl_convert

        svg = vl_convert.vegalite_to_svg(self.spec, vl_version=_vl_convert_version())
        # Alt text: screen readers announce the root's label; <title> shows on hover.
        alt = escape(self.summary, quote=True)
        head, rest = svg.split(">", 1)
        return f'{head} role="img" aria-label="{alt}"><title>{alt}</title>{rest}'

    @cached_property
    def png(self) -> bytes:
        import vl_convert

        return recompressed_png(vl_convert.vegalite_to_png(self.spec, vl_version=_vl_convert_version(),
                                                           scale=PNG_SCALE))

    @cached_property
    def size(self) -> tuple[int, int]:
        """The picture's CSS size in pixels (the PNG holds PNG_SCALE times as many)."""
        width = int.from_bytes(self.png[16:20], "big") // PNG_SCALE
        height = int.from_bytes(self.png[20:24], "big") // PNG_SCALE
        return width, height

    def png_base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")

    def live(self) -> Any:
        """An interactive JupyterChart whose JavaScript comes bundled from vl-convert, not a CDN."""
        alt = _altair()
        alt.JupyterChart.enable_offline()  # a class-wide switch in Altair: no per-chart offline flag
        return alt.JupyterChart(self.chart)

    def __repr__(self) -> str:
        return self.summary

    def _repr_mimebundle_(self, include: Collection[str] | None = None,
                          exclude: Collection[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        from worldflux_nb.render.display import wanted

        makers: dict[str, Callable[[], Any]] = {
            "image/png": self.png_base64, "image/svg+xml": lambda: self.svg, "text/plain": lambda: self.summary}
        data = {mime: make() for mime, make in makers.items() if wanted(mime, include, exclude)}
        width, height = self.size
        metadata = {"image/png": {"width": width, "height": height}} if "image/png" in data else {}
        return data, metadata


def recompressed_png(png: bytes) -> bytes:
    """The same image with its pixel data deflated at level 9 in one IDAT chunk: vl-convert writes
    fast-compressed PNGs about four times larger, and every byte stays in the notebook."""
    chunks, position = [], 8
    while position < len(png):
        (length,) = struct.unpack(">I", png[position:position + 4])
        chunks.append((png[position + 4:position + 8], png[position + 8:position + 8 + length]))
        position += 12 + length
    pixels = zlib.compress(zlib.decompress(b"".join(d for kind, d in chunks if kind == b"IDAT")), 9)
    out, written = [png[:8]], False
    for kind, data in chunks:
        if kind == b"IDAT":
            if written:
                continue
            data, written = pixels, True
        out.append(struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data)))
    return b"".join(out)


def _finish(chart: Any, title: str, subtitle: str) -> Any:
    return chart.properties(title={"text": title, "subtitle": subtitle}).configure(
        background="transparent", font="sans-serif",
    ).configure_view(stroke=None).configure_axis(
        labelColor=TEXT_GREY, titleColor=TEXT_GREY, domainColor=TEXT_GREY, tickColor=TEXT_GREY,
        gridColor=GRID, labelLimit=0, titlePadding=10,
    ).configure_legend(labelColor=TEXT_GREY, titleColor=TEXT_GREY, labelLimit=0).configure_title(
        color=TEXT_GREY, subtitleColor=TEXT_GREY, anchor="start",
    ).configure_header(labelColor=TEXT_GREY, titleColor=TEXT_GREY, labelLimit=0)


def _scale(names: Collection[str], table: dict[str, str]) -> Any:
    return _altair().Scale(domain=list(names), range=[table[n] for n in names])


def _group_keys(frame: pd.DataFrame, limit: int) -> tuple[list[str], str]:
    """The finest grouping of cells that still fits `limit` chart rows."""
    for keys, label in ((["cell_id"], "cell"), (["probe_id", "axis", "level"], "probe / axis / level"),
                        (["probe_id", "axis"], "probe / axis")):
        if frame[keys].drop_duplicates().shape[0] <= limit:
            return keys, label
    return ["probe_id"], "probe"


def _label(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    return frame[keys].astype(str).agg(" / ".join, axis=1) if len(keys) > 1 else frame[keys[0]].astype(str)


def _episode_rows(packet: EvalPacket, evidence: pd.DataFrame, plan: ProtocolPlan | None) -> pd.DataFrame | None:
    """One mark per planned episode and per extra evidence row, or None if missing ones are unknown."""
    rows = evidence.copy()
    rows["level"] = rows["level"].astype(str)
    rows["category"] = np.where((rows["category"] == "matched") & (rows["status"] == "infra_failure"),
                                "infra_failure", rows["category"])
    if not (rows["category"] == "missing").any():
        if plan is None:
            return None
        planned = planned_episodes_frame(plan)[["cell_id", "episode_index"]]
        found = rows.loc[rows["category"].isin(["matched", "infra_failure"]), ["cell_id", "episode_index"]]
        missing = planned.merge(found.drop_duplicates(), how="left", indicator=True)
        missing = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
        rows = pd.concat([rows, missing.assign(category="missing")], ignore_index=True)
    rows["cell_id"] = place_on_cells(rows, cells_frame(packet))
    rows = rows[["cell_id", "episode_index", "category", "seed", "status"]].astype(
        {"episode_index": "int64", "seed": "object", "status": "object", "category": "object"})
    for column in ("seed", "status"):  # NaN is not JSON: a missing episode has no seed or status
        rows[column] = [None if pd.isna(value) else value for value in rows[column]]
    rows["row"] = np.where(rows["category"].isin(PLANNED_CATEGORIES), "planned", "extra")
    return rows


def conformance_matrix(packet: EvalPacket, evidence: pd.DataFrame | None = None,
                       plan: ProtocolPlan | None = None, *, episode_marks_limit: int = EPISODE_MARKS_LIMIT,
                       rows_limit: int = ROWS_LIMIT) -> PacketChart:
    """Plan cells against evidence by category (colour and shape): per episode when small, counts when large.

    `evidence` holds categorised rows (cell_id, probe_id, task_id, axis, level, episode_index, seed,
    status, category); episode marks need it, and the plan unless missing episodes are listed in it.
    """
    alt = _altair()
    frame = cells_frame(packet)
    colour = alt.Color("category:N", title="category", scale=_scale(DISPLAY_CATEGORIES, PALETTE))
    total_marks = int(frame["planned"].sum() + frame[[f"n_{c}" for c in DISPLAY_CATEGORIES[3:]]].sum().sum())
    episodes = (_episode_rows(packet, evidence, plan)
                if evidence is not None and total_marks <= episode_marks_limit and len(frame) <= rows_limit
                else None)
    if episodes is not None:
        chart = alt.Chart(episodes).mark_point(filled=True, size=60, opacity=1).encode(
            x=alt.X("episode_index:O", title="episode index", axis=alt.Axis(labelAngle=0, labelOverlap=True)),
            y=alt.Y("cell_id:N", title=None, sort=list(frame["cell_id"])),
            yOffset=alt.YOffset("row:N", scale=alt.Scale(domain=["planned", "extra"])),
            color=colour, shape=alt.Shape("category:N", title="category",
                                          scale=_scale(DISPLAY_CATEGORIES, SHAPES)),
            tooltip=["cell_id:N", "episode_index:O", "seed:N", "status:N", "category:N"],
        ).properties(width=alt.Step(14), height=alt.Step(20))
        summary = (f"Conformance matrix: {len(episodes)} episode marks across {len(frame)} cells "
                   f"({', '.join(f'{n} {c}' for c, n in episodes['category'].value_counts().items())})")
        return PacketChart(_finish(chart, "Conformance by episode", "each row a plan cell: planned episodes "
                                   "above, evidence rows that do not count below"), episodes, summary)
    keys, grain = _group_keys(frame, rows_limit)
    data = category_counts(frame, keys)
    data.insert(0, "group", _label(data, keys))
    order = list(dict.fromkeys(_label(frame, keys)))
    # A table of counts: the category is the column (a labelled position), colour only repeats it.
    base = alt.Chart(data).encode(
        x=alt.X("category:N", title=None, sort=list(DISPLAY_CATEGORIES),
                axis=alt.Axis(orient="top", labelAngle=-30)),
        y=alt.Y("group:N", title=None, sort=order))
    cells = base.mark_rect(opacity=0.55).encode(color=colour.legend(None),
                                                 tooltip=["group:N", "category:N", "count:Q", "cells:Q"])
    counts = base.mark_text(fontSize=10, color=TEXT_GREY, fontWeight="bold").encode(text="count:Q")
    chart = alt.layer(cells, counts).properties(width=alt.Step(64), height=alt.Step(16))
    summary = (f"Conformance matrix: {len(frame)} cells as category counts per {grain} "
               f"({len(data)} data rows)")
    return PacketChart(_finish(chart, f"Conformance per {grain}", f"{len(frame)} cells; {PRIVACY}"),
                       data, summary)


def denominator_components(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cell, how many planned episodes (and named out-of-protocol rows) fall in each component."""
    return pd.DataFrame({
        "success": frame["successes"],
        "failure": frame["completed"] - frame["successes"],
        "pending": frame["pending"], "missing": frame["missing"],
        # Infrastructure failures with no outcome: what the attempted policy leaves out.
        "infra_failure": frame["matched"] - frame["completed"] - frame["pending"],
        "out_of_protocol": frame["out_of_protocol"],
    }, index=frame.index)


def denominator_rows(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group, policy and component: how many rows count (+) or stay out of the denominator (-)."""
    parts = pd.concat([frame[keys], denominator_components(frame)], axis=1)
    sums = parts.groupby(keys, sort=False)[list(COMPONENTS)].sum().reset_index()
    sums.insert(0, "group", _label(sums, keys))
    long = sums.melt(id_vars=["group"], value_vars=list(COMPONENTS), var_name="component", value_name="count")
    out = []
    for policy, counted in DENOMINATOR_COMPONENTS.items():
        inside = long["component"].isin(counted)
        out.append(long.assign(policy=policy, counted=np.where(inside, "in denominator", "left out"),
                               value=np.where(inside, long["count"], -long["count"])))
    rows = pd.concat(out, ignore_index=True)
    return rows[rows["count"] > 0].reset_index(drop=True)


def denominator_chart(packet: EvalPacket, by: Literal["auto", "cell", "axis", "probe"] = "auto",
                      rows_limit: int = 8) -> PacketChart:
    """Per group and policy, each component as a labelled bar: right of 0 it is in the denominator,
    left of 0 it is left out. Each policy's header repeats the packet's own successes / denominator."""
    alt = _altair()
    frame = cells_frame(packet)
    if by == "auto":
        keys, grain = _group_keys(frame, rows_limit)
    else:
        keys, grain = {"cell": (["cell_id"], "cell"), "axis": (["probe_id", "axis"], "probe / axis"),
                       "probe": (["probe_id"], "probe")}[by]
    data = denominator_rows(frame, keys)
    overall = {p.policy: p for p in packet.denominator_policies if getattr(p, "probe_id", None) is None}
    titles = {policy: (f"{policy}{' (optimistic)' if r.optimistic else ''}: {r.successes}/{r.denominator}"
                       if (r := overall.get(policy)) else policy) for policy in DENOMINATOR_COMPONENTS}
    data["policy_title"] = data["policy"].map(titles)
    # A symmetric-log axis: one missing episode stays visible beside a thousand successes; the extra
    # reach leaves room for the count labels.
    reach = max(float(data["count"].max()) if len(data) else 1.0, 1.0) * 4
    x = alt.X("value:Q", title=None, scale=alt.Scale(type="symlog", domain=[-reach, reach]),
              axis=alt.Axis(format="~s", tickCount=5))
    y = alt.Y("component:N", title=None, sort=list(COMPONENTS), scale=alt.Scale(domain=list(COMPONENTS)))
    base = alt.Chart().encode(x=x, y=y)
    bars = base.mark_bar().encode(
        color=alt.Color("component:N", title="evidence", scale=_scale(COMPONENTS, PALETTE), legend=None),
        opacity=alt.Opacity("counted:N", scale=alt.Scale(domain=["in denominator", "left out"], range=[1.0, 0.5]),
                            legend=None),
        tooltip=["group:N", "policy:N", "component:N", "count:Q", "counted:N"])
    right = base.mark_text(align="left", dx=3, fontSize=10, color=TEXT_GREY).encode(text="count:Q").transform_filter(
        alt.datum.value > 0)
    left = base.mark_text(align="right", dx=-3, fontSize=10, color=TEXT_GREY).encode(text="count:Q").transform_filter(
        alt.datum.value < 0)
    zero = alt.Chart().mark_rule(color=TEXT_GREY).encode(x=alt.datum(0))
    chart = alt.layer(bars, right, left, zero, data=data).properties(width=200, height=alt.Step(13)).facet(
        row=alt.Row("group:N", title=None, sort=list(dict.fromkeys(_label(frame, keys))),
                    header=alt.Header(labelAngle=0, labelAlign="left", labelOrient="top", labelFontWeight="bold")),
        column=alt.Column("policy_title:N", title=None, sort=[titles[p] for p in DENOMINATOR_COMPONENTS]))
    groups = data["group"].nunique()
    summary = (f"Denominator chart: {groups} {grain} group(s) x {len(DENOMINATOR_COMPONENTS)} policies "
               f"(plan policy {packet.denominator_policy}; "
               + "; ".join(titles[p] for p in DENOMINATOR_COMPONENTS) + ")")
    return PacketChart(_finish(chart, "How each denominator is formed",
                               [f"per {grain}: right of 0 counts in the policy's denominator, left of 0 is "
                                "left out (log scale)",
                                f"plan policy: {packet.denominator_policy}; completed_only is optimistic"]),
                       data, summary)


def power_chart(packet: EvalPacket, plan: ProtocolPlan | None = None, points_limit: int = 400) -> PacketChart:
    """Interval half-width against episodes: curves at p=0.5 and the planning rate, targets, every cell."""
    alt = _altair()
    frame = cells_frame(packet)
    placed = frame.dropna(subset=["half_width"])
    targets = plan.power_targets if plan is not None else None
    confidence = targets.confidence if targets else 0.95
    top = max([int(placed["denominator"].max()) if len(placed) else 10,
               targets.episodes_needed_for_target if targets else 0,
               targets.min_episodes_per_cell if targets else 0])
    n = np.unique(np.geomspace(1, top * 1.25, 80).round().astype(int))
    rates = dict.fromkeys([0.5, targets.planning_success_rate if targets else 0.5])
    curves = pd.concat([pd.DataFrame({"episodes": n, "half_width": wilson_half_width(n, p, confidence),
                                      "curve": f"p = {p:g}"}) for p in rates], ignore_index=True)
    status = np.where(placed["underpowered"], "underpowered", "powered")
    if len(placed) <= points_limit:
        cells = pd.DataFrame({"cell_id": placed["cell_id"], "episodes": placed["denominator"],
                              "half_width": placed["half_width"].round(4), "status": status, "cells": 1})
    else:  # many cells: one mark per (episodes, half-width to 0.005, status), sized by cell count
        cells = (pd.DataFrame({"episodes": placed["denominator"], "status": status,
                               "half_width": (placed["half_width"] / 0.005).round() * 0.005})
                 .groupby(["episodes", "half_width", "status"]).size().rename("cells").reset_index())
        cells["cell_id"] = cells["cells"].map(lambda k: f"{k} cells")
    x = alt.X("episodes:Q", title="episodes in the denominator")
    y = alt.Y("half_width:Q", title=f"{confidence:.0%} interval half-width", scale=alt.Scale(domain=[0, 0.5]))
    layers = [alt.Chart(curves).mark_line(color=TEXT_GREY).encode(
        x=x, y=y, strokeDash=alt.StrokeDash("curve:N", title="Wilson half-width"))]
    if targets:
        rules = pd.DataFrame({"half_width": [targets.max_ci_half_width],
                              "label": [f"target half-width {targets.max_ci_half_width:g}"]})
        layers.append(alt.Chart(rules).mark_rule(color=TEXT_GREY, strokeDash=[6, 3]).encode(y="half_width:Q"))
        layers.append(alt.Chart(rules).mark_text(align="right", baseline="bottom", dy=-2, color=TEXT_GREY,
                                                 fontSize=10).encode(y="half_width:Q", text="label:N",
                                                                     x=alt.datum(int(top * 1.25))))
        minimum = pd.DataFrame({"episodes": [targets.min_episodes_per_cell],
                                "label": [f"minimum {targets.min_episodes_per_cell} episodes"]})
        layers.append(alt.Chart(minimum).mark_rule(color=TEXT_GREY, strokeDash=[2, 2]).encode(x="episodes:Q"))
        layers.append(alt.Chart(minimum).mark_text(align="left", baseline="top", dx=3, color=TEXT_GREY,
                                                   fontSize=10).encode(x="episodes:Q", text="label:N",
                                                                       y=alt.datum(0.5)))
    statuses = ["powered", "underpowered"]
    layers.append(alt.Chart(cells).mark_point(filled=True, opacity=0.85).encode(
        x=x, y=y, size=(alt.value(70) if len(placed) <= points_limit else
                        alt.Size("cells:Q", title="cells", scale=alt.Scale(type="sqrt", range=[20, 320]))),
        color=alt.Color("status:N", scale=_scale(statuses, PALETTE), title="cell"),
        shape=alt.Shape("status:N", scale=_scale(statuses, SHAPES), title="cell"),
        tooltip=["cell_id:N", "episodes:Q", "half_width:Q", "status:N"]))
    chart = alt.layer(*layers).properties(width=380, height=240)
    underpowered = int(frame["underpowered"].sum())
    subtitle = (f"target half-width {targets.max_ci_half_width:g}, minimum {targets.min_episodes_per_cell} "
                f"episodes per cell" if targets else "pass plan= to draw the plan's targets")
    summary = (f"Power chart: {len(placed)} cells placed ({len(frame) - len(placed)} without an interval), "
               f"{underpowered} underpowered; {subtitle}")
    return PacketChart(_finish(chart, "Interval half-width against episodes", subtitle),
                       pd.concat([curves.assign(layer="curve"), cells.assign(layer="cells")], ignore_index=True),
                       summary)


# The packet charts, registered in this one place: the template, `notebook html` and tests use this.
PACKET_CHARTS: dict[str, Callable[..., PacketChart]] = {
    "conformance_matrix": conformance_matrix, "denominator_chart": denominator_chart, "power_chart": power_chart,
}
