"""The statistics of a two-policy comparison, vectorised over scopes.

- Paired outcomes (the same planned episode counted in both arms): exact McNemar test on the
  discordant pairs (the conditional binomial test, as statsmodels' `mcnemar(exact=True)`), and
  Newcombe's hybrid score interval for a difference of paired proportions (Newcombe 1998, Stat Med
  17:2635, method 10: Wilson score limits of each margin combined with the phi correlation).
- Unpaired outcomes: Boschloo's exact unconditional test (`scipy.stats.boschloo_exact`) up to
  EXACT_TABLES_LIMIT tables (its cost grows with n1 x n2: minutes at 500 episodes per arm), the
  Miettinen-Nurminen score test above it, and the Miettinen-Nurminen score interval. statsmodels 0.14's `confint_proportions_2indep(method="score")`
  fails at 0% / 100% tables and its restricted MLE is off when the arms' sizes differ, so the
  interval is solved here; tests check it against statsmodels where sizes are equal and against a
  numerically maximised likelihood everywhere.
- The posterior probability that the candidate is better under uniform Beta(1, 1) priors: unpaired,
  P(p_candidate > p_baseline) for independent Beta posteriors (exact sum, Miller 2015); paired, the
  probability that the candidate wins more than half of the discordant pairs, Beta(1 + c, 1 + b).
- Adjusted p-values: Holm as the detectors adjust (`exact_tests.holm`, checked against statsmodels'
  `multipletests`), Benjamini-Hochberg by statsmodels' `multipletests`.
- A compact letter display for several arms (Piepho 2004, the insert-absorb algorithm).
"""

from __future__ import annotations

from typing import Literal, Sequence

import numpy as np

from worldflux_nb.core.exact_tests import holm
from worldflux_nb.core.statistics import wilson_interval

Multiplicity = Literal["holm", "fdr_bh"]
MULTIPLICITY_METHODS: tuple[Multiplicity, ...] = ("holm", "fdr_bh")
EXACT_TABLES_LIMIT = 101 * 101  # (n1 + 1) x (n2 + 1) tables: Boschloo at or below, the score test above


def mcnemar_exact(baseline_only: np.ndarray | int, candidate_only: np.ndarray | int) -> np.ndarray:
    """Two-sided exact McNemar p-values: 2 * P(Binomial(b + c, 1/2) <= min(b, c)), capped at 1."""
    from scipy.stats import binom

    b = np.asarray(baseline_only, dtype=np.int64)
    c = np.asarray(candidate_only, dtype=np.int64)
    return np.minimum(1.0, 2.0 * binom.cdf(np.minimum(b, c), b + c, 0.5))


