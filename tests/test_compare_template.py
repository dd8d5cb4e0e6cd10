"""templates/compare_policies.ipynb runs on the bundled two-policy sample, by name and under papermill."""

from __future__ import annotations

import json

import nbformat
import pytest

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
def test_notebook_run_compare_policies_on_the_bundled_sample(tmp_path):
    out = tmp_path / "run"
    assert main(["notebook", "run", "compare_policies", "--output-dir", str(out)]) == 0
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
