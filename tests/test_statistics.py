"""Intervals agree with statsmodels to 1e-9; policies, power and the bootstrap behave as documented."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from worldflux_nb.core.statistics import (
    clopper_pearson_interval, interval, percent, task_weighted, underpowered, wilson_interval,
)

EDGE_CASES = [(0, 1), (1, 1), (0, 10), (10, 10), (1, 10), (5, 10), (37, 50), (0, 500), (499, 500),
              (3, 7), (1, 2)]


@pytest.mark.parametrize("method,ours", [("wilson", wilson_interval), ("beta", clopper_pearson_interval)])
@pytest.mark.parametrize("x,n", EDGE_CASES)
def test_scalar_intervals_match_statsmodels(method, ours, x, n):
    low, high = ours(x, n)
    ref_low, ref_high = proportion_confint(x, n, alpha=0.05, method=method)
    assert abs(float(low) - ref_low) < 1e-9 and abs(float(high) - ref_high) < 1e-9


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 2000), st.floats(0, 1)), min_size=1, max_size=30),
       st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_vector_intervals_match_statsmodels(pairs, confidence):
    n = np.array([p[0] for p in pairs])
    x = np.floor(n * np.array([p[1] for p in pairs])).astype(int)
    for method, ours in (("wilson", wilson_interval), ("beta", clopper_pearson_interval)):
        low, high = ours(x, n, confidence)
        ref_low, ref_high = proportion_confint(x, n, alpha=1 - confidence, method=method)
        np.testing.assert_allclose(low, ref_low, atol=1e-9, rtol=0)
        np.testing.assert_allclose(high, ref_high, atol=1e-9, rtol=0)
        assert np.all(low <= x / n + 1e-12) and np.all(high >= x / n - 1e-12)


def test_no_denominator_gives_nan_and_unknown_method_is_refused():
    for method in ("wilson", "clopper_pearson"):
        low, high = interval(np.array([0, 1]), np.array([0, 2]), method)
        assert np.isnan(low[0]) and np.isnan(high[0]) and not np.isnan(low[1])
    with pytest.raises(ValueError):
        interval(1, 2, "normal")  # type: ignore[arg-type]


def test_underpowered_by_width_or_count():
    low, high = wilson_interval(np.array([5, 50, 500, 0]), np.array([10, 100, 1000, 0]))
    flags = underpowered(low, high, np.array([10, 100, 1000, 0]), max_half_width=0.1,
                         min_episodes=20)
    assert list(flags) == [True, False, False, True]


def test_task_weighted_bootstrap_is_seeded_and_sensible():
    s, n = np.array([9, 1, 5]), np.array([10, 10, 10])
    a = task_weighted(s, n, seed=1234)
    b = task_weighted(s, n, seed=1234)
    assert a == b
    assert a.rate == pytest.approx(0.5)
    assert a.ci_low < 0.5 < a.ci_high
    # Another seed draws other replicates (with 3 x 10 episodes the bounds sit on a 1/30 grid,
    # so the seed shows on tasks of uneven sizes).
    uneven = np.array([90, 13, 51, 7]), np.array([100, 97, 103, 11])
    assert task_weighted(*uneven, seed=99) != task_weighted(*uneven, seed=1234)
    # Task weighting differs from pooling when tasks have different sizes.
    w = task_weighted(np.array([10, 0]), np.array([10, 90]), seed=1)
    assert w.rate == pytest.approx(0.5)
    assert task_weighted(np.array([0]), np.array([0]), seed=1).rate is None
    # A task with every episode successful has no resampling spread.
    full = task_weighted(np.array([10]), np.array([10]), seed=1)
    assert full.ci_low == full.ci_high == 1.0


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.99])
@pytest.mark.parametrize("method,reference", [("wilson", "wilson"), ("clopper_pearson", "beta")])
def test_intervals_at_the_plans_confidence_match_statsmodels(method, reference, confidence):
    from statsmodels.stats.proportion import proportion_confint

    successes, n = np.array([0, 3, 7, 10]), np.array([10, 10, 10, 10])
    low, high = interval(successes, n, method, confidence)
    expected = proportion_confint(successes, n, alpha=1 - confidence, method=reference)
    assert np.allclose(low, expected[0]) and np.allclose(high, expected[1])


def test_a_task_with_one_episode_counts_in_the_task_weighted_mean():
    result = task_weighted(np.array([1, 0, 2]), np.array([1, 4, 0]), seed=3)
    assert result.rate == 0.5  # (1/1 + 0/4) / 2; the task with no episodes is left out


def test_rates_read_as_percentages_and_missing_ones_as_n_a():
    assert [percent(v) for v in (None, 0.0, 0.5, 0.1234, 1.0)] == ["n/a", "0.0%", "50.0%", "12.3%", "100.0%"]


def test_the_task_weighted_interval_is_the_stratified_bootstrap_percentile_interval():
    """Against a bootstrap written out directly (each task's episodes resampled, as a Binomial draw
    at the task's rate), with enough replicates that Monte Carlo error is far below the check."""
    successes, n = np.array([1, 3, 5, 9, 0, 4]), np.array([10, 10, 12, 10, 8, 4])
    rng = np.random.default_rng(2024)
    replicates = 200_000
    means = (rng.binomial(n, successes / n, size=(replicates, len(n))) / n).mean(axis=1)
    for confidence in (0.95, 0.8):
        tail = (1 - confidence) / 2 * 100
        low, high = np.percentile(means, [tail, 100 - tail])
        result = task_weighted(successes, n, seed=7, replicates=replicates, confidence=confidence)
        assert abs(result.ci_low - low) < 0.003 and abs(result.ci_high - high) < 0.003
    # Every task at one success still varies: the interval is not a point.
    ones = task_weighted(np.array([1, 1, 1]), np.array([10, 10, 10]), seed=1)
    assert ones.ci_low < ones.rate < ones.ci_high


@pytest.mark.parametrize("confidence", [0.8, 0.95, 0.99])
def test_wilson_ends_never_leave_zero_and_one(confidence):
    """With no successes the lower end is exactly 0, with only successes the upper end exactly 1, and
    no end leaves [0, 1]: in floating point the formula gives ±1e-17 or 1 ± 2e-16 for some n, which a
    packet must not show."""
    n = np.arange(1, 20_001)
    for successes in (np.zeros_like(n), n):
        low, high = wilson_interval(successes, n, confidence)
        assert low.min() >= 0.0 and high.max() <= 1.0
    assert (wilson_interval(np.zeros_like(n), n, confidence)[0] == 0.0).all()
    assert (wilson_interval(n, n, confidence)[1] == 1.0).all()
