"""The detectors' tests against reference implementations and their own definitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from worldflux_nb.core.exact_tests import (
    association_permutation, cell_excess_p, holm, hypergeom_pmf, hypergeom_sf, hypergeom_sum_sf,
    stratified_exact_greater, tail_hits_test,
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
