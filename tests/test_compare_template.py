"""templates/compare_policies.ipynb runs on the bundled two-policy sample, by name and under papermill."""

from __future__ import annotations

import base64
import json

import nbformat
import pytest

from notebook_support import compare_template_run

from worldflux_nb.cli import main
from worldflux_nb.io.artifacts import load
from worldflux_nb.io.notebook_runner import declared_parameters, read_notebook, template_path
from worldflux_nb.models.comparison import Comparison

EXPECTED = {"plan.json", "comparison.md", "comparison.json", "comparison_brief.md", "artifact_manifest.json",
            "compare_policies.ipynb"}


def test_template_declares_papermill_parameters():
    notebook = read_notebook(template_path("compare_policies"))
    assert set(declared_parameters(notebook)) == {"plan", "seed", "compare", "sequential_looks", "arms",
                                                  "baseline", "output_dir"}
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.slow
def test_notebook_run_compare_policies_on_the_bundled_sample(tmp_path_factory):
    out = compare_template_run(tmp_path_factory)
    assert EXPECTED <= {p.name for p in out.iterdir()}
    comparison = load(out / "comparison.json", Comparison)
    assert comparison.declared and any(r.confirmatory for r in comparison.comparisons)
    assert comparison.sequential and {"missing", "re_run"} <= {a.kind for a in comparison.asymmetries}
    executed = nbformat.read(out / "compare_policies.ipynb", as_version=4)
    mimes = {m for cell in executed.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
             for m in o.get("data", {})}
    assert {"image/svg+xml", "application/vnd.worldflux-nb.comparison.v1+json", "text/html"} <= mimes
    manifest = json.loads((out / "artifact_manifest.json").read_text())
    assert {f["name"] for f in manifest["files"]} >= {"comparison.json", "comparison.md", "comparison_brief.md"}


@pytest.mark.slow
def test_the_executed_compare_template_carries_the_forest_chart_as_the_packet_charts_are(tmp_path_factory):
    """The comparison's own display stays chart-free (render/compare_chart.py says why); the template shows
    the forest chart as its own output: PNG and SVG made locally, the summary as alt text, no Vega."""
    executed = nbformat.read(compare_template_run(tmp_path_factory) / "compare_policies.ipynb", as_version=4)
    charts = [o for cell in executed.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(charts) == 1
    data, metadata = charts[0]["data"], charts[0].get("metadata", {})
    png = base64.b64decode(data["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert metadata["image/png"]["width"] > 0 and metadata["image/png"]["height"] > 0
    summary = data["text/plain"]
    assert summary.startswith("forest chart:") and f'aria-label="{summary}"' in data["image/svg+xml"]
    assert not any("vega" in mime for mime in data)
    comparison = load(compare_template_run(tmp_path_factory) / "comparison.json", Comparison)
    shown = sum(r.difference is not None and r.ci_low is not None for r in comparison.comparisons)
    assert f"of {shown} comparisons" in summary
