"""Outcome-dependence findings: missing, infrastructure and pending episodes that track success,
unverified rows that succeed more than verified ones, an infrastructure rate above the plan's base
rate, and early stopping (missing episodes forming the tail of the run order).

Every test runs per probe over cells that have evidence (a cell with none is reported as a missing
cell instead), reads only conformance's arrays and the plan, and counts every conformant attempt,
so nothing depends on the order of rows or audit inputs.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from worldflux_nb.background import started_in_turn
from worldflux_nb.core.conformance import ConformanceResult
from worldflux_nb.core.episode_outcomes import EpisodeOutcomes, episode_outcomes, status_mask
from worldflux_nb.core.exact_tests import (
    DETECTION_ALPHA, PERMUTATIONS, TestResult, association_permutation, binomial_excess, cell_excess_holm,
    stratified_exact_greater, tail_hits_test,
)
from worldflux_nb.core.finding_cells import CELLS_NAMED, named
from worldflux_nb.core.findings import plural
from worldflux_nb.core.statistics import percent, stable_seed
from worldflux_nb.models.packet import Finding
from worldflux_nb.models.plan import ProtocolPlan

MANY_CELLS = 2000  # beyond this a permutation test draws 999 samples (p resolution 0.001, still below alpha)
KIND_WORDS = {"missing": "missing", "infra": "infrastructure failures", "pending": "pending"}


@dataclass(frozen=True)
class CellCounts:
    """Per plan cell (plan order): planned, matched, scored, failed, and each kind's episodes."""

    cell_ids: list[str]
    probes: np.ndarray
    planned: np.ndarray
    matched: np.ndarray
    scored: np.ndarray
    failed: np.ndarray
    kinds: dict[str, np.ndarray]


def cell_counts(plan: ProtocolPlan, result: ConformanceResult, outcomes: EpisodeOutcomes) -> CellCounts:
    per_cell = result.arrays.keys.per_cell
    return CellCounts(
        cell_ids=[c.cell_id for c in plan.cells],
        probes=np.array([c.probe_id for c in plan.cells], dtype=object),
        planned=per_cell(),
        matched=per_cell(outcomes.matched), scored=per_cell(outcomes.scored),
        failed=per_cell(outcomes.scored & ~outcomes.success),
        kinds={"missing": per_cell(~outcomes.matched), "infra": per_cell(outcomes.infra_only),
               "pending": per_cell(outcomes.pending_only)})


def _named(cells: list[str]) -> tuple[list[str], int]:
    shown, more, _ = named(cells)
    return shown, more


def _cell_text(counts: CellCounts, kind: str, i: int) -> str:
    scored, failed = counts.scored[i], counts.failed[i]
    rate = f"{percent((scored - failed) / scored)} of scored succeed" if scored else "none scored"
    return f"{counts.cell_ids[i]} ({counts.kinds[kind][i]}/{counts.planned[i]} {kind}, {rate})"


@dataclass(frozen=True)
class TrackingTest:
    """One probe and kind of tracking_findings: its cells with evidence (positions in plan.cells), the
    kind's episodes and planned episodes per cell, each cell's failure rate, the cell test's
    Holm-adjusted p-values (None: all above alpha / 2) and the permutation test, if it runs."""

    probe: str
    kind: str
    cells: np.ndarray
    k: np.ndarray
    sizes: np.ndarray
    weights: np.ndarray
    pooled: float
    per_cell: np.ndarray | None
    permutation: Future[TestResult] | None


@dataclass(frozen=True)
class OutcomeTests:
    """The outcome detectors' per-episode outcomes and per-cell counts, and the tracking tests, whose
    permutation draws run on a background thread while the caller goes on (outcome_findings waits)."""

    outcomes: EpisodeOutcomes
    counts: CellCounts
    tracking: list[TrackingTest]


def outcome_tests(plan: ProtocolPlan, result: ConformanceResult) -> OutcomeTests:
    """The outcome detectors' counts, with the tracking tests' permutations handed to the background thread."""
    outcomes = episode_outcomes(result.arrays)
    counts = cell_counts(plan, result, outcomes)
    return OutcomeTests(outcomes, counts, tracking_tests(plan, counts))


