"""The template notebook: clean as committed, runs under `notebook run` and papermill alike, and
writes the same bytes as the command-line flow."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from notebook_support import (
    FLOW_FILES, REPO, REQUIRED_FILES, TEMPLATE, cli_flow, cli_ok, differing, relative_files, template_run,
)
from worldflux_nb.cli import main
from worldflux_nb.models.digest import sha256_bytes
from worldflux_nb.io.notebook_runner import declared_parameters, template_path
from worldflux_nb.models import EvalPacket, ReviewerBrief
from worldflux_nb.render.explorer_record import record_parts

pytestmark = pytest.mark.slow
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def test_committed_template_is_clean_and_parameterised() -> None:
    nb = nbformat.read(TEMPLATE, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert "widgets" not in nb.metadata
    assert declared_parameters(nb) == [
        "profile", "seed", "seed_source", "custom_contract", "episodes_per_cell", "denominator_policy",
        "audit_inputs", "harness_files", "strict_missing_evidence", "max_evidence_rows", "output_dir"]
    parameters = next(c for c in code if "parameters" in c.metadata.get("tags", []))
    assert all("#" in line for line in parameters.source.splitlines() if "=" in line)  # each one explained


def test_the_packaged_template_is_the_repository_template() -> None:
    assert template_path(None).read_bytes() == TEMPLATE.read_bytes()
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"templates/*.ipynb"' in pyproject  # shipped as package data, so non-editable installs find it


def test_notebook_run_writes_every_artifact_and_a_valid_executed_notebook(tmp_path_factory) -> None:
    out = template_run(tmp_path_factory)
    for name in REQUIRED_FILES + ("profile_to_brief.ipynb",):
        assert (out / name).is_file(), name
    nb = nbformat.read(out / "profile_to_brief.ipynb", as_version=4)
    nbformat.validate(nb)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o["output_type"] == "error"]
    kinds = {m for o in outputs for m in o.get("data", {})}
    assert {EvalPacket.media_type(), ReviewerBrief.media_type(), "image/svg+xml", "text/html"} <= kinds
    # The explorer is self-contained in its output (render/explorer_record.py): no widget view, no saved
    # widget state that would make nbconvert load a widget manager from a CDN.
    assert "application/vnd.jupyter.widget-view+json" not in kinds and WIDGET_STATE not in nb.metadata.get(
        "widgets", {})
    assert sum(record_parts("".join(o["data"].get("text/html", ""))) is not None for o in outputs) == 1
    assert sum("image/svg+xml" in o.get("data", {}) for o in outputs) == 3  # matrix, denominators, power
    progress = (out.parent / "progress.txt").read_text(encoding="utf-8")
    assert "[1/15] cell 2: [parameters] profile = None" in progress
    assert "[2/15] cell 3: [injected-parameters] # Parameters" in progress


def test_template_files_equal_the_command_line_flow(tmp_path_factory) -> None:
    out, flow = template_run(tmp_path_factory), cli_flow(tmp_path_factory)
    assert differing(out, flow, FLOW_FILES) == []
    audits = relative_files(flow / "audit_inputs")
    assert relative_files(out / "audit_inputs") == audits and len(audits) > 3
    assert differing(out / "audit_inputs", flow / "audit_inputs", audits) == []


def test_manifest_lists_every_written_file_with_its_digest(tmp_path_factory) -> None:
    out = template_run(tmp_path_factory)
    manifest = json.loads((out / "artifact_manifest.json").read_text(encoding="utf-8"))
    assert manifest["schema_version"] == "worldflux_nb.artifact_manifest.v1"
    assert manifest["privacy"] == "LOCAL_PRIVATE" and manifest["public_share_ready"] is False
    listed = {entry["name"]: entry for entry in manifest["files"]}
    written = {name for name in relative_files(out)
               if not name.startswith("sample_evidence/")} - {"artifact_manifest.json", "profile_to_brief.ipynb"}
    assert set(listed) == written
    for name, entry in listed.items():
        data = (out / name).read_bytes()
        assert entry["bytes"] == len(data) and entry["sha256"] == sha256_bytes(data)


def test_papermill_runs_the_template_unchanged(tmp_path: Path, tmp_path_factory) -> None:
    papermill = pytest.importorskip("papermill")
    out = tmp_path / "papermill-run"
    papermill.execute_notebook(str(TEMPLATE), str(tmp_path / "executed.ipynb"),
                               parameters={"output_dir": str(out)}, cwd=str(tmp_path),
                               progress_bar=False, log_output=False)
    nb = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    nbformat.validate(nb)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    flow = cli_flow(tmp_path_factory)
    assert differing(out, flow, FLOW_FILES) == []
    cli_ok("notebook", "export", tmp_path / "executed.ipynb", "--output-dir", tmp_path / "export")
    assert differing(tmp_path / "export", flow, ("packet.md", "packet.json", "reviewer_brief.md",
                                                 "reviewer_brief.json")) == []


def test_the_row_limit_is_the_command_lines_and_its_parameter_raises_it(tmp_path: Path, capsys) -> None:
    """The template imports under `--max-evidence-rows`' limit; below the sample's rows it stops, naming
    the parameter that raises it. (30 rows: a cap of 30 KiB admits the LeRobot sample's 30 KB file, whose
    154 rows are then refused.)"""
    code = main(["notebook", "run", "--output-dir", str(tmp_path / "low"), "-p", "max_evidence_rows", "30"])
    assert code != 0
    err = capsys.readouterr().err
    assert "episodes: holds 154 rows, over the limit of 30; raise it with max_evidence_rows=" in err
    assert not (tmp_path / "low" / "packet.json").exists()


def test_strict_mode_gaps_fail_the_run_with_exit_3_and_no_artifacts(tmp_path: Path, capsys) -> None:
    out = tmp_path / "strict"
    code = main(["notebook", "run", "--output-dir", str(out), "-p", "strict_missing_evidence", "True"])
    assert code == 3
    err = capsys.readouterr().err
    assert "StrictModeFailure" in err and "profile_to_brief.ipynb" in err
    nb = nbformat.read(out / "profile_to_brief.ipynb", as_version=4)
    nbformat.validate(nb)
    assert any(o["output_type"] == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert not (out / "packet.json").exists() and not (out / "plan.json").exists()
