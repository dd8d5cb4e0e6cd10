"""Each command's fixed cost: the command on a tiny input (`bench/data/1k`), every run a fresh
interpreter, beside `python -c pass` and `python -c "import pandas"` in the same run, as ratios.

    .venv/bin/python bench/startup.py [--runs 7] [--before /path/to/other/checkout]

With `--before`, each command also runs from that checkout (its `worldflux_nb` first on PYTHONPATH),
alternated run by run with this one, and the after/before ratio of the medians is printed. Wall and
CPU (user + sys of the child, from wait4) seconds; the median of the runs after one warm-up.
Nothing is asserted (bench/README.md records the numbers).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from generate import PROBES, generate  # noqa: E402

CLI = "import sys; from worldflux_nb.cli import run; sys.argv[0] = 'worldflux-nb'; sys.exit(run())"


def commands(data: Path, out: Path) -> dict[str, list[str]]:
    """Name -> argv after `python`, for the baselines and each command on the 1k data."""
    plan = str(data / "plan.json")
    audits: list[str] = []
    for probe in PROBES:
        name = probe.probe_id.replace(":", "_")
        audits += ["--audit-input", f"{probe.probe_id}={out / f'audit_{name}.parquet'}"]
    first = PROBES[0].probe_id.replace(":", "_")
    return {
        "python -c pass": ["-c", "pass"],
        "python -c 'import pandas'": ["-c", "import pandas"],
        "worldflux-nb --help": ["-c", CLI, "--help"],
        "audit import jsonl": ["-c", CLI, "audit", "import", "jsonl", str(data / f"{first}.jsonl"), "--plan", plan,
                               "--probe", PROBES[0].probe_id, "--output", str(out / "import_probe.parquet")],
        "eval-portfolio packet": ["-c", CLI, "eval-portfolio", "packet", "--plan", plan, *audits,
                                  "--output", str(out / "packet.md"), "--packet-json", str(out / "packet.json")],
    }


def run_once(argv: list[str], pythonpath: str, cwd: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter running argv with `pythonpath`'s worldflux_nb
    (run from `cwd`, outside any checkout: `python -c` puts the working folder first on sys.path)."""
    env = {**os.environ, "PYTHONPATH": pythonpath + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, *argv], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode:
        raise SystemExit(f"failed ({child.returncode}): {' '.join(argv)}\n{stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def prepare(data: Path, out: Path, pythonpath: str) -> None:
    """The 1k data and this side's audit inputs; refuses to go on if the side runs another checkout."""
    if not (data / "plan.json").exists():
        generate("1k", data)
    env = {**os.environ, "PYTHONPATH": pythonpath}
    found = subprocess.run([sys.executable, "-c", "import worldflux_nb; print(worldflux_nb.__file__)"], env=env,
                           cwd=out, capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).is_relative_to(pythonpath):
        raise SystemExit(f"{pythonpath}: its worldflux_nb is not the one imported ({found})")
    for probe in PROBES:
        name = probe.probe_id.replace(":", "_")
        run_once(["-c", CLI, "audit", "import", "jsonl", str(data / f"{name}.jsonl"), "--plan",
                  str(data / "plan.json"), "--probe", probe.probe_id, "--output", str(out / f"audit_{name}.parquet")],
                 pythonpath, out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--before", help="another checkout whose worldflux_nb runs alternated with this one")
    parser.add_argument("--data", default=str(BENCH / "data" / "1k"))
    args = parser.parse_args()
    args.data = str(Path(args.data).resolve())
    sides = {"after": str(ROOT)} if not args.before else {"before": str(Path(args.before).resolve()), "after": str(ROOT)}
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; nproc {os.cpu_count()}; "
          f"Python {sys.version.split()[0]}; runs {args.runs} (+1 warm-up)")
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as tmp:
        outs = {side: Path(tmp) / side for side in sides}
        for side, path in sides.items():
            outs[side].mkdir()
            prepare(Path(args.data), outs[side], path)
        names = list(commands(Path(args.data), outs["after"]))
        for name in names:
            for run in range(args.runs + 1):
                for side, path in sides.items():
                    wall_cpu = run_once(commands(Path(args.data), outs[side])[name], path, outs[side])
                    if run:  # the first run warms the file cache
                        results.setdefault((name, side), []).append(wall_cpu)
    base = {side: statistics.median(w for w, _ in results[("python -c pass", side)]) for side in sides}
    pandas = {side: statistics.median(w for w, _ in results[("python -c 'import pandas'", side)]) for side in sides}
    header = f"{'command':26} {'side':6} {'wall s':>7} {'cpu s':>7} {'/ pass':>7} {'/ pandas':>8}"
    print(header + ("  after/before: wall  cpu" if args.before else ""))
    for name in names:
        for side in sides:
            walls = [w for w, _ in results[(name, side)]]
            wall, cpu = statistics.median(walls), statistics.median(c for _, c in results[(name, side)])
            line = f"{name:26} {side:6} {wall:7.3f} {cpu:7.3f} {wall / base[side]:7.1f} {wall / pandas[side]:8.2f}"
            if args.before and side == "after":
                before_wall = statistics.median(w for w, _ in results[(name, "before")])
                before_cpu = statistics.median(c for _, c in results[(name, "before")])
                line += f"  {wall / before_wall:18.2f} {cpu / before_cpu:4.2f}"
            print(line)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
