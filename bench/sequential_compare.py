"""Benchmark by hand: the sequential comparison design against the fixed design, by simulation.

`.venv/bin/python bench/sequential_compare.py [--campaigns 10000] [--episodes 200] [--looks 5]`

Each simulated campaign runs two policies on the same planned episodes (pairs). The fixed design
tests all pairs once with the exact McNemar test; the sequential design (the plan's
`mixture_sprt_mcnemar`, core.compare_design) looks at equally spaced numbers of episodes per arm and
stops at the first look whose e-value reaches 1/alpha. Both use the shipped functions. Printed per
scenario: rejection rate (the type-I error where the policies are equal, the power otherwise) with
its Monte Carlo standard error, the mean episodes per arm the sequential design used, and the share
saved against the fixed design. bench/README.md records a run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worldflux_nb.core.compare_design import log_e_value, look_sizes, paired_power  # noqa: E402
from worldflux_nb.core.compare_stats import mcnemar_exact  # noqa: E402

# (name, baseline rate, candidate rate, heterogeneous): heterogeneous scenarios draw each planned
# episode's difficulty (its rate for the baseline) from Uniform(0.1, 0.9) and add the shift to it.
SCENARIOS = [
    ("equal 0.5", 0.5, 0.5, False), ("equal 0.8", 0.8, 0.8, False), ("equal 0.2", 0.2, 0.2, False),
    ("equal, per-episode difficulty", 0.0, 0.0, True),
    ("0.5 -> 0.6", 0.5, 0.6, False), ("0.5 -> 0.7", 0.5, 0.7, False), ("0.5 -> 0.8", 0.5, 0.8, False),
    ("0.8 -> 0.9", 0.8, 0.9, False), ("0.7 -> 0.5 (worse)", 0.7, 0.5, False),
    ("+0.15, per-episode difficulty", 0.0, 0.15, True),
]


def simulate(rng: np.random.Generator, campaigns: int, episodes: int, p_base: float, p_cand: float,
             heterogeneous: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per campaign and episode: (baseline succeeded, candidate succeeded)."""
    if heterogeneous:
        difficulty = rng.uniform(0.1, 0.9, size=(campaigns, episodes))
        base_rate, cand_rate = difficulty + p_base, np.clip(difficulty + p_cand, 0, 1)
    else:
        base_rate, cand_rate = p_base, p_cand
    return (rng.random((campaigns, episodes)) < base_rate), (rng.random((campaigns, episodes)) < cand_rate)


def run_scenario(rng: np.random.Generator, campaigns: int, episodes: int, looks: int, alpha: float,
                 p_base: float, p_cand: float, heterogeneous: bool) -> dict[str, float]:
    base, cand = simulate(rng, campaigns, episodes, p_base, p_cand, heterogeneous)
    b = np.cumsum(base & ~cand, axis=1)  # discordant pairs won by the baseline, after each episode
    c = np.cumsum(cand & ~base, axis=1)
    fixed_reject = mcnemar_exact(b[:, -1], c[:, -1]) <= alpha
    sizes = look_sizes(episodes, looks)
    crossed = np.stack([log_e_value(b[:, n - 1], c[:, n - 1]) >= np.log(1 / alpha) for n in sizes], axis=1)
    stopped = crossed.any(axis=1)
    first = np.where(stopped, crossed.argmax(axis=1), looks - 1)
    used = np.asarray(sizes)[first]
    seq_reject = stopped
    return {
        "fixed": fixed_reject.mean(), "fixed_se": fixed_reject.std() / np.sqrt(campaigns),
        "sequential": seq_reject.mean(), "sequential_se": seq_reject.std() / np.sqrt(campaigns),
        "mean_used": used.mean(), "saved": 1 - used.mean() / episodes,
        "exact_fixed": float(paired_power(episodes, p_base, p_cand, alpha)[0]) if not heterogeneous else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--episodes", type=int, default=200, help="planned episodes per arm (the maximum)")
    parser.add_argument("--looks", type=int, default=5)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20260115)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    print(f"{args.campaigns:,} campaigns per scenario, {args.episodes} planned episodes per arm, "
          f"{args.looks} looks at {look_sizes(args.episodes, args.looks)}, alpha {args.alpha}\n")
    print("| scenario | fixed McNemar: rejects | (exact) | sequential: rejects | mean episodes per arm | saved |")
    print("|---|---|---|---|---|---|")
    for name, p_base, p_cand, heterogeneous in SCENARIOS:
        r = run_scenario(rng, args.campaigns, args.episodes, args.looks, args.alpha, p_base, p_cand, heterogeneous)
        exact = "—" if np.isnan(r["exact_fixed"]) else f"{r['exact_fixed']:.3f}"
        print(f"| {name} | {r['fixed']:.4f} ± {r['fixed_se']:.4f} | {exact} | "
              f"{r['sequential']:.4f} ± {r['sequential_se']:.4f} | {r['mean_used']:.1f} | {100 * r['saved']:.1f}% |")
    print(f"\n(± one Monte Carlo standard error; equal-rate rows are the type-I error, the others the power; "
          f"{time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
