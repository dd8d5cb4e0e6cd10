"""The explorer's caps, measured (run by hand): what they keep out of the notebook and the page.

The explorer's front end holds aggregated data: every cell, and at most MAX_EPISODES_PER_CELL episodes per
cell and MAX_EPISODE_ROWS in all (render/explorer.py). For growing campaigns this runs the template notebook
(`worldflux-nb notebook run`, as a user would) and measures, per size:

- the explorer's state embedded in its record in the executed notebook, and the executed notebook's size;
- the same explorer's state without the caps (built in this process from the run's own plan and audit
  inputs), the baseline of the same run;
- the time to first render in headless Chromium of the explorer's front end (render/explorer.js, loaded as
  a module in a plain page with the state, capped and uncapped), and of the `notebook html` report.

    python bench/explorer_caps.py --sizes 10k,100k,1M --out bench/results/explorer_caps

Needs Debian's chromium and chromium-driver and selenium (the test extras). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import SIZES, template_inputs  # noqa: E402

EXPLORER_JS = Path(__file__).resolve().parents[1] / "worldflux_nb" / "render" / "explorer.js"
LOADS = 3  # page loads per measurement; the median is reported

# A plain page that loads the explorer's front end as anywidget would: a module whose render({model, el})
# draws from model.get("data"); the model here is a stand-in holding the saved state, with no kernel.
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>explorer</title></head><body>
<div id="root"></div>
<script type="application/json" id="state">{state}</script>
<script type="module">
const code = {code};
const url = URL.createObjectURL(new Blob([code], {{type: "text/javascript"}}));
const state = JSON.parse(document.getElementById("state").textContent);
const listeners = {{}};
const model = {{
  get: (key) => state[key],
  set: (key, value) => {{ state[key] = value; (listeners["change:" + key] || []).forEach((f) => f()); }},
  on: (event, f) => {{ (listeners[event] = listeners[event] || []).push(f); }},
  off: () => {{}},
  save_changes: () => {{}},
}};
const widget = (await import(url)).default;
widget.render({{model, el: document.getElementById("root")}});
window.wfnbRows = document.querySelectorAll("#root tr[role=button]").length;
window.wfnbRenderedAt = performance.now();
</script></body></html>"""


def explorer_record(notebook: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(static view, state) of the explorer's self-contained record in an executed notebook."""
    from worldflux_nb.render.explorer_record import record_parts

    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            parts = record_parts("".join(output.get("data", {}).get("text/html", "")))
            if parts is not None:
                return parts
    raise RuntimeError("no explorer record in the executed notebook")


def page_state(state: dict[str, Any]) -> str:
    """The state a page needs (data, filters, selection, search) as JSON safe inside a <script>."""
    from worldflux_nb.render.explorer_record import embedded_json

    return embedded_json({key: state.get(key, default) for key, default in
                          (("data", {}), ("filters", {}), ("selected", ""), ("search", ""))})


def parquet_audits(folder: Path) -> list[str]:
    """The inputs' evidence imported as Parquet audit inputs, one per probe as template_inputs names them
    (a JSON audit input passes the 512 MB input limit near 1M episodes)."""
    import worldflux_nb as wf
    from worldflux_nb.cli import main

    paths = []
    for probe in wf.load(folder / "plan.json").selected_probes:
        name = probe.probe_id.replace(":", "_")
        target = folder / f"audit_{name}.parquet"
        code = main(["audit", "import", "jsonl", str(folder / f"{name}.jsonl"), "--plan", str(folder / "plan.json"),
                     "--probe", probe.probe_id, "--output", str(target)])
        if code != 0:
            raise RuntimeError(f"audit import of {name}.jsonl as Parquet failed")
        (folder / f"audit_{name}.json").unlink(missing_ok=True)
        paths.append(str(target))
    return paths


def uncapped_state(run: Path, inputs: dict[str, Any]) -> dict[str, Any]:
    """The same explorer as the template builds, from the run's own plan and audit inputs, without caps."""
    import worldflux_nb as wf
    from worldflux_nb.render import explorer

    plan = wf.load(run / "plan.json")
    checked = wf.conformance(plan, inputs["audit_inputs"])
    packet = wf.load(run / "packet.json")
    saved = explorer.MAX_EPISODES_PER_CELL, explorer.MAX_EPISODE_ROWS
    explorer.MAX_EPISODES_PER_CELL = explorer.MAX_EPISODE_ROWS = 10**12
    try:
        widget = packet.explore(checked.rows, plan=plan)
        return {"data": widget.data, "filters": widget.filters, "selected": "", "search": ""}
    finally:
        explorer.MAX_EPISODES_PER_CELL, explorer.MAX_EPISODE_ROWS = saved


def chrome():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000", "--disable-background-networking", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(600)
    driver.set_script_timeout(600)
    return driver


def first_render_ms(driver, page: Path) -> tuple[float, int]:
    """Median over LOADS of the time from navigation to the explorer's first drawn table; rows drawn."""
    times, rows = [], 0
    for _ in range(LOADS):
        driver.get("about:blank")
        driver.get(page.as_uri())
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            done = driver.execute_script("return window.wfnbRenderedAt === undefined ? null : "
                                         "[window.wfnbRenderedAt, window.wfnbRows]")
            if done:
                times.append(done[0])
                rows = done[1]
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{page.name} did not render")
    return statistics.median(times), rows


def report_load_ms(driver, page: Path) -> float:
    """Median over LOADS of navigation start to the load event of the `notebook html` report."""
    times = []
    for _ in range(LOADS):
        driver.get("about:blank")
        driver.get(page.as_uri())
        times.append(driver.execute_script(
            "const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd - t.startTime"))
    return statistics.median(times)


def measure(size: str, out: Path, driver) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(sys.stderr):
        inputs = template_inputs(SIZES[size], out / "inputs")
        inputs["audit_inputs"] = parquet_audits(out / "inputs")
    run = out / "run"
    argv = [sys.executable, "-m", "worldflux_nb", "notebook", "run", "--output-dir", str(run),
            "-p", "profile", inputs["profile"], "-p", "custom_contract", inputs["contract"],
            "-p", "audit_inputs", json.dumps(inputs["audit_inputs"])]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True)
    run_s = time.perf_counter() - started
    executed = run / "profile_to_brief.ipynb"
    if proc.returncode != 0 or not executed.exists():
        raise RuntimeError(f"notebook run failed at {size}: {proc.stderr.strip()[-800:]}")
    notebook = json.loads(executed.read_text(encoding="utf-8"))
    static_view, saved = explorer_record(notebook)
    full = uncapped_state(run, inputs)
    code = json.dumps(EXPLORER_JS.read_text(encoding="utf-8"))
    pages = {}
    for name, state in (("capped", saved), ("uncapped", full)):
        pages[name] = out / f"explorer_{name}.html"
        pages[name].write_text(PAGE.format(state=page_state(state), code=code), encoding="utf-8")
    report = out / "report.html"
    subprocess.run([sys.executable, "-m", "worldflux_nb", "notebook", "html", str(executed), "--output",
                    str(report)], check=True, capture_output=True)
    capped_ms, capped_rows = first_render_ms(driver, pages["capped"])
    uncapped_ms, uncapped_rows = first_render_ms(driver, pages["uncapped"])
    episodes = lambda data: sum(len(rows) for rows in data["episodes"].values())  # noqa: E731
    return {
        "size": size, "planned": inputs["planned_episodes"], "cells": len(saved["data"]["cells"]),
        "run_s": run_s, "notebook_mb": executed.stat().st_size / 1e6,
        "widget_state_mb": len(json.dumps(notebook["metadata"].get("widgets", {}))) / 1e6,
        "explorer_data_mb": len(json.dumps(saved["data"])) / 1e6,
        "static_view_mb": len(static_view) / 1e6,
        "explorer_episodes": episodes(saved["data"]),
        "uncapped_data_mb": len(json.dumps(full["data"])) / 1e6,
        "uncapped_episodes": episodes(full["data"]),
        "render_capped_ms": capped_ms, "render_uncapped_ms": uncapped_ms,
        "rows_drawn": capped_rows, "rows_drawn_uncapped": uncapped_rows,
        "report_mb": report.stat().st_size / 1e6, "report_load_ms": report_load_ms(driver, report),
    }


