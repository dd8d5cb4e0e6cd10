"""Campaign findings: evidence from another run than the planned one, and runs combined.

A run started from another seed shows as seed mismatches that all differ from the plan by one
offset (or all record one fixed seed); a run over other initial states shows as a cell's evidence
being the planned episode indexes shifted by one offset. Either is reported once, as another run,
not as one mismatch per row. Rows carrying several harness run ids in one probe are runs combined.
"""

from __future__ import annotations

import numpy as np

from worldflux_nb.core.conformance import ConformanceResult
from worldflux_nb.core.finding_cells import in_plan_order, named, planned_episode_count, probe_groups, row_cell_ids
from worldflux_nb.core.findings import plural
from worldflux_nb.models.packet import CATEGORIES, Finding
from worldflux_nb.models.plan import ProtocolPlan

MIN_RUN_ROWS = 2  # one odd seed is a mismatch; two or more sharing an offset are a run
ROW_BLOCK = 1 << 20  # rows read at a time where a whole-column temporary would be hundreds of MB


def seed_run_findings(plan: ProtocolPlan, result: ConformanceResult, total: int) -> list[Finding]:
    """Seed mismatches grouped per probe by their offset from the plan (or by one fixed seed)."""
    a = result.arrays
    bad = np.flatnonzero(a.category == CATEGORIES.index("seed_mismatch"))
    out: list[Finding] = []
    if not len(bad):
        return out
    # A seed mismatch is a planned episode's row with a recorded seed other than the planned one.
    planned_ix = a.planned_ix[bad].astype(np.int64)
    seed = a.ev.seed[bad].astype(np.int64)
    planned_seed = a.keys.seed[planned_ix].astype(np.int64)
    offset = seed - planned_seed
    matched = a.attempts > 0
    for probe_id, mine in probe_groups(result, bad):
        run_seed = _planned_run_seed(plan, probe_id)
        offsets, count = np.unique(offset[mine], return_counts=True)
        runs = offsets[count >= MIN_RUN_ROWS]
        groups = [("offset", key, mine[offset[mine] == key]) for key in runs.tolist()]
        left = mine[~np.isin(offset[mine], runs)]
        seeds, count = np.unique(seed[left], return_counts=True)
        for key in seeds[count >= MIN_RUN_ROWS].tolist():
            group = left[seed[left] == key]
            if len(np.unique(planned_seed[group])) > 1:
                groups.append(("fixed", key, group))
        for how, key, group in groups:
            episodes = np.unique(planned_ix[group])
            lost = int(np.count_nonzero(~matched[episodes]))
            shown, more, listed = named(in_plan_order(plan, row_cell_ids(result, bad[group])))
            if how == "offset" and run_seed is not None:
                what = f"run seed {run_seed + int(key)} instead of the planned {run_seed}"
            elif how == "offset":
                what = f"seeds offset by {int(key):+d} from the planned ones"
            else:
                what = f"one fixed seed {int(key)} where the plan has per-episode seeds"
            out.append(Finding(
                kind="another_run", family="campaign", probe_id=probe_id,
                planned_affected=len(episodes), share=len(episodes) / total,
                statement=(f"{probe_id}: {plural(len(group), 'row')} over {plural(len(episodes), 'planned episode')} "
                           f"come from another run ({what}) in {listed}; none of them counts, and "
                           f"{lost} of those planned episodes have no row from the planned run."),
                question=(f"On {probe_id}, evidence in {listed} comes from a run with {what}. Why was that run "
                          "made, how many runs were made in all, and where is the planned run's evidence?"),
                cells=shown, cells_more=more))
    return out


def _planned_run_seed(plan: ProtocolPlan, probe_id: str) -> int | None:
    try:
        return plan.probe(probe_id).run_seed
    except KeyError:
        return None


