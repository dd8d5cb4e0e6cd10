"""The executed record's explorer outputs made self-contained (render/explorer_record.py), widget state dropped.

Saved widget state makes stock nbconvert pick the widget view and load its manager from a CDN (blank
offline), and a trusted JupyterLab restore a widget no kernel backs. So after execution each explorer
output keeps `text/plain` and a `text/html` that holds the static view, the widget's state as inert JSON
and one script drawing the same front end; its widget view and its models leave the notebook's widget
state. Every other widget keeps its view and its state.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nbformat import NotebookNode

from worldflux_nb.io.notebook_ids import WIDGET_STATE, WIDGET_VIEW

# anywidget's id for the explorer's model (its module and class name), as the saved state names it.
EXPLORER_WIDGET = "worldflux_nb.render.explorer.Explorer"
_REF = re.compile(r"IPY_MODEL_([0-9a-f]{32})")


def _is_explorer(model: Any) -> bool:
    inner = model.get("state") if isinstance(model, dict) else None
    return (isinstance(inner, dict) and inner.get("_anywidget_id") == EXPLORER_WIDGET
            and isinstance(inner.get("data"), dict))


def _references(model: Any) -> set[str]:
    return set(_REF.findall(json.dumps(model)))


def explorers_as_records(nb: NotebookNode) -> NotebookNode:
    """Replace, in place, every explorer output's widget view by its self-contained record; returns `nb`."""
    from worldflux_nb.render.explorer_record import record_html

    widgets = nb.get("metadata", {}).get("widgets")
    saved = widgets.get(WIDGET_STATE) if isinstance(widgets, dict) else None
    state = saved.get("state") if isinstance(saved, dict) else None
    if not isinstance(state, dict):
        return nb
    replaced: set[str] = set()
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get(WIDGET_VIEW)
            model_id = view.get("model_id") if isinstance(view, dict) else None
            html = data.get("text/html")
            if not _is_explorer(state.get(model_id)) or not isinstance(html, (str, list)):
                continue
            static = "".join(html) if isinstance(html, list) else html
            data["text/html"] = record_html(static, state[model_id]["state"])
            del data[WIDGET_VIEW]
            replaced.add(model_id)
    _drop_models(nb, state, replaced)
    if replaced and not state:
        del widgets[WIDGET_STATE]
        if not widgets:
            del nb.metadata["widgets"]
    return nb


def _drop_models(nb: NotebookNode, state: dict[str, Any], roots: set[str]) -> None:
    """Remove the replaced models and what only they referenced (an explorer's layout), keeping any model
    still shown by an output or referenced by a kept model."""
    shown = {o["data"][WIDGET_VIEW].get("model_id") for c in nb.cells for o in c.get("outputs", [])
             if isinstance(o.get("data", {}).get(WIDGET_VIEW), dict)}
    candidates = list(roots)
    while candidates:
        model_id = candidates.pop()
        if model_id not in state or model_id in shown:
            continue
        if any(model_id in _references(m) for other, m in state.items() if other != model_id):
            continue
        candidates += _references(state.pop(model_id))
