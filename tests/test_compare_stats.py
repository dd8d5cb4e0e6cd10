"""Every comparison statistic against scipy / statsmodels (or an exact integral) on random tables."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import integrate, optimize, stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from worldflux_nb.core.compare_design import log_e_value, paired_power, pairs_needed
from worldflux_nb.core.compare_stats import (
    _restricted_mle, adjusted, boschloo, compact_letters, mcnemar_exact, paired_score_interval, probability_better,
    probability_paired_better, score_test, unpaired_score_interval, unpaired_test,
)

TOL = 1e-9
rng = np.random.default_rng(20260115)


def random_tables(count: int, high: int = 60) -> np.ndarray:
    return rng.integers(0, high, size=(count, 4))


def test_mcnemar_matches_statsmodels_exact():
    tables = random_tables(300, 150)
    ours = mcnemar_exact(tables[:, 1], tables[:, 2])
    for (a, b, c, d), p in zip(tables, ours):
        assert abs(mcnemar([[a, b], [c, d]], exact=True).pvalue - p) < TOL
    assert mcnemar_exact(0, 0) == 1.0


def _newcombe_reference(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    """Newcombe (1998) method 10 written out per table from statsmodels' Wilson limits."""
    n = a + b + c + d
    p1, p2 = (a + c) / n, (a + b) / n
    l1, u1 = proportion_confint(a + c, n, method="wilson")
    l2, u2 = proportion_confint(a + b, n, method="wilson")
    den = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / np.sqrt(den) if den else 0.0
    delta = np.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    eps = np.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, p1 - p2 - delta), min(1.0, p1 - p2 + eps)


def test_paired_interval_matches_newcombe_on_random_tables():
    tables = random_tables(300) + np.array([0, 0, 0, 1])
    low, high = paired_score_interval(*tables.T)
    for table, lo, hi in zip(tables, low, high):
        ref = _newcombe_reference(*map(int, table))
        assert abs(lo - ref[0]) < TOL and abs(hi - ref[1]) < TOL
        diff = (table[2] - table[1]) / table.sum()
        assert lo - TOL <= diff <= hi + TOL


def test_paired_interval_without_correlation_is_statsmodels_newcombe():
    # With a*d == b*c the paired interval reduces to Newcombe's unpaired hybrid score interval.
    for a, b, c, d in [(6, 3, 4, 2), (10, 5, 2, 1), (0, 4, 0, 7), (3, 0, 5, 0), (8, 8, 8, 8)]:
        assert a * d == b * c
        n = a + b + c + d
        low, high = paired_score_interval([a], [b], [c], [d])
        ref = confint_proportions_2indep(a + c, n, a + b, n, method="newcomb", compare="diff")
        assert abs(low[0] - ref[0]) < TOL and abs(high[0] - ref[1]) < TOL


def test_paired_interval_is_nan_without_pairs():
    low, high = paired_score_interval([0], [0], [0], [0])
    assert np.isnan(low[0]) and np.isnan(high[0])


def _numerical_mle(x1: int, n1: int, x0: int, n0: int, delta: float) -> tuple[float, float]:
    """(p1, p0) maximising the binomial likelihood under p1 - p0 = delta, by bounded search."""
    def minus_loglik(p0: float) -> float:
        p1 = p0 + delta
        return -(stats.binom.logpmf(x1, n1, p1) + stats.binom.logpmf(x0, n0, p0))
    found = optimize.minimize_scalar(minus_loglik, bounds=(max(0.0, -delta), min(1.0, 1.0 - delta)),
                                     method="bounded", options={"xatol": 1e-13})
    return found.x + delta, found.x


def test_restricted_mle_maximises_the_likelihood():
    for _ in range(60):
        n1, n0 = (int(v) for v in rng.integers(2, 80, size=2))
        x1, x0 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n0 + 1))
        delta = float(rng.uniform(-0.95, 0.95))
        ours = _restricted_mle(x1, n1, x0, n0, delta)
        ref = _numerical_mle(x1, n1, x0, n0, delta)
        assert abs(ours[0] - ref[0]) < 1e-6 and abs(ours[1] - ref[1]) < 1e-6


