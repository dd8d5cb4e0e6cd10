"""Widget views no front end can draw: a view whose model the notebook saved no state for (an orphan).

JupyterLab saves each widget output's view with the notebook but the widget state only when its "Save
Widget State Automatically" setting is on (off by default). Opened with no kernel, such a view shows
"Error displaying widget: model not found" instead of the output's other representations (its `text/html`
static view, its `text/plain`), which every front end can show.
"""

from __future__ import annotations

from typing import Any, Collection, Iterator, Mapping

from worldflux_nb.io.notebook_ids import WIDGET_STATE, WIDGET_VIEW

ORPHAN_REASON = ("a widget view whose model, or a model it uses (children, layout, style), has no saved state "
                 "(without a kernel JupyterLab shows \"model not found\"); the output's other representations stay")
# How a widget model's state names another model: ipywidgets/widgets/widget.py `_widget_to_json`.
_REFERENCE = "IPY_MODEL_"


def saved_models(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The widget models whose state the notebook saved (`metadata.widgets`), by model id."""
    widgets = metadata.get("widgets")
    saved = widgets.get(WIDGET_STATE) if isinstance(widgets, Mapping) else None
    state = saved.get("state") if isinstance(saved, Mapping) else None
    return dict(state) if isinstance(state, Mapping) else {}


def drawable_models(models: Mapping[str, Any]) -> set[str]:
    """The ids among `models` (id -> saved model) whose state, and that of every model it names in turn
    (a box's children, a layout, a style), is among them: a front end can draw a view of these."""
    uses = {model_id: set(_named_models(model)) for model_id, model in models.items()}
    drawable = set(uses)
    while True:
        incomplete = {model_id for model_id in drawable if not uses[model_id] <= drawable}
        if not incomplete:
            return drawable
        drawable -= incomplete


def _named_models(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith(_REFERENCE):
            yield value[len(_REFERENCE):]
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _named_models(item)
    elif isinstance(value, list):
        for item in value:
            yield from _named_models(item)


def is_orphan_view(data: Mapping[str, Any], saved: Collection[str]) -> bool:
    """Whether an output's mimebundle holds a widget view whose model is not among the `saved` ids."""
    if WIDGET_VIEW not in data:
        return False
    view = data[WIDGET_VIEW]
    model_id = view.get("model_id") if isinstance(view, Mapping) else None
    return not (isinstance(model_id, str) and model_id in saved)
