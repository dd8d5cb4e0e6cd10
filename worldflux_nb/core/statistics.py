"""Binomial intervals, the three denominator policies, aggregates and cherry-pick signals.

Everything is vectorised over numpy arrays so a packet with thousands of cells stays fast. The
intervals follow statsmodels' `proportion_confint` (methods `wilson` and `beta`) exactly.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal, Mapping

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from worldflux_nb.core.episode_outcomes import EpisodeOutcomes


IntervalMethod = Literal["wilson", "clopper_pearson"]
INTERVAL_METHODS: tuple[IntervalMethod, ...] = ("wilson", "clopper_pearson")
BOOTSTRAP_REPLICATES = 2000

POLICY_NOTES = {
    "all_planned": "denominator = every planned episode; missing, infra failures and pending count as failures",
    "attempted": "infra failures are left out of the denominator (and reported); missing and pending count as failures",
    "completed_only": "OPTIMISTIC: only completed and timed-out episodes count; missing, infra failures and pending are left out",
}

# What each policy's denominator is made of, by component of a planned episode (DESIGN.md,
# Denominator policies); `policy_counts` computes the same sums. Out-of-protocol rows never count.
DENOMINATOR_COMPONENTS = {
    "all_planned": ("success", "failure", "pending", "missing", "infra_failure"),
    "attempted": ("success", "failure", "pending", "missing"),
    "completed_only": ("success", "failure"),
}


def z_value(confidence: float = 0.95) -> float:
    """The two-sided normal quantile for a confidence level."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(successes: np.ndarray | int, n: np.ndarray | int,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval, exactly 0 (1) at no (every) success; NaN where n == 0."""
    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    z = z_value(confidence)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        q = x / n
        denom = 1 + z2 / n
        center = (q + z2 / (2 * n)) / denom
        dist = z * np.sqrt(q * (1.0 - q) / n + z2 / (4.0 * n**2)) / denom
    # At no (or every) success the end is exactly 0 (or 1); the formula leaves rounding error there.
    low = np.where((x == 0) & (n > 0), 0.0, np.clip(center - dist, 0, 1))
    high = np.where((x == n) & (n > 0), 1.0, np.clip(center + dist, 0, 1))
    return low, high


def clopper_pearson_interval(successes: np.ndarray | int, n: np.ndarray | int,
                             confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) interval from the beta distribution; NaN where n == 0."""
    from scipy.stats import beta  # imported on use: scipy is heavy and Wilson does not need it

    x = np.asarray(successes, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = (1 - confidence) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        low = np.asarray(beta.ppf(alpha, x, n - x + 1), dtype=float)
        high = np.asarray(beta.isf(alpha, x + 1, n - x), dtype=float)
        low = np.where((x == 0) & (n > 0), 0.0, low)
        high = np.where((x == n) & (n > 0), 1.0, high)
    return low, high


def interval(successes: np.ndarray | int, n: np.ndarray | int, method: IntervalMethod = "wilson",
             confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    if method == "wilson":
        return wilson_interval(successes, n, confidence)
    if method == "clopper_pearson":
        return clopper_pearson_interval(successes, n, confidence)
    raise ValueError(f"unknown interval method {method!r}; use one of {', '.join(INTERVAL_METHODS)}")


def optional_float(value: float) -> float | None:
    """A JSON-ready number: NaN (no denominator) becomes None."""
    return None if value is None or not math.isfinite(value) else float(value)


def optional_floats(values: np.ndarray) -> list[float | None]:
    """optional_float of each value, as one list (the array converted at once, not value by value)."""
    return [optional_float(value) for value in np.asarray(values, dtype=float).tolist()]


def episode_indicators(outcomes: EpisodeOutcomes) -> pd.DataFrame:
    """Per planned episode, what the denominator policies read: success, infra (only), completed.

    Read from all of an episode's conformant attempts (core.episode_outcomes), as the packet's cell
    sums are, so a comparison's arm and the packet count the same denominator whatever the row order.
    """
    import pandas as pd  # loaded on use: planning and the run sheet need no pandas

    return pd.DataFrame({
        "success": outcomes.success,
        "infra": outcomes.infra_only,
        "completed": outcomes.scored,
    })


def policy_counts(sums: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Successes and each policy's denominator, from columns of summed episode indicators (one
    entry per group)."""
    success, planned, infra, completed = (np.asarray(sums[k]) for k in ("success", "planned", "infra", "completed"))
    return {"successes": success.astype(int), "all_planned": planned.astype(int),
            "attempted": (planned - infra).astype(int), "completed_only": completed.astype(int)}


def counted(indicators: pd.DataFrame, policy: str) -> np.ndarray:
    """Per planned episode, whether `policy` counts it in the denominator (as policy_counts sums them)."""
    if policy == "all_planned":
        return np.ones(len(indicators), dtype=bool)
    if policy == "attempted":
        return ~indicators["infra"].to_numpy(dtype=bool)
    if policy == "completed_only":
        return indicators["completed"].to_numpy(dtype=bool)
    raise ValueError(f"unknown denominator policy {policy!r}")


def half_widths(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Half the width of intervals given by their ends (the one half-width every consumer uses)."""
    return (np.asarray(high) - np.asarray(low)) / 2


def underpowered(low: np.ndarray, high: np.ndarray, n: np.ndarray, *, max_half_width: float,
                 min_episodes: int) -> np.ndarray:
    """A cell is underpowered when its interval is wider than the target or it has too few episodes."""
    n = np.asarray(n)
    width = half_widths(low, high)
    return (n < min_episodes) | ~(width <= max_half_width)


def stable_seed(*parts: object) -> int:
    """A seed that depends only on the given values (not on Python's per-process hash salt)."""
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True)
class TaskWeighted:
    rate: float | None
    ci_low: float | None
    ci_high: float | None


def task_weighted(successes: np.ndarray, n: np.ndarray, *, seed: int,
                  replicates: int = BOOTSTRAP_REPLICATES, confidence: float = 0.95) -> TaskWeighted:
    """Mean of per-task rates with a stratified bootstrap percentile interval.

    Resampling a task's n episodes with replacement and counting successes is a Binomial(n, rate)
    draw, and g tasks with the same (successes, n) sum to one Binomial(g * n, rate) draw, so the
    bootstrap draws once per distinct (successes, n) whose rate is strictly between 0 and 1; tasks
    at 0 or 1 contribute their rate unchanged. Same distribution as resampling every task.
    """
    successes = np.asarray(successes, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    keep = n > 0
    if not keep.any():
        return TaskWeighted(None, None, None)
    s, m = successes[keep], n[keep]
    rates = s / m
    varying = (s > 0) & (s < m)
    pairs, tasks = np.unique(np.stack([s[varying], m[varying]]), axis=1, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = rng.binomial(pairs[1] * tasks, pairs[0] / pairs[1], size=(replicates, pairs.shape[1]))
    fixed = rates[~varying].sum()
    means = (draws @ (1.0 / pairs[1]) + fixed) / m.size
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return TaskWeighted(float(rates.mean()), float(low), float(high))


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
