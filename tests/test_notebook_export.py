"""`notebook export`: packet and brief recovered from an executed notebook's outputs alone."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from notebook_support import TEMPLATE, cli_flow, differing, template_run
from worldflux_nb.cli import main
from worldflux_nb.models.digest import sha256_bytes
from worldflux_nb.errors import InputError
from worldflux_nb.io.notebook_export import EXPORTED_FILES, artifacts_from_notebook
from worldflux_nb.models import EvalPacket, ReviewerBrief

pytestmark = pytest.mark.slow
PACKET, BRIEF = EvalPacket.media_type(), ReviewerBrief.media_type()


def executed(tmp_path_factory) -> nbformat.NotebookNode:
    return nbformat.read(template_run(tmp_path_factory) / "profile_to_brief.ipynb", as_version=4)


def payloads(nb: nbformat.NotebookNode, media: str) -> list[dict]:
    return [o["data"][media] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if media in o.get("data", {})]


def test_export_equals_the_command_line_flow(tmp_path: Path, tmp_path_factory) -> None:
    source = template_run(tmp_path_factory) / "profile_to_brief.ipynb"
    assert main(["notebook", "export", str(source), "--output-dir", str(tmp_path / "export")]) == 0
    assert differing(tmp_path / "export", cli_flow(tmp_path_factory), EXPORTED_FILES) == []
    manifest = json.loads((tmp_path / "export" / "artifact_manifest.json").read_text(encoding="utf-8"))
    assert manifest["privacy"] == "LOCAL_PRIVATE"
    assert [e["name"] for e in manifest["files"]] == sorted(EXPORTED_FILES)
    for entry in manifest["files"]:
        data = (tmp_path / "export" / entry["name"]).read_bytes()
        assert entry == {"name": entry["name"], "bytes": len(data), "sha256": sha256_bytes(data)}


def refused(tmp_path: Path, nb: nbformat.NotebookNode, capsys) -> str:
    source = tmp_path / "in.ipynb"
    nbformat.write(nb, source)
    assert main(["notebook", "export", str(source), "--output-dir", str(tmp_path / "export")]) == 2
    assert not (tmp_path / "export").exists()  # nothing written, not even the folder
    return capsys.readouterr().err


def test_a_notebook_without_a_packet_is_refused(tmp_path: Path, capsys) -> None:
    err = refused(tmp_path, nbformat.read(TEMPLATE, as_version=4), capsys)
    assert "in.ipynb" in err and "no eval packet output" in err


def test_a_packet_altered_after_sealing_is_refused(tmp_path: Path, tmp_path_factory, capsys) -> None:
    nb = copy.deepcopy(executed(tmp_path_factory))
    payloads(nb, PACKET)[-1]["conformance"]["missing"] = 0  # someone tidies the numbers
    err = refused(tmp_path, nb, capsys)
    assert "packet_digest" in err and "does not match the content" in err


def test_a_brief_of_another_packet_is_refused(tmp_path: Path, tmp_path_factory) -> None:
    nb = copy.deepcopy(executed(tmp_path_factory))
    brief = payloads(nb, BRIEF)[-1]
    brief["packet_digest"] = "sha256:" + "0" * 64
    brief["brief_digest"] = ReviewerBrief.model_validate(brief).computed_digest()  # resealed, still wrong
    with pytest.raises(InputError, match="reviewer_brief.packet_digest"):
        artifacts_from_notebook(nb, "in.ipynb")


def test_a_notebook_without_a_brief_is_refused(tmp_path: Path, tmp_path_factory) -> None:
    nb = copy.deepcopy(executed(tmp_path_factory))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if BRIEF not in o.get("data", {})]
    with pytest.raises(InputError, match="no reviewer brief output"):
        artifacts_from_notebook(nb, "in.ipynb")


def test_the_last_displayed_packet_is_the_one_exported(tmp_path_factory) -> None:
    nb = executed(tmp_path_factory)
    packet, brief = artifacts_from_notebook(nb, "executed.ipynb")
    assert packet.packet_digest == payloads(nb, PACKET)[-1]["packet_digest"] == brief.packet_digest
