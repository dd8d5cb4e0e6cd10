"""Altair charts of an eval packet, each shown as a locally rendered SVG beside its Vega-Lite spec.

Altair's default HTML renderer loads Vega from a CDN, so charts here never go through it: the bundle
is built from `vl_convert` (offline) and the spec. Data is aggregated before charting, so charts stay
small at 10,000 cells. Altair and vl_convert load inside functions, only when a chart is drawn.
"""

from __future__ import annotations

from functools import cached_property
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Collection, Literal

import numpy as np
import pandas as pd

from worldflux_nb.core.run_sheet import planned_episodes_frame
from worldflux_nb.models.common import PRIVACY
from worldflux_nb.render.conformance_view import (
    DISPLAY_CATEGORIES, PLANNED_CATEGORIES, category_counts, cells_frame, place_on_cells,
)

if TYPE_CHECKING:
    from worldflux_nb.models.packet import EvalPacket
    from worldflux_nb.models.plan import ProtocolPlan

# Distinct hues of mid lightness: legible on the white chart background in any notebook theme.
CATEGORY_COLOURS = {
    "matched": "#16a34a", "infra_failure": "#7c3aed", "missing": "#9ca3af", "duplicate": "#d97706",
    "out_of_protocol": "#dc2626", "seed_mismatch": "#db2777", "metadata_mismatch": "#0891b2",
}
COMPONENT_COLOURS = {
    "success": "#16a34a", "failure": "#dc2626", "missing": "#9ca3af", "infra_failure": "#7c3aed",
    "out_of_protocol": "#d97706",
}
# Which evidence components each denominator policy counts (DESIGN.md, Denominator policies).
POLICY_COUNTS = {
    "all_planned": {"success", "failure", "missing", "infra_failure"},
    "attempted": {"success", "failure", "missing"},
    "completed_only": {"success", "failure"},
}
EPISODE_MARKS_LIMIT = 600  # about 350 bytes of SVG per mark
ROWS_LIMIT = 150


def _altair() -> Any:
    import altair as alt

    return alt


def vegalite_mimetype() -> str:
    """The Vega-Lite mimetype matching the schema Altair emits (v6 for Altair 6)."""
    major = _altair().SCHEMA_VERSION.lstrip("v").split(".")[0]
    return f"application/vnd.vegalite.v{major}+json"


def _vl_convert_version() -> str | None:
    import vl_convert

    major_minor = ".".join(_altair().SCHEMA_VERSION.lstrip("v").split(".")[:2])
    return major_minor if major_minor in vl_convert.get_vegalite_versions() else None


class PacketChart:
    """A chart ready to display anywhere: static SVG, the Vega-Lite spec and a one-line summary."""

    def __init__(self, chart: Any, data: pd.DataFrame, summary: str) -> None:
        self.chart = chart
        self.data = data  # the aggregated rows the chart draws
        self.summary = summary

    @cached_property
    def spec(self) -> dict[str, Any]:
        spec = self.chart.to_dict()
        spec.pop("$schema", None)  # the mimetype names the version; no URL in the output
        return spec

    @cached_property
    def svg(self) -> str:
        import vl_convert

        return vl_convert.vegalite_to_svg(self.spec, vl_version=_vl_convert_version())

    def live(self) -> Any:
        """An interactive JupyterChart whose JavaScript comes bundled from vl-convert, not a CDN.

        Opt-in: it needs the `anywidget` package, which the static SVG and spec do not.
        """
        alt = _altair()
        try:
            import anywidget  # noqa: F401
        except ImportError:
            raise ImportError("live charts need the optional 'anywidget' package (pip install anywidget); "
                              "the static SVG and the Vega-Lite spec work without it") from None
        alt.JupyterChart.enable_offline()  # a class-wide switch in Altair: no per-chart offline flag
        return alt.JupyterChart(self.chart)

    def __repr__(self) -> str:
        return self.summary

    def _repr_mimebundle_(self, include: Collection[str] | None = None,
                          exclude: Collection[str] | None = None) -> dict[str, Any]:
        from worldflux_nb.render.display import wanted

        makers = {"image/svg+xml": lambda: self.svg, vegalite_mimetype(): lambda: self.spec,
                  "text/plain": lambda: self.summary}
        return {mime: make() for mime, make in makers.items() if wanted(mime, include, exclude)}


