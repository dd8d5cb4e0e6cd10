"""The explorer in a saved record: static view, embedded state that no value can break out of, one script of
ours; the runner's post-processing replaces only the explorer's widget output and state."""

from __future__ import annotations

import json
import re

import ipywidgets
import nbformat
import pytest

import display_samples as samples
from worldflux_nb.io.notebook_explorer import EXPLORER_WIDGET, explorers_as_records
from worldflux_nb.io.notebook_ids import WIDGET_STATE, WIDGET_VIEW, stable_widget_ids
from worldflux_nb.render.explorer import explore
from worldflux_nb.render.explorer_record import BOOTSTRAP, embedded_json, record_html, record_parts

PLAN = samples.plan()
PACKET = samples.packet(PLAN)
HOSTILE = "</script><script>alert(1)</script><!-- \u2028\u2029 & <b>"


def explorer():
    return explore(PACKET, samples.evidence_frame(PLAN), plan=PLAN).filter(probe_id=["libero"])


def saved_notebook(*widgets) -> nbformat.NotebookNode:
    """A notebook showing the widgets, with their state saved as nbclient saves it (every model, by id)."""
    from ipywidgets.widgets.widget import _instances

    state, todo = {}, [w.model_id for w in widgets]
    while todo:  # each widget and the models it references (its layout, its style)
        model_id = todo.pop()
        if model_id not in state:
            state[model_id] = ipywidgets.Widget.get_manager_state(widgets=[_instances[model_id]])["state"][model_id]
            todo += re.findall(r"IPY_MODEL_([0-9a-f]{32})", json.dumps(state[model_id]))
    cells = [nbformat.v4.new_code_cell(f"w{i}", outputs=[nbformat.v4.new_output(
        "display_data", data=widget._repr_mimebundle_() if hasattr(widget, "packet") else {
            WIDGET_VIEW: {"model_id": widget.model_id, "version_major": 2, "version_minor": 0},
            "text/plain": repr(widget)})]) for i, widget in enumerate(widgets)]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": state, "version_major": 2, "version_minor": 0}}
    return nbformat.reads(nbformat.writes(nb), as_version=4)


def test_the_explorer_model_is_recognised_by_anywidgets_own_id():
    assert explorer().get_state()["_anywidget_id"] == EXPLORER_WIDGET


def test_embedded_state_cannot_end_its_script_and_reads_back_the_same():
    state = {"data": {"cells": [[HOSTILE, 1]], "source": HOSTILE}, "filters": {"task_id": [HOSTILE]},
             "selected": HOSTILE, "search": "", "_esm": "dropped"}
    text = embedded_json(state)
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text) == {k: v for k, v in state.items() if k != "_esm"}
    html = record_html("<div class=\"worldflux-nb-explorer\">static</div>", state)
    assert html.count("<script") == 2 and html.count("</script>") == 2  # the value's own tags stay escaped
    static, back = record_parts(html)
    assert static == "<div class=\"worldflux-nb-explorer\">static</div>" and back == json.loads(text)


def test_a_record_whose_script_is_not_ours_byte_for_byte_is_not_one():
    html = record_html("<p>x</p>", {"data": {}, "filters": {}, "selected": "", "search": ""})
    assert record_parts(html) is not None
    assert record_parts(html.replace("hostExplorers(render", "hostExplorers (render")) is None
    assert record_parts(html.replace('{"data"', '{"evil":1,"data"')) is None  # a key we never write
    assert record_parts(html.replace('"selected":""', '"selected":NaN')) is None  # not JSON a browser reads
    assert record_parts(html + " ") is None


def test_the_script_is_the_explorer_front_end_and_its_page_host_and_loads_nothing():
    assert "function render({ model, el })" in BOOTSTRAP and "function hostExplorers(" in BOOTSTRAP
    assert "export " not in BOOTSTRAP and not re.search(r"(?i)https?:|import\s*\(|fetch\(|XMLHttpRequest", BOOTSTRAP)
    # Listeners by addEventListener only: no event-handler attribute or property, no markup from strings.
    assert not re.search(r"setAttribute\(\s*[\"']on|\.on[a-z]+\s*=[^=]|innerHTML|outerHTML|insertAdjacentHTML|"
                         r"document\.write|\beval\(|Function\(", BOOTSTRAP)


def test_runner_post_processing_replaces_the_explorer_and_keeps_other_widgets():
    ex, slider = explorer(), ipywidgets.IntSlider(value=7)
    nb = saved_notebook(ex, slider)
    models = nb.metadata["widgets"][WIDGET_STATE]["state"]
    explorer_layout = models[ex.model_id]["state"]["layout"].removeprefix("IPY_MODEL_")
    assert len(models) == 4 + 1  # explorer + its layout; slider + its layout and style
    explorers_as_records(nb)
    data = nb.cells[0].outputs[0]["data"]
    assert set(data) == {"text/html", "text/plain"} and data["text/plain"].startswith("Explorer over ")
    static, state = record_parts(data["text/html"])
    assert static == ex.static_html() and "Filters: probe_id = libero" in static
    assert state == {"data": ex.data, "filters": ex.filters, "selected": "", "search": ""}
    kept = nb.metadata["widgets"][WIDGET_STATE]["state"]
    assert set(kept) == set(models) - {ex.model_id, explorer_layout} and slider.model_id in kept
    assert nb.cells[1].outputs[0]["data"][WIDGET_VIEW]["model_id"] == slider.model_id
    nbformat.validate(stable_widget_ids(nb))


def test_a_record_with_only_the_explorer_keeps_no_widget_state():
    nb = explorers_as_records(saved_notebook(explorer()))
    assert "widgets" not in nb.metadata
    assert WIDGET_VIEW not in nbformat.writes(nb) and "_esm" not in nbformat.writes(nb)


def test_an_explorer_shown_without_saved_state_is_left_as_it_is():
    nb = saved_notebook(explorer())
    nb.metadata["widgets"][WIDGET_STATE]["state"] = {}
    before = nbformat.writes(nb)
    assert nbformat.writes(explorers_as_records(nb)) == before


@pytest.mark.parametrize("where", ["source", "interval_label"])
def test_hostile_text_in_the_state_stays_text_in_the_record(where):
    nb = saved_notebook(explorer())
    model = next(iter(m for m in nb.metadata["widgets"][WIDGET_STATE]["state"].values()
                      if m["state"].get("_anywidget_id") == EXPLORER_WIDGET))
    model["state"]["data"][where] = HOSTILE
    html = explorers_as_records(nb).cells[0].outputs[0]["data"]["text/html"]
    assert html.count("<script") == 2 and "alert(1)</script>" not in html
    assert record_parts(html)[1]["data"][where] == HOSTILE
