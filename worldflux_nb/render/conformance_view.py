"""Per-cell conformance counts as a DataFrame, and a displayable conformance view of a packet.

The frame here feeds the charts and the explorer too, so every view counts categories the same way.
"""

from __future__ import annotations

from typing import Any, Collection

import pandas as pd

from worldflux_nb.models.common import PRIVACY
from worldflux_nb.models.packet import EvalPacket
from worldflux_nb.render.document import Banner, BulletList, Document, Heading, KeyValues, Table, Tone
from worldflux_nb.render.html import to_html
from worldflux_nb.render.markdown import to_markdown

# Planned episodes split into the first three (they sum to `planned`); the rest are evidence rows
# that never count for a planned episode.
PLANNED_CATEGORIES = ("matched", "infra_failure", "missing")
EXTRA_CATEGORIES = ("duplicate", "out_of_protocol", "seed_mismatch", "metadata_mismatch")
DISPLAY_CATEGORIES = PLANNED_CATEGORIES + EXTRA_CATEGORIES

_CELL_FIELDS = ("cell_id", "probe_id", "task_id", "axis", "level", "planned", "matched", "missing",
                "successes", "denominator", "success_rate", "ci_low", "ci_high", "underpowered",
                "infra_failures", "completed", "pending", "duplicates", "out_of_protocol", "seed_mismatches",
                "metadata_mismatches")
MEDIA_TYPE = "application/vnd.worldflux-nb.conformance_view.v1+json"


def cells_frame(packet: EvalPacket) -> pd.DataFrame:
    """One row per packet cell with its fields and a count column per display category."""
    frame = pd.DataFrame({f: [getattr(c, f) for c in packet.cells] for f in _CELL_FIELDS})
    frame["level"] = frame["level"].astype(str)  # levels mix integers and labels
    frame["matched_clean"] = frame["matched"] - frame["infra_failures"]
    counts = {
        "matched": frame["matched_clean"], "infra_failure": frame["infra_failures"],
        "missing": frame["missing"], "duplicate": frame["duplicates"],
        "out_of_protocol": frame["out_of_protocol"], "seed_mismatch": frame["seed_mismatches"],
        "metadata_mismatch": frame["metadata_mismatches"],
    }
    for category, column in counts.items():
        frame[f"n_{category}"] = column.astype("int64")
    frame["half_width"] = (frame["ci_high"] - frame["ci_low"]) / 2
    return frame