def _finish(chart: Any, title: str, subtitle: str) -> Any:
    return chart.properties(title={"text": title, "subtitle": subtitle}).configure(
        background="white").configure_view(stroke=None).configure_axis(labelLimit=280)


def _colour(alt: Any, field: str, colours: dict[str, str], title: str) -> Any:
    return alt.Color(f"{field}:N", title=title, sort=list(colours),
                     scale=alt.Scale(domain=list(colours), range=list(colours.values())))


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
    return rows


def conformance_matrix(packet: EvalPacket, evidence: pd.DataFrame | None = None,
                       plan: ProtocolPlan | None = None, *, episode_marks_limit: int = EPISODE_MARKS_LIMIT,
                       rows_limit: int = ROWS_LIMIT) -> PacketChart:
    """Plan cells against evidence, coloured by category: per episode when small, counts when large.

    `evidence` holds categorised rows (cell_id, probe_id, task_id, axis, level, episode_index, seed,
    status, category); episode marks need it, and the plan unless missing episodes are listed in it.
    """
    alt = _altair()
    frame = cells_frame(packet)
    colour = _colour(alt, "category", CATEGORY_COLOURS, "category")
    total_marks = int(frame["planned"].sum() + frame[[f"n_{c}" for c in DISPLAY_CATEGORIES[3:]]].sum().sum())
    episodes = (_episode_rows(packet, evidence, plan)
                if evidence is not None and total_marks <= episode_marks_limit and len(frame) <= rows_limit
                else None)
    if episodes is not None:
        planned = episodes[episodes["category"].isin(PLANNED_CATEGORIES)]
        extra = episodes[~episodes["category"].isin(PLANNED_CATEGORIES)]
        y = alt.Y("cell_id:N", title="cell", sort=list(frame["cell_id"]))
        x = alt.X("episode_index:O", title="episode index")
        tip = ["cell_id:N", "episode_index:O", "seed:N", "status:N", "category:N"]
        base = alt.Chart(planned).mark_rect(stroke="white", strokeWidth=1).encode(x=x, y=y, color=colour,
                                                                                   tooltip=tip)
        dots = alt.Chart(extra).mark_point(filled=True, size=40, shape="diamond", stroke="black",
                                           strokeWidth=0.5).encode(x=x, y=y, color=colour, tooltip=tip)
        chart = alt.layer(base, dots).properties(width=alt.Step(14), height=alt.Step(14))
        summary = f"Conformance matrix: {len(episodes)} episode marks across {len(frame)} cells"
        return PacketChart(_finish(chart, "Conformance by episode", "squares: planned episodes; "
                                   "diamonds: evidence rows that do not count"), episodes, summary)
    keys, grain = _group_keys(frame, rows_limit)
    data = category_counts(frame, keys)
    data.insert(0, "group", _label(data, keys))
    order = list(dict.fromkeys(_label(frame, keys)))
    normalise = grain != "cell"
    chart = alt.Chart(data).mark_bar().encode(
        y=alt.Y("group:N", title=grain, sort=order),
        x=alt.X("sum(count):Q", stack="normalize" if normalise else True,
                title="share of episodes and evidence rows" if normalise else "episodes and evidence rows"),
        color=colour, order=alt.Order("category_rank:Q"),
        tooltip=["group:N", "category:N", "count:Q", "cells:Q"],
    ).transform_calculate(
        category_rank=f"indexof({list(DISPLAY_CATEGORIES)!r}, datum.category)",
    ).properties(width=360, height=alt.Step(14))
    summary = (f"Conformance matrix: {len(frame)} cells as category counts per {grain} "
               f"({len(data)} data rows)")
    return PacketChart(_finish(chart, f"Conformance per {grain}", f"{len(frame)} cells; {PRIVACY}"),
                       data, summary)