def _reference_score_interval(x1: int, n1: int, x0: int, n0: int) -> tuple[float, float]:
    """The Miettinen-Nurminen interval from its definition, with the numerically maximised likelihood."""
    def excess(delta: float) -> float:
        q1, q0 = _numerical_mle(x1, n1, x0, n0, delta)
        variance = (q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0) * (n1 + n0) / (n1 + n0 - 1)
        return abs(x1 / n1 - x0 / n0 - delta) / np.sqrt(variance) - stats.norm.ppf(0.975)
    estimate = x1 / n1 - x0 / n0
    return (optimize.brentq(excess, -1 + 1e-9, estimate, xtol=1e-12),
            optimize.brentq(excess, estimate, 1 - 1e-9, xtol=1e-12))


def test_unpaired_interval_is_the_score_interval_of_candidate_minus_baseline():
    # statsmodels 0.14/0.15 `confint_proportions_2indep(method="score")` is not a usable reference:
    # its restricted MLE can be negative and 10/20 vs 10/20 gets an asymmetric interval.
    for n1, n0 in rng.integers(2, 60, size=(30, 2)):
        s1, s0 = int(rng.integers(1, n1)), int(rng.integers(1, n0))
        low, high = unpaired_score_interval(s1, int(n1), s0, int(n0))
        ref = _reference_score_interval(s1, int(n1), s0, int(n0))
        assert abs(low - ref[0]) < 1e-6 and abs(high - ref[1]) < 1e-6
        swapped = unpaired_score_interval(s0, int(n0), s1, int(n1))
        assert abs(swapped[0] + high) < 1e-9 and abs(swapped[1] + low) < 1e-9
    low, high = unpaired_score_interval(10, 20, 10, 20)
    assert abs(low + high) < 1e-12


@pytest.mark.parametrize("table", [(5, 5, 3, 9), (0, 5, 3, 9), (5, 5, 0, 9), (5, 5, 9, 9), (0, 5, 0, 9),
                                   (1, 1, 0, 1), (40, 40, 0, 40)])
def test_unpaired_interval_at_the_edges(table):
    low, high = unpaired_score_interval(*table)
    estimate = table[0] / table[1] - table[2] / table[3]
    assert -1 <= low <= estimate <= high <= 1 and low < high
    # At each limit the score statistic equals the normal quantile (or the limit is -1 / 1).
    from worldflux_nb.core.compare_stats import _score_statistic
    for limit in (low, high):
        if abs(limit) < 1:
            assert abs(abs(_score_statistic(*table, limit)) - 1.959963984540054) < 1e-6


def test_boschloo_matches_scipy():
    for s1, n1, s0, n0 in rng.integers(0, 25, size=(25, 4)) + np.array([0, 1, 0, 1]):
        s1, s0 = min(s1, n1), min(s0, n0)
        ref = stats.boschloo_exact([[s1, s0], [n1 - s1, n0 - s0]], alternative="two-sided").pvalue
        assert abs(boschloo(int(s1), int(n1), int(s0), int(n0)) - min(1.0, ref)) < TOL
    assert np.isnan(boschloo(0, 0, 3, 5))


def test_score_test_matches_statsmodels_at_equal_rates():
    from statsmodels.stats.proportion import score_test_proportions_2indep

    for n1, n0 in rng.integers(2, 400, size=(60, 2)):
        s1, s0 = int(rng.integers(0, n1 + 1)), int(rng.integers(0, n0 + 1))
        if s1 + s0 in (0, n1 + n0):
            continue  # no variance under the null: statsmodels returns NaN
        ref = score_test_proportions_2indep(s1, n1, s0, n0, value=0, compare="diff").pvalue
        assert abs(score_test(s1, int(n1), s0, int(n0)) - ref) < TOL


def test_unpaired_test_is_boschloo_while_the_table_is_small():
    assert unpaired_test(20, 40, 30, 40)[0] == "boschloo"
    name, p = unpaired_test(300, 600, 340, 600)
    assert name == "score" and abs(p - score_test(300, 600, 340, 600)) < TOL
    # The score interval inverts the score test: p <= 0.05 exactly when 0 is outside the interval.
    for s1, s0 in [(300, 340), (300, 330), (300, 356), (200, 201)]:
        low, high = unpaired_score_interval(s1, 600, s0, 600)
        assert (score_test(s1, 600, s0, 600) <= 0.05) == (not low <= 0 <= high)


