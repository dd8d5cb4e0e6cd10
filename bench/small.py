"""Small evidence, whole commands, two checkouts alternated: `bench/small.py --before PATH [--sizes 1k,10k]
[--rounds 5]`.

What users feel on hundreds to a few thousand episodes is each command's fixed cost. For each size
(bench/generate.py's data in bench/data/SIZE) this times, from outside, a fresh interpreter running
`audit import jsonl` of every probe's file to `.parquet` and to `.json`, then `eval-portfolio packet`
over the Parquet inputs and over the JSON ones, once from the checkout at PATH and once from this one (each side's
`worldflux_nb` first on PYTHONPATH, run outside both, SOURCE_DATE_EPOCH set), sides alternated and
their order swapped each round, after one unrecorded warm-up round. Prints medians of wall and CPU
(user + sys of the child) per command and side, the load average at each round's start, and
whether the two sides wrote byte-identical files (`cmp`). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROBES = ("libero", "libero-plus", "simpler-env")
CLI = "import sys; from worldflux_nb.cli import run; sys.argv[0] = 'worldflux-nb'; sys.exit(run())"


def commands(data: Path, out: Path) -> dict[str, list[str]]:
    """Command name -> CLI arguments, writing into `out`."""
    plan = str(data / "plan.json")
    found: dict[str, list[str]] = {}
    for suffix in ("parquet", "json"):
        for probe in PROBES:
            found[f"import {probe} .{suffix}"] = ["audit", "import", "jsonl", str(data / f"{probe}.jsonl"), "--plan",
                                                  plan, "--probe", probe, "--output", str(out / f"audit_{probe}.{suffix}")]
    for suffix in ("parquet", "json"):
        audits = [arg for probe in PROBES for arg in ("--audit-input", f"{probe}={out / f'audit_{probe}.{suffix}'}")]
        found[f"packet from .{suffix}"] = ["eval-portfolio", "packet", "--plan", plan, *audits, "--output",
                                           str(out / f"packet_{suffix}.md"), "--packet-json", str(out / f"packet_{suffix}.json")]
    return found


def run_once(argv: list[str], checkout: str, cwd: Path) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": checkout, "SOURCE_DATE_EPOCH": "1767225600"}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", CLI, *argv], env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"failed: {' '.join(argv)} ({checkout})")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="another checkout, run alternated with this one")
    parser.add_argument("--sizes", default="1k,10k")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sides = {"before": str(Path(args.before).resolve()), "after": str(ROOT)}
    cache = "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"nproc {os.cpu_count()} · Python {sys.version.split()[0]} · bytecode cache {cache}")
    with tempfile.TemporaryDirectory(prefix="small-bench-") as tmp:
        for size in args.sizes.split(","):
            data = (BENCH / "data" / size).resolve()
            outs = {side: Path(tmp) / size / side for side in sides}
            for out in outs.values():
                out.mkdir(parents=True)
            times: dict[tuple[str, str], list[tuple[float, float]]] = {}
            loads = []
            for round_ in range(args.rounds + 1):
                loads.append(os.getloadavg()[0])
                order = list(sides) if round_ % 2 else list(sides)[::-1]
                for name in commands(data, outs["after"]):
                    for side in order:
                        took = run_once(commands(data, outs[side])[name], sides[side], outs[side])
                        if round_:
                            times.setdefault((name, side), []).append(took)
            print(f"\n{size}: load average (1 min) at each round's start: {' '.join(f'{x:.2f}' for x in loads)}")
            print(f"{'command':28} {'before wall/cpu':>16} {'after wall/cpu':>16} {'after/before wall':>18}")
            totals = {side: 0.0 for side in sides}
            for name in commands(data, outs["after"]):
                walls = {side: statistics.median(w for w, _ in times[(name, side)]) for side in sides}
                cpus = {side: statistics.median(c for _, c in times[(name, side)]) for side in sides}
                for side in sides:
                    totals[side] += walls[side]
                print(f"{name:28} {walls['before']:7.3f}/{cpus['before']:.3f}  {walls['after']:7.3f}/{cpus['after']:.3f}"
                      f"  {walls['after'] / walls['before']:17.2f}")
            print(f"{'sum of medians':28} {totals['before']:7.3f}        {totals['after']:7.3f}"
                  f"        {totals['after'] / totals['before']:17.2f}")
            names = sorted(p.name for p in outs["after"].iterdir())
            differ = [n for n in names if not filecmp.cmp(outs["before"] / n, outs["after"] / n, shallow=False)]
            print(f"byte-identical: {', '.join(n for n in names if n not in differ)}; differ: {differ or 'none'}")


if __name__ == "__main__":
    main()
