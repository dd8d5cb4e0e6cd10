"""The tests behind the outcome-dependence findings. Each p-value is valid at any sample size: exact
(sums of hypergeometric counts, convolved) or a Monte Carlo permutation p-value, (1 + hits) / (1 + draws).

scipy is imported inside the functions that need it. The hypergeometric pmf and tail come from the
Boost kernels that `scipy.stats.hypergeom` itself calls (`scipy.special._ufuncs`), wrapped here as
`rv_discrete.pmf`/`.sf` wrap them (tests/test_exact_tests.py checks the two agree bit for bit):
importing `scipy.stats` costs over a second, `scipy.special` a fraction of it. The convolutions use numpy.

A test whose p-value matters only below a threshold (a finding is raised at DETECTION_ALPHA) is first
screened: the same p-value from a hypergeometric pmf built by the ratio of successive terms (numpy
only, within ~1e-9 of Boost's), and if it is above the threshold by SCREEN_MARGIN, the test reports
nothing and scipy is never imported. Every p-value a caller receives is the exact one.

Multiplicity is corrected by Holm's step-down. `holm` gives exactly what statsmodels'
`multipletests(p, method="holm")` gives (tests/test_exact_tests.py checks it against statsmodels),
but statsmodels' holm branch calls `gc.collect()` on every call (statsmodels 0.15,
stats/multitest.py), which costs over half a second per call in a packet-sized process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

# Findings are raised at this level; bench/detect_false_alarms.py shows clean evidence stays within it.
DETECTION_ALPHA = 0.01
PERMUTATIONS = 4999
# Above this many cells a permutation draws fewer samples per chunk (memory, not validity).
CHUNK_ENTRIES = 4_000_000
# With `stop_above`, draws come in chunks growing from this size; the generator's stream is the same
# whatever the chunking, so the hits among the first k draws never depend on it.
FIRST_CHUNK = 8
# Above this many products a convolution goes through the FFT instead of numpy's direct sum.
DIRECT_CONVOLUTION = 1 << 16
# A screened p-value this much (relatively) above its threshold is surely above it: the screen and the
# exact kernels agree to ~1e-9, so only p-values within 1% of a threshold go to the exact kernels.
SCREEN_MARGIN = 0.01
# Cells in more distinct sizes than this are not screened (one pmf per size).
SCREEN_SIZES = 64


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


def _hypergeom_kernels():  # type: ignore[no-untyped-def]
    """scipy's Boost kernels behind `scipy.stats.hypergeom` (pmf, sf), or None if this scipy has none."""
    try:
        from scipy.special import _ufuncs

        return _ufuncs._hypergeom_pmf, _ufuncs._hypergeom_sf
    except (ImportError, AttributeError):  # pragma: no cover - scipy moved them: use scipy.stats
        return None