def denominator_rows(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group, policy and component: how many rows count (+) or stay out of the denominator (-)."""
    parts = frame.assign(
        success=frame["successes"], failure=frame["matched"] - frame["successes"] - frame["infra_failures"],
        infra_failure=frame["infra_failures"])
    components = list(COMPONENT_COLOURS)
    sums = parts.groupby(keys, sort=False)[components].sum().reset_index()
    sums.insert(0, "group", _label(sums, keys))
    long = sums.melt(id_vars=["group"], value_vars=components, var_name="component", value_name="count")
    out = []
    for policy, counted in POLICY_COUNTS.items():
        inside = long["component"].isin(counted)
        out.append(long.assign(policy=policy, counted=np.where(inside, "in denominator", "left out"),
                               value=np.where(inside, long["count"], -long["count"])))
    rows = pd.concat(out, ignore_index=True)
    return rows[rows["count"] > 0].reset_index(drop=True)


def denominator_chart(packet: EvalPacket, by: Literal["auto", "cell", "axis", "probe"] = "auto",
                      rows_limit: int = 40) -> PacketChart:
    """Per cell, axis or probe and per policy: what forms the denominator (right) and what is left out (left)."""
    alt = _altair()
    frame = cells_frame(packet)
    if by == "auto":
        keys, grain = _group_keys(frame, rows_limit)
    else:
        keys, grain = {"cell": (["cell_id"], "cell"), "axis": (["probe_id", "axis"], "probe / axis"),
                       "probe": (["probe_id"], "probe")}[by]
    data = denominator_rows(frame, keys)
    policy_titles = {p.policy: f"{p.policy}{' (optimistic)' if p.optimistic else ''}"
                     for p in packet.denominator_policies if getattr(p, "probe_id", None) is None}
    data["policy_title"] = data["policy"].map(lambda p: policy_titles.get(p, p))
    order = list(dict.fromkeys(_label(frame, keys)))
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("group:N", title=grain, sort=order),
        x=alt.X("sum(value):Q", title="rows (left of 0: not in the denominator)"),
        color=_colour(alt, "component", COMPONENT_COLOURS, "evidence"),
        opacity=alt.Opacity("counted:N", scale=alt.Scale(domain=["in denominator", "left out"],
                                                          range=[1.0, 0.45]), title=None),
        tooltip=["group:N", "policy:N", "component:N", "count:Q", "counted:N"],
    ).properties(width=220, height=alt.Step(14))
    chart = bars.facet(column=alt.Column("policy_title:N", title=None,
                                         sort=[policy_titles.get(p, p) for p in POLICY_COUNTS]))
    summary = (f"Denominator chart: {len(order)} {grain} group(s) x {len(POLICY_COUNTS)} policies "
               f"(plan policy {packet.denominator_policy}; pending episodes count as failures)")
    return PacketChart(_finish(chart, "How each denominator is formed",
                               f"plan policy: {packet.denominator_policy}; completed_only is optimistic"),
                       data, summary)


def wilson_half_width(rate: float | np.ndarray, n: np.ndarray, confidence: float = 0.95) -> np.ndarray:
    """Half-width of the Wilson score interval for a true rate `rate` observed over `n` episodes."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n = np.asarray(n, dtype=float)
    return z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n)) / (1 + z * z / n)


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
    curves = pd.concat([pd.DataFrame({"episodes": n, "half_width": wilson_half_width(p, n, confidence),
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
    layers = [alt.Chart(curves).mark_line(color="#6b7280").encode(
        x=x, y=y, strokeDash=alt.StrokeDash("curve:N", title="Wilson half-width"))]
    if targets:
        rules = pd.DataFrame({"half_width": [targets.max_ci_half_width]})
        layers.append(alt.Chart(rules).mark_rule(color="#dc2626", strokeDash=[6, 3]).encode(
            y="half_width:Q", tooltip=[alt.Tooltip("half_width:Q", title="target half-width")]))
        minimum = pd.DataFrame({"episodes": [targets.min_episodes_per_cell]})
        layers.append(alt.Chart(minimum).mark_rule(color="#d97706", strokeDash=[2, 2]).encode(
            x="episodes:Q", tooltip=[alt.Tooltip("episodes:Q", title="minimum episodes per cell")]))
    layers.append(alt.Chart(cells).mark_point(filled=True, opacity=0.8).encode(
        x=x, y=y, size=(alt.value(70) if len(placed) <= points_limit else
                        alt.Size("cells:Q", title="cells", scale=alt.Scale(type="sqrt", range=[20, 320]))),
        color=alt.Color("status:N", scale=alt.Scale(domain=["powered", "underpowered"],
                                                    range=["#16a34a", "#dc2626"]), title="cell"),
        shape=alt.Shape("status:N", scale=alt.Scale(domain=["powered", "underpowered"],
                                                    range=["circle", "triangle-up"]), title="cell"),
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
