"""The notebook runner: papermill-style parameters, the running interpreter's kernel, failures."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import nbformat
import pytest

from worldflux_nb.cli import main
from worldflux_nb.errors import InputError
from worldflux_nb.io.notebook_runner import (
    INJECTED_TAG, declared_parameters, inject_parameters, parse_cli_value, run_notebook, template_path,
)


def small_notebook(path: Path) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "no-such-kernel-anywhere", "display_name": "?", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A small notebook"),
        nbformat.v4.new_code_cell("limit = 5\nlabel: str = 'a'\nitems = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("import sys\nprint(sys.executable)\nprint(limit, label, items)"),
        nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.IntSlider(value=limit)"),
        nbformat.v4.new_code_cell("assert limit < 10, f'limit {limit} is too big'"),
        nbformat.v4.new_code_cell("print('reached the end')"),
    ]
    nbformat.write(nb, path)
    return path


def test_parse_cli_value_reads_like_papermill() -> None:
    assert parse_cli_value("None") is None
    assert parse_cli_value("True") is True and parse_cli_value("False") is False
    assert parse_cli_value("12") == 12 and parse_cli_value("0.5") == 0.5
    assert parse_cli_value('["a.json", "b.json"]') == ["a.json", "b.json"]
    assert parse_cli_value('{"libero": "audit.json"}') == {"libero": "audit.json"}
    assert parse_cli_value("profile.json") == "profile.json"
    assert parse_cli_value("[not json") == "[not json"


def test_injected_cell_follows_the_parameters_cell_and_replaces_an_old_one(tmp_path: Path) -> None:
    nb = nbformat.read(small_notebook(tmp_path / "t.ipynb"), as_version=4)
    assert declared_parameters(nb) == ["limit", "label", "items"]
    once = inject_parameters(nb, {"limit": 3, "items": ["x", "y"]}, "t.ipynb")
    twice = inject_parameters(once, {"label": "b"}, "t.ipynb")
    injected = [c for c in twice.cells if INJECTED_TAG in c.metadata.get("tags", [])]
    assert len(injected) == 1 and twice.cells.index(injected[0]) == 2
    assert injected[0].source == "# Parameters\nlabel = 'b'\n"
    assert "limit = 3" in once.cells[2].source and "items = ['x', 'y']" in once.cells[2].source
    assert len(nb.cells) == 6  # the input notebook is not modified
    nbformat.validate(twice)


def test_unknown_parameter_is_refused_by_name(tmp_path: Path) -> None:
    nb = nbformat.read(small_notebook(tmp_path / "t.ipynb"), as_version=4)
    with pytest.raises(InputError, match="limt: is not a parameter of this notebook"):
        inject_parameters(nb, {"limt": 3}, "t.ipynb")


def test_runs_on_the_running_interpreter_and_stores_widget_state(tmp_path: Path) -> None:
    progress = io.StringIO()
    result = run_notebook(small_notebook(tmp_path / "t.ipynb"), tmp_path / "out.ipynb",
                          {"limit": 7}, cwd=tmp_path, progress=progress)
    assert result.ok and result.cells_run == 6
    nb = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    nbformat.validate(nb)
    printed = "".join(nb.cells[3].outputs[0]["text"])
    assert printed.splitlines() == [sys.executable, "7 a None"]
    state = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert any(model["model_name"] == "IntSliderModel" and model["state"]["value"] == 7
               for model in state.values())
    assert "[1/6] cell 1: [parameters] limit = 5" in progress.getvalue()
    assert "[6/6] cell 6: print('reached the end')" in progress.getvalue()


def test_a_failing_cell_is_named_and_the_executed_notebook_still_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = small_notebook(tmp_path / "t.ipynb")
    code = main(["notebook", "run", str(source), "--output-dir", str(tmp_path / "out"), "-p", "limit", "12"])
    assert code != 0
    err = capsys.readouterr().err
    assert "cell 5 (assert limit < 10" in err and "AssertionError: limit 12 is too big" in err
    nb = nbformat.read(tmp_path / "out" / "t.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.cells[5].outputs[0]["output_type"] == "error"
    assert nb.cells[6].get("outputs") == []  # never reached


def test_bad_parameters_exit_2_and_create_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = small_notebook(tmp_path / "t.ipynb")
    assert main(["notebook", "run", str(source), "--output-dir", str(tmp_path / "out"), "-p", "nope", "1"]) == 2
    assert "nope: is not a parameter" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert main(["notebook", "run", str(tmp_path / "missing.ipynb"), "--output-dir", str(tmp_path / "out")]) == 2
    assert "missing.ipynb: no such notebook file" in capsys.readouterr().err


def test_not_a_notebook_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.ipynb").write_text('{"cells": 3}', encoding="utf-8")
    with pytest.raises(InputError, match="bad.ipynb"):
        run_notebook(tmp_path / "bad.ipynb", tmp_path / "out.ipynb")


def test_default_template_is_found_inside_the_package() -> None:
    path = template_path(None)
    assert path.name == "profile_to_brief.ipynb" and path.is_file()
    assert "worldflux_nb" in path.parts
    with pytest.raises(InputError, match="neither a notebook file nor a bundled template"):
        template_path("no_such_template")


def test_notebook_without_a_subcommand_prints_its_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notebook"]) == 2
    assert "run" in capsys.readouterr().err
