"""The `eval-portfolio packet` command before and after a change, alternated in one run:
`bench/packet_ab.py --before REV [--sizes 100k,1M] [--runs 3]`.

The package as it was at REV (`git archive`) and as it is in this checkout run in turn, each in a
fresh interpreter (imports included) on bench/generate.py's data and its Parquet audit inputs
(bench/end_to_end.py writes them), with SOURCE_DATE_EPOCH set so both write comparable files.
Prints wall and CPU seconds, the main thread's CPU seconds, peak RSS and the load average at each
start, and whether the two versions wrote byte-identical packet.json and packet.md. Nothing is asserted.
Each version first runs `--warmup` times unrecorded (default 1), so that both read their modules'
cached bytecode, if the interpreter may write it (PYTHONDONTWRITEBYTECODE unset; the header says which),
and the file cache holds the data.
The main thread's CPU is the command's critical path on an idle machine when the background thread's
work (worldflux_nb/background.py) fits beside it on the second core; on a loaded machine wall time
mostly shows the others' load.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PROBES = ("libero", "libero-plus", "simpler-env")
_RUN = """
import json, resource, sys, time
start = time.perf_counter()
from worldflux_nb.cli import main
code = main({argv!r})
assert code == 0, code
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec into ru_maxrss.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"s": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime,
                  "main_cpu": time.thread_time(), "peak_mb": peak_kb / 1024}}))
"""


def package_at(rev: str, into: Path) -> Path:
    """The worldflux_nb package as committed at `rev`, unpacked under `into`."""
    archive = subprocess.run(["git", "archive", "--format=tar", rev, "worldflux_nb"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def run(source: Path, data: Path, out: Path) -> dict[str, float]:
    argv = ["eval-portfolio", "packet", "--plan", str(data / "plan.json")]
    for probe in PROBES:
        argv += ["--audit-input", f"{probe}={data / f'audit_{probe}.parquet'}"]
    argv += ["--output", str(out / "packet.md"), "--packet-json", str(out / "packet.json"),
             "--max-evidence-rows", "12000000"]
    env = dict(os.environ, PYTHONPATH=str(source), SOURCE_DATE_EPOCH="1700000000")
    load = os.getloadavg()[0]
    done = subprocess.run([sys.executable, "-c", _RUN.format(argv=argv)], capture_output=True, text=True,
                          env=env, cwd=out)
    if done.returncode:
        raise SystemExit(f"packet command failed:\n{done.stderr[-2000:]}")
    return {"load": load, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", required=True, help="git revision to compare this checkout with")
    parser.add_argument("--sizes", default="100k,1M")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="unrecorded runs of each version first")
    parser.add_argument("--data", default=str(BENCH / "data"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"before": package_at(args.before, Path(tmp) / "before"), "after": ROOT}
        print(f"bytecode cache: {'off (PYTHONDONTWRITEBYTECODE)' if sys.dont_write_bytecode else 'on'}\n")
        print("| size | version | wall (s) | CPU (s) | main thread CPU (s) | peak (MB) | load at start |\n"
              "|---|---|---|---|---|---|---|")
        for size in args.sizes.split(","):
            outs = {name: Path(tmp) / f"{size}-{name}" for name in sources}
            results: dict[str, list[dict[str, float]]] = {name: [] for name in sources}
            for turn in range(args.warmup + args.runs):
                for name, source in sources.items():
                    outs[name].mkdir(exist_ok=True)
                    timed = run(source, Path(args.data) / size, outs[name])
                    if turn >= args.warmup:
                        results[name].append(timed)
            for name, rows in results.items():
                print(f"| {size} | {name} | " + " | ".join(
                    ", ".join(f"{r[key]:{fmt}}" for r in rows)
                    for key, fmt in (("s", ".2f"), ("cpu", ".2f"), ("main_cpu", ".2f"), ("peak_mb", ".0f"),
                                     ("load", ".1f"))) + " |")
            same = all((outs["before"] / f).read_bytes() == (outs["after"] / f).read_bytes()
                       for f in ("packet.json", "packet.md"))
            print(f"| {size} | outputs | {'byte-identical' if same else 'DIFFER'} | | | | |", flush=True)


if __name__ == "__main__":
    main()