def hypergeom_pmf(k: np.ndarray, population: np.ndarray, marked: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """`scipy.stats.hypergeom.pmf(k, population, marked, drawn)` on integer arrays, bit for bit."""
    return _hypergeom(k, population, marked, drawn, tail=False)


def hypergeom_sf(k: np.ndarray, population: np.ndarray, marked: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """`scipy.stats.hypergeom.sf(k, population, marked, drawn)` (P(X > k)) on integer arrays, bit for bit."""
    return _hypergeom(k, population, marked, drawn, tail=True)


def _hypergeom(k: np.ndarray, population: np.ndarray, marked: np.ndarray, drawn: np.ndarray, *,
               tail: bool) -> np.ndarray:
    # The rules of scipy.stats' rv_discrete.pmf / .sf (scipy 1.17 _distn_infrastructure.py) around the
    # kernel: invalid parameters give NaN, k below the support has pmf 0 and sf 1, above it 0 and 0.
    k, big, good, draws = np.broadcast_arrays(*(np.asarray(a, dtype=np.int64) for a in (k, population, marked, drawn)))
    kernels = _hypergeom_kernels()
    if kernels is None:  # pragma: no cover
        from scipy import stats

        return np.asarray((stats.hypergeom.sf if tail else stats.hypergeom.pmf)(k, big, good, draws), dtype=float)
    low, high = np.maximum(draws - (big - good), 0), np.minimum(good, draws)
    valid = (big > 0) & (good >= 0) & (draws >= 0) & (good <= big) & (draws <= big)
    inside = valid & (k >= low) & ((k < high) if tail else (k <= high))
    out = np.zeros(k.shape, dtype=float)
    out[~valid] = np.nan
    if tail:
        out[valid & (k < low)] = 1.0
    if inside.any():
        arguments = np.stack([k[inside], good[inside], draws[inside], big[inside]])
        # The tail once per distinct arguments: Boost sums it term by term (0.3 s at 100k for cells of one
        # size, which repeat their arguments); the pmf is cheaper than finding its repeats.
        values = _once_each(kernels[1], arguments) if tail else kernels[0](*arguments)
        out[inside] = np.clip(values, 0, 1)
    return out


def _once_each(kernel, arguments: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """`kernel(*arguments)` for a (4, n) integer array, calling it once for each distinct column."""
    order = np.lexsort(arguments)
    ordered = arguments[:, order]
    first = np.ones(ordered.shape[1], dtype=bool)
    first[1:] = (ordered[:, 1:] != ordered[:, :-1]).any(axis=0)
    values = np.empty(ordered.shape[1], dtype=float)
    values[order] = np.asarray(kernel(*ordered[:, first]), dtype=float)[np.cumsum(first) - 1]
    return values


def cell_excess_p(counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Per cell, the one-sided Fisher exact p-value that its count exceeds the rest's rate.

    Given the total, a cell's count is hypergeometric (population: all units, successes: all counted
    units, draws: the cell's units), so P(X >= k) is the one-sided Fisher test of the cell against the rest.
    """
    counts = np.asarray(counts, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    return hypergeom_sf(counts - 1, int(sizes.sum()), int(counts.sum()), sizes)


def association_permutation(counts: np.ndarray, sizes: np.ndarray, weights: np.ndarray, *,
                            seed: int, draws: int = PERMUTATIONS, stop_above: float | None = None) -> TestResult:
    """Two-sided permutation test that the counts lean towards cells of high (or low) weight.

    Under the null the counted units are a uniform random subset of all units, so the per-cell
    counts are multivariate hypergeometric given the total; the statistic is the counts' weighted
    sum minus its expectation. With `stop_above`, drawing stops once the p-value of all `draws` is
    sure to exceed it, and the p-value returned is the smallest it could still reach (above `stop_above`);
    a p-value at or below `stop_above` is always the one all `draws` give.
    """
    counts = np.asarray(counts, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    weights = np.asarray(weights, dtype=float)
    total, units = int(counts.sum()), int(sizes.sum())
    centred = weights - float(sizes @ weights) / units
    observed = float(counts @ centred)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(draws, CHUNK_ENTRIES // max(len(sizes), 1)))
    step = chunk if stop_above is None else min(chunk, FIRST_CHUNK)
    hits, done = 0, 0
    tolerance = 1e-9 * max(1.0, abs(observed))
    while done < draws:
        n = min(step, draws - done)
        sample = rng.multivariate_hypergeometric(sizes, total, size=n, method="marginals")
        hits += int(np.count_nonzero(np.abs(sample @ centred) >= abs(observed) - tolerance))
        done += n
        if stop_above is not None and (1 + hits) / (1 + draws) > stop_above:
            break  # more draws can only add hits
        step = min(chunk, 2 * step)
        if stop_above is not None and hits:
            # At the rate seen so far, about this many more draws bring the hits to the stopping point
            # (doubling alone overshoots it up to twice); only how many draws are made depends on this.
            short = stop_above * (1 + draws) - 1 - hits
            step = min(step, max(FIRST_CHUNK, math.ceil(max(short, 1.0) * done / hits)))
    return TestResult("permutation (multivariate hypergeometric)", observed, (1 + hits) / (1 + draws))


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Full convolution: numpy's direct sum for short inputs, a real FFT for long ones."""
    if len(a) * len(b) <= DIRECT_CONVOLUTION:
        return np.convolve(a, b)
    size = len(a) + len(b) - 1
    fft_size = 1 << (size - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(a, fft_size) * np.fft.rfft(b, fft_size), fft_size)[:size]


def hypergeom_sum_sf(params: Sequence[tuple[int, int, int]], observed: int) -> float:
    """P(S >= observed) for S a sum of independent hypergeometric counts (population, marked, draws)."""
    return _sum_sf(params, observed, exact=True)


def _sum_sf(params: Sequence[tuple[int, int, int]], observed: int, *, exact: bool) -> float:
    """hypergeom_sum_sf with Boost's pmf (`exact`) or the screen's (`_support_pmfs`)."""
    if not len(params):
        return 1.0
    population, marked, drawn = (np.asarray(column, dtype=np.int64) for column in zip(*params))
    low, high = np.maximum(0, drawn + marked - population), np.minimum(drawn, marked)
    # Every stratum's pmf over its support in one kernel call, on the supports laid end to end.
    lengths = high - low + 1
    starts = np.cumsum(lengths) - lengths
    if exact:
        support = np.arange(int(lengths.sum())) - np.repeat(starts - low, lengths)
        flat = hypergeom_pmf(support, np.repeat(population, lengths), np.repeat(marked, lengths),
                             np.repeat(drawn, lengths))
    else:
        flat = _support_pmfs(population, marked, drawn)
    pmfs = [flat[start:end] for start, end in zip(starts.tolist(), (starts + lengths).tolist())]
    offset = int(low.sum())
    while len(pmfs) > 1:  # pairwise convolution keeps a thousand strata fast
        pmfs = [_convolve(pmfs[i], pmfs[i + 1]) if i + 1 < len(pmfs) else pmfs[i]
                for i in range(0, len(pmfs), 2)]
    pmf = np.clip(pmfs[0], 0, None)
    pmf /= pmf.sum()
    at = observed - offset
    if at <= 0:
        return 1.0
    if at >= len(pmf):
        return 0.0
    return float(min(1.0, pmf[at:].sum()))


def _support_pmfs(population: np.ndarray, marked: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """The screen's pmf of each valid hypergeometric over its whole support (low..high), laid end to
    end: log pmf(k + 1) - log pmf(k) = log((marked - k)(drawn - k)) - log((k + 1)(population - marked
    - drawn + k + 1)), summed along each support and normalised to 1 (no special function, no scipy)."""
    low, high = np.maximum(0, drawn + marked - population), np.minimum(drawn, marked)
    lengths = high - low + 1
    starts = np.cumsum(lengths) - lengths
    k = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(starts - low, lengths)
    good, draws, rest = (np.repeat(a, lengths) for a in (marked, drawn, population - marked - drawn))
    # The step into k from k - 1 (zero at each support's first value).
    step = np.zeros(len(k))
    inner = k > np.repeat(low, lengths)
    j = k[inner] - 1
    step[inner] = (np.log((good[inner] - j) * (draws[inner] - j).astype(float))
                   - np.log((j + 1) * (rest[inner] + j + 1).astype(float)))
    log_pmf = np.cumsum(step)
    log_pmf -= np.repeat(log_pmf[starts] - step[starts], lengths)  # each support from its own start
    log_pmf -= np.repeat(np.maximum.reduceat(log_pmf, starts), lengths)
    pmf = np.exp(log_pmf)
    return pmf / np.repeat(np.add.reduceat(pmf, starts), lengths)


def _screened_cell_excess(counts: np.ndarray, sizes: np.ndarray) -> np.ndarray | None:
    """cell_excess_p from the screen's pmf, or None where the screen does not apply (invalid counts,
    cells in more than SCREEN_SIZES sizes)."""
    population, marked = int(sizes.sum()), int(counts.sum())
    distinct = np.unique(sizes)
    if (len(distinct) > SCREEN_SIZES or population <= 0 or marked > population or (sizes < 0).any()
            or (counts < 0).any() or (counts > sizes).any()):
        return None
    out = np.empty(len(counts))
    for size in distinct.tolist():
        low = max(0, size + marked - population)
        pmf = _support_pmfs(np.array([population]), np.array([marked]), np.array([size]))
        tail = np.append(np.cumsum(pmf[::-1])[::-1], 0.0)  # tail[j] = P(X >= low + j)
        mine = sizes == size
        out[mine] = tail[np.clip(counts[mine] - low, 0, len(pmf))]
    return out


def _screen_level(threshold: float) -> float:
    """What a screened p-value must exceed to be surely above `threshold` (the screen's margin)."""
    return threshold * (1 + SCREEN_MARGIN)


def cell_excess_holm(counts: np.ndarray, sizes: np.ndarray, *, only_below: float) -> np.ndarray | None:
    """holm(cell_excess_p(counts, sizes)), or None when the screen shows every adjusted p-value is
    above `only_below` (the smallest is m times the smallest p-value)."""
    counts = np.asarray(counts, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    screened = _screened_cell_excess(counts, sizes)
    if screened is not None and len(counts) and screened.min() * len(counts) > _screen_level(only_below):
        return None
    return holm(cell_excess_p(counts, sizes))


def _screened_out(params: list[tuple[int, int, int]], observed: int, only_below: float | None) -> bool:
    """Whether the screen shows hypergeom_sum_sf(params, observed) is above `only_below`: at once when
    `observed` is far enough below the sum's mean (Cantelli's inequality, P(S <= mean - t) <=
    var / (var + t^2), bounds the upper tail from below), otherwise from the screen's pmf."""
    if only_below is None:
        return False
    level = _screen_level(only_below)
    population, marked, drawn = np.asarray(params, dtype=float).reshape(-1, 3).T
    mean = float((drawn * marked / population).sum())
    variance = float((drawn * marked * (population - marked) * (population - drawn)
                      / (population ** 2 * np.maximum(population - 1, 1))).sum())
    if level < 1 and mean - observed > math.sqrt(variance * level / (1 - level)):
        return True
    return _sum_sf(params, observed, exact=False) > level


def stratified_exact_greater(strata: Sequence[tuple[int, int, int, int]], *,
                             only_below: float | None = None) -> TestResult | None:
    """Exact conditional test (the exact form of Mantel-Haenszel) that a marked group succeeds more.

    Each stratum is (units with an outcome, successes among them, marked units, marked successes);
    given the margins the marked successes are hypergeometric, and their sum is compared with its
    exact distribution. The statistic is observed minus expected marked successes. With
    `only_below`: None when the screen shows the p-value is above it.
    """
    usable = [(n, s, m, a) for n, s, m, a in strata if 0 < m < n and 0 < s < n]
    if not usable:
        return TestResult("stratified exact (conditional)", 0.0, 1.0)
    observed = sum(a for *_, a in usable)
    expected = sum(m * s / n for n, s, m, _ in usable)
    params = [(n, s, m) for n, s, m, _ in usable]
    if _screened_out(params, observed, only_below):
        return None
    return TestResult("stratified exact (conditional)", observed - expected, hypergeom_sum_sf(params, observed))


# One name per test, whether or not any data could be tested (a reader matches findings by it).
TAIL_TEST = "exact tail test (sum of hypergeometric tail hits)"
BINOMIAL_TEST = "exact binomial (one-sided)"


def tail_hits_test(strata: Sequence[tuple[int, int, int]], *, only_below: float | None = None) -> TestResult | None:
    """Exact test that missing units sit at the end of each stratum's run order.

    Each stratum is (units, missing, missing among the last `missing` units). Under the null the
    missing units are a uniform subset, so the tail hits are hypergeometric(units, missing, missing).
    With `only_below`: None when the screen shows the p-value is above it.
    """
    usable = [(n, m, h) for n, m, h in strata if 0 < m < n]
    if not usable:
        return TestResult(TAIL_TEST, 0.0, 1.0)
    observed = sum(h for *_, h in usable)
    expected = sum(m * m / n for n, m, _ in usable)
    params = [(n, m, m) for n, m, _ in usable]
    if _screened_out(params, observed, only_below):
        return None
    return TestResult(TAIL_TEST, observed - expected,
                      hypergeom_sum_sf(params, observed))


def binomial_excess(count: int, trials: int, rate: float) -> TestResult:
    """One-sided exact binomial test that `count` of `trials` exceeds a declared base rate."""
    if trials == 0:
        return TestResult(BINOMIAL_TEST, 0.0, 1.0)
    from scipy import stats

    result = stats.binomtest(count, trials, rate, alternative="greater")
    return TestResult(BINOMIAL_TEST, count / trials, float(result.pvalue))
