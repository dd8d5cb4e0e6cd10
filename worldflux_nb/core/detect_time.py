"""When the plan counts as frozen, and evidence the harness dated before that moment.

The plan's own `created_at` is whatever clock (or SOURCE_DATE_EPOCH) the operator used; a plan
receipt the reviewer keeps (models.receipt) anchors the freeze in a moment the operator did not
choose. Evidence recorded before the freeze was not produced under the frozen plan.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from worldflux_nb.core.conformance import ConformanceResult
from worldflux_nb.core.finding_cells import in_plan_order, named
from worldflux_nb.core.findings import plural
from worldflux_nb.errors import InputError
from worldflux_nb.models.packet import Finding, FreezeAnchor
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.models.receipt import PlanReceipt

if TYPE_CHECKING:
    import pandas as pd


def parse_utc(text: str, source: str, field: str) -> datetime:
    import pandas as pd

    stamp = pd.to_datetime(text, utc=True, errors="coerce", format="ISO8601")
    if pd.isna(stamp):
        raise InputError(source, field, f"{text!r} is not an ISO 8601 time")
    return stamp.to_pydatetime()


def freeze_anchor(plan: ProtocolPlan, receipt: PlanReceipt | None = None,
                  receipt_source: str = "plan receipt") -> FreezeAnchor:
    """The receipt's time when a receipt for this plan is given, else the plan's declared time."""
    if receipt is None:
        return FreezeAnchor(frozen_at=plan.created_at, anchored_by="plan_created_at",
                            detail="the plan's created_at, set by whoever froze the plan (their clock or "
                                   "SOURCE_DATE_EPOCH); no reviewer receipt was given")
    digest = plan.plan_digest or plan.computed_digest()
    if receipt.plan_digest != digest:
        raise InputError(receipt_source, "plan_digest",
                         f"is {receipt.plan_digest}, but the plan's digest is {digest}: the receipt is for another plan")
    parse_utc(receipt.received_at, receipt_source, "received_at")
    who = f" by {receipt.received_by}" if receipt.received_by else ""
    return FreezeAnchor(frozen_at=receipt.received_at, anchored_by="reviewer_receipt",
                        detail=f"the reviewer's receipt of the plan digest{who} at {receipt.received_at}")


def before_freeze_findings(plan: ProtocolPlan, result: ConformanceResult,
                           anchor: FreezeAnchor) -> list[Finding]:
    present = result.present("recorded_at")
    if not present.any():
        return []
    import pandas as pd

    frozen = pd.Timestamp(parse_utc(anchor.frozen_at, "plan", "created_at"))
    dated = result.rows_where(present)[["probe_id", "cell_id", "planned_ix", "recorded_at"]]
    stamps = pd.to_datetime(dated["recorded_at"], utc=True, errors="coerce", format="ISO8601")
    out = []
    total = max(len(result.arrays.keys), 1)
    unreadable = dated[stamps.isna()]
    early = dated[stamps < frozen]
    for probe, mine in early.groupby("probe_id", sort=True):
        episodes = int(mine.loc[mine["planned_ix"] >= 0, "planned_ix"].nunique())
        shown, more, listed = named(in_plan_order(plan, mine["cell_id"]))
        out.append(Finding(
            kind="evidence_before_freeze", family="time", probe_id=probe,
            planned_affected=episodes, share=episodes / total,
            statement=(f"{probe}: {plural(len(mine), 'row')} ({plural(episodes, 'planned episode')}) were "
                       f"recorded before the plan was frozen at {anchor.frozen_at} ({anchor.anchored_by}), "
                       f"earliest {min(mine['recorded_at'])}; cells: {listed or 'none planned'}."),
            question=(f"On {probe}, evidence in {listed or 'unplanned cells'} is dated before the plan's "
                      "freeze: was the plan written after these results were seen?"),
            cells=shown, cells_more=more))
    if len(unreadable):
        out.append(Finding(
            kind="unreadable_timestamps", family="time", planned_affected=0, share=0.0,
            statement=f"{plural(len(unreadable), 'row')} carry a recorded_at that is not an ISO 8601 time.",
            question="Some rows' timestamps cannot be read: what clock and format did the harness use?"))
    return out
