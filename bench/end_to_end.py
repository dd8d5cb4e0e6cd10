"""End to end (import -> packet) beside a DuckDB floor, in one run: `bench/end_to_end.py --sizes 100k,1M,10M`.

Per size: `audit import jsonl ... --output audit.parquet` for each probe, then `eval-portfolio packet`,
each command in a fresh interpreter (wall time, peak RSS: its own VmHWM). The floor, in its own fresh
interpreter: DuckDB parses the same JSON Lines files, joins them with the planned episodes and counts
per cell (the query alone is the floor the ratio uses; the same script timed from its interpreter's start,
imports and reading the plan included, is printed beside it). Beside them, the same flow in one fresh
interpreter through the Python API (`wf.import_evidence` and `wf.save` per probe, `wf.packet`, both
documents written), as the template notebook runs it. Then, on data already in memory, conformance
beside the same join in DuckDB and in Polars.
Data a size lacks is generated first (bench/generate.py; 10M takes minutes). Runs unattended and
prints the machine, the commit, the load average before and after, and a table with ratios
(`--repeat N`: N runs per size, their medians in the table); nothing is asserted (bench/README.md
records the numbers). Run it from outside a checkout: the commands import worldflux_nb as the working
directory finds it first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from generate import PROBES, generate  # noqa: E402

MAX_ROWS = "12000000"
# Runs a command in this fresh interpreter and prints its wall time and peak RSS as JSON. The peak is
# VmHWM, this process's own: Linux carries a parent's peak across fork and exec into ru_maxrss, so a
# child of this (large) benchmark process would report at least the benchmark's own peak.
_TIMED = """
import json, sys, time
start = time.perf_counter()
{body}
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({{"s": time.perf_counter() - start, "peak_mb": peak_kb / 1024}}))
"""
_CLI = "from worldflux_nb.cli import main\ncode = main({argv!r})\nassert code == 0, code"
# The same flow in one interpreter through the Python API (what the template notebook runs): the plan
# loaded once, each probe imported and saved as Parquet, the packet built and both documents written.
_API = """
import worldflux_nb as wf
from worldflux_nb.io.artifacts import artifact_bytes
from worldflux_nb.io.files import write_outputs
from worldflux_nb.render.markdown import to_markdown
from worldflux_nb.render.packet_docs import packet_document
plan = wf.load({plan!r})
inputs = []
for probe, source, output in {imports!r}:
    inputs.append(wf.import_evidence("jsonl", source, plan=plan, probe=probe, max_evidence_rows={rows}))
    wf.save(inputs[-1], output)
packet = wf.packet(plan, inputs, max_evidence_rows={rows})
write_outputs([({markdown!r}, to_markdown(packet_document(packet))), ({json!r}, artifact_bytes(packet))])
"""
# The floor's query, on a table `planned` of the planned episodes' keys.
_QUERY = """
con = duckdb.connect()
con.register("planned", planned)
con.sql("CREATE TABLE evidence AS SELECT probe_id, task_id, axis, CAST(level AS VARCHAR) AS level, "
        "CAST(episode_index AS BIGINT) AS episode_index, success, status "
        "FROM read_json({files!r}, format='newline_delimited')")
counts = con.sql("SELECT p.cell_id, count(e.episode_index) AS rows, "
                 "count(DISTINCT e.episode_index) AS matched, sum(CASE WHEN e.success THEN 1 ELSE 0 END) AS successes "
                 "FROM planned p LEFT JOIN evidence e USING (probe_id, task_id, axis, level, episode_index) "
                 "GROUP BY p.cell_id").fetchall()
print(len(counts), file=sys.stderr)
"""
_FLOOR = """
import duckdb, pyarrow as pa
from worldflux_nb import load
from worldflux_nb.core.run_sheet import planned_episodes_frame
planned = planned_episodes_frame(load({plan!r}))
planned = pa.table({{"cell_id": planned["cell_id"].astype(str), "probe_id": planned["probe_id"].astype(str),
                    "task_id": planned["task_id"].astype(str), "axis": planned["axis"].astype(str),
                    "level": planned["level"].astype(str), "episode_index": planned["episode_index"].astype("int64")}})
start = time.perf_counter()
""" + _QUERY

# The same query as a whole script, timed like our commands from its interpreter's start: `import duckdb`
# and reading the plan's cells (plain `json`, no checks) count too. A second, fairer-to-us floor.
_FLOOR_SCRIPT = """
import duckdb, json, numpy as np, pyarrow as pa
cells = json.load(open({plan!r}, "rb"))["cells"]
counts = np.array([c["episodes"]["count"] for c in cells], dtype=np.int64)
ends = np.cumsum(counts)
first = np.repeat(np.array([c["episodes"]["start"] for c in cells], dtype=np.int64) - (ends - counts), counts)
cell_of = pa.array(np.repeat(np.arange(len(cells), dtype=np.int32), counts))
repeated = lambda key: pa.DictionaryArray.from_arrays(cell_of, pa.array([str(c[key]) for c in cells])).dictionary_decode()
planned = pa.table({{"cell_id": repeated("cell_id"), "probe_id": repeated("probe_id"), "task_id": repeated("task_id"),
                    "axis": repeated("axis"), "level": repeated("level"),
                    "episode_index": first + np.arange(int(ends[-1]), dtype=np.int64)}})
