"""The detectors' tests against reference implementations and their own definitions."""

from __future__ import annotations

from unittest import mock

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from worldflux_nb.core import exact_tests
from worldflux_nb.core.exact_tests import (
    SCREEN_MARGIN, association_permutation, binomial_excess, cell_excess_holm, cell_excess_p, holm, hypergeom_pmf,
    hypergeom_sf, hypergeom_sum_sf, stratified_exact_greater, tail_hits_test,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 60), st.integers(-2, 50), st.integers(-2, 50), st.integers(-2, 50)),
                min_size=1, max_size=40))
def test_hypergeometric_kernels_are_scipy_stats_bit_for_bit(rows):
    # (k, population, marked, drawn), invalid parameters and k outside the support included.
    k, population, marked, drawn = (np.array(column, dtype=np.int64) for column in zip(*rows))
    for ours, theirs in ((hypergeom_pmf, stats.hypergeom.pmf), (hypergeom_sf, stats.hypergeom.sf)):
        np.testing.assert_array_equal(ours(k, population, marked, drawn), theirs(k, population, marked, drawn))


def test_hypergeometric_kernels_at_packet_scale_are_scipy_stats_bit_for_bit():
    rng = np.random.default_rng(7)
    sizes = rng.integers(50, 150, size=10_000)
    counts = rng.binomial(sizes, 0.03)
    np.testing.assert_array_equal(cell_excess_p(counts, sizes),
                                  stats.hypergeom.sf(counts - 1, int(sizes.sum()), int(counts.sum()), sizes))
    k = rng.integers(0, 40, size=5000)
    np.testing.assert_array_equal(hypergeom_pmf(k, 1_000_000, 30_000, 100), stats.hypergeom.pmf(k, 1_000_000, 30_000, 100))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_holm_is_statsmodels_holm(p):
    from statsmodels.stats.multitest import multipletests

    # statsmodels' Holm ends with a full gc.collect(): ~0.5 s a call late in the suite's large heap.
    with mock.patch("gc.collect"):
        assert np.allclose(holm(p), multipletests(np.array(p), method="holm")[1])


def test_cell_excess_is_one_sided_fisher():
    counts, sizes = np.array([9, 2, 1]), np.array([20, 20, 20])
    for k, n in zip(counts, sizes):
        table = [[k, n - k], [counts.sum() - k, sizes.sum() - n - (counts.sum() - k)]]
        assert np.isclose(cell_excess_p(counts, sizes)[list(counts).index(k)],
                          stats.fisher_exact(table, alternative="greater")[1])


def test_sum_of_hypergeometrics_matches_simulation_and_single_case():
    assert np.isclose(hypergeom_sum_sf([(20, 5, 5)], 3), stats.hypergeom.sf(2, 20, 5, 5))
    rng = np.random.default_rng(0)
    params = [(20, 6, 6), (15, 4, 4), (30, 10, 10)]
    draws = sum(rng.hypergeometric(m, n - m, m, size=200_000) for n, m, _ in params)
    assert abs(hypergeom_sum_sf(params, 9) - (draws >= 9).mean()) < 0.005


def test_stratified_exact_and_tail_test_see_what_they_should():
    even = stratified_exact_greater([(20, 10, 10, 5), (20, 10, 10, 5)])
    skewed = stratified_exact_greater([(20, 10, 10, 10), (20, 10, 10, 9)])
    assert even.p_value > 0.4 and skewed.p_value < 0.001
    assert tail_hits_test([(20, 5, 5), (20, 5, 5)]).p_value < 1e-4
    assert tail_hits_test([(20, 5, 1), (20, 5, 1)]).p_value > 0.5


def test_permutation_p_is_never_below_its_resolution_and_sees_a_lean():
    sizes = np.full(6, 20)
    flat = association_permutation(np.array([2, 2, 2, 2, 2, 2]), sizes, np.linspace(0, 1, 6), seed=1, draws=999)
    lean = association_permutation(np.array([0, 0, 0, 2, 4, 6]), sizes, np.linspace(0, 1, 6), seed=1, draws=999)
    assert flat.p_value >= 1 / 1000 and flat.p_value > 0.5 and lean.p_value < 0.01


