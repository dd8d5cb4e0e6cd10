"""The forest chart of a comparison: each scope's difference (candidate - baseline) with its interval.

Drawn like the packet charts (render.charts): Altair spec plus a static PNG and SVG from vl-convert, no
CDN, no Vega mimetype, the shared palette; the finding is carried by colour and by shape, never by colour
alone. Like the packet's charts, it is its own output (templates/compare_policies.ipynb displays it below
the comparison), deliberately not part of the comparison's display: a front end shows one representation
of an output and prefers `text/html` to an image, so a PNG in the artifact's bundle would not be seen; and
the artifact's HTML and Markdown come from the one Document that `comparison.md` is written from, which
stays text (and quick to display: no vl-convert run each time the comparison is shown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from worldflux_nb.render.charts import PALETTE, TEXT_GREY, PacketChart, _altair, _finish, _scale

if TYPE_CHECKING:
    from worldflux_nb.models.comparison import Comparison

# The shared palette's success / failure / missing colours: better, worse, no difference shown.
FINDING_COLOURS = {"candidate better": PALETTE["success"], "candidate worse": PALETTE["failure"],
                   "no difference shown": PALETTE["missing"]}
ROWS_LIMIT = 60  # comparisons drawn; the table in comparison.md and comparison.json hold them all
FINDING_SHAPES = {"candidate better": "triangle-up", "candidate worse": "triangle-down",
                  "no difference shown": "circle"}
_SCOPE_RANK = {"all": 0, "probe": 1, "axis": 2, "cell": 3}


def forest_rows(comparison: "Comparison", limit: int = ROWS_LIMIT) -> pd.DataFrame:
    """One row per comparison with an interval: confirmatory first, then all, probes, axes, cells."""
    records = []
    several = len({(r.baseline, r.candidate) for r in comparison.comparisons}) > 1
    for r in comparison.comparisons:
        if r.difference is None or r.ci_low is None or r.ci_high is None:
            continue
        significant = r.p_adjusted is not None and r.p_adjusted <= comparison.alpha
        finding = ("no difference shown" if not significant else
                   "candidate better" if r.difference > 0 else "candidate worse")
        label = (f"{r.candidate} vs {r.baseline} · " if several else "") + r.scope
        records.append({"scope": label + (" (confirmatory)" if r.confirmatory else ""),
                        "difference": r.difference, "ci_low": r.ci_low, "ci_high": r.ci_high,
                        "finding": finding, "family": r.family, "test": r.test,
                        "p_adjusted": r.p_adjusted, "rank": (0 if r.confirmatory else 1,
                                                             _SCOPE_RANK[r.scope.split(":", 1)[0]])})
    frame = pd.DataFrame(records, columns=["scope", "difference", "ci_low", "ci_high", "finding", "family",
                                           "test", "p_adjusted", "rank"])
    frame = frame.sort_values("rank", kind="stable").head(limit).drop(columns="rank")
    return frame.reset_index(drop=True)


def forest_chart(comparison: "Comparison", limit: int = ROWS_LIMIT) -> PacketChart:
    """Differences per scope with their intervals; the zero line marks no difference."""
    alt = _altair()
    data = forest_rows(comparison, limit)
    shown = len(data)
    total = sum(r.difference is not None and r.ci_low is not None for r in comparison.comparisons)
    order = list(data["scope"])
    y = alt.Y("scope:N", sort=order, title=None)
    base = alt.Chart(data)
    intervals = base.mark_rule(strokeWidth=2).encode(
        y=y, x=alt.X("ci_low:Q", title="difference in success rate (candidate - baseline)",
                     scale=alt.Scale(domain=[-1, 1]), axis=alt.Axis(format="+%")),
        x2="ci_high:Q",
        color=alt.Color("finding:N", scale=_scale(FINDING_COLOURS, FINDING_COLOURS), title="finding"))
    points = base.mark_point(filled=True, size=70).encode(
        y=y, x="difference:Q",
        color=alt.Color("finding:N", scale=_scale(FINDING_COLOURS, FINDING_COLOURS), title="finding"),
        shape=alt.Shape("finding:N", scale=_scale(FINDING_SHAPES, FINDING_SHAPES), title="finding"),
        tooltip=["scope", "family", "test", alt.Tooltip("difference:Q", format="+.3f"),
                 alt.Tooltip("ci_low:Q", format="+.3f"), alt.Tooltip("ci_high:Q", format="+.3f"),
                 alt.Tooltip("p_adjusted:Q", format=".4g")])
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(strokeDash=[4, 4], color=TEXT_GREY).encode(x="zero:Q")
    height = max(60, 18 * max(shown, 1))
    chart = _finish((zero + intervals + points).properties(width=420, height=height),
                    "Policy comparison: difference per scope",
                    f"score intervals; adjusted p at alpha {comparison.alpha}; "
                    f"{shown} of {total} comparisons shown")
    summary = (f"forest chart: {shown} of {total} comparisons, "
               f"{int((data['finding'] != 'no difference shown').sum())} with a difference at alpha {comparison.alpha}")
    return PacketChart(chart, data, summary)

