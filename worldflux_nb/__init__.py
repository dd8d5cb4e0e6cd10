"""worldflux-nb: frozen protocol plans, evidence checked against them, and private reviewer briefs.

Importing the package stays light: charts, HTML and widgets load only when something is displayed.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("worldflux-nb")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+local"

from worldflux_nb.api import (  # noqa: E402
    brief, charts, conformance, contract, import_evidence, packet, plan, profile, run_sheet, save,
)
from worldflux_nb.io.artifacts import load  # noqa: E402
from worldflux_nb.models import (  # noqa: E402
    AuditInput, Comparison, CustomEvalContract, EvalPacket, EvalProfile, ProtocolPlan, ReviewerBrief,
    RunSheet,
)
from worldflux_nb.render.registration import register as _register_display  # noqa: E402

_register_display()  # the presentation layer attaches display to the models; they never import it


def compare(plan: "ProtocolPlan | str", arms: "dict[str, list]", *, baseline: "str | None" = None) -> Comparison:
    """Compare policies on one frozen plan: `arms` maps each policy to its audit inputs (objects or
    audit_input.json paths); the first arm is the baseline unless `baseline` names another."""
    from worldflux_nb.core.compare import build_comparison

    if not isinstance(arms, dict):
        raise TypeError(f"arms must map each policy name to its audit inputs, not a {type(arms).__name__}")
    plan = plan if isinstance(plan, ProtocolPlan) else load(plan, ProtocolPlan)
    # One audit input may be given alone (a path is text: iterating it would read its characters).
    evidence = {name: [a if isinstance(a, AuditInput) else load(a, AuditInput)
                       for a in (audits if isinstance(audits, (list, tuple)) else [audits])]
                for name, audits in arms.items()}
    return build_comparison(plan, evidence, baseline=baseline)


__all__ = [
    "AuditInput", "Comparison", "CustomEvalContract", "EvalPacket", "EvalProfile", "ProtocolPlan",
    "ReviewerBrief", "RunSheet", "__version__", "brief", "charts", "compare", "conformance", "contract",
    "import_evidence", "load", "packet", "plan", "profile", "run_sheet", "save",
]
