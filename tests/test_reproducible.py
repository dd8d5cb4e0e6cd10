"""With SOURCE_DATE_EPOCH set, the whole demo writes byte-identical files on every run."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import nbformat
import pytest

from hardening_support import cli_ok, snapshot

from worldflux_nb.io.notebook_ids import WIDGET_STATE, WIDGET_VIEW, stable_widget_ids


def run_demo(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The demo from its own working folder, into a relative `out`, as a user would run it."""
    folder.mkdir()
    monkeypatch.chdir(folder)
    cli_ok(["demo", "--output-dir", "out"])
    return folder / "out"


def test_demo_output_is_byte_identical_across_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = snapshot(run_demo(tmp_path / "one", monkeypatch))
    second = snapshot(run_demo(tmp_path / "two", monkeypatch))
    assert "profile_to_brief.ipynb" in first and "packet.json" in first
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name][0] != second[name][0]]
    assert not differing, f"files differ between two runs: {differing}"

    # The renumbered widget ids still hold together: every reference names a saved model.
    nb = nbformat.reads(first["profile_to_brief.ipynb"][0].decode("utf-8"), as_version=4)
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    text = first["profile_to_brief.ipynb"][0].decode("utf-8")
    referenced = set(re.findall(r"IPY_MODEL_([0-9a-f]{32})", text))
    shown = {o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells for o in c.get("outputs", [])
             if WIDGET_VIEW in o.get("data", {})}
    assert referenced <= set(state) and shown <= set(state)


def widget_notebook() -> nbformat.NotebookNode:
    """A notebook with a small widget tree under fresh random ids, as ipywidgets would save it."""
    layout, style, box, label = (uuid.uuid4().hex for _ in range(4))
    state = {
        box: {"model_name": "VBoxModel", "state": {"children": [f"IPY_MODEL_{label}"],
                                                  "layout": f"IPY_MODEL_{layout}"}},
        label: {"model_name": "HTMLModel", "state": {"value": "<b>x</b>", "style": f"IPY_MODEL_{style}",
                                                    "layout": f"IPY_MODEL_{layout}"}},
        layout: {"model_name": "LayoutModel", "state": {"width": None}},
        style: {"model_name": "StyleModel", "state": {"description_width": ""}},
        uuid.uuid4().hex: {"model_name": "LayoutModel", "state": {"width": "10px"}},
    }
    cell = nbformat.v4.new_code_cell("explorer", outputs=[nbformat.v4.new_output(
        "display_data", data={WIDGET_VIEW: {"model_id": box, "version_major": 2, "version_minor": 0},
                              "text/plain": "VBox()"})])
    cell["id"] = "explorer"
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": dict(sorted(state.items())), "version_major": 2,
                                             "version_minor": 0}}
    return nb


def test_widget_ids_are_renumbered_consistently() -> None:
    a, b = stable_widget_ids(widget_notebook()), stable_widget_ids(widget_notebook())
    assert nbformat.writes(a) == nbformat.writes(b)
    state = a.metadata["widgets"][WIDGET_STATE]["state"]
    root = a.cells[0].outputs[0]["data"][WIDGET_VIEW]["model_id"]
    assert state[root]["model_name"] == "VBoxModel"
    child = state[root]["state"]["children"][0].removeprefix("IPY_MODEL_")
    assert state[child]["model_name"] == "HTMLModel"
    assert state[state[child]["state"]["layout"].removeprefix("IPY_MODEL_")]["model_name"] == "LayoutModel"
    assert len(state) == 5


def test_a_notebook_without_widgets_is_left_alone() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    assert stable_widget_ids(nb) is nb
    assert nbformat.reads(nbformat.writes(nb), as_version=4).cells[0].source == "1 + 1"
