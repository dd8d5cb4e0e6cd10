"""Every detector run over one conformance result, its findings ranked by how much of the planned
evidence they touch. The detectors read conformance's frames and arrays, the plan and the audit
inputs' headers (never their rows), so their counts follow no order of rows or inputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from worldflux_nb.core.conformance import ConformanceResult
from worldflux_nb.core.detect_campaign import campaign_findings
from worldflux_nb.core.detect_identity import identity_findings, task_mappings
from worldflux_nb.core.detect_outcome import OutcomeTests, outcome_findings
from worldflux_nb.core.detect_reported import reported_findings
from worldflux_nb.core.detect_sources import source_checks, source_findings
from worldflux_nb.core.detect_time import before_freeze_findings, freeze_anchor
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.packet import Finding, FreezeAnchor, SourceCheck, TaskMappingEntry
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.models.receipt import PlanReceipt

FAMILY_ORDER = ("sources", "campaign", "identity", "outcome_dependence", "time")


@dataclass(frozen=True)
class Detection:
    findings: list[Finding]
    source_checks: list[SourceCheck]
    task_mappings: list[TaskMappingEntry]
    freeze_anchor: FreezeAnchor


@dataclass(frozen=True)
class SourceEvidence:
    """What the edge learnt outside the audit inputs: re-import differences per audit input position
    (an empty list: the rows agree) and the reviewer's plan receipt, if any."""

    verified: Mapping[int, list[str]] = field(default_factory=dict)
    receipt: PlanReceipt | None = None


def ranked(findings: Sequence[Finding]) -> list[Finding]:
    """Most of the planned evidence first; ties by family, kind, probe and text (no input order)."""
    return sorted(findings, key=lambda f: (-f.share, -f.planned_affected, FAMILY_ORDER.index(f.family),
                                           f.kind, f.probe_id or "", f.statement))


def detect(plan: ProtocolPlan, result: ConformanceResult, audit_inputs: Sequence[AuditInput],
           sources: SourceEvidence = SourceEvidence(), outcome: OutcomeTests | None = None) -> Detection:
    """`outcome`: detect_outcome.outcome_tests(plan, result), if the caller started them earlier."""
    anchor = freeze_anchor(plan, sources.receipt)
    checks = source_checks(audit_inputs, sources.verified)
    earlier = (source_findings(checks, audit_inputs, len(result.arrays.keys))
               + campaign_findings(plan, result) + reported_findings(plan, result, audit_inputs)
               + identity_findings(plan, result))
    later = before_freeze_findings(plan, result, anchor)
    # Last, as they wait for the outcome tests' permutation draws; ranked() orders them all anyway.
    findings = earlier + outcome_findings(plan, result, outcome) + later
    mappings = sorted(task_mappings(audit_inputs), key=lambda m: (m.probe_id, m.harness_name, m.plan_task, m.input))
    return Detection(findings=ranked(findings), source_checks=checks, task_mappings=mappings,
                     freeze_anchor=anchor)