ROWS = [
    ("planned episodes", "planned", "{:,}"),
    ("cells", "cells", "{:,}"),
    ("template run (wall)", "run_s", "{:.1f} s"),
    ("executed notebook", "notebook_mb", "{:.2f} MB"),
    ("widget state in the notebook (widgets other than the explorer)", "widget_state_mb", "{:.2f} MB"),
    ("explorer data, capped (embedded in its record)", "explorer_data_mb", "{:.2f} MB"),
    ("episode rows held, capped", "explorer_episodes", "{:,}"),
    ("explorer static view (in its record)", "static_view_mb", "{:.2f} MB"),
    ("explorer data without caps (baseline)", "uncapped_data_mb", "{:.2f} MB"),
    ("episode rows held without caps", "uncapped_episodes", "{:,}"),
    ("first render, capped (median of 3)", "render_capped_ms", "{:.0f} ms"),
    ("first render without caps (median of 3)", "render_uncapped_ms", "{:.0f} ms"),
    ("cell rows drawn (capped / uncapped)", "rows_drawn", "{}"),
    ("`notebook html` report", "report_mb", "{:.2f} MB"),
    ("`notebook html` report: load event (median of 3)", "report_load_ms", "{:.0f} ms"),
]


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| | " + " | ".join(r["size"] for r in results) + " |", "|---|" + "---|" * len(results)]
    for label, key, fmt in ROWS:
        cells = []
        for r in results:
            cell = fmt.format(r[key])
            if key == "rows_drawn":
                cell = f"{r['rows_drawn']} / {r['rows_drawn_uncapped']}"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| executed notebook without caps (computed: notebook − capped + uncapped data) | " + " | ".join(
        f"{r['notebook_mb'] - r['explorer_data_mb'] + r['uncapped_data_mb']:.2f} MB" for r in results) + " |")
    lines.append("| ratio: data without caps / capped | " + " | ".join(
        f"{r['uncapped_data_mb'] / r['explorer_data_mb']:.1f}x" for r in results) + " |")
    lines.append("| ratio: first render without caps / capped | " + " | ".join(
        f"{r['render_uncapped_ms'] / r['render_capped_ms']:.1f}x" for r in results) + " |")
    return "\n".join(lines)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    chromium = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {chromium}, "
            f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1M")
    parser.add_argument("--out", default="bench/results/explorer_caps")
    args = parser.parse_args()
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1767225600")
    driver = chrome()
    results = []
    try:
        for size in args.sizes.split(","):
            print(f"{size} …", file=sys.stderr)
            results.append(measure(size, Path(args.out) / size, driver))
            print(json.dumps(results[-1]), file=sys.stderr)
    finally:
        driver.quit()
    print(f"Machine: {machine()}\n")
    print(table(results))


if __name__ == "__main__":
    main()