def _exact_sum_sf(params, observed) -> float:
    """P(S >= observed) for a sum of independent hypergeometric counts, from each full pmf convolved."""
    total = np.array([1.0])
    for population, marked, drawn in params:
        total = np.convolve(total, stats.hypergeom.pmf(np.arange(drawn + 1), population, marked, drawn))
    return float(total[max(observed, 0):].sum())


stratum = st.tuples(st.integers(1, 14), st.integers(0, 14), st.integers(0, 14)).map(
    lambda t: (t[0], min(t[1], t[0]), min(t[2], t[0])))


@settings(max_examples=60, deadline=None)
@given(st.lists(stratum, min_size=1, max_size=6), st.integers(-3, 40))
def test_sum_of_hypergeometrics_is_the_convolution_of_the_strata(params, observed):
    assert np.isclose(hypergeom_sum_sf(params, observed), _exact_sum_sf(params, observed), rtol=1e-9, atol=1e-12)


def test_large_strata_convolve_through_the_fft_to_the_same_tail():
    """Supports of a few hundred values take the FFT branch of the convolution; the tail is unchanged."""
    params = [(2000, 600, 600), (1500, 400, 500), (900, 300, 300)]
    mean = sum(m * d / n for n, m, d in params)
    for observed in (int(mean) - 40, int(mean), int(mean) + 25, int(mean) + 60):
        assert np.isclose(hypergeom_sum_sf(params, observed), _exact_sum_sf(params, observed), rtol=1e-7, atol=1e-15)
    assert hypergeom_sum_sf(params, 0) == 1.0 and hypergeom_sum_sf(params, 1401) == 0.0


def test_stratified_and_tail_tests_are_their_exact_conditional_distributions():
    strata = [(12, 5, 4, 3), (9, 1, 1, 1), (10, 4, 1, 1), (8, 8, 3, 3), (7, 0, 2, 0), (6, 3, 6, 3)]
    usable = [(n, s, m, a) for n, s, m, a in strata if 0 < m < n and 0 < s < n]
    result = stratified_exact_greater(strata)
    observed = sum(a for *_, a in usable)
    assert np.isclose(result.statistic, observed - sum(m * s / n for n, s, m, _ in usable))
    assert np.isclose(result.p_value, _exact_sum_sf([(n, s, m) for n, s, m, _ in usable], observed))
    # A stratum where every unit (or none) is marked, or every unit (or none) succeeded, has no chance
    # to lean: it changes neither the statistic nor the p-value.
    assert stratified_exact_greater(usable) == result
    nothing = stratified_exact_greater([(5, 5, 2, 2), (5, 0, 2, 0)])
    # No usable stratum: no excess and p = 1, reported under the same test as any other call.
    assert (nothing.test, nothing.statistic, nothing.p_value) == (result.test, 0.0, 1.0)
    tails = [(10, 3, 2), (12, 1, 1), (9, 9, 9), (6, 2, 0)]
    tail = tail_hits_test(tails)
    kept = [(n, m, h) for n, m, h in tails if 0 < m < n]
    assert np.isclose(tail.statistic, sum(h for *_, h in kept) - sum(m * m / n for n, m, _ in kept))
    assert np.isclose(tail.p_value, _exact_sum_sf([(n, m, m) for n, m, _ in kept], sum(h for *_, h in kept)))
    none_usable = tail_hits_test([(5, 0, 0), (5, 5, 5)])
    assert (none_usable.statistic, none_usable.p_value) == (0.0, 1.0)


def _exact_permutation_p(counts, sizes, weights) -> float:
    """The two-sided p-value of the weighted statistic over every outcome of the multivariate
    hypergeometric (counts given their total), enumerated."""
    from itertools import product
    from math import comb

    sizes, weights = np.asarray(sizes), np.asarray(weights, dtype=float)
    centred = weights - sizes @ weights / sizes.sum()
    observed = abs(np.asarray(counts) @ centred)
    total, p = int(np.sum(counts)), 0.0
    for outcome in product(*(range(s + 1) for s in sizes)):
        if sum(outcome) == total:
            ways = np.prod([comb(int(s), k) for s, k in zip(sizes, outcome)])
            if abs(np.asarray(outcome) @ centred) >= observed - 1e-9:
                p += ways
    return p / comb(int(sizes.sum()), total)


