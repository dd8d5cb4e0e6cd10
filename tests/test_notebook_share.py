"""`notebook share`: planted secrets and paths leave no trace; remote code is dropped; charts stay."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from worldflux_nb.cli import main
from worldflux_nb.io.notebook_share import BANNER_ID, loads_remote_code, share_copy
from worldflux_nb.render.explorer_record import BOOTSTRAP, record_html, record_parts

HF = "hf_" + "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh"
AWS = "AKIA" + "IOSFODNN7EXAMPLQ"
GHP = "ghp_" + "x" * 36
SIGNATURE = "X-Amz-Signature=5f1c0ffee0ddba11"
SIGNED_URL = f"https://bucket.s3.amazonaws.com/runs/ep1.mp4?X-Amz-Expires=3600&{SIGNATURE}"
BEARER = "Bearer " + "eyTok3nValue0123456789"
PASSWORD = "hunter2secretpw"
DB_URL = f"postgres://admin:{PASSWORD}@db.internal/evals"
HOME = "/home/alice/robot-runs/eval_info.json"
WORK = "/work/lab/evidence/run-7"
WIDGET_TOKEN = "sk-" + "proj-" + "Q" * 30
PLANTED = [HF, AWS, GHP, SIGNATURE, "5f1c0ffee0ddba11", "eyTok3nValue0123456789", PASSWORD, "/home/alice",
           "/work/lab", WIDGET_TOKEN]
SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><g class="mark-rect role-mark">'
       '<path d="M0,0h10v10h-10Z" fill="#4c78a8"/></g></svg>')
WIDGET_VIEW = {"model_id": "abc123", "version_major": 2, "version_minor": 0}


def planted_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": HOME, "parameters": {"db": DB_URL}}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0,
        "state": {"abc123": {"model_name": "TextModel", "model_module": "@jupyter-widgets/controls",
                             "model_module_version": "2.0.0", "state": {"value": WIDGET_TOKEN}}}}}
    code = nbformat.v4.new_code_cell(f"token = '{HF}'\nsource_dir = '{WORK}'", metadata={"note": DB_URL})
    code.execution_count = 1
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"aws key {AWS}\nreading {WORK}/episodes.jsonl\n"),
        nbformat.v4.new_output("display_data", data={
            "text/html": f"<p>video: <a href='{SIGNED_URL}'>episode 1</a></p>",
            "text/plain": f"video at {SIGNED_URL}",
            "application/json": {"headers": {"Authorization": BEARER}, "path": HOME}}),
        nbformat.v4.new_output("display_data", data={
            "text/html": '<div id="vis"></div><script src="https://cdn.jsdelivr.net/npm/vega@5"></script>',
            "application/vnd.vegalite.v5+json": {"mark": "bar", "data": {"values": [{"a": 1}]}},
            "image/svg+xml": SVG, "text/plain": "alt.Chart(...)"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": "fetch('https://x.example')"}),
        nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": WIDGET_VIEW, "text/plain": "Text(value=...)"}),
        nbformat.v4.new_output("error", ename="FileNotFoundError", evalue=f"No such file: '{HOME}'",
                               traceback=[f"\x1b[0;31mFileNotFoundError\x1b[0m: open {HOME}",
                                          f"File \x1b[0;32m{WORK}/load.py:3\x1b[0m, in load"]),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell(f"Run by alice, token {GHP}, data in {HOME}"), code,
                nbformat.v4.new_raw_cell(f"aws_secret_access_key = {'a' * 40}")]
    nbformat.validate(nb)
    return nb


def test_no_planted_secret_or_path_survives_anywhere() -> None:
    copy, report = share_copy(planted_notebook())
    text = nbformat.writes(copy)
    for planted in PLANTED + ["a" * 40]:
        assert planted not in text, planted
    assert "[REDACTED:" in text
    kinds = {r.kind for r in report.redactions}
    assert {"huggingface_token", "aws_access_key", "github_token", "signed_url_query", "bearer_token",
            "password_in_url", "home_path", "host_local_path", "openai_api_key", "aws_secret_key"} <= kinds
    assert any(r.location.startswith("cell 1 output 5 traceback") for r in report.redactions)
    assert any(r.location.startswith("notebook metadata") for r in report.redactions)
    nbformat.validate(copy)


def test_remote_code_is_dropped_but_charts_and_widgets_stay() -> None:
    copy, report = share_copy(planted_notebook())
    outputs = copy.cells[2].outputs
    chart = outputs[2]["data"]
    assert "<script" not in chart["text/html"] and "cdn.jsdelivr" not in chart["text/html"]
    assert chart["image/svg+xml"].startswith("<svg") and 'd="M0,0h10v10h-10Z"' in chart["image/svg+xml"]
    assert "application/vnd.vegalite.v5+json" in chart
    assert not any("application/javascript" in o.get("data", {}) for o in outputs)
    assert len(outputs) == 5  # the script-only output is gone entirely
    assert outputs[3]["data"]["application/vnd.jupyter.widget-view+json"] == WIDGET_VIEW
    assert "abc123" in copy.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert outputs[1]["data"]["text/html"].startswith("<p>video: <a ")  # the redacted link is a label
    reasons = [where for where, _ in report.dropped]
    # The link whose signed URL was redacted loses its href; the CDN script goes; the JS output goes.
    assert reasons == ["cell 1 output 1 text/html", "cell 1 output 2 text/html",
                       "cell 1 output 3 application/javascript"]


def test_copy_is_labelled_private_in_metadata_and_banner() -> None:
    copy, report = share_copy(planted_notebook())
    assert copy.metadata["worldflux_nb"]["privacy"] == "LOCAL_PRIVATE"
    assert copy.metadata["worldflux_nb"]["public_share_ready"] is False
    banner = copy.cells[0]
    assert banner.cell_type == "markdown" and BANNER_ID in banner.metadata["tags"]
    assert "LOCAL_PRIVATE" in banner.source and "not public-share-ready" in banner.source
    assert f"{len(report.redactions)} value(s)" in banner.source
    again, _ = share_copy(copy)  # sharing a shared copy keeps one banner
    assert [c.id for c in again.cells].count(BANNER_ID) == 1


@pytest.mark.parametrize("html, remote", [
    ("<script>alert(1)</script>", True),
    ('<img src="https://tracker.example/p.gif">', True),
    ('<link rel="stylesheet" href="//cdn.example/x.css">', True),
    ("<style>@import 'x.css';</style>", True),
    ('<div style="background: url(https://x.example/a.png)"></div>', True),
    ('<svg><image href="https://x.example/a.png"/></svg>', True),
    ('<p onclick="go()">x</p>', True),
    ("<table><tr><td>only = 3</td></tr></table>", False),
    ('<a href="https://example.org/docs">docs</a>', False),
    (SVG, False),
])
def test_remote_code_detection(html: str, remote: bool) -> None:
    assert loads_remote_code(html) is remote


def test_share_command_writes_copy_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "executed.ipynb"
    nbformat.write(planted_notebook(), source)
    original = source.read_bytes()
    code = main(["notebook", "share", str(source), "--output", str(tmp_path / "copy.ipynb"),
                 "--report", str(tmp_path / "report.json")])
    assert code == 0
    err = capsys.readouterr().err
    assert "redacted" in err and "removed 3 output(s) or part(s)" in err
    for planted in PLANTED:
        assert planted not in err
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["privacy"] == "LOCAL_PRIVATE" and report["redaction_count"] > 10
    written = (tmp_path / "copy.ipynb").read_text(encoding="utf-8")
    assert not any(planted in written for planted in PLANTED)
    assert main(["notebook", "share", str(source), "--output", str(source)]) == 2
    assert source.read_bytes() == original


@pytest.mark.slow
def test_sharing_the_executed_template_keeps_charts_the_explorer_and_exportable_packet(
        tmp_path: Path, tmp_path_factory) -> None:
    from notebook_support import template_run

    run = template_run(tmp_path_factory)
    nb = nbformat.read(run / "profile_to_brief.ipynb", as_version=4)
    nb.cells[3].source += f"\nhf_token = '{HF}'\n"  # the injected parameters, with a planted token
    nb.cells[-1].outputs.append(nbformat.v4.new_output("stream", name="stderr", text=f"copied to {HOME}\n"))
    source = tmp_path / "executed.ipynb"
    nbformat.write(nb, source)
    assert main(["notebook", "share", str(source), "--output", str(tmp_path / "copy.ipynb")]) == 0
    text = (tmp_path / "copy.ipynb").read_text(encoding="utf-8")
    for leaked in (HF, "/home/alice", str(run), str(tmp_path_factory.getbasetemp())):
        assert leaked not in text
    copy = nbformat.read(tmp_path / "copy.ipynb", as_version=4)
    svgs = [o for c in copy.cells if c.cell_type == "code" for o in c.outputs if "image/svg+xml" in o.get("data", {})]
    assert len(svgs) == 3 and all("<svg" in o["data"]["image/svg+xml"] for o in svgs)
    # The explorer's record keeps our script (byte for byte) and its state; there is no widget state.
    [explorer] = [o["data"]["text/html"] for c in copy.cells if c.cell_type == "code" for o in c.outputs
                  if record_parts(o.get("data", {}).get("text/html", ""))]
    static, state = record_parts(explorer)
    assert static.count("<details") >= 10 and len(state["data"]["cells"]) == static.count("<details")
    assert "widgets" not in copy.metadata
    # The packet and brief carry no secrets, so the reviewer's copy still exports the same files.
    assert main(["notebook", "export", str(tmp_path / "copy.ipynb"), "--output-dir", str(tmp_path / "a")]) == 0
    assert main(["notebook", "export", str(source), "--output-dir", str(tmp_path / "b")]) == 0
    for name in ("packet.md", "packet.json", "reviewer_brief.md", "reviewer_brief.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def explorer_record_notebook(script_tamper: bool = False) -> nbformat.NotebookNode:
    """An explorer's record whose state and static view carry planted secrets; optionally one byte of its
    script changed."""
    static = f'<div class="worldflux-nb-explorer"><details><summary>{HF}</summary>{HOME}</details></div>'
    state = {"data": {"cells": [["libero:t:a:1", SIGNED_URL]], "source": f"copied from {HOME}",
                      "episodes": {DB_URL: []}}, "filters": {"task_id": [GHP]}, "selected": "", "search": ""}
    html = record_html(static, state)
    if script_tamper:
        html = html.replace("hostExplorers(render, document.currentScript)", "hostExplorers(render,document.currentScript)")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("explorer", outputs=[nbformat.v4.new_output(
        "display_data", data={"text/html": html, "text/plain": "Explorer over plan"})])]
    return nb


def test_the_explorers_record_keeps_our_script_with_its_state_redacted() -> None:
    copy, report = share_copy(explorer_record_notebook())
    html = copy.cells[1].outputs[0]["data"]["text/html"]
    for leaked in PLANTED:
        assert leaked not in html, leaked
    static, state = record_parts(html)  # still a record: our script, byte for byte, after the static view
    assert html.count(BOOTSTRAP) == 1 and "<details>" in static
    assert state["data"]["cells"][0][0] == "libero:t:a:1" and len(state["data"]["episodes"]) == 1
    assert not report.dropped and {r.location.split(" explorer state")[0] for r in report.redactions} == {
        "cell 0 output 0 text/html"}


def test_an_explorer_record_whose_script_is_not_ours_loses_its_scripts() -> None:
    copy, report = share_copy(explorer_record_notebook(script_tamper=True))
    html = copy.cells[1].outputs[0]["data"]["text/html"]
    assert "<script" not in html and "hostExplorers" not in html and "<details>" in html
    assert [why for _, why in report.dropped if "allowlist" in why]
    for leaked in PLANTED:
        assert leaked not in html, leaked


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def hand_saved_notebook() -> nbformat.NotebookNode:
    """Outputs as JupyterLab saves them from a live session with its default settings: each widget's view,
    no widget state (the explorer with its static view beside it; a slider with its text/plain only)."""
    nb = nbformat.v4.new_notebook()
    explorer = nbformat.v4.new_code_cell("packet.explore(rows, plan=plan)", execution_count=1, outputs=[
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            WIDGET_MIME: {"model_id": "0f3c" + "a" * 28, "version_major": 2, "version_minor": 1},
            "text/html": '<div class="worldflux-nb-explorer"><details><summary>cell</summary></details></div>',
            "text/plain": "Explorer over plan: 4 cells"})])
    slider = nbformat.v4.new_code_cell("ipywidgets.IntSlider(3)", execution_count=2, outputs=[
        nbformat.v4.new_output("execute_result", execution_count=2, data={
            WIDGET_MIME: {"model_id": "9b1d" + "b" * 28, "version_major": 2, "version_minor": 0},
            "text/plain": "IntSlider(value=3)"})])
    nb.cells = [explorer, slider]
    return nb


def test_a_widget_view_with_no_saved_state_is_dropped_and_reported() -> None:
    copy, report = share_copy(hand_saved_notebook())
    explorer, slider = (cell.outputs[0]["data"] for cell in copy.cells[1:])
    # What every front end then shows: the explorer's static view, the slider's text.
    assert set(explorer) == {"text/html", "text/plain"} and "<details>" in explorer["text/html"]
    assert set(slider) == {"text/plain"}
    assert [where for where, _ in report.dropped] == [f"cell {i} output 0 {WIDGET_MIME}" for i in (0, 1)]
    assert all("no saved state" in why for _, why in report.dropped)
    # The report's schema is unchanged: one more kind of entry in dropped_outputs.
    assert report.to_json_dict()["dropped_outputs"][0] == {"location": f"cell 0 output 0 {WIDGET_MIME}",
                                                           "reason": report.dropped[0][1]}
    assert copy.metadata["worldflux_nb"]["dropped_outputs"] == 2 and "2 output(s)" in copy.cells[0].source


def test_a_widget_view_keeps_working_when_its_state_is_saved_and_not_when_that_state_is_dropped() -> None:
    nb = hand_saved_notebook()
    explorer_id, slider_id = (cell.outputs[0]["data"][WIDGET_MIME]["model_id"] for cell in nb.cells)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": {
            slider_id: {"model_name": "IntSliderModel", "model_module": "@jupyter-widgets/controls",
                        "model_module_version": "2.0.0", "state": {"value": 3}},
            # Saved, but removed from the copy for loading remote code: its view would have no model.
            explorer_id: {"model_name": "AnyModel", "model_module": "anywidget", "model_module_version": "~0.9.*",
                          "state": {"_esm": "import * as d3 from 'https://esm.sh/d3'"}}}}}
    copy, report = share_copy(nb)
    explorer, slider = (cell.outputs[0]["data"] for cell in copy.cells[1:])
    assert slider[WIDGET_MIME]["model_id"] == slider_id and WIDGET_MIME not in explorer
    assert set(copy.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]) == {slider_id}
    assert [where for where, _ in report.dropped] == [f"cell 0 output 0 {WIDGET_MIME}", f"widget {explorer_id}"]



def _controls(name: str, **state: object) -> dict[str, object]:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "model_module_version": "2.0.0",
            "state": state}


def test_a_widget_view_whose_model_uses_an_unsaved_model_is_dropped_like_an_orphan() -> None:
    """A box whose state was saved but whose child's (or whose child's layout) was not: without a kernel
    JupyterLab draws neither, so the view goes and the output's text stays."""
    nb = hand_saved_notebook()
    box_id, complete_id = (cell.outputs[0]["data"][WIDGET_MIME]["model_id"] for cell in nb.cells)
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": {
            box_id: _controls("VBoxModel", children=["IPY_MODEL_child"], layout="IPY_MODEL_box-layout"),
            "box-layout": {"model_name": "LayoutModel", "model_module": "@jupyter-widgets/base",
                           "model_module_version": "2.0.0", "state": {}},
            "child": _controls("IntSliderModel", value=3, layout="IPY_MODEL_never-saved"),
            complete_id: _controls("IntSliderModel", value=4, layout="IPY_MODEL_box-layout")}}}
    copy, report = share_copy(nb)
    box, complete = (cell.outputs[0]["data"] for cell in copy.cells[1:])
    assert WIDGET_MIME not in box and "<details>" in box["text/html"]
    assert complete[WIDGET_MIME]["model_id"] == complete_id
    assert [where for where, _ in report.dropped] == [f"cell 0 output 0 {WIDGET_MIME}"]
    assert "a model it uses" in report.dropped[0][1]