def tracking_tests(plan: ProtocolPlan, counts: CellCounts) -> list[TrackingTest]:
    """Per probe and kind with something to test: the cell test, and the permutation started on a
    background thread (numpy's draws release the GIL). Each permutation has its own generator,
    seeded from the plan, the probe and the kind, so its p-value is the same on any thread."""
    specs: list[tuple] = []  # a TrackingTest's fields, then its draw's position in `draws` (None: no draw)
    draws: list[Callable[[], TestResult]] = []
    for probe in dict.fromkeys(counts.probes.tolist()):
        cells = np.flatnonzero((counts.probes == probe) & (counts.matched > 0))
        if len(cells) < 2:
            continue
        scored, failed = counts.scored[cells], counts.failed[cells]
        pooled = failed.sum() / scored.sum() if scored.sum() else 0.0
        weights = np.where(scored > 0, failed / np.maximum(scored, 1), pooled)
        for kind in KIND_WORDS:
            k = counts.kinds[kind][cells]
            sizes = counts.planned[cells]
            total = int(k.sum())
            if total == 0 or total == int(sizes.sum()):
                continue
            per_cell = cell_excess_holm(k, sizes, only_below=DETECTION_ALPHA / 2)  # None: all above alpha / 2
            draw = None
            # The permutation is reported only when no cell is concentrated, and only if p <= alpha / 2
            # (Bonferroni over the two tests): skipped otherwise, and it stops once p is surely above.
            if np.ptp(weights) > 0 and (per_cell is None or not (per_cell < DETECTION_ALPHA / 2).any()):
                cells_test = per_cell is not None and per_cell.min() * 2 <= DETECTION_ALPHA
                draw = len(draws)
                draws.append(partial(association_permutation, k, sizes, weights,
                                     seed=stable_seed(plan.plan_seed, "detect", probe, kind),
                                     draws=PERMUTATIONS if len(cells) <= MANY_CELLS else 999,
                                     stop_above=None if cells_test else DETECTION_ALPHA / 2))
            specs.append((probe, kind, cells, k, sizes, weights, pooled, per_cell, draw))
    drawn = started_in_turn(draws)
    return [TrackingTest(*fields, permutation=None if draw is None else drawn[draw]) for *fields, draw in specs]


def tracking_findings(plan: ProtocolPlan, tests: OutcomeTests, total_planned: int) -> list[Finding]:
    """Per probe and kind: do the kind's episodes lean towards cells whose outcomes differ?"""
    out = []
    counts = tests.counts
    for t in tests.tracking:
        probe, kind, cells, k, sizes, weights, pooled = t.probe, t.kind, t.cells, t.k, t.sizes, t.weights, t.pooled
        total = int(k.sum())
        # A screened-out cell test (None: every adjusted p-value above alpha / 2) stands in as 1.0 below,
        # where it is only compared with alpha / 2, never reported.
        per_cell = t.per_cell
        concentrated = per_cell < DETECTION_ALPHA / 2 if per_cell is not None else np.zeros(len(cells), dtype=bool)
        best_cell = float(per_cell.min()) if per_cell is not None else 1.0
        perm = (t.permutation.result() if t.permutation is not None
                else TestResult("permutation (multivariate hypergeometric)", 0.0, 1.0))
        if min(best_cell, perm.p_value) * 2 > DETECTION_ALPHA:
            continue
        expected = sizes * total / sizes.sum()
        if concentrated.any():
            order = np.argsort(per_cell, kind="stable")
            chosen = [int(cells[j]) for j in order if concentrated[j]]
            test = TestResult("one-sided Fisher exact per cell, Holm-adjusted", float(k[order[0]]), best_cell)
        else:
            centred = weights - float(sizes @ weights) / sizes.sum()
            lean = (k - expected) * centred * np.sign(perm.statistic)
            order = np.argsort(-lean, kind="stable")
            chosen = [int(cells[j]) for j in order if lean[j] > 0 and k[j] > expected[j]] or \
                [int(cells[j]) for j in np.argsort(expected - k, kind="stable") if k[j] > expected[j]]
            test = perm
        direction = ("fail more" if weights[np.isin(cells, chosen)].mean() > pooled else "succeed more")
        shown, more = _named([counts.cell_ids[i] for i in chosen])
        word = KIND_WORDS[kind]
        details = "; ".join(_cell_text(counts, kind, i) for i in chosen[:CELLS_NAMED])
        out.append(Finding(
            kind=f"{kind}_tracks_outcome", family="outcome_dependence", probe_id=probe,
            planned_affected=total, share=total / total_planned,
            statement=(f"{probe}: {plural(total, 'planned episode')} {word} "
                       f"({percent(total / sizes.sum())} of those planned in its cells with evidence) are not "
                       f"spread at random: they sit in cells whose scored episodes {direction} than "
                       f"the rest ({percent(1 - pooled)} succeed overall) — {details}"
                       + (f" and {more} more cells" if more else "")
                       + f". {test.test}: statistic {test.statistic:.3g}, p = {test.p_value:.3g} "
                       f"(Bonferroni over the two tests: {min(1.0, 2 * test.p_value):.3g})."),
            question=(f"On {probe}, {word} episodes concentrate in {', '.join(shown)}"
                      + (f" and {more} more" if more else "")
                      + ": what happened to those episodes, and would their outcomes change the "
                      "cells' scores? Provide the harness's full output for them."),
            cells=shown, cells_more=more, test=test.test, statistic=test.statistic,
            p_value=test.p_value, p_adjusted=min(1.0, 2 * test.p_value)))
    return out