def test_permutation_p_value_estimates_the_exact_one():
    sizes, weights = np.array([4, 3, 5, 4]), np.array([0.0, 1.0, 2.0, 3.0])
    for counts in ([1, 1, 2, 1], [0, 1, 2, 3], [2, 0, 1, 0]):
        exact = _exact_permutation_p(counts, sizes, weights)
        result = association_permutation(np.array(counts), sizes, weights, seed=11, draws=4999)
        assert abs(result.p_value - exact) < 0.025, (counts, result.p_value, exact)
        expected = np.sum(counts) * (sizes @ weights) / sizes.sum()
        assert np.isclose(result.statistic, np.asarray(counts) @ weights - expected)
    # Every draw is at least as extreme as a count exactly at its expectation; none is as extreme as
    # all counts in the heaviest cell: p is 1, and the resolution 1 / (1 + draws).
    even = association_permutation(np.array([2, 2]), np.array([10, 10]), np.array([0.0, 1.0]), seed=3, draws=499)
    assert even.p_value == 1.0
    corner = association_permutation(np.array([0, 0, 0, 9]), np.array([40, 40, 40, 9]), np.arange(4.0), seed=3,
                                      draws=499)
    assert corner.p_value == 1 / 500


def test_permutation_p_value_is_the_same_whatever_the_chunks_and_for_the_same_seed(monkeypatch):
    """Draws come in chunks (CHUNK_ENTRIES cells x draws at most, or growing from FIRST_CHUNK with
    `stop_above`); the generator's stream, and so the p-value, does not depend on them."""
    import worldflux_nb.core.exact_tests as exact

    rng = np.random.default_rng(0)
    sizes = rng.integers(5, 30, size=40)
    weights = rng.normal(size=40)
    counts = rng.binomial(sizes, 0.3)
    whole = association_permutation(counts, sizes, weights, seed=9, draws=999)
    assert whole == association_permutation(counts, sizes, weights, seed=9, draws=999)
    monkeypatch.setattr(exact, "CHUNK_ENTRIES", 40 * 97)  # chunks of 97 draws
    chunked = association_permutation(counts, sizes, weights, seed=9, draws=999)
    assert chunked == whole and 0.01 < whole.p_value < 0.99
    assert association_permutation(counts.astype(float), sizes.astype(float), weights, seed=9, draws=999) == whole
    others = {association_permutation(counts, sizes, weights, seed=s, draws=999).p_value for s in range(4)}
    assert len(others) > 1  # the seed is used


def test_stopping_early_never_changes_a_p_value_at_or_below_the_threshold():
    sizes, weights = np.full(8, 15), np.linspace(0, 1, 8)
    for counts in ([1, 2, 3, 4, 5, 6, 7, 8], [3, 3, 4, 3, 4, 3, 4, 3], [0, 1, 1, 2, 3, 4, 6, 7]):
        full = association_permutation(np.array(counts), sizes, weights, seed=4, draws=1999)
        for threshold in (0.001, 0.01, 0.05, 0.5):
            early = association_permutation(np.array(counts), sizes, weights, seed=4, draws=1999,
                                            stop_above=threshold)
            if full.p_value <= threshold:
                assert early == full
            else:
                assert threshold < early.p_value <= full.p_value


def test_binomial_excess_is_the_one_sided_exact_binomial_test():
    for count, trials, rate in [(7, 20, 0.1), (2, 20, 0.1), (0, 5, 0.3), (5, 5, 0.3)]:
        result = binomial_excess(count, trials, rate)
        assert np.isclose(result.p_value, stats.binom.sf(count - 1, trials, rate))
        assert np.isclose(result.statistic, count / trials)
    assert binomial_excess(0, 0, 0.1).p_value == 1.0 and binomial_excess(0, 0, 0.1).statistic == 0.0


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([1, 8, 64]))
def test_stopping_early_never_changes_a_p_value_it_could_report(seed, first_chunk):
    """Draws come in chunks (growing from FIRST_CHUNK) when the test may stop early; the generator's
    stream does not depend on the chunking, so a p-value at or below `stop_above` is the full one."""
    import worldflux_nb.core.exact_tests as exact

    rng = np.random.default_rng(seed)
    cells = int(rng.integers(2, 40))
    sizes = rng.integers(5, 40, size=cells)
    counts = rng.binomial(sizes, rng.uniform(0.05, 0.5))
    weights = rng.random(cells)
    full = association_permutation(counts, sizes, weights, seed=seed, draws=999)
    original = exact.FIRST_CHUNK
    try:
        exact.FIRST_CHUNK = first_chunk
        never_stops = association_permutation(counts, sizes, weights, seed=seed, draws=999, stop_above=1.0)
        stops = association_permutation(counts, sizes, weights, seed=seed, draws=999, stop_above=0.05)
    finally:
        exact.FIRST_CHUNK = original
    assert never_stops.p_value == full.p_value
    assert stops.p_value == full.p_value if full.p_value <= 0.05 else stops.p_value > 0.05


