"""Helpers for the notebook tests: the command-line flow on the template's inputs, file comparisons."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Sequence

from conftest import REFERENCE_PROFILE_ARGS

from worldflux_nb.cli import main
from worldflux_nb.io.artifacts import load
from worldflux_nb.models import ProtocolPlan
from worldflux_nb.sample.evidence import write_sample_evidence
from worldflux_nb.sample.reference import reference_contract_data

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "templates" / "profile_to_brief.ipynb"
# What the template writes that the command line also writes (audit inputs are compared separately).
FLOW_FILES = ("profile.json", "plan.json", "plan.md", "run_sheet.md", "run_sheet.json", "run_sheet.csv",
              "packet.md", "packet.json", "reviewer_brief.md", "reviewer_brief.json")
REQUIRED_FILES = ("profile.json", "plan.json", "plan.md", "run_sheet.md", "run_sheet.json", "packet.md",
                  "packet.json", "reviewer_brief.md", "reviewer_brief.json", "artifact_manifest.json")


def cli_ok(*argv: object) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    assert code == 0, f"worldflux-nb {' '.join(map(str, argv))} exited {code}: {err.getvalue()}"
    return out.getvalue()


def command_line_flow(folder: Path) -> Path:
    """The template's default run done with the command line: reference profile and contract, seed 1234,
    the bundled sample evidence imported file by file with `audit import`."""
    folder.mkdir(parents=True, exist_ok=True)
    contract = folder / "contract.json"
    contract.write_text(json.dumps(reference_contract_data()), encoding="utf-8")
    cli_ok("eval-profile", "create", *REFERENCE_PROFILE_ARGS, "--output", folder / "profile.json")
    cli_ok("eval-portfolio", "plan", "--profile", folder / "profile.json", "--seed", 1234,
           "--seed-source", "operator_supplied", "--custom-eval-contract", contract,
           "--output", folder / "plan.json")
    cli_ok("eval-portfolio", "render-plan", "--plan", folder / "plan.json", "--output", folder / "plan.md")
    cli_ok("eval-portfolio", "render-run-sheet", "--plan", folder / "plan.json", "--output",
           folder / "run_sheet.md", "--run-sheet-json", folder / "run_sheet.json",
           "--run-sheet-csv", folder / "run_sheet.csv")
    evidence = folder / "sample_evidence"
    evidence.mkdir()
    samples = write_sample_evidence(load(folder / "plan.json", ProtocolPlan), evidence)
    (folder / "audit_inputs").mkdir()
    pairs: list[str] = []
    for number, sample in enumerate(samples, start=1):
        target = folder / "audit_inputs" / f"{number:02d}_{sample.probe_id.replace(':', '_')}.json"
        if sample.format == "audit_input":
            target.write_bytes((evidence / sample.name).read_bytes())
        else:
            cli_ok(*sample.import_args(evidence, folder / "plan.json", target))
        pairs += ["--audit-input", f"{sample.probe_id}={target}"]
    cli_ok("eval-portfolio", "packet", "--plan", folder / "plan.json", *pairs,
           "--output", folder / "packet.md", "--packet-json", folder / "packet.json")
    cli_ok("eval-portfolio", "reviewer-brief", "--packet", folder / "packet.json",
           "--packet-markdown-ref", "packet.md", "--output", folder / "reviewer_brief.md",
           "--brief-json", folder / "reviewer_brief.json")
    return folder


def differing(left: Path, right: Path, names: Sequence[str]) -> list[str]:
    """The names whose bytes differ (or that are missing) between two folders."""
    return [name for name in names
            if not (left / name).is_file() or not (right / name).is_file()
            or (left / name).read_bytes() != (right / name).read_bytes()]


def relative_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# One template execution per test session, shared by every module that needs it (a cache here rather
# than a conftest fixture, so the notebook tests stay in their own files).
_RUNS: dict[str, Path] = {}


def _cached(key: str, factory: "pytest.TempPathFactory", build) -> Path:  # noqa: F821
    if key not in _RUNS:
        import pytest

        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH)
            _RUNS[key] = build(factory.mktemp(key))
    return _RUNS[key]


SOURCE_DATE_EPOCH = "1767225600"


def template_run(factory) -> Path:
    """`worldflux-nb notebook run --output-dir DIR` on the defaults; returns DIR."""
    def build(folder: Path) -> Path:
        out = folder / "run"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["notebook", "run", "--output-dir", str(out)])
        assert code == 0, err.getvalue()
        (folder / "progress.txt").write_text(err.getvalue(), encoding="utf-8")
        return out

    return _cached("template-run", factory, build)


def compare_template_run(factory) -> Path:
    """`worldflux-nb notebook run compare_policies --output-dir DIR` on the defaults; returns DIR."""
    def build(folder: Path) -> Path:
        out = folder / "run"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(["notebook", "run", "compare_policies", "--output-dir", str(out)])
        assert code == 0, err.getvalue()
        return out

    return _cached("compare-template-run", factory, build)


def cli_flow(factory) -> Path:
    return _cached("cli-flow", factory, command_line_flow)


# An output an attacker could put in a notebook someone sends: scripts, an event handler, a frame.
HOSTILE_HTML = ('<p>hostile output</p><script>document.title = "pwned"; window.wfnbPwned = 1;</script>'
                '<b onclick="document.title = \'pwned-click\'" id="hostile-click">click</b>'
                '<iframe srcdoc="<script>parent.document.title = \'pwned-frame\'</script>"></iframe>')


def executed_like_notebook(path: Path) -> Path:
    """A notebook with the outputs an executed template holds: a packet, a chart, the explorer as the runner
    records it (self-contained), an explorer as a live session saves it (widget view, no saved state), a
    hostile script output and a hostile text/html output."""
    import ipywidgets
    import nbformat

    import display_samples as samples
    from worldflux_nb.io.notebook_explorer import explorers_as_records
    from worldflux_nb.render import charts

    def output(bundle, metadata=None):
        return nbformat.v4.new_output("display_data", data=bundle, metadata=metadata or {})

    plan = samples.plan()
    packet = samples.packet(plan)
    chart_data, chart_meta = charts.power_chart(packet, plan)._repr_mimebundle_()
    explorer = packet.explore(samples.evidence_frame(plan), plan=plan).filter(probe_id=["libero"])
    live = packet.explore(samples.evidence_frame(plan), plan=plan).filter(probe_id=["libero-plus"])
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# The record\n\nLOCAL_PRIVATE."),
                nbformat.v4.new_code_cell("packet", outputs=[output(packet._repr_mimebundle_())]),
                nbformat.v4.new_code_cell("power", outputs=[output(chart_data, chart_meta)]),
                nbformat.v4.new_code_cell("explorer", outputs=[output(explorer._repr_mimebundle_())]),
                nbformat.v4.new_code_cell("live explorer", outputs=[output(live._repr_mimebundle_())]),
                nbformat.v4.new_code_cell("evil", outputs=[output({
                    "application/javascript": "fetch('https://evil.example/x')",
                    "text/plain": "evil"})]),
                nbformat.v4.new_code_cell("evil html", outputs=[output({"text/html": HOSTILE_HTML,
                                                                        "text/plain": "evil html"})])]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0,
        "state": ipywidgets.Widget.get_manager_state(widgets=[explorer])["state"]}}
    nb = explorers_as_records(nbformat.reads(nbformat.writes(nb), as_version=4))
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path