def unverified_strata(result: ConformanceResult) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per plan cell: its conformant attempts with an outcome (completed or timed out), their successes,
    the unverified ones among them (no recorded seed or pinned key) and their successes."""
    a = result.arrays
    keys = a.keys
    # The first two from the counts per planned episode (a success is a completed attempt), the others
    # from their own few rows: no pass over every row.
    n, s = keys.per_cell(a.completed), keys.per_cell(a.attempt_successes)
    unverified = np.flatnonzero((a.seed_unverified | a.metadata_unverified)
                                & a.conformant & status_mask(a, "completed", "timeout"))
    cell = keys.planned_cell[a.planned_ix[unverified]]
    m = np.bincount(cell, minlength=len(keys.cells))
    hits = np.bincount(cell[a.row_success[unverified]], minlength=len(keys.cells))
    return n, s, m, hits


def unverified_findings(result: ConformanceResult, counts: CellCounts, total_planned: int) -> list[Finding]:
    """Per probe: do conformant attempts without a recorded seed or pinned key succeed more often?"""
    n, s, m, hits = unverified_strata(result)
    out = []
    for probe in dict.fromkeys(counts.probes.tolist()):
        mine = np.flatnonzero((counts.probes == probe) & (m > 0))
        if not len(mine):
            continue
        test = stratified_exact_greater(list(zip(*(column[mine].tolist() for column in (n, s, m, hits)))),
                                        only_below=DETECTION_ALPHA)
        if test is None or test.p_value > DETECTION_ALPHA:
            continue
        um, uh = int(m[mine].sum()), int(hits[mine].sum())
        vn, vs = int(n[mine].sum()) - um, int(s[mine].sum()) - uh
        chosen = sorted(mine.tolist(), key=lambda i: -(hits[i] / m[i] - (s[i] - hits[i]) / max(n[i] - m[i], 1)))
        shown, more = _named([counts.cell_ids[i] for i in chosen])
        out.append(Finding(
            kind="unverified_succeed_more", family="outcome_dependence", probe_id=probe,
            planned_affected=um, share=um / total_planned,
            statement=(f"{probe}: attempts lacking a recorded seed or pinned metadata succeed more often "
                       f"than verified ones in the same cells ({uh}/{um} = {percent(uh / um)} against "
                       f"{vs}/{vn}{' = ' + percent(vs / vn) if vn else ''}). {test.test}: "
                       f"{test.statistic:+.3g} successes over expectation, p = {test.p_value:.3g}."),
            question=(f"On {probe}, unverified attempts succeed more than verified ones ({', '.join(shown)}"
                      + (f" and {more} more" if more else "") + "): where do they come from, and can the "
                      "harness's seeds and metadata for them be produced?"),
            cells=shown, cells_more=more, test=test.test, statistic=test.statistic,
            p_value=test.p_value, p_adjusted=test.p_value))
    return out


def tail_strata(result: ConformanceResult, outcomes: EpisodeOutcomes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per plan cell: planned episodes, missing ones, and missing ones among its last `missing` in run
    order (the cell's episodes by episode index, initial states / seeds as the harness loops, ties in
    plan order)."""
    keys = result.arrays.keys
    missing = ~outcomes.matched
    size = len(keys.cells)
    cell, gone = keys.planned_cell, missing
    if not keys.ascending:
        # Plans list a cell's episodes ascending, so this sort is rarely needed (and costs seconds at 10M).
        order = np.lexsort((keys.episode_index, keys.planned_cell))
        cell, gone = keys.planned_cell[order], missing[order]
    n = keys.per_cell()
    # Only the missing episodes' positions are gathered: temporaries the size of what is missing,
    # not of the plan (each int64 one is 80 MB at ten million planned episodes).
    gone_at = np.flatnonzero(gone)
    gone_cell = cell[gone_at]
    m = np.bincount(gone_cell, minlength=size)
    # Among a cell's last m: its rank (position - cell start) >= n - m, i.e. position >= cell end - m.
    in_tail = gone_at >= (np.cumsum(n) - m)[gone_cell]
    hits = np.bincount(gone_cell[in_tail], minlength=size)
    return n, m, hits