# ------------------------------------------------------------------ the screen (no scipy below the threshold)

@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 120), st.floats(0, 1)), min_size=1, max_size=60), st.integers(0, 5))
def test_the_screened_cell_p_values_are_boosts_to_a_billionth(cells, planted):
    sizes = np.array([n for n, _ in cells], dtype=np.int64)
    counts = np.array([round(n * rate) for n, rate in cells], dtype=np.int64)
    counts[: planted] = sizes[: planted]  # cells where every unit is counted: the far tail
    screened = exact_tests._screened_cell_excess(counts, sizes)
    exact = cell_excess_p(counts, sizes)
    assert screened is not None
    np.testing.assert_allclose(screened, exact, rtol=1e-9, atol=1e-300)


@settings(max_examples=100, deadline=None)
@given(st.lists(stratum, min_size=1, max_size=30), st.integers(-3, 200))
def test_the_screened_sum_is_the_exact_sum_to_a_ten_billionth(params, observed):
    params = [(n, m, d) for n, m, d in params]
    assert abs(exact_tests._sum_sf(params, observed, exact=False) - hypergeom_sum_sf(params, observed)) < 1e-10


def test_the_screened_sum_holds_for_large_strata_through_the_fft():
    params = [(2000, 600, 600), (1500, 400, 500), (900, 300, 300)] * 40
    mean = sum(m * d / n for n, m, d in params)
    for observed in (int(mean) - 40, int(mean), int(mean) + 60, int(mean) + 120, int(mean) + 200):
        assert abs(exact_tests._sum_sf(params, observed, exact=False) - hypergeom_sum_sf(params, observed)) < 1e-10


@settings(max_examples=150, deadline=None)
@given(st.integers(2, 400), st.floats(0.001, 0.2), st.integers(0, 12), st.integers(0, 2**32 - 1),
       st.sampled_from([0.005, 0.01, 0.05]))
def test_a_screened_out_cell_test_is_one_whose_adjusted_p_values_are_all_above_the_threshold(
        cells, rate, excess, seed, threshold):
    rng = np.random.default_rng(seed)
    sizes = rng.choice([40, 100, 100, 150], size=cells)
    counts = rng.binomial(sizes, rate)
    counts[0] = min(sizes[0], counts[0] + excess)  # one cell leaning: near the threshold or past it
    adjusted = holm(cell_excess_p(counts, sizes))
    screened = cell_excess_holm(counts, sizes, only_below=threshold)
    if screened is None:
        assert adjusted.min() > threshold
    else:
        np.testing.assert_array_equal(screened, adjusted)
        # Only a p-value near or below the threshold goes to the exact kernels.
        assert adjusted.min() <= threshold * (1 + 3 * SCREEN_MARGIN)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(4, 60), st.integers(1, 59), st.integers(1, 59), st.integers(0, 59)),
                min_size=1, max_size=25), st.sampled_from([0.001, 0.01, 0.2]))
def test_a_screened_out_stratified_or_tail_test_is_one_whose_p_value_is_above_the_threshold(rows, threshold):
    strata = [(n, min(s, n - 1), min(m, n - 1), min(a, s, m)) for n, s, m, a in rows]
    for test, data in ((stratified_exact_greater, strata),
                       (tail_hits_test, [(n, m, min(a, m)) for n, _, m, a in strata])):
        full = test(data)
        screened = test(data, only_below=threshold)
        if screened is None:
            assert full.p_value > threshold
        else:
            assert screened == full
            assert full.p_value <= threshold * (1 + 3 * SCREEN_MARGIN)


