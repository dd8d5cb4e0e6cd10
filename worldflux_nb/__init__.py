"""worldflux-nb: frozen protocol plans, evidence checked against them, and private reviewer briefs.

Importing the package stays light: the API, the models and `load` are imported on first use (every
command line process pays only for what its command needs); charts, HTML and widgets load only when
something is displayed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from worldflux_nb._version import __version__
from worldflux_nb.render.registration import register as _register_display

if TYPE_CHECKING:
    from worldflux_nb.api import (
        brief, charts, compare, conformance, contract, import_evidence, packet, plan, profile, run_sheet, save,
    )
    from worldflux_nb.io.artifacts import load
    from worldflux_nb.models import (
        AuditInput, Comparison, CustomEvalContract, EvalPacket, EvalProfile, ProtocolPlan, ReviewerBrief,
        RunSheet,
    )

_register_display()  # the presentation layer attaches display to the models; they never import it

# Each public name and the module it comes from, imported the first time it is asked for.
_LAZY = {
    **{name: "worldflux_nb.api" for name in (
        "brief", "charts", "compare", "conformance", "contract", "import_evidence", "packet", "plan", "profile",
        "run_sheet", "save")},
    "load": "worldflux_nb.io.artifacts",
    **{name: "worldflux_nb.models" for name in (
        "AuditInput", "Comparison", "CustomEvalContract", "EvalPacket", "EvalProfile", "ProtocolPlan",
        "ReviewerBrief", "RunSheet")},
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'worldflux_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AuditInput", "Comparison", "CustomEvalContract", "EvalPacket", "EvalProfile", "ProtocolPlan",
    "ReviewerBrief", "RunSheet", "__version__", "brief", "charts", "compare", "conformance", "contract",
    "import_evidence", "load", "packet", "plan", "profile", "run_sheet", "save",
]