def early_stopping_findings(result: ConformanceResult, outcomes: EpisodeOutcomes, counts: CellCounts,
                            total_planned: int) -> list[Finding]:
    """Per probe: are missing episodes the last ones of their cells' run order (a run stopped early)?"""
    n, m, hits = tail_strata(result, outcomes)
    out = []
    for probe in dict.fromkeys(counts.probes.tolist()):
        mine = np.flatnonzero(counts.probes == probe)
        strata = list(zip(n[mine].tolist(), m[mine].tolist(), hits[mine].tolist()))
        some, tail = m[mine], hits[mine]
        tails = [counts.cell_ids[i] for i in mine[(0 < some) & (some < n[mine]) & (tail == some)].tolist()]
        test = tail_hits_test(strata, only_below=DETECTION_ALPHA)
        if test is None or test.p_value > DETECTION_ALPHA or not tails:
            continue
        affected = sum(m for n, m, _ in strata if 0 < m < n)
        shown, more = _named(tails)
        out.append(Finding(
            kind="early_stopping", family="outcome_dependence", probe_id=probe,
            planned_affected=affected, share=affected / total_planned,
            statement=(f"{probe}: missing episodes form the tail of the run order in "
                       f"{plural(len(tails), 'cell')} ({', '.join(shown)}" + (f" and {more} more" if more else "")
                       + f"), as if runs were stopped early. {test.test}: {test.statistic:+.3g} tail "
                       f"episodes over expectation, p = {test.p_value:.3g}."),
            question=(f"On {probe}, were the runs of {', '.join(shown)}" + (f" and {more} more" if more else "")
                      + " stopped before their last planned episodes, and was the decision to stop made "
                      "after seeing results?"),
            cells=shown, cells_more=more, test=test.test, statistic=test.statistic,
            p_value=test.p_value, p_adjusted=test.p_value))
    return out


def infra_rate_findings(plan: ProtocolPlan, counts: CellCounts, total_planned: int) -> list[Finding]:
    """Per probe: infrastructure failures above the base rate the plan declares (if it declares one)."""
    rate = getattr(plan, "infra_base_rate", None)
    if rate is None:
        return []
    out = []
    for probe in dict.fromkeys(counts.probes.tolist()):
        mine = counts.probes == probe
        infra, attempted = int(counts.kinds["infra"][mine].sum()), int(counts.matched[mine].sum())
        if not infra:
            continue
        test = binomial_excess(infra, attempted, rate)
        if test.p_value > DETECTION_ALPHA:
            continue
        worst = np.flatnonzero(mine & (counts.kinds["infra"] > 0))
        worst = worst[np.argsort(-counts.kinds["infra"][worst] / counts.planned[worst], kind="stable")]
        shown, more = _named([counts.cell_ids[i] for i in worst])
        out.append(Finding(
            kind="infra_above_base_rate", family="outcome_dependence", probe_id=probe,
            planned_affected=infra, share=infra / total_planned,
            statement=(f"{probe}: {infra}/{attempted} attempted episodes ended in infrastructure failures "
                       f"({percent(infra / attempted)}), above the plan's declared base rate "
                       f"{percent(rate)}. {test.test}: p = {test.p_value:.3g}."),
            question=(f"On {probe}, infrastructure failures run at {percent(infra / attempted)} against the "
                      f"declared {percent(rate)} (most in {', '.join(shown)}" + (f" and {more} more" if more else "")
                      + "): what failed, and were any of them policy failures?"),
            cells=shown, cells_more=more, test=test.test, statistic=test.statistic,
            p_value=test.p_value, p_adjusted=test.p_value))
    return out


def outcome_findings(plan: ProtocolPlan, result: ConformanceResult, tests: OutcomeTests | None = None) -> list[Finding]:
    """Every outcome-dependence finding; `tests`: outcome_tests(plan, result), if the caller started them."""
    tests = outcome_tests(plan, result) if tests is None else tests
    total = max(len(result.arrays.keys), 1)
    # The tracking tests wait for their permutation draws (on the background thread): the others first.
    rest = (unverified_findings(result, tests.counts, total)
            + early_stopping_findings(result, tests.outcomes, tests.counts, total)
            + infra_rate_findings(plan, tests.counts, total))
    return tracking_findings(plan, tests, total) + rest