""" + _QUERY


def run_timed(body: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _TIMED.format(body=body)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"benchmark step failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine() -> str:
    import os
    import platform

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) / 2**20 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    return f"nproc {os.cpu_count()} · {cpu} · {memory:.1f} GiB RAM · Python {platform.python_version()}"


def load_average() -> str:
    import os

    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def commit() -> str:
    """The commit of the worldflux_nb the timed commands import: each runs in this process's working
    directory and environment, so a checkout there or on PYTHONPATH wins over the one beside this script."""
    locate = "import os, worldflux_nb; print(os.path.dirname(worldflux_nb.__file__))"
    where = subprocess.run([sys.executable, "-c", locate], capture_output=True, text=True).stdout.strip() or str(BENCH)
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                           capture_output=True, text=True).stdout.strip()
    return (out.stdout.strip() or "unknown") + (" (with uncommitted changes)" if dirty else "")


def in_memory(data: Path) -> dict[str, float]:
    """Conformance beside the same join and counts in DuckDB and Polars, on data already loaded."""
    import duckdb
    import polars as pl
    import pyarrow as pa

    from worldflux_nb import load
    from worldflux_nb.core.conformance import check_conformance
    from worldflux_nb.core.run_sheet import planned_episodes_frame

    plan = load(data / "plan.json")
    inputs = [load(data / f"audit_{p.probe_id.replace(':', '_')}.parquet", max_bytes=2**40) for p in PROBES]
    frame = planned_episodes_frame(plan)
    planned = pa.table({"cell_id": frame["cell_id"].astype(str), "probe_id": frame["probe_id"].astype(str),
                        "task_id": frame["task_id"].astype(str), "axis": frame["axis"].astype(str),
                        "level": frame["level"].astype(str), "episode_index": frame["episode_index"].astype("int64")})
    evidence = pa.concat_tables([ai.episodes.arrow for ai in inputs])
    keys = ["probe_id", "task_id", "axis", "level", "episode_index"]
    out = {}
    start = time.perf_counter()
    check_conformance(plan, inputs)
    out["conformance_s"] = time.perf_counter() - start
    con = duckdb.connect()
    con.register("planned", planned)
    con.register("evidence", evidence)
    start = time.perf_counter()
    con.sql("SELECT p.cell_id, count(e.episode_index), count(DISTINCT e.episode_index) FROM planned p "
            "LEFT JOIN evidence e USING (probe_id, task_id, axis, level, episode_index) GROUP BY p.cell_id").fetchall()
    out["duckdb_join_s"] = time.perf_counter() - start
    left, right = pl.from_arrow(planned), pl.from_arrow(evidence.select(keys + ["success"]))
    start = time.perf_counter()
    left.join(right, on=keys, how="left").group_by("cell_id").agg(
        pl.col("success").count(), pl.col("episode_index").n_unique())
    out["polars_join_s"] = time.perf_counter() - start
    return out


def one_size(size: str, root: Path, *, compare_in_memory: bool = True) -> dict[str, float]:
    data = root / size
    if not (data / "plan.json").exists():
        generate(size, data)
    plan = str(data / "plan.json")
    result: dict[str, float] = {"rows": 0, "import_s": 0.0, "import_peak_mb": 0.0}
    audits = []
    for probe in PROBES:
        name = probe.probe_id.replace(":", "_")
        jsonl, parquet = data / f"{name}.jsonl", data / f"audit_{name}.parquet"
        parquet.unlink(missing_ok=True)
        result["rows"] += sum(1 for _ in open(jsonl, "rb"))
        step = run_timed(_CLI.format(argv=["audit", "import", "jsonl", str(jsonl), "--plan", plan, "--probe",
                                           probe.probe_id, "--output", str(parquet),
                                           "--max-evidence-rows", MAX_ROWS]))
        result["import_s"] += step["s"]
        result["import_peak_mb"] = max(result["import_peak_mb"], step["peak_mb"])
        audits += ["--audit-input", f"{probe.probe_id}={parquet}"]
    for stale in ("packet.md", "packet.json"):
        (data / stale).unlink(missing_ok=True)
    step = run_timed(_CLI.format(argv=["eval-portfolio", "packet", "--plan", plan, *audits, "--output",
                                       str(data / "packet.md"), "--packet-json", str(data / "packet.json"),
                                       "--max-evidence-rows", MAX_ROWS]))
    result["packet_s"], result["packet_peak_mb"] = step["s"], step["peak_mb"]
    result["end_to_end_s"] = result["import_s"] + result["packet_s"]
    api = {"imports": [(p.probe_id, str(data / f"{p.probe_id.replace(':', '_')}.jsonl"),
                        str(data / f"api_audit_{p.probe_id.replace(':', '_')}.parquet")) for p in PROBES],
           "markdown": str(data / "api_packet.md"), "json": str(data / "api_packet.json")}
    for stale in [output for _, _, output in api["imports"]] + [api["markdown"], api["json"]]:
        Path(stale).unlink(missing_ok=True)
    step = run_timed(_API.format(plan=plan, rows=MAX_ROWS, **api))
    result["api_s"], result["api_peak_mb"] = step["s"], step["peak_mb"]
    files = [str(data / f"{p.probe_id.replace(':', '_')}.jsonl") for p in PROBES]
    floor = run_timed(_FLOOR.format(plan=plan, files=files))
    result["floor_s"], result["floor_peak_mb"] = floor["s"], floor["peak_mb"]
    result["ratio"] = result["end_to_end_s"] / result["floor_s"]
    script = run_timed(_FLOOR_SCRIPT.format(plan=plan, files=files))
    result["floor_script_s"] = script["s"]
    result["ratio_script"] = result["end_to_end_s"] / result["floor_script_s"]
    result["ratio_api"] = result["api_s"] / result["floor_s"]
    result["ratio_api_script"] = result["api_s"] / result["floor_script_s"]
    if compare_in_memory:
        result.update(in_memory(data))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100k,1M")
    parser.add_argument("--data", default=str(BENCH / "data"))
    parser.add_argument("--in-memory-sizes", default="100k,1M",
                        help="sizes at which conformance is also compared in memory with DuckDB and "
                             "Polars (in this driver process: 10M needs several GB)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per size, each ours then the floor; the table shows each time's "
                             "median over the runs (a ratio: the median of the runs' ratios), each peak's maximum")
    args = parser.parse_args()
    print(machine())
    # With PYTHONDONTWRITEBYTECODE set every command compiles the package's modules (0.1-0.3 s each);
    # an installed package, or a checkout whose __pycache__ may be written, reads them compiled.
    cache = "off (PYTHONDONTWRITEBYTECODE)" if sys.dont_write_bytecode else "on"
    print(f"commit {commit()} · bytecode cache {cache} · load average before: {load_average()}", flush=True)
    results = {}
    in_memory_sizes = set(args.in_memory_sizes.split(","))
    for size in args.sizes.split(","):
        runs = []
        for run in range(max(1, args.repeat)):
            runs.append(one_size(size, Path(args.data), compare_in_memory=run == 0 and size in in_memory_sizes))
            print(json.dumps({size: runs[-1]}), flush=True)
        results[size] = {key: (max if key.endswith("peak_mb") else statistics.median)(
            run[key] for run in runs if key in run) for key in runs[0]}
    print(f"load average after: {load_average()}")
    rows = [("evidence rows", "rows", "{:,.0f}"), ("import, all probes (s)", "import_s", "{:.2f}"),
            ("import peak (MB)", "import_peak_mb", "{:.0f}"), ("packet command (s)", "packet_s", "{:.2f}"),
            ("packet peak (MB)", "packet_peak_mb", "{:.0f}"), ("end to end (s)", "end_to_end_s", "{:.2f}"),
            ("DuckDB floor (s)", "floor_s", "{:.2f}"), ("DuckDB floor peak (MB)", "floor_peak_mb", "{:.0f}"),
            ("end to end / floor", "ratio", "{:.2f}×"),
            ("DuckDB floor as a whole script (s)", "floor_script_s", "{:.2f}"),
            ("end to end / whole-script floor", "ratio_script", "{:.2f}×"),
            ("one process, Python API (s)", "api_s", "{:.2f}"), ("one process peak (MB)", "api_peak_mb", "{:.0f}"),
            ("one process / floor", "ratio_api", "{:.2f}×"),
            ("one process / whole-script floor", "ratio_api_script", "{:.2f}×"),
            ("conformance in memory (s)", "conformance_s", "{:.3f}"),
            ("DuckDB join + counts in memory (s)", "duckdb_join_s", "{:.3f}"),
            ("Polars join + counts in memory (s)", "polars_join_s", "{:.3f}")]
    if args.repeat > 1:
        print(f"times and ratios: medians over {args.repeat} runs per size; peaks: the largest")
    print("\n| | " + " | ".join(results) + " |\n|---|" + "---|" * len(results))
    for label, key, fmt in rows:
        print(f"| {label} | " + " | ".join(fmt.format(r[key]) if key in r else "—" for r in results.values()) + " |")


if __name__ == "__main__":
    main()