def test_a_test_the_screen_settles_imports_no_scipy():
    code = ("import sys, numpy as np\n"
            "from worldflux_nb.core.exact_tests import cell_excess_holm, stratified_exact_greater, tail_hits_test\n"
            "rng = np.random.default_rng(3)\n"
            "sizes = np.full(3000, 100); counts = rng.binomial(sizes, 0.03)\n"
            "assert cell_excess_holm(counts, sizes, only_below=0.005) is None\n"
            "assert stratified_exact_greater([(100, 50, 10, 4)] * 50, only_below=0.01) is None\n"
            "assert tail_hits_test([(100, 3, 0)] * 50, only_below=0.01) is None\n"
            "assert 'scipy' not in sys.modules\n"
            "assert cell_excess_holm(counts + (np.arange(3000) == 0) * 40, sizes, only_below=0.005) is not None\n"
            "assert 'scipy.special' in sys.modules\n")
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", code], check=True)


def small_grid() -> tuple[np.ndarray, ...]:
    """Every (k, population, marked, drawn) with small values, invalid parameters and k outside the
    support included (a population of one among them)."""
    grid = np.array(np.meshgrid(np.arange(-1, 6), np.arange(0, 6), np.arange(-1, 7), np.arange(-1, 7)))
    return tuple(grid.reshape(4, -1).astype(np.int64))


def test_hypergeometric_kernels_are_scipy_stats_on_every_small_case():
    k, population, marked, drawn = small_grid()
    for ours, theirs in ((hypergeom_pmf, stats.hypergeom.pmf), (hypergeom_sf, stats.hypergeom.sf)):
        np.testing.assert_array_equal(ours(k, population, marked, drawn), theirs(k, population, marked, drawn))


def test_without_the_boost_kernels_the_values_come_from_scipy_stats(monkeypatch):
    """A scipy that moved its private kernels still gives scipy.stats' pmf and tail."""
    import worldflux_nb.core.exact_tests as module

    monkeypatch.setattr(module, "_hypergeom_kernels", lambda: None)
    k, population, marked, drawn = small_grid()
    for ours, theirs in ((hypergeom_pmf, stats.hypergeom.pmf), (hypergeom_sf, stats.hypergeom.sf)):
        np.testing.assert_array_equal(ours(k, population, marked, drawn), theirs(k, population, marked, drawn))


def test_permutation_p_value_is_the_same_for_weights_shifted_and_scaled():
    """Only the weights' order and spacing matter: shifting them and scaling them by 10^7 keeps every tie
    of the weighted sums (thirds are inexact in floating point, so ties differ by rounding) and the p-value."""
    rng = np.random.default_rng(3)
    for _ in range(8):
        cells = int(rng.integers(3, 30))
        sizes = rng.integers(1, 6, cells)
        counts = rng.binomial(sizes, 0.4)
        weights = rng.integers(0, 4, cells) / 3
        p = association_permutation(counts, sizes, weights, seed=1, draws=999).p_value
        for scaled in (weights * 1e7 + 12345.678, weights - 5.0, weights * 1e-3):
            assert association_permutation(counts, sizes, scaled, seed=1, draws=999).p_value == p


def test_a_p_value_just_below_its_threshold_is_never_screened_out():
    """The screen sends every p-value within SCREEN_MARGIN (1%) of the threshold to the exact kernels:
    one at 0.00998 under a 0.01 threshold is reported, exactly; one far above is screened out."""
    near = [(22, 4, 3)]  # P(X >= 3), X ~ hypergeom(22, 4, 4): 0.009979...
    exact = tail_hits_test(near)
    assert 0.0099 <= exact.p_value < 0.01
    assert tail_hits_test(near, only_below=0.01) == exact
    assert tail_hits_test([(22, 4, 1)], only_below=0.01) is None
    # The per-cell excess test's Holm-adjusted minimum: 0.00995... under 0.01.
    counts, sizes = np.array([13, 5, 5]), np.array([20, 20, 20])
    adjusted = holm(cell_excess_p(counts, sizes))
    assert 0.0099 <= adjusted.min() < 0.01
    screened = cell_excess_holm(counts, sizes, only_below=0.01)
    assert screened is not None and np.array_equal(screened, adjusted)
    assert cell_excess_holm(np.array([6, 5, 5]), sizes, only_below=0.01) is None


def test_each_test_keeps_its_name_when_nothing_can_be_tested():
    from worldflux_nb.core.exact_tests import binomial_excess, tail_hits_test

    assert tail_hits_test([(10, 0, 0)]).test == tail_hits_test([(10, 3, 3)]).test
    assert binomial_excess(0, 0, 0.1).test == binomial_excess(3, 10, 0.1).test
