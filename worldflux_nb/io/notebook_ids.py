"""Widget model ids made deterministic, so an executed notebook is byte-identical across runs.

ipywidgets names every model with a random uuid4; the saved widget state and the outputs that show a
widget carry those names. They are renumbered in a fixed order (outputs first, then the models they
reference, depth first), which keeps every reference intact and the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import nbformat
from nbformat import NotebookNode

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
_REF = re.compile(r"IPY_MODEL_([0-9a-f]{32})")


def _stable_id(position: int) -> str:
    return hashlib.sha256(f"worldflux-nb widget {position}".encode()).hexdigest()[:32]


def _widget_roots(nb: NotebookNode) -> list[str]:
    roots = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if isinstance(view, dict) and isinstance(view.get("model_id"), str):
                roots.append(view["model_id"])
    return roots


def _order(state: dict[str, Any], roots: list[str]) -> list[str]:
    """Every model id, reachable ones in depth-first order from the outputs, the rest by content."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(model_id: str) -> None:
        stack = [model_id]
        while stack:
            current = stack.pop()
            if current in seen or current not in state:
                continue
            seen.add(current)
            order.append(current)
            refs = _REF.findall(json.dumps(state[current], sort_keys=True))
            stack.extend(reversed(refs))

    for root in roots:
        visit(root)
    rest = sorted((m for m in state if m not in seen),
                  key=lambda m: _ID.sub("", json.dumps(state[m], sort_keys=True)))
    for model_id in rest:
        visit(model_id)
    return order


def stable_widget_ids(nb: NotebookNode) -> NotebookNode:
    """The notebook with its widget model ids replaced by ids derived from their position."""
    state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state")
    roots = _widget_roots(nb)
    if not state and not roots:
        return nb
    order = _order(state or {}, roots)
    order += [r for r in roots if r not in set(order)]  # a shown widget whose state was not saved
    mapping = {old: _stable_id(i) for i, old in enumerate(dict.fromkeys(order))}
    text = _ID.sub(lambda m: mapping.get(m.group(0), m.group(0)), nbformat.writes(nb))
    return nbformat.reads(text, as_version=4)
