"""Plan-time design of a comparison: exact power of the paired test, and the sequential test.

Power: the two arms run the same planned episodes, so the confirmatory test is the exact McNemar
test. With success rates p_b and p_c and outcomes independent given the episode, a pair is
discordant with probability q = p_b(1 - p_c) + p_c(1 - p_b) and, given discordance, won by the
candidate with probability theta = p_c(1 - p_b) / q. The power at n pairs is exact:
sum over D ~ Binomial(n, q) of P(reject | D discordant pairs), the rejection region being the exact
test's own at each D.

Sequential design: an always-valid test (a mixture sequential probability ratio test, Robbins 1970;
Howard, Ramdas, McAuliffe & Sekhon 2021, Ann Stat 49:1055). Under the null each discordant pair is
won by either arm with probability 1/2; with a uniform prior on theta the likelihood ratio
E = 2^(b+c) B(c+1, b+1) is a nonnegative martingale with mean 1, so by Ville's inequality
P(E ever reaches 1/alpha) <= alpha, however many looks are taken and whenever one stops. The plan
fixes the most episodes per arm and the looks; `bench/sequential_compare.py` measures the type-I
error, power and episodes saved against the fixed design.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from worldflux_nb.models.plan import ProtocolPlan

POWER_SEARCH_LIMIT = 5000  # pairs; a difference needing more is reported as not reachable


def _critical_counts(max_pairs: int, alpha: float) -> np.ndarray:
    """For each D = 0..max_pairs discordant pairs, the largest k with 2 P(Bin(D, 1/2) <= k) <= alpha (-1: none)."""
    from scipy.stats import binom

    d = np.arange(max_pairs + 1)
    k = binom.ppf(alpha / 2, d, 0.5).astype(np.int64)  # smallest k with P(<= k) >= alpha / 2
    k = np.where(np.minimum(1.0, 2.0 * binom.cdf(k, d, 0.5)) <= alpha, k, k - 1)
    return np.where(k >= 0, k, -1)


def paired_power(n_pairs: np.ndarray | int, p_base: float, p_cand: float, alpha: float = 0.05) -> np.ndarray:
    """Exact power of the two-sided exact McNemar test at each number of pairs."""
    from scipy.stats import binom

    n = np.atleast_1d(np.asarray(n_pairs, dtype=np.int64))
    top = int(n.max()) if n.size else 0
    q = p_base * (1 - p_cand) + p_cand * (1 - p_base)
    theta = p_cand * (1 - p_base) / q if q > 0 else 0.5
    d = np.arange(top + 1)
    k = _critical_counts(top, alpha)
    reject = np.where(k >= 0, binom.cdf(k, d, theta) + binom.sf(d - k - 1, d, theta), 0.0)
    return np.clip([float(binom.pmf(d[: m + 1], m, q) @ reject[: m + 1]) for m in n], 0.0, 1.0)


def pairs_needed(p_base: float, difference: float, alpha: float = 0.05, power: float = 0.8,
                 limit: int = POWER_SEARCH_LIMIT) -> int | None:
    """The fewest pairs from which on the exact paired test keeps at least `power` (None above `limit`).

    Exact power is evaluated around the normal-approximation size (Connor 1987, Biometrics 43:207),
    from half of it to twice it, so the search stays fast; exact tests' power wobbles in n, so the
    answer is the first n after the last one in that window that falls short.
    """
    from statistics import NormalDist

    p_cand = p_base + difference
    if not 0 <= p_cand <= 1 or difference == 0:
        return None
    q = p_base * (1 - p_cand) + p_cand * (1 - p_base)
    z_a, z_b = NormalDist().inv_cdf(1 - alpha / 2), NormalDist().inv_cdf(power)
    approx = ((z_a * np.sqrt(q) + z_b * np.sqrt(max(q - difference**2, 0.0))) / abs(difference)) ** 2
    low, high = max(1, int(approx / 2)), int(np.ceil(approx * 2)) + 10
    if low > limit:
        return None
    n = np.arange(low, min(high, limit) + 1)
    values = paired_power(n, p_base, p_cand, alpha)
    short = np.flatnonzero(values < power)
    if not short.size:
        return int(n[0])
    return int(n[short[-1]] + 1) if short[-1] + 1 < len(n) else None


def look_sizes(max_episodes: int, looks: int) -> list[int]:
    """Episodes per arm at each look: equally spaced, the last at the maximum."""
    return [int(np.ceil(max_episodes * (k + 1) / looks)) for k in range(looks)]


def log_e_value(baseline_only: np.ndarray | int, candidate_only: np.ndarray | int) -> np.ndarray:
    """log of E = 2^(b+c) B(c+1, b+1): the uniform-mixture likelihood ratio against theta = 1/2."""
    from scipy.special import betaln

    b = np.asarray(baseline_only, dtype=float)
    c = np.asarray(candidate_only, dtype=float)
    return (b + c) * np.log(2.0) + betaln(c + 1, b + 1)


@dataclass(frozen=True)
class LookResult:
    look: int
    episodes: int  # planned episodes per arm up to this look
    reached: bool
    pairs: int
    discordant_baseline_only: int
    discordant_candidate_only: int
    e_value: float
    crossed: bool


def sequential_looks(both_counted: np.ndarray, baseline_success: np.ndarray, candidate_success: np.ndarray,
                     run: np.ndarray, sizes: list[int], alpha: float) -> list[LookResult]:
    """Each look's e-value over the first `size` planned episodes (run-sheet order).

    `both_counted`: the episode is in both arms' denominators; `run`: either arm has evidence for it
    (a look with no evidence in its range is not reached yet).
    """
    out = []
    previous = 0
    for index, size in enumerate(sizes):
        window = slice(0, size)
        pair = both_counted[window]
        b = int(np.count_nonzero(pair & baseline_success[window] & ~candidate_success[window]))
        c = int(np.count_nonzero(pair & candidate_success[window] & ~baseline_success[window]))
        e_value = float(np.exp(min(log_e_value(b, c), 700.0)))
        out.append(LookResult(look=index + 1, episodes=size, reached=bool(run[previous:size].any()),
                              pairs=int(np.count_nonzero(pair)), discordant_baseline_only=b,
                              discordant_candidate_only=c, e_value=e_value,
                              crossed=bool(log_e_value(b, c) >= np.log(1 / alpha))))
        previous = size
    return out


def scope_names(plan: "ProtocolPlan") -> set[str]:
    """Every scope a comparison on this plan can have: all, each probe, each axis, each cell."""
    names = {"all"}
    for cell in plan.cells:
        names |= {f"probe:{cell.probe_id}", f"axis:{cell.probe_id}/{cell.axis}", f"cell:{cell.cell_id}"}
    return names


def check_policy_name(name: str, field: str) -> None:
    """Policy names are identifiers in every output: the slug rule, and nothing secret-shaped."""
    import re

    from worldflux_nb.errors import InputError
    from worldflux_nb.models.common import refuse_secret

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,127}", name):
        raise InputError(None, field, f"{name[:40]!r} is not a policy name (letters, digits, _.:/+-)")
    try:
        refuse_secret(name)
    except ValueError as exc:
        raise InputError(None, field, f"{name[:8]}…: {exc}") from None


MIN_ALPHA = 1e-9


def with_comparisons(plan: "ProtocolPlan", declared: list[tuple[str, str]], *, alpha: float = 0.05,
                     multiplicity: str = "holm", primary_scopes: list[str] | None = None,
                     difference: float | None = 0.2, power: float = 0.8,
                     sequential_max_episodes: int | None = None, sequential_looks: int | None = None,
                     ) -> "ProtocolPlan":
    """The plan with its comparison design declared and the plan re-sealed (before any score).

    Bad options raise InputError naming the option; the command line adds the source.
    """
    from worldflux_nb.errors import InputError
    from worldflux_nb.models.plan import (
        ComparisonDesign, ComparisonPower, DeclaredComparison, SequentialDesign,
    )

    if not MIN_ALPHA <= alpha < 1:  # below it, 1 - alpha/2 rounds to 1 and no critical value exists
        raise InputError(None, "alpha", f"must be at least {MIN_ALPHA:g} and below 1")
    if multiplicity not in ("holm", "fdr_bh"):
        raise InputError(None, "multiplicity", "must be holm or fdr_bh")
    scopes = list(dict.fromkeys(primary_scopes or ["all"]))
    known = scope_names(plan)
    for scope in scopes:
        if scope not in known:
            raise InputError(None, "primary_scope", f"{scope!r} is not a scope of this plan "
                             "(all, probe:PROBE, axis:PROBE/AXIS or cell:CELL_ID)")
    pairs = []
    for baseline, candidate in declared:
        for name in (baseline, candidate):
            check_policy_name(name, "compare")
        if baseline == candidate:
            raise InputError(None, "compare", f"{baseline!r} is compared with itself")
        if (baseline, candidate) in pairs or (candidate, baseline) in pairs:
            raise InputError(None, "compare", f"{baseline} and {candidate} are declared twice")
        pairs.append((baseline, candidate))
    if not 0 < power < 1:
        raise InputError(None, "power", "must be between 0 and 1")
    power_design = None
    if difference is not None:
        base = plan.power_targets.planning_success_rate
        if difference == 0 or not 0 <= base + difference <= 1:
            raise InputError(None, "detect_difference",
                             f"must be non-zero and keep {base} + difference between 0 and 1")
        power_design = ComparisonPower(
            baseline_rate=base, difference=difference, target_power=power,
            episodes_per_cell_needed=pairs_needed(base, difference, alpha, power),
            power_per_cell=float(paired_power(plan.episodes_per_cell, base, base + difference, alpha)[0]),
            power_all_evidence=float(paired_power(min(plan.planned_episodes, POWER_SEARCH_LIMIT), base,
                                                  base + difference, alpha)[0]))
    sequential = None
    if sequential_max_episodes is not None or sequential_looks is not None:
        # 0 is a value to refuse, not "unset" (only None is unset).
        most = plan.planned_episodes if sequential_max_episodes is None else sequential_max_episodes
        looks = 1 if sequential_looks is None else sequential_looks
        if not 0 < most <= plan.planned_episodes:
            raise InputError(None, "sequential_max_episodes",
                             f"must be between 1 and the plan's {plan.planned_episodes} planned episodes")
        if not 0 < looks <= min(100, most):
            raise InputError(None, "sequential_looks", f"must be between 1 and {min(100, most)}")
        sequential = SequentialDesign(max_episodes_per_arm=most, looks=looks,
                                      look_episodes=look_sizes(most, looks))
    design = ComparisonDesign(
        declared=[DeclaredComparison(baseline=b, candidate=c) for b, c in pairs],
        primary_scopes=scopes, alpha=alpha, multiplicity=multiplicity,  # type: ignore[arg-type]
        power=power_design, sequential=sequential)
    return plan.model_copy(update={"comparison_design": design, "plan_digest": None}).sealed()