def test_probability_better_matches_the_integral():
    cases = list(rng.integers(0, 40, size=(40, 4))) + [(0, 0, 0, 0), (5, 5, 0, 5), (0, 30, 30, 30)]
    for s1, n1, s0, n0 in cases:
        n1, n0 = max(n1, s1), max(n0, s0)
        a1, b1, a0, b0 = 1 + s1, 1 + n1 - s1, 1 + s0, 1 + n0 - s0
        # P(X1 > X0) = integral of f1(x) F0(x) dx
        ref = integrate.quad(lambda x: stats.beta.pdf(x, a1, b1) * stats.beta.cdf(x, a0, b0), 0, 1,
                             epsabs=1e-13, epsrel=1e-12, limit=200)[0]
        assert abs(probability_better(int(s1), int(n1), int(s0), int(n0)) - ref) < TOL
    assert abs(probability_better(7, 20, 7, 20) - 0.5) < TOL


def test_probability_paired_better_is_the_beta_tail():
    b, c = rng.integers(0, 100, size=(2, 50))
    ours = probability_paired_better(b, c)
    for bi, ci, p in zip(b, c, ours):
        assert abs(p - stats.beta.sf(0.5, 1 + ci, 1 + bi)) < TOL
    assert abs(probability_paired_better([4], [4])[0] - 0.5) < TOL


@pytest.mark.parametrize("method", ["holm", "fdr_bh"])
def test_adjusted_matches_multipletests_and_skips_missing(method):
    p = rng.random(40) ** 3
    assert np.allclose(adjusted(p, method), multipletests(p, method=method)[1], atol=TOL, rtol=0)
    with_gaps = list(p[:5]) + [float("nan")] + list(p[5:10])
    out = adjusted(with_gaps, method)
    assert np.isnan(out[5])
    assert np.allclose(out[:5] + out[6:], multipletests(list(p[:10]), method=method)[1], atol=TOL, rtol=0)


def test_compact_letters():
    arms, rates = ["A", "B", "C"], [0.9, 0.7, 0.5]
    assert compact_letters(arms, rates, set()) == {"A": "a", "B": "a", "C": "a"}
    assert compact_letters(arms, rates, {frozenset("AC")}) == {"A": "a", "B": "ab", "C": "b"}
    every = {frozenset(p) for p in itertools.combinations(arms, 2)}
    assert compact_letters(arms, rates, every) == {"A": "a", "B": "b", "C": "c"}
    # The best arm gets "a" whatever the order the arms are given in.
    assert compact_letters(["C", "B", "A"], [0.5, 0.7, 0.9], {frozenset("AC")}) == {"C": "b", "B": "ab", "A": "a"}
    # Each pair shares a letter exactly when it was not found different.
    many = [f"p{i}" for i in range(7)]
    different = {frozenset(p) for p in itertools.combinations(many, 2) if rng.random() < 0.4}
    letters = compact_letters(many, list(rng.random(7)), different)
    for x, y in itertools.combinations(many, 2):
        assert bool(set(letters[x]) & set(letters[y])) == (frozenset((x, y)) not in different)


def _brute_force_power(n: int, p_base: float, p_cand: float, alpha: float) -> float:
    """Sum the multinomial probability of every (b, c) whose statsmodels exact McNemar p <= alpha."""
    q_b, q_c = p_base * (1 - p_cand), p_cand * (1 - p_base)
    total = 0.0
    for b in range(n + 1):
        for c in range(n + 1 - b):
            if mcnemar([[0, b], [c, n - b - c]], exact=True).pvalue <= alpha:
                total += stats.multinomial.pmf([b, c, n - b - c], n, [q_b, q_c, 1 - q_b - q_c])
    return total


def test_paired_power_is_exact():
    for n, pb, pc in [(12, 0.5, 0.8), (15, 0.3, 0.35), (9, 0.9, 0.2), (20, 0.5, 0.9)]:
        assert abs(paired_power(n, pb, pc, 0.05)[0] - _brute_force_power(n, pb, pc, 0.05)) < TOL


def test_pairs_needed_is_where_power_stays_above_target():
    n = pairs_needed(0.5, 0.2, 0.05, 0.8)
    assert n is not None
    powers = paired_power(np.arange(n, n + 60), 0.5, 0.7)
    assert (powers >= 0.8).all() and paired_power(n - 1, 0.5, 0.7)[0] < 0.8
    assert pairs_needed(0.5, 0.001) is None  # beyond the search limit


def test_e_value_is_the_uniform_mixture_likelihood_ratio():
    for b, c in [(0, 0), (3, 9), (20, 5), (40, 41)]:
        mixture = integrate.quad(lambda t: t ** c * (1 - t) ** b, 0, 1, epsabs=0, epsrel=1e-12)[0]
        assert abs(log_e_value(b, c) - np.log(mixture / 0.5 ** (b + c))) < 1e-9
