"""Data models: pure pydantic, no I/O. Every artifact is frozen and knows its schema version.

The names below are imported on first use, so a command builds only the models of the artifacts it
reads (the import command never needs the packet's or a comparison's models).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from worldflux_nb.models.common import PRIVACY, Artifact

if TYPE_CHECKING:
    from worldflux_nb.models.comparison import Comparison
    from worldflux_nb.models.contract import CustomEvalContract
    from worldflux_nb.models.evidence import AuditInput, AuditSource, EvidenceRow, ReportedSummary
    from worldflux_nb.models.packet import EvalPacket, ReviewerBrief
    from worldflux_nb.models.plan import ProtocolPlan, RunSheet
    from worldflux_nb.models.profile import EvalProfile
    from worldflux_nb.models.receipt import PlanReceipt

# Every artifact kind's schema_version and the module and class that read it (tests/test_startup.py
# checks this against each class's own schema_id()).
ARTIFACT_CLASSES: dict[str, tuple[str, str]] = {
    "worldflux_nb.profile.v1": ("profile", "EvalProfile"),
    "worldflux_nb.custom_eval_contract.v1": ("contract", "CustomEvalContract"),
    "worldflux_nb.protocol_plan.v1": ("plan", "ProtocolPlan"),
    "worldflux_nb.run_sheet.v1": ("plan", "RunSheet"),
    "worldflux_nb.audit_input.v1": ("evidence", "AuditInput"),
    "worldflux_nb.eval_packet.v1": ("packet", "EvalPacket"),
    "worldflux_nb.reviewer_brief.v1": ("packet", "ReviewerBrief"),
    "worldflux_nb.plan_receipt.v1": ("receipt", "PlanReceipt"),
    "worldflux_nb.comparison.v1": ("comparison", "Comparison"),
}
_MODULES = {
    "AuditSource": "evidence", "EvidenceRow": "evidence", "ReportedSummary": "evidence",
    **{name: module for module, name in ARTIFACT_CLASSES.values()},
}


def artifact_class(schema_version: str) -> type[Artifact] | None:
    """The model of the artifact kind this schema_version names (importing only its module), or None."""
    found = ARTIFACT_CLASSES.get(schema_version)
    if found is None:
        return None
    return getattr(importlib.import_module(f"worldflux_nb.models.{found[0]}"), found[1])


def __getattr__(name: str) -> Any:
    if name == "ARTIFACT_KINDS":  # every kind by schema_version (imports every model)
        value: Any = {version: artifact_class(version) for version in ARTIFACT_CLASSES}
    elif name in _MODULES:
        value = getattr(importlib.import_module(f"worldflux_nb.models.{_MODULES[name]}"), name)
    else:
        raise AttributeError(f"module 'worldflux_nb.models' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES, "ARTIFACT_KINDS"})


__all__ = [
    "ARTIFACT_CLASSES", "ARTIFACT_KINDS", "PRIVACY", "Artifact", "AuditInput", "AuditSource", "Comparison",
    "CustomEvalContract", "EvalPacket", "EvalProfile", "EvidenceRow", "PlanReceipt", "ProtocolPlan",
    "ReportedSummary", "ReviewerBrief", "RunSheet", "artifact_class",
]