def shifted_cells(plan: ProtocolPlan, result: ConformanceResult) -> dict[tuple[str, int], list[int]]:
    """{(probe, offset): positions of the plan cells whose evidence indexes are the planned ones
    shifted by that offset}, cells ascending.

    Per cell at once (no loop over cells): the offset is the cell's lowest evidence index minus its
    lowest planned one; the cell is shifted when every evidence index minus the offset is planned
    in that cell and not every evidence index itself is (a row's own index is planned exactly when
    conformance placed it: planned_ix >= 0). Rows are read in blocks, so the temporaries take tens
    of MB at ten million rows, not hundreds.
    """
    a = result.arrays
    named_cell = result.named_cells
    if named_cell is None or not len(a.ev):
        return {}
    keys, size = a.keys, len(plan.cells)
    blocks = [slice(start, start + ROW_BLOCK) for start in range(0, len(a.ev), ROW_BLOCK)]

    def named_rows(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """The block's rows that name a plan cell: their cells and which of the block's rows they are."""
        has_name = named_cell[rows] >= 0
        return named_cell[rows][has_name], has_name

    def lowest(cells: np.ndarray, indexes: np.ndarray) -> np.ndarray:
        """Per plan cell, its lowest index (the type's largest where it has none), in the indexes'
        own integer type: ufunc.at takes its fast path only when no cast is needed."""
        out = np.full(size, np.iinfo(indexes.dtype).max, dtype=indexes.dtype)
        np.minimum.at(out, cells, indexes)
        return out.astype(np.int64)

    evidence_min = np.full(size, np.iinfo(np.int64).max)
    for rows in blocks:
        cell, has_name = named_rows(rows)
        np.minimum(evidence_min, lowest(cell, a.ev.episode_index[rows][has_name]), out=evidence_min)
    planned_min = lowest(keys.planned_cell, keys.episode_index)
    has_planned = np.bincount(keys.planned_cell, minlength=size) > 0
    cell_offset = np.where(has_planned, evidence_min - planned_min, 0)
    # Only a cell with planned episodes and a non-zero offset can be shifted: the second pass reads
    # only their rows (most cells' lowest index is their planned one: a few percent of the rows).
    candidate = has_planned & (cell_offset != 0)
    if not candidate.any():
        return {}
    with_rows, some_unshifted, some_off_plan = (np.zeros(size, dtype=bool) for _ in range(3))
    for rows in blocks:
        cell, has_name = named_rows(rows)
        mine = candidate[cell]
        cell, picked = cell[mine], np.flatnonzero(has_name)[mine] + rows.start
        shifted = keys.positions(cell, a.ev.episode_index[picked] - cell_offset[cell]) >= 0
        with_rows[cell] = True
        some_unshifted[cell[~shifted]] = True
        some_off_plan[cell[a.planned_ix[picked] < 0]] = True
    by_probe: dict[tuple[str, int], list[int]] = {}
    for cell_ix in np.flatnonzero(with_rows & candidate & ~some_unshifted & some_off_plan):
        by_probe.setdefault((plan.cells[cell_ix].probe_id, int(cell_offset[cell_ix])), []).append(int(cell_ix))
    return by_probe


def index_offset_findings(plan: ProtocolPlan, result: ConformanceResult, total: int) -> list[Finding]:
    """Cells whose evidence indexes are the planned ones shifted by one offset, grouped per probe."""
    by_probe = shifted_cells(plan, result)
    starts = np.r_[0, np.cumsum(np.bincount(result.arrays.keys.planned_cell, minlength=len(plan.cells)))]
    out = []
    for (probe, offset), cells in sorted(by_probe.items()):
        planned = int(sum(starts[c + 1] - starts[c] for c in cells))
        shown, more, listed = named([plan.cells[c].cell_id for c in cells])
        out.append(Finding(
            kind="another_run", family="campaign", probe_id=probe,
            planned_affected=planned, share=planned / total,
            statement=(f"{probe}: the evidence of {plural(len(cells), 'cell')} ({listed}) is the planned "
                       f"episode indexes shifted by {offset:+d}: another run over other initial states or "
                       "seeds; its rows outside the plan do not count."),
            question=(f"On {probe}, why were episodes {offset:+d} from the planned ones run in {listed}, "
                      "and were the planned episodes run at all?"),
            cells=shown, cells_more=more))
    return out


def run_id_findings(plan: ProtocolPlan, result: ConformanceResult, total: int) -> list[Finding]:
    """A probe whose rows carry more than one harness run id: runs combined into one body of evidence."""
    a = result.arrays
    carried = np.flatnonzero(result.present("run_id"))
    out: list[Finding] = []
    if not len(carried):
        return out
    run_ids, run = np.unique(a.ev.optional_values("run_id", carried), return_inverse=True)
    planned_ix = a.planned_ix[carried].astype(np.int64)
    for probe_id, mine in probe_groups(result, carried):
        counts = np.bincount(run[mine], minlength=len(run_ids))
        # Most rows first, ties by run id.
        runs = sorted(((run_ids[r], int(counts[r]), r) for r in np.flatnonzero(counts).tolist()),
                      key=lambda item: (-item[1], item[0]))
        if len(runs) < 2:
            continue
        minority = carried[mine[run[mine] != runs[0][2]]]
        episodes = planned_episode_count(result, minority)
        # Planned episodes whose rows carry more than one run id.
        planned_rows = mine[planned_ix[mine] >= 0]
        pairs = np.unique(planned_ix[planned_rows] * len(run_ids) + run[planned_rows])
        shared = int(np.count_nonzero(np.bincount(pairs // len(run_ids)) > 1)) if len(pairs) else 0
        shown, more, listed = named(in_plan_order(plan, row_cell_ids(result, minority)))
        run_list = ", ".join(f"{run_id} ({n} rows)" for run_id, n, _ in runs[:5])
        out.append(Finding(
            kind="runs_combined", family="campaign", probe_id=probe_id,
            planned_affected=episodes, share=episodes / total,
            statement=(f"{probe_id}: rows come from {plural(len(runs), 'harness run')} ({run_list}"
                       + (f" and {len(runs) - 5} more" if len(runs) > 5 else "") + "); "
                       f"{plural(shared, 'planned episode')} ran in more than one of them."),
            question=(f"On {probe_id}, {len(runs)} harness runs were combined (other runs in {listed or 'no planned cell'}). "
                      "Were they all planned, and is every run's evidence included — not only the best?"),
            cells=shown, cells_more=more))
    return out


def campaign_findings(plan: ProtocolPlan, result: ConformanceResult) -> list[Finding]:
    total = max(len(result.arrays.keys), 1)
    return (seed_run_findings(plan, result, total) + index_offset_findings(plan, result, total)
            + run_id_findings(plan, result, total))