def paired_score_interval(both: np.ndarray, baseline_only: np.ndarray, candidate_only: np.ndarray,
                          neither: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's hybrid score interval for candidate rate - baseline rate on paired outcomes.

    NaN where there are no pairs; the phi correlation is taken as 0 where a margin is empty.
    """
    a, b, c, d = (np.asarray(v, dtype=float) for v in (both, baseline_only, candidate_only, neither))
    n = a + b + c + d
    with np.errstate(divide="ignore", invalid="ignore"):
        p_cand, p_base = (a + c) / n, (a + b) / n
        low_c, high_c = wilson_interval(a + c, n, confidence)
        low_b, high_b = wilson_interval(a + b, n, confidence)
        margins = (a + b) * (c + d) * (a + c) * (b + d)
        phi = np.where(margins > 0, (a * d - b * c) / np.sqrt(np.where(margins > 0, margins, 1.0)), 0.0)
        diff = p_cand - p_base
        down = np.sqrt(np.maximum(0.0, (p_cand - low_c) ** 2 - 2 * phi * (p_cand - low_c) * (high_b - p_base)
                                  + (high_b - p_base) ** 2))
        up = np.sqrt(np.maximum(0.0, (high_c - p_cand) ** 2 - 2 * phi * (high_c - p_cand) * (p_base - low_b)
                                + (p_base - low_b) ** 2))
    return np.clip(diff - down, -1.0, 1.0), np.clip(diff + up, -1.0, 1.0)


def _restricted_mle(x1: int, n1: int, x0: int, n0: int, delta: float) -> tuple[float, float]:
    """The MLE of (p1, p0) under p1 - p0 = delta: the closed-form root of the likelihood cubic
    (Farrington & Manning 1990, Stat Med 9:1447, eq. 4-5; the Miettinen & Nurminen 1985 estimator)."""
    p1, p0, theta = x1 / n1, x0 / n0, n0 / n1
    a = 1 + theta
    b = -(1 + theta + p1 + theta * p0 + delta * (theta + 2))
    c = delta * delta + delta * (2 * p1 + theta + 1) + p1 + theta * p0
    d = -p1 * delta * (1 + delta)
    v = b**3 / (27 * a**3) - b * c / (6 * a * a) + d / (2 * a)
    u = np.sign(v) * np.sqrt(max(b * b / (9 * a * a) - c / (3 * a), 0.0))
    ratio = 1.0 if u == 0 else float(np.clip(v / u**3, -1.0, 1.0))  # rounding can step past +-1
    q1 = float(np.clip(2 * u * np.cos((np.pi + np.arccos(ratio)) / 3) - b / (3 * a), 0.0, 1.0))
    return q1, float(np.clip(q1 - delta, 0.0, 1.0))


def _score_statistic(x1: int, n1: int, x0: int, n0: int, delta: float) -> float:
    """Miettinen-Nurminen score statistic for H0: p1 - p0 = delta (variance with the N / (N - 1) factor)."""
    q1, q0 = _restricted_mle(x1, n1, x0, n0, delta)
    total = n1 + n0
    variance = (q1 * (1 - q1) / n1 + q0 * (1 - q0) / n0) * total / (total - 1)
    gap = x1 / n1 - x0 / n0 - delta
    if variance <= 0:
        return 0.0 if gap == 0 else float(np.sign(gap) * np.inf)
    return gap / np.sqrt(variance)


def unpaired_score_interval(candidate_successes: int, candidate_n: int, baseline_successes: int,
                            baseline_n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Miettinen-Nurminen score interval for candidate rate - baseline rate: every difference whose
    score statistic stays within the normal quantile, found by root-finding on either side."""
    from scipy.optimize import brentq

    x1, n1, x0, n0 = candidate_successes, candidate_n, baseline_successes, baseline_n
    if n1 == 0 or n0 == 0 or n1 + n0 < 2:
        return float("nan"), float("nan")
    z = _z_quantile(confidence)
    estimate = x1 / n1 - x0 / n0
    edge = 1 - 1e-12

    def excess(delta: float) -> float:
        return abs(_score_statistic(x1, n1, x0, n0, delta)) - z

    low = -1.0 if excess(-edge) <= 0 else brentq(excess, -edge, estimate, xtol=1e-14, rtol=1e-15)
    high = 1.0 if excess(edge) <= 0 else brentq(excess, estimate, edge, xtol=1e-14, rtol=1e-15)
    return float(low), float(high)


def _z_quantile(confidence: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def score_test(candidate_successes: int, candidate_n: int, baseline_successes: int, baseline_n: int) -> float:
    """Two-sided Miettinen-Nurminen score test of equal rates (the pooled-rate test with the N / (N - 1)
    variance factor): the large-table p-value, the test the score interval inverts."""
    from scipy.stats import norm

    if candidate_n == 0 or baseline_n == 0 or candidate_n + baseline_n < 2:
        return float("nan")
    z = _score_statistic(candidate_successes, candidate_n, baseline_successes, baseline_n, 0.0)
    return float(min(1.0, 2 * norm.sf(abs(z))))


def unpaired_test(candidate_successes: int, candidate_n: int, baseline_successes: int,
                  baseline_n: int) -> tuple[str, float]:
    """(test name, two-sided p-value): Boschloo for tables it can enumerate quickly, else the score test."""
    if (candidate_n + 1) * (baseline_n + 1) <= EXACT_TABLES_LIMIT:
        return "boschloo", boschloo(candidate_successes, candidate_n, baseline_successes, baseline_n)
    return "score", score_test(candidate_successes, candidate_n, baseline_successes, baseline_n)


def boschloo(candidate_successes: int, candidate_n: int, baseline_successes: int, baseline_n: int) -> float:
    """Two-sided Boschloo exact unconditional p-value (scipy); NaN when an arm has no denominator."""
    from scipy.stats import boschloo_exact

    if candidate_n == 0 or baseline_n == 0:
        return float("nan")
    table = [[candidate_successes, baseline_successes],
             [candidate_n - candidate_successes, baseline_n - baseline_successes]]
    return float(min(1.0, boschloo_exact(table, alternative="two-sided").pvalue))


def probability_paired_better(baseline_only: np.ndarray, candidate_only: np.ndarray) -> np.ndarray:
    """P(the candidate wins more than half of the discordant pairs) under a uniform prior."""
    from scipy.stats import beta

    b = np.asarray(baseline_only, dtype=float)
    c = np.asarray(candidate_only, dtype=float)
    return np.asarray(beta.sf(0.5, 1 + c, 1 + b), dtype=float)


def probability_better(candidate_successes: int, candidate_n: int, baseline_successes: int,
                       baseline_n: int) -> float:
    """P(p_candidate > p_baseline) for independent Beta(1 + s, 1 + n - s) posteriors.

    The exact finite sum over the candidate's first shape parameter (Miller 2015, "Formulas for
    Bayesian A/B testing"), summed in log space so large counts stay finite.
    """
    from scipy.special import betaln, logsumexp

    a_c, b_c = 1 + candidate_successes, 1 + candidate_n - candidate_successes
    a_b, b_b = 1 + baseline_successes, 1 + baseline_n - baseline_successes
    i = np.arange(a_c, dtype=float)
    terms = betaln(a_b + i, b_b + b_c) - np.log(b_c + i) - betaln(1 + i, b_c) - betaln(a_b, b_b)
    return float(np.clip(np.exp(logsumexp(terms)), 0.0, 1.0))


def adjusted(p_values: Sequence[float], method: Multiplicity) -> list[float]:
    """Adjusted p-values, missing ones left missing and not counted: Holm's the detectors' own
    (exact_tests.holm, checked against statsmodels; statsmodels' Holm runs a full garbage collection
    on every call, slow in a kernel holding a large packet), Benjamini-Hochberg statsmodels'."""
    values = np.asarray(p_values, dtype=float)
    out = np.full(len(values), np.nan)
    present = np.isfinite(values)
    if present.any():
        if method == "holm":
            out[present] = holm(values[present])
        else:
            from statsmodels.stats.multitest import multipletests

            out[present] = multipletests(values[present], method=method)[1]
    return out.tolist()


def compact_letters(arms: Sequence[str], rates: Sequence[float],
                    different: set[frozenset[str]]) -> dict[str, str]:
    """Letters per arm: two arms share a letter exactly when they were not found different.

    Insert-absorb (Piepho 2004, J Comput Graph Stat 13:456): start from one group of all arms; for
    each different pair split every group holding both; drop groups inside another. Letters go to
    groups in order of their best arm's rate, so `a` marks the group with the highest rate.
    """
    groups: list[frozenset[str]] = [frozenset(arms)]
    for pair in sorted(different, key=sorted):
        first, second = sorted(pair)
        split: list[frozenset[str]] = []
        for group in groups:
            if first in group and second in group:
                split += [group - {first}, group - {second}]
            else:
                split.append(group)
        groups = [g for g in dict.fromkeys(split) if not any(g < other for other in split)]
    rank = {arm: i for i, arm in enumerate(sorted(arms, key=lambda a: (-_finite(rates[list(arms).index(a)]),
                                                                       list(arms).index(a))))}
    groups.sort(key=lambda g: sorted(rank[a] for a in g))
    letters: dict[str, list[str]] = {arm: [] for arm in arms}
    for index, group in enumerate(groups):
        for arm in group:
            letters[arm].append(_letter(index))
    return {arm: "".join(letters[arm]) for arm in arms}


def _finite(value: float) -> float:
    return value if value is not None and np.isfinite(value) else -1.0


def _letter(index: int) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz"
    return alphabet[index] if index < 26 else f"[{index + 1}]"
