"""The public API reads like the command line and writes the same bytes; `import worldflux_nb` stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import worldflux_nb as wf
from conftest import REFERENCE_PROFILE
from notebook_support import REPO, command_line_flow
from worldflux_nb.errors import InputError
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


def _lerobot_sample(plan, folder: Path):
    """The bundled LeRobot eval_info.json and a function importing it as `audit import lerobot` would."""
    sample = next(s for s in write_sample_evidence(plan, folder) if s.format == "lerobot")
    return folder / sample.name, lambda **limit: wf.import_evidence(
        "lerobot", folder / sample.name, plan=plan, probe=sample.probe_id, **dict(
            (flag.lstrip("-").replace("-", "_"), value) for flag, value in sample.options), **limit)


def test_the_row_limit_is_the_command_lines_at_import_and_at_packet(tmp_path: Path):
    """`max_evidence_rows=` is `--max-evidence-rows`: the same default, the same refusal, raised the same
    way, for a harness file, an audit input file and an audit input already in memory."""
    plan = wf.plan(wf.profile(**REFERENCE_PROFILE), seed=1234)
    _, imported = _lerobot_sample(plan, tmp_path)
    rows = len(imported().episodes)
    with pytest.raises(InputError, match=rf"episodes: holds {rows} rows, over the limit of {rows - 1}; "
                                         r"raise it with max_evidence_rows="):
        imported(max_evidence_rows=rows - 1)
    audit = imported(max_evidence_rows=rows)
    wf.save(audit, tmp_path / "audit.parquet")
    for given in (audit, tmp_path / "audit.parquet"):
        with pytest.raises(InputError, match=rf"over the limit of {rows - 1}; raise it with max_evidence_rows="):
            wf.packet(plan, [given], max_evidence_rows=rows - 1)
        with pytest.raises(InputError, match=rf"over the limit of {rows - 1}"):
            wf.conformance(plan, [given], max_evidence_rows=rows - 1)
        assert wf.packet(plan, [given], max_evidence_rows=rows).conformance.evidence_rows == rows
    with pytest.raises(InputError, match=rf"over the limit of {rows - 1}; raise it with max_evidence_rows="):
        wf.compare(plan, {"a": [audit], "b": [tmp_path / "audit.parquet"]}, max_evidence_rows=rows - 1)
    for bad in (0, -3, True, 2.0, "5"):
        with pytest.raises(InputError, match="max_evidence_rows: must be a positive integer"):
            wf.packet(plan, [audit], max_evidence_rows=bad)


def test_the_default_limit_caps_a_harness_file_at_1_kib_a_row(tmp_path: Path, monkeypatch):
    """Without `max_evidence_rows` the API reads a file up to the command line's default cap (1 KiB a row
    of its default rows), not the 256 MiB it read before; past the cap it refuses, naming the file."""
    from worldflux_nb.io import evidence_limits

    plan = wf.plan(wf.profile(**REFERENCE_PROFILE), seed=1234)
    path, imported = _lerobot_sample(plan, tmp_path)
    size = path.stat().st_size
    monkeypatch.setattr(evidence_limits, "DEFAULT_MAX_EVIDENCE_ROWS", size // evidence_limits.BYTES_PER_EVIDENCE_ROW)
    with pytest.raises(InputError, match=rf"{path.name}: is {size} bytes, over the .* raise it with max_evidence_rows="):
        imported()
    monkeypatch.setattr(evidence_limits, "DEFAULT_MAX_EVIDENCE_ROWS", size // evidence_limits.BYTES_PER_EVIDENCE_ROW + 1)
    with pytest.raises(InputError, match=r"episodes: holds \d+ rows, over the limit"):  # the file fits; its rows do not
        imported()
