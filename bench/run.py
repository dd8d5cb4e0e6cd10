"""Benchmark by hand: `.venv/bin/python bench/run.py [--sizes 10k,100k,1M]` prints a table.

Each size runs in its own subprocess (so peak memory is that size's alone); the end-to-end packet
command runs in another, measured with getrusage. Nothing here is a test and nothing is asserted
against the clock; bench/README.md records the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from generate import PROBES, SIZES  # noqa: E402

TARGETS = {
    "packet_cli_s": ("full packet command, 1M", "<= 10 s"),
    "packet_cli_peak_mb": ("peak memory of the packet command, 1M", "< 2048 MB"),
    "conformance_speedup": ("conformance vs per-row baseline, 1M", ">= 20x"),
    "import_ratio": ("import worldflux_nb vs pandas+pydantic", "<= 1.5x"),
    "notebook_mb": ("executed template notebook, 100k", "< 3 MB"),
    "explorer_filter_ms": ("explorer filter change, 10k cells", "< 100 ms"),
}


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def peak_mb_self() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------------
# Import time (fresh interpreters, best of several)
# ------------------------------------------------------------------------------------------------

def import_seconds(statement: str, repeat: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(repeat)]
    return min(runs)


def import_report() -> dict[str, float]:
    ours = import_seconds("import worldflux_nb")
    base = import_seconds("import pandas, pydantic")
    return {"import_worldflux_nb_s": ours, "import_pandas_pydantic_s": base,
            "import_ratio": ours / base}


# ------------------------------------------------------------------------------------------------
# One size, in a worker process
# ------------------------------------------------------------------------------------------------

def worker(size: str, data: Path) -> dict[str, Any]:
    """Every in-process stage for one size; returns seconds per stage and the cross-check."""
    from baseline import conformance_counts

    from worldflux_nb import load
    from worldflux_nb.cli import main
    from worldflux_nb.core.conformance import check_conformance
    from worldflux_nb.core.packet import build_packet
    from worldflux_nb.io.artifacts import artifact_json
    from worldflux_nb.render.display import artifact_document
    from worldflux_nb.render.html import to_html
    from worldflux_nb.render.markdown import to_markdown

    out: dict[str, Any] = {"size": size}
    plan_path = data / "plan.json"
    audits: dict[str, Path] = {}

    def import_all() -> None:
        for probe in PROBES:
            name = probe.probe_id.replace(":", "_")
            audits[probe.probe_id] = data / f"audit_{name}.json"
            code = main(["audit", "import", "jsonl", str(data / f"{name}.jsonl"), "--plan", str(plan_path),
                         "--probe", probe.probe_id, "--output", str(audits[probe.probe_id])])
            assert code == 0, f"audit import {name} exited {code}"

    _, out["import_jsonl_s"] = timed(import_all)
    out["plan_json_mb"] = plan_path.stat().st_size / 1e6
    sheet = [str(data / name) for name in ("run_sheet.md", "run_sheet.json", "run_sheet.csv")]
    code, out["run_sheet_s"] = timed(lambda: main([
        "eval-portfolio", "render-run-sheet", "--plan", str(plan_path), "--output", sheet[0],
        "--run-sheet-json", sheet[1], "--run-sheet-csv", sheet[2]]))
    assert code == 0, f"render-run-sheet exited {code}"
    out["run_sheet_json_mb"] = Path(sheet[1]).stat().st_size / 1e6
    vla = data / "libero_aggregate.json"
    if vla.exists():
        code, out["import_vla_eval_s"] = timed(lambda: main([
            "audit", "import", "vla-eval", str(vla), "--plan", str(plan_path), "--probe", "libero",
            "--output", str(data / "audit_libero_vla.json")]))
        assert code == 0, f"vla-eval import exited {code}"

    (plan, inputs), out["load_artifacts_s"] = timed(
        lambda: (load(plan_path), [load(p) for p in audits.values()]))
    # First call: includes turning the rows into the columns cached on each audit input.
    result, out["conformance_s"] = timed(lambda: check_conformance(plan, inputs))
    out["conformance_warm_s"] = statistics.median(
        timed(lambda: check_conformance(plan, inputs))[1] for _ in range(3))

    plan_dict = json.loads(plan_path.read_text(encoding="utf-8"))
    input_dicts = [json.loads(p.read_text(encoding="utf-8")) for p in audits.values()]
    counts, out["baseline_s"] = timed(lambda: conformance_counts(plan_dict, input_dicts))
    del plan_dict, input_dicts
    ours = result.conformance.model_dump()
    differing = {k: (ours[k], counts[k]) for k in counts if k in ours and k != "digest_mismatches"
                 and ours[k] != counts[k]}
    out["baseline_agrees"] = not differing
    out["baseline_differences"] = differing
    out["conformance_speedup"] = out["baseline_s"] / out["conformance_s"]
    out["conformance_speedup_warm"] = out["baseline_s"] / out["conformance_warm_s"]

    packet, out["build_packet_s"] = timed(lambda: build_packet(plan, inputs))
    text, out["packet_json_s"] = timed(lambda: artifact_json(packet))
    out["packet_json_mb"] = len(text.encode()) / 1e6
    document, out["packet_document_s"] = timed(lambda: artifact_document(packet))
    _, out["markdown_s"] = timed(lambda: to_markdown(document))
    _, out["html_s"] = timed(lambda: to_html(document))

    from worldflux_nb.render import charts

    made, out["charts_build_s"] = timed(lambda: [
        charts.conformance_matrix(packet, result.rows, plan), charts.denominator_chart(packet),
        charts.power_chart(packet, plan)])
    _, out["charts_spec_svg_s"] = timed(lambda: [(c.spec, c.svg) for c in made])
    out["explorer_filter_ms"] = explorer_filter_ms(packet, plan, result.rows)
    out["worker_peak_mb"] = peak_mb_self()
    return out


def explorer_filter_ms(packet: Any, plan: Any, evidence: Any) -> float:
    """Median time of one filter change (probe, then category) in the explorer, with its static view redrawn
    (the widget's front end filters in the page; bench/explorer_caps.py measures that)."""
    from worldflux_nb.render.explorer import Explorer

    explorer = Explorer(packet, evidence, plan=plan)
    probes = list(explorer.options("probe_id"))
    changes = [lambda p=p: explorer.filter(probe_id=[p]).static_html() for p in probes]
    changes += [lambda: explorer.filter(category=["missing"]).static_html(),
                lambda: explorer.filter(category=[]).static_html(),
                lambda: explorer.filter(probe_id=[]).static_html()]
    times = [timed(change)[1] * 1000 for change in changes * 3]
    return statistics.median(times)


def packet_cli(data: Path) -> dict[str, float]:
    """The `eval-portfolio packet` command end to end in a fresh interpreter: wall time and peak RSS."""
    argv = [sys.executable, "-m", "worldflux_nb", "eval-portfolio", "packet", "--plan",
            str(data / "plan.json")]
    for probe in PROBES:
        argv += ["--audit-input", f"{probe.probe_id}={data / ('audit_' + probe.probe_id + '.json')}"]
    argv += ["--output", str(data / "packet.md"), "--packet-json", str(data / "packet.json")]
    code = ("import resource, subprocess, sys, time, json; t = time.perf_counter(); "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "s = time.perf_counter() - t; "
            "print(json.dumps({'code': p.returncode, 'stderr': p.stderr[-500:], 's': s, "
            "'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))")
    report = json.loads(subprocess.run([sys.executable, "-c", code, *argv], capture_output=True,
                                       text=True, check=True).stdout)
    if report["code"] != 0:
        raise RuntimeError(f"packet command failed: {report['stderr']}")
    return {"packet_cli_s": report["s"], "packet_cli_peak_mb": report["peak_mb"]}


def notebook_report(size: str, out_dir: Path) -> dict[str, Any]:
    """The template notebook run on about this many planned episodes: executed size and wall time."""
    from generate import template_inputs

    with contextlib.redirect_stdout(sys.stderr):  # the CLI's progress lines stay out of the table
        inputs = template_inputs(SIZES[size], out_dir / "inputs")
    argv = [sys.executable, "-m", "worldflux_nb", "notebook", "run", "--output-dir", str(out_dir / "run"),
            "-p", "profile", inputs["profile"], "-p", "custom_contract", inputs["contract"],
            "-p", "audit_inputs", json.dumps(inputs["audit_inputs"])]
    proc, seconds = timed(lambda: subprocess.run(argv, capture_output=True, text=True))
    notebook = out_dir / "run" / "profile_to_brief.ipynb"
    if proc.returncode != 0 or not notebook.exists():
        print(f"  notebook run failed: {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return {"notebook_planned": inputs["planned_episodes"]}
    return {"notebook_planned": inputs["planned_episodes"], "notebook_s": seconds,
            "notebook_mb": notebook.stat().st_size / 1e6}


# ------------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------------

def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    import altair
    import numpy
    import pandas
    import pydantic

    return {"nproc": str(os.cpu_count()), "cpu": cpu, "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
            "python": platform.python_version(), "pandas": pandas.__version__,
            "numpy": numpy.__version__, "pydantic": pydantic.__version__, "altair": altair.__version__}


ROWS = [
    ("evidence rows", "evidence_rows", "{:,.0f}"),
    ("audit import jsonl (all probes)", "import_jsonl_s", "{:.2f} s"),
    ("audit import vla-eval (libero)", "import_vla_eval_s", "{:.2f} s"),
    ("plan.json size", "plan_json_mb", "{:.1f} MB"),
    ("run sheet: Markdown + JSON + CSV", "run_sheet_s", "{:.2f} s"),
    ("run_sheet.json size", "run_sheet_json_mb", "{:.0f} MB"),
    ("load plan + audit inputs", "load_artifacts_s", "{:.2f} s"),
    ("conformance (first call)", "conformance_s", "{:.3f} s"),
    ("conformance (median of 3 more calls)", "conformance_warm_s", "{:.3f} s"),
    ("per-row baseline", "baseline_s", "{:.3f} s"),
    ("speed-up vs baseline, first call", "conformance_speedup", "{:.1f}x"),
    ("speed-up vs baseline, later calls", "conformance_speedup_warm", "{:.1f}x"),
    ("baseline counts agree", "baseline_agrees", "{}"),
    ("build packet (conformance+statistics)", "build_packet_s", "{:.2f} s"),
    ("packet JSON", "packet_json_s", "{:.2f} s"),
    ("packet JSON size", "packet_json_mb", "{:.1f} MB"),
    ("packet document", "packet_document_s", "{:.3f} s"),
    ("Markdown", "markdown_s", "{:.3f} s"),
    ("HTML", "html_s", "{:.3f} s"),
    ("charts: build", "charts_build_s", "{:.2f} s"),
    ("charts: spec + SVG", "charts_spec_svg_s", "{:.2f} s"),
    ("explorer filter change", "explorer_filter_ms", "{:.1f} ms"),
    ("worker peak memory (all stages)", "worker_peak_mb", "{:.0f} MB"),
    ("packet command end to end", "packet_cli_s", "{:.2f} s"),
    ("packet command peak memory", "packet_cli_peak_mb", "{:.0f} MB"),
    ("template run: planned episodes", "notebook_planned", "{:,.0f}"),
    ("template run: wall time", "notebook_s", "{:.1f} s"),
    ("template run: executed notebook", "notebook_mb", "{:.2f} MB"),
]


def table(results: list[dict[str, Any]]) -> str:
    sizes = [r["size"] for r in results]
    lines = ["| stage | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(sizes)]
    for label, key, fmt in ROWS:
        cells = [fmt.format(r[key]) if r.get(key) is not None else "—" for r in results]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--data", default=str(BENCH / "data"), help="where generated inputs are kept")
    parser.add_argument("--notebook-size", default="100k", help="size whose template run is measured")
    parser.add_argument("--skip-notebook", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, Path(args.data) / args.worker)))
        return

    print("machine:", json.dumps(machine()))
    imports = import_report()
    print("import: worldflux_nb {import_worldflux_nb_s:.3f} s, pandas+pydantic "
          "{import_pandas_pydantic_s:.3f} s, ratio {import_ratio:.2f}x (target <= 1.5x)".format(**imports))
    results = []
    for size in args.sizes.split(","):
        data = Path(args.data) / size
        if not (data / "plan.json").exists():
            print(f"generating {size} ...", file=sys.stderr)
            subprocess.run([sys.executable, str(BENCH / "generate.py"), "--sizes", size,
                            "--out", args.data], check=True, capture_output=True)
        info = {"evidence_rows": sum(sum(1 for _ in (data / f"{p.probe_id}.jsonl").open())
                                     for p in PROBES)}
        print(f"running {size} ...", file=sys.stderr)
        proc = subprocess.run([sys.executable, __file__, "--worker", size, "--data", args.data],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            raise SystemExit(f"worker for {size} failed")
        info |= json.loads(proc.stdout.strip().splitlines()[-1])
        info |= packet_cli(data)
        if size == args.notebook_size and not args.skip_notebook:
            print(f"running the template at {size} ...", file=sys.stderr)
            info |= notebook_report(size, data / "notebook")
        if info.get("baseline_differences"):
            print(f"  {size}: baseline and conformance differ: {info['baseline_differences']}",
                  file=sys.stderr)
        results.append(info)
    print(table(results))
    print("targets:", "; ".join(f"{label} {goal}" for label, goal in TARGETS.values()))


if __name__ == "__main__":
    main()
