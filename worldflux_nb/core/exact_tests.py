"""The tests behind the outcome-dependence findings. Each p-value is valid at any sample size: exact
(sums of hypergeometric counts, convolved) or a Monte Carlo permutation p-value, (1 + hits) / (1 + draws).

Multiplicity is corrected by Holm's step-down. `holm` gives exactly what statsmodels'
`multipletests(p, method="holm")` gives (tests/test_exact_tests.py checks it against statsmodels),
but statsmodels' holm branch calls `gc.collect()` on every call (statsmodels 0.15,
stats/multitest.py), which costs over half a second per call in a packet-sized process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import signal, stats

# Findings are raised at this level; bench/detect_false_alarms.py shows clean evidence stays within it.
DETECTION_ALPHA = 0.01
PERMUTATIONS = 4999
# Above this many cells a permutation draws fewer samples per chunk (memory, not validity).
CHUNK_ENTRIES = 4_000_000


@dataclass(frozen=True)
class TestResult:
    test: str
    statistic: float
    p_value: float


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values: sorted p times (m, m-1, ..., 1), running maximum, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    if not len(p):
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * np.arange(len(p), 0, -1)))
    out = np.empty_like(adjusted)
    out[order] = adjusted
    return out


def cell_excess_p(counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per cell, the one-sided Fisher exact p-value that its count exceeds the rest's rate.

    Given the total, a cell's count is hypergeometric (population: all units, successes: all counted
    units, draws: the cell's units), so P(X >= k) is the one-sided Fisher test of the cell against the rest.
    """
    counts = np.asarray(counts, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    return stats.hypergeom.sf(counts - 1, int(sizes.sum()), int(counts.sum()), sizes)


def association_permutation(counts: np.ndarray, sizes: np.ndarray, weights: np.ndarray, *,
                            seed: int, draws: int = PERMUTATIONS) -> TestResult:
    """Two-sided permutation test that the counts lean towards cells of high (or low) weight.

    Under the null the counted units are a uniform random subset of all units, so the per-cell
    counts are multivariate hypergeometric given the total; the statistic is the counts' weighted
    sum minus its expectation.
    """
    counts = np.asarray(counts, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    total, units = int(counts.sum()), int(sizes.sum())
    centred = weights - float(sizes @ weights) / units
    observed = float(counts @ centred)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(draws, CHUNK_ENTRIES // max(len(sizes), 1)))
    hits, done = 0, 0
    tolerance = 1e-9 * max(1.0, abs(observed))
    while done < draws:
        n = min(chunk, draws - done)
        sample = rng.multivariate_hypergeometric(sizes, total, size=n, method="marginals")
        hits += int(np.count_nonzero(np.abs(sample @ centred) >= abs(observed) - tolerance))
        done += n
    return TestResult("permutation (multivariate hypergeometric)", observed, (1 + hits) / (1 + draws))


def hypergeom_sum_sf(params: Sequence[tuple[int, int, int]], observed: int) -> float:
    """P(S >= observed) for S a sum of independent hypergeometric counts (population, marked, draws)."""
    pmfs = []
    offset = 0
    for population, marked, drawn in params:
        low, high = max(0, drawn + marked - population), min(drawn, marked)
        support = np.arange(low, high + 1)
        pmfs.append(stats.hypergeom.pmf(support, population, marked, drawn))
        offset += low
    if not pmfs:
        return 1.0
    while len(pmfs) > 1:  # pairwise FFT convolution keeps a thousand strata fast
        pmfs = [signal.fftconvolve(pmfs[i], pmfs[i + 1]) if i + 1 < len(pmfs) else pmfs[i]
                for i in range(0, len(pmfs), 2)]
    pmf = np.clip(pmfs[0], 0, None)
    pmf /= pmf.sum()
    at = observed - offset
    if at <= 0:
        return 1.0
    if at >= len(pmf):
        return 0.0
    return float(min(1.0, pmf[at:].sum()))


def stratified_exact_greater(strata: Sequence[tuple[int, int, int, int]]) -> TestResult:
    """Exact conditional test (the exact form of Mantel-Haenszel) that a marked group succeeds more.

    Each stratum is (units with an outcome, successes among them, marked units, marked successes);
    given the margins the marked successes are hypergeometric, and their sum is compared with its
    exact distribution. The statistic is observed minus expected marked successes.
    """
    usable = [(n, s, m, a) for n, s, m, a in strata if 0 < m < n and 0 < s < n]
    if not usable:
        return TestResult("stratified exact (conditional)", 0.0, 1.0)
    observed = sum(a for *_, a in usable)
    expected = sum(m * s / n for n, s, m, _ in usable)
    p = hypergeom_sum_sf([(n, s, m) for n, s, m, _ in usable], observed)
    return TestResult("stratified exact (conditional)", observed - expected, p)


def tail_hits_test(strata: Sequence[tuple[int, int, int]]) -> TestResult:
    """Exact test that missing units sit at the end of each stratum's run order.

    Each stratum is (units, missing, missing among the last `missing` units). Under the null the
    missing units are a uniform subset, so the tail hits are hypergeometric(units, missing, missing).
    """
    usable = [(n, m, h) for n, m, h in strata if 0 < m < n]
    if not usable:
        return TestResult("exact tail test", 0.0, 1.0)
    observed = sum(h for *_, h in usable)
    expected = sum(m * m / n for n, m, _ in usable)
    p = hypergeom_sum_sf([(n, m, m) for n, m, _ in usable], observed)
    return TestResult("exact tail test (sum of hypergeometric tail hits)", observed - expected, p)


def binomial_excess(count: int, trials: int, rate: float) -> TestResult:
    """One-sided exact binomial test that `count` of `trials` exceeds a declared base rate."""
    if trials == 0:
        return TestResult("exact binomial", 0.0, 1.0)
    result = stats.binomtest(count, trials, rate, alternative="greater")
    return TestResult("exact binomial (one-sided)", count / trials, float(result.pvalue))
