"""The public API reads like the command line and writes the same bytes; `import worldflux_nb` stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import worldflux_nb as wf
from conftest import REFERENCE_PROFILE
from notebook_support import REPO, command_line_flow
from worldflux_nb.io.artifacts import artifact_json
from worldflux_nb.sample.evidence import write_sample_evidence

STEPS = ("profile", "plan", "run_sheet", "import_evidence", "packet", "brief", "contract", "conformance",
         "charts", "save", "load")


def test_every_step_is_a_top_level_function_and_importing_stays_light():
    assert all(callable(getattr(wf, name)) for name in STEPS) and set(STEPS) <= set(wf.__all__)
    probe = ("import sys, worldflux_nb\nprint(sorted(m for m in ('pandas', 'numpy', 'altair', 'ipywidgets', "
             "'anywidget', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"


def test_the_api_flow_writes_the_command_lines_bytes(tmp_path: Path):
    cli = command_line_flow(tmp_path / "cli")
    profile = wf.profile(**REFERENCE_PROFILE)
    assert artifact_json(profile) == (cli / "profile.json").read_text(encoding="utf-8")
    plan = wf.plan(cli / "profile.json", seed=1234, contracts=["reference"])
    assert artifact_json(plan) == (cli / "plan.json").read_text(encoding="utf-8")
    assert artifact_json(wf.run_sheet(plan)) == (cli / "run_sheet.json").read_text(encoding="utf-8")
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    audits = []
    for number, sample in enumerate(write_sample_evidence(plan, evidence), start=1):
        options: dict = {}
        for flag, value in sample.options:
            key = flag.lstrip("-").replace("-", "_")
            if key == "task_map":
                harness, task = value.split("=", 1)
                options.setdefault("task_map", {})[harness] = task
            else:
                options[key] = value
        audit = wf.import_evidence(sample.format, evidence / sample.name, plan=cli / "plan.json",
                                   probe=sample.probe_id, **options)
        expected = cli / "audit_inputs" / f"{number:02d}_{sample.probe_id.replace(':', '_')}.json"
        assert artifact_json(audit) == expected.read_text(encoding="utf-8"), sample.name
        audits.append(audit)
    wf.save(audits[0], tmp_path / "audit.parquet")  # Parquet, as `audit import --output audit.parquet` writes
    assert (tmp_path / "audit.parquet").read_bytes()[:4] == b"PAR1"
    assert wf.load(tmp_path / "audit.parquet").audit_digest == audits[0].audit_digest
    packet = wf.packet(plan, audits)
    assert artifact_json(packet) == (cli / "packet.json").read_text(encoding="utf-8")
    brief = wf.brief(cli / "packet.json", packet_markdown_ref="packet.md")
    assert artifact_json(brief) == (cli / "reviewer_brief.json").read_text(encoding="utf-8")
    wf.save(brief, tmp_path / "brief.json")
    assert (tmp_path / "brief.json").read_bytes() == (cli / "reviewer_brief.json").read_bytes()


def test_bad_arguments_are_refused_clearly(tmp_path: Path):
    with pytest.raises(TypeError, match="not both"):
        wf.profile(tmp_path / "p.json", profile_id="x")
    with pytest.raises(TypeError, match="ProtocolPlan or a path"):
        wf.run_sheet(42)
