"""A notebook executed headlessly keeps every display and the explorer's widget state.

It runs on the toolkit's own runner (the running interpreter's ipykernel, `store_widget_state=True`).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import nbformat
import pytest

from test_display import assert_offline
from worldflux_nb.io.artifacts import artifact_from_json
from worldflux_nb.io.notebook_runner import execute_notebook
from worldflux_nb.models import ARTIFACT_KINDS

TESTS = Path(__file__).parent
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

CELLS = [
    "import sys\nprint(sys.executable)",
    "import display_samples as samples\nfrom IPython.display import display\n"
    "artifacts = samples.every_artifact()\nplan, packet = artifacts['plan'], artifacts['packet']\n"
    "evidence = samples.evidence_frame(plan)",
    "for artifact in artifacts.values():\n    display(artifact)",
    "from worldflux_nb.render.conformance_view import ConformanceView\n"
    "ConformanceView(packet, evidence=evidence, plan=plan)",
    "from worldflux_nb.render import charts\n"
    "display(charts.conformance_matrix(packet, evidence=evidence, plan=plan))\n"
    "display(charts.denominator_chart(packet))\ndisplay(charts.power_chart(packet, plan=plan))",
    "explorer = packet.explore(evidence, plan=plan)\nexplorer.filter(probe_id=['libero-plus'])\n"
    "explorer.filter(category=['seed_mismatch', 'duplicate', 'out_of_protocol'])\nexplorer",
]


@pytest.fixture(scope="module")
def executed() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    result = execute_notebook(nb, cwd=TESTS, timeout=300, progress=io.StringIO())
    assert result.failed_cell is None, (result.error_name, result.error_value)
    # What a reader gets: the file as written and read back with nbformat alone.
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def outputs(nb, index):
    return nb.cells[index].outputs


@pytest.mark.slow
def test_kernel_is_the_running_interpreter(executed):
    assert outputs(executed, 0)[0]["text"].strip() == sys.executable


@pytest.mark.slow
def test_every_artifact_display_is_kept_and_reads_back(executed):
    displays = outputs(executed, 2)
    assert len(displays) == len(ARTIFACT_KINDS)
    kinds = []
    for output in displays:
        data = output["data"]
        media = next(m for m in data if m.startswith("application/vnd.worldflux-nb."))
        assert {"text/plain", "text/html", "text/markdown", media} == set(data)
        artifact = artifact_from_json(json.loads(json.dumps(data[media])), "notebook output")
        kinds.append(artifact.schema_version)
        assert data[media] == artifact.to_json_dict()
    assert sorted(kinds) == sorted(ARTIFACT_KINDS)
    view = outputs(executed, 3)[0]["data"]
    assert "application/vnd.worldflux-nb.conformance_view.v1+json" in view and "text/html" in view


@pytest.mark.slow
def test_chart_outputs_carry_svg_and_spec(executed):
    charts = outputs(executed, 4)
    assert [o["output_type"] for o in charts] == ["display_data"] * 3  # no warnings, e.g. NaN in a spec
    for output in charts:
        assert output["data"]["image/svg+xml"].lstrip().startswith("<svg")
        assert "mark-" in output["data"]["image/svg+xml"] and "image/png" in output["data"]
        assert not any("vegalite" in mime for mime in output["data"])


@pytest.mark.slow
def test_explorer_widget_state_is_stored(executed):
    view = outputs(executed, 5)[-1]["data"][WIDGET_VIEW]
    state = executed.metadata["widgets"][WIDGET_STATE]["state"]
    assert view["model_id"] in state
    explorer = state[view["model_id"]]["state"]
    # The front end's code and data are in the saved state, so it filters without a kernel.
    assert "export default" in explorer["_esm"] and len(explorer["data"]["cells"]) == 24
    assert explorer["filters"]["probe_id"] == ["libero-plus"]
    static = outputs(executed, 5)[-1]["data"]["text/html"]
    assert "Filters: probe_id = libero-plus" in static and "<details" in static


@pytest.mark.slow
def test_no_output_loads_scripts_or_remote_urls(executed):
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            assert_offline(output.get("data", {}))
            assert_offline(output.get("text", ""))