def category_counts(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Long table: one row per group and non-zero category, with the count and the group's cells."""
    columns = [f"n_{c}" for c in DISPLAY_CATEGORIES]
    grouped = frame.groupby(keys, sort=False, observed=True)
    sums = grouped[columns].sum()
    sums["cells"] = grouped.size()
    long = sums.reset_index().melt(id_vars=keys + ["cells"], value_vars=columns,
                                   var_name="category", value_name="count")
    long["category"] = long["category"].str.removeprefix("n_")
    return long[long["count"] > 0].reset_index(drop=True)


def place_on_cells(rows: pd.DataFrame, cells: pd.DataFrame) -> pd.Series:
    """Each evidence row's cell: its own cell_id, else the cell its probe/task/axis/level names.

    Out-of-protocol rows carry no cell id; rows naming no planned cell get a label of their own.
    """
    fields = ["probe_id", "task_id", "axis", "level"]
    placed = rows["cell_id"].astype(object) if "cell_id" in rows else pd.Series(None, index=rows.index, dtype=object)
    unplaced = placed.isna()
    if unplaced.any():
        cell_of_key = dict(zip(cells[fields].astype(str).agg(":".join, axis=1), cells["cell_id"]))
        keys = rows.loc[unplaced, fields].astype(str).agg(":".join, axis=1)
        placed = placed.copy()
        placed[unplaced] = keys.map(cell_of_key).fillna(keys + " (unplanned)")
    return placed


def _tone(row: Any) -> Tone | None:
    if row.matched == 0 and row.planned > 0:
        return "danger"
    if row.missing or row.n_duplicate or row.n_out_of_protocol or row.n_seed_mismatch or row.n_metadata_mismatch:
        return "warning"
    return None


class ConformanceView:
    """The packet's evidence against its plan: totals, per probe, per cell; `.chart()` draws the matrix."""

    def __init__(self, packet: EvalPacket, evidence: pd.DataFrame | None = None, plan: Any = None,
                 max_rows: int = 200) -> None:
        self.packet, self.evidence, self.plan, self.max_rows = packet, evidence, plan, max_rows
        self.cells = cells_frame(packet)

    def by_probe(self) -> pd.DataFrame:
        columns = ["planned"] + [f"n_{c}" for c in DISPLAY_CATEGORIES]
        table = self.cells.groupby("probe_id", sort=True)[columns].sum()
        table.insert(0, "cells", self.cells.groupby("probe_id", sort=True).size())
        return table.reset_index()

    def document(self) -> Document:
        c = self.packet.conformance
        totals = [("planned episodes", c.planned_episodes), ("matched", c.matched), ("missing", c.missing),
                  ("infra failures (matched, not the policy's fault)", c.infra_failures),
                  ("duplicates (re-runs)", c.duplicates), ("out of protocol", c.out_of_protocol),
                  ("seed mismatches", c.seed_mismatches), ("metadata mismatches", c.metadata_mismatches)]
        headers = ["probe", "cells", "planned", *DISPLAY_CATEGORIES]
        probes = Table(headers, list(self.by_probe().itertuples(index=False)), caption="Per probe")
        cell_columns = ["cell_id", "planned"] + [f"n_{c}" for c in DISPLAY_CATEGORIES]
        cell_rows = self.cells[cell_columns].itertuples(index=False)
        cells = Table(["cell", "planned", *DISPLAY_CATEGORIES], list(cell_rows), caption="Per cell",
                      max_rows=self.max_rows, row_tones=[_tone(r) for r in self.cells.itertuples()])
        mismatches = [f"{m.probe_id}: audit input claims {m.found}, plan is {m.expected} "
                      f"({m.rows_rejected} rows rejected)" for m in c.digest_mismatches]
        return Document(title=f"Conformance: {self.packet.plan_id}", blocks=[
            Banner(f"{PRIVACY}: evidence checked against the frozen plan {self.packet.plan_digest}.", "info"),
            KeyValues(totals), probes, Heading("Audit inputs rejected for a plan digest mismatch", 3),
            BulletList(mismatches), cells])

    def summary(self) -> str:
        c = self.packet.conformance
        return (f"Conformance {self.packet.plan_id} [{PRIVACY}]: {c.matched}/{c.planned_episodes} planned "
                f"episodes matched, {c.missing} missing, {c.infra_failures} infra failures, {c.duplicates} "
                f"duplicates, {c.out_of_protocol} out of protocol, {c.seed_mismatches} seed / "
                f"{c.metadata_mismatches} metadata mismatches across {len(self.cells)} cells")

    def to_json_dict(self) -> dict[str, Any]:
        return {"privacy": PRIVACY, "plan_digest": self.packet.plan_digest,
                "packet_digest": self.packet.packet_digest,
                "conformance": self.packet.conformance.model_dump(mode="json"),
                "probes": self.by_probe().to_dict(orient="records")}

    def chart(self, **options: Any) -> Any:
        from worldflux_nb.render.charts import conformance_matrix

        return conformance_matrix(self.packet, evidence=self.evidence, plan=self.plan, **options)

    def _repr_mimebundle_(self, include: Collection[str] | None = None,
                          exclude: Collection[str] | None = None) -> dict[str, Any]:
        from worldflux_nb.render.display import wanted

        bundle: dict[str, Any] = {}
        if wanted("text/plain", include, exclude):
            bundle["text/plain"] = self.summary()
        if wanted("text/html", include, exclude) or wanted("text/markdown", include, exclude):
            document = self.document()
            if wanted("text/html", include, exclude):
                bundle["text/html"] = to_html(document)
            if wanted("text/markdown", include, exclude):
                bundle["text/markdown"] = to_markdown(document)
        if wanted(MEDIA_TYPE, include, exclude):
            bundle[MEDIA_TYPE] = self.to_json_dict()
        return bundle
