"""When the plan counts as frozen, and evidence the harness dated before that moment.

The plan's own `created_at` is whatever clock (or SOURCE_DATE_EPOCH) the operator used; a plan
receipt the reviewer keeps (models.receipt) anchors the freeze in a moment the operator did not
choose. Evidence recorded before the freeze was not produced under the frozen plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from worldflux_nb.core.conformance import ConformanceResult
from worldflux_nb.core.finding_cells import in_plan_order, named, planned_episode_count, probe_groups, row_cell_ids
from worldflux_nb.core.findings import plural
from worldflux_nb.core.iso_times import NOT_A_TIME, utc_micros
from worldflux_nb.errors import InputError
from worldflux_nb.models.arrow_build import array as arrow_array
from worldflux_nb.models.packet import Finding, FreezeAnchor
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.models.receipt import PlanReceipt


def utc_micros_of(text: str, source: str, field: str) -> int:
    """One ISO 8601 time as UTC microseconds since 1970 (as pandas reads it, to whole microseconds
    as its `Timestamp.to_pydatetime` keeps them), or the error naming where it came from."""
    import pyarrow as pa

    micros = int(utc_micros(arrow_array([text], pa.string()))[0])
    if micros == NOT_A_TIME:
        raise InputError(source, field, f"{text!r} is not an ISO 8601 time")
    return micros


def parse_utc(text: str, source: str, field: str) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=utc_micros_of(text, source, field))


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
    """Per probe, the rows dated before the freeze; and one finding for rows whose date pandas
    cannot read (the times are read as pandas did, mostly without it: core.iso_times)."""
    present = result.present("recorded_at")
    if not present.any():
        return []
    a = result.arrays
    frozen = utc_micros_of(anchor.frozen_at, "plan", "created_at")
    dated = np.flatnonzero(present)
    stamps = utc_micros(a.ev.optional["recorded_at"].drop_null())  # the dated rows' texts, in row order
    readable = stamps != NOT_A_TIME
    out = []
    total = max(len(a.keys), 1)
    unreadable = int(np.count_nonzero(~readable))
    early = dated[readable & (stamps < frozen)]
    for probe, at in probe_groups(result, early):
        mine = early[at]
        episodes = planned_episode_count(result, mine)
        shown, more, listed = named(in_plan_order(plan, row_cell_ids(result, mine)))
        earliest = min(a.ev.optional_values("recorded_at", mine).tolist())  # the least text (not instant), as before
        out.append(Finding(
            kind="evidence_before_freeze", family="time", probe_id=probe,
            planned_affected=episodes, share=episodes / total,
            statement=(f"{probe}: {plural(len(mine), 'row')} ({plural(episodes, 'planned episode')}) were "
                       f"recorded before the plan was frozen at {anchor.frozen_at} ({anchor.anchored_by}), "
                       f"earliest {earliest}; cells: {listed or 'none planned'}."),
            question=(f"On {probe}, evidence in {listed or 'unplanned cells'} is dated before the plan's "
                      "freeze: was the plan written after these results were seen?"),
            cells=shown, cells_more=more))
    if unreadable:
        out.append(Finding(
            kind="unreadable_timestamps", family="time", planned_affected=0, share=0.0,
            statement=f"{plural(unreadable, 'row')} carry a recorded_at that is not an ISO 8601 time.",
            question="Some rows' timestamps cannot be read: what clock and format did the harness use?"))
    return out
