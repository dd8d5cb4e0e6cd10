"""Data models: pure pydantic, no I/O. Every artifact is frozen and knows its schema version."""

from worldflux_nb.models.common import PRIVACY, Artifact
from worldflux_nb.models.comparison import Comparison
from worldflux_nb.models.contract import CustomEvalContract
from worldflux_nb.models.evidence import AuditInput, AuditSource, EvidenceRow, ReportedSummary
from worldflux_nb.models.packet import EvalPacket, ReviewerBrief
from worldflux_nb.models.plan import ProtocolPlan, RunSheet
from worldflux_nb.models.profile import EvalProfile
from worldflux_nb.models.receipt import PlanReceipt

ARTIFACT_KINDS: dict[str, type[Artifact]] = {
    cls.schema_id(): cls
    for cls in (EvalProfile, CustomEvalContract, ProtocolPlan, RunSheet, AuditInput, EvalPacket,
                ReviewerBrief, PlanReceipt, Comparison)
}

__all__ = [
    "ARTIFACT_KINDS", "PRIVACY", "Artifact", "AuditInput", "AuditSource", "Comparison", "CustomEvalContract",
    "EvalPacket", "EvalProfile", "EvidenceRow", "PlanReceipt", "ProtocolPlan", "ReportedSummary", "ReviewerBrief",
    "RunSheet",
]
