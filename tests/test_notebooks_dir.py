"""The notebooks in notebooks/ are committed clean and execute without errors."""

from __future__ import annotations

import io
from pathlib import Path

import nbformat
import pytest

from notebook_support import REPO
from worldflux_nb.io.notebook_runner import execute_notebook, read_notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def printed(nb: nbformat.NotebookNode) -> str:
    return "".join("".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_the_three_notebooks_are_there_and_clean() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_quick_start.ipynb", "02_evidence_exploration.ipynb", "03_custom_eval_contract.ipynb"]
    for path in NOTEBOOKS:
        nb = read_notebook(path)
        assert all(not c.get("outputs") and c.get("execution_count") is None
                   for c in nb.cells if c.cell_type == "code"), path.name
        assert "LOCAL_PRIVATE" in nb.cells[0].source


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_cleanly(path: Path, tmp_path: Path) -> None:
    nb = read_notebook(path)
    result = execute_notebook(nb, cwd=tmp_path, timeout=600, progress=io.StringIO())
    assert result.ok, f"{path.name}: cell {result.failed_cell} {result.error_name}: {result.error_value}"
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)
    nbformat.validate(nb)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o["output_type"] == "error"]
    written = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")}
    if path.stem == "01_quick_start":
        assert "exported files identical to the run's own: True" in printed(nb)
        assert (tmp_path / "quick_start_output" / "reviewer_copy.ipynb").is_file()
    elif path.stem == "02_evidence_exploration":
        assert nb.metadata["widgets"][WIDGET_STATE]["state"]  # the explorer, saved with its filters
        assert written == {"exploration_output"}
    else:
        assert "metadata mismatches 1, out of protocol 1" in printed(nb)
        assert written == {"contract_walkthrough"}
