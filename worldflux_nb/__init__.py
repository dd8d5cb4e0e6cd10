"""worldflux-nb: frozen protocol plans, evidence checked against them, and private reviewer briefs.

Importing the package stays light: charts, HTML and widgets load only when something is displayed.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("worldflux-nb")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"

from worldflux_nb.io.artifacts import load  # noqa: E402
from worldflux_nb.models import (  # noqa: E402
    AuditInput, CustomEvalContract, EvalPacket, EvalProfile, ProtocolPlan, ReviewerBrief, RunSheet,
)
from worldflux_nb.render.registration import register as _register_display  # noqa: E402

_register_display()  # the presentation layer attaches display to the models; they never import it

__all__ = [
    "AuditInput", "CustomEvalContract", "EvalPacket", "EvalProfile", "ProtocolPlan",
    "ReviewerBrief", "RunSheet", "__version__", "load",
]
