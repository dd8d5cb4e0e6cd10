"""The eval packet: evidence checked against the frozen plan, with honest statistics."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from worldflux_nb.models.common import (
    Artifact, Digest, Frozen, Label, Level, MetadataValue, ShortText, Slug, empty_dict, empty_list, now_field,
)
from worldflux_nb.models.evidence import EpisodeStatus, IdentityMode, Redaction
from worldflux_nb.models.plan import DenominatorPolicy

Category = Literal["out_of_protocol", "seed_mismatch", "metadata_mismatch", "duplicate", "matched"]
CATEGORIES: tuple[Category, ...] = (
    "out_of_protocol", "seed_mismatch", "metadata_mismatch", "duplicate", "matched",
)
EvidenceGrade = Literal["A", "B", "C", "ungraded"]
IntervalMethod = Literal["wilson", "clopper_pearson"]


class DigestMismatch(Frozen):
    probe_id: Slug
    expected: Digest
    found: str
    rows_rejected: int = Field(default=0, ge=0)


class Conformance(Frozen):
    planned_episodes: int = Field(ge=0)
    matched: int = Field(ge=0)
    missing: int = Field(ge=0)
    out_of_protocol: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    seed_mismatches: int = Field(ge=0)
    metadata_mismatches: int = Field(ge=0)
    infra_failures: int = Field(ge=0)
    pending: int = Field(default=0, ge=0)
    unverified_seeds: int = Field(default=0, ge=0)
    unverified_metadata: int = Field(default=0, ge=0)
    evidence_rows: int = Field(default=0, ge=0)
    digest_mismatches: list[DigestMismatch] = Field(default_factory=empty_list)


class CellResult(Frozen):
    cell_id: Slug
    probe_id: Slug
    task_id: Slug
    axis: Slug
    level: Level
    planned: int = Field(ge=0)
    matched: int = Field(ge=0)
    missing: int = Field(ge=0)
    successes: int = Field(ge=0)
    denominator: int = Field(ge=0)
    success_rate: float | None
    ci_low: float | None
    ci_high: float | None
    underpowered: bool
    infra_failures: int = Field(default=0, ge=0)
    # Planned episodes with a completed or timed-out attempt (the completed_only denominator), and
    # matched ones with no outcome yet and no infrastructure failure.
    completed: int = Field(default=0, ge=0)
    pending: int = Field(default=0, ge=0)
    duplicates: int = Field(default=0, ge=0)
    out_of_protocol: int = Field(default=0, ge=0)
    seed_mismatches: int = Field(default=0, ge=0)
    metadata_mismatches: int = Field(default=0, ge=0)


def cell_rows(cells: list[CellResult]) -> list[dict[str, Any]]:
    """Each cell's fields as `model_dump(mode="json")` gives them (see EvalPacket.to_json_dict)."""
    return [vars(cell).copy() if type(cell) is CellResult else cell.model_dump(mode="json") for cell in cells]


class PolicyResult(Frozen):
    """One denominator policy's reading of the whole packet (probe_id None) or of one probe."""

    policy: DenominatorPolicy
    probe_id: Slug | None = None
    successes: int = Field(ge=0)
    denominator: int = Field(ge=0)
    success_rate: float | None
    ci_low: float | None
    ci_high: float | None
    optimistic: bool = False
    note: ShortText


class Aggregate(Frozen):
    """Pooled and task-weighted success for one probe or one probe x axis."""

    probe_id: Slug
    axis: Slug | None = None
    cells: int = Field(ge=0)
    successes: int = Field(ge=0)
    denominator: int = Field(ge=0)
    pooled_rate: float | None
    pooled_ci_low: float | None
    pooled_ci_high: float | None
    task_weighted_rate: float | None
    bootstrap_ci_low: float | None
    bootstrap_ci_high: float | None


class ProbeSummary(Frozen):
    probe_id: Slug
    grade: EvidenceGrade
    grade_reasons: list[ShortText]
    identity: IdentityMode | None
    importer: Slug | None
    planned: int = Field(ge=0)
    matched: int = Field(ge=0)
    missing: int = Field(ge=0)
    training_exposure: bool = False


class CherryPickSignals(Frozen):
    in_protocol_success_rate: float | None
    out_of_protocol_success_rate: float | None
    out_of_protocol_rows: int = Field(ge=0)
    rerolled_episodes: int = Field(ge=0)
    rerolled_failures_hidden: int = Field(ge=0)
    seed_mismatches: int = Field(ge=0)
    statements: list[ShortText]


class FlaggedEpisode(Frozen):
    """An evidence row a reviewer should see: out of protocol, mismatched, re-run or infra failure."""

    category: Category | Literal["infra_failure", "missing", "pending", "unverified", "task_mapped",
                                 "order_inferred"]
    cell_id: Slug | None = None  # the planned cell it belongs to or names; None when there is none
    probe_id: Slug
    # An out-of-protocol row names whatever its harness wrote: shown redacted, never refused.
    task_id: Label
    axis: Label
    level: int | Label
    episode_index: int
    seed: int | None
    success: bool | None
    status: EpisodeStatus | None
    detail: ShortText | None = None


class Finding(Frozen):
    """Something the detectors found: what, how much of the planned evidence it touches, the test
    behind it (when there is one), the cells it rests on and the question it raises."""

    kind: Slug
    family: Literal["campaign", "outcome_dependence", "identity", "sources", "time"]
    probe_id: Slug | None = None
    # Planned episodes the finding bears on, and their share of every planned episode: the brief's rank.
    planned_affected: int = Field(default=0, ge=0)
    share: float = Field(default=0.0, ge=0, le=1)
    statement: ShortText
    question: ShortText
    cells: list[Slug] = Field(default_factory=empty_list)
    cells_more: int = Field(default=0, ge=0)
    test: ShortText | None = None
    statistic: float | None = None
    p_value: float | None = None
    p_adjusted: float | None = None


class SourceCheck(Frozen):
    """Whether an audit input was bound to its harness files by re-importing them at packet time."""

    probe_id: Slug
    input: int = Field(ge=0)
    audit_digest: Digest
    source_digests: list[Digest] = Field(default_factory=empty_list)
    verified: Literal["agrees", "disagrees", "not_verified"]
    detail: ShortText


class TaskMappingEntry(Frozen):
    """A harness task name the importer mapped onto a plan task (`--task-map`, or a file naming none)."""

    probe_id: Slug
    input: int = Field(ge=0)
    harness_name: ShortText
    plan_task: ShortText


class FreezeAnchor(Frozen):
    """When the plan counts as frozen, and who chose that moment."""

    frozen_at: str
    anchored_by: Literal["plan_created_at", "reviewer_receipt"]
    detail: ShortText


class ContractCheck(Frozen):
    probe_id: Slug
    key: Slug
    pinned: MetadataValue
    rows_matching: int = Field(ge=0)
    rows_differing: int = Field(ge=0)
    rows_missing_key: int = Field(ge=0)


class Provenance(Frozen):
    tool: Literal["worldflux-nb"] = "worldflux-nb"
    tool_version: ShortText
    registry_version: Slug
    registry_digest: Digest
    plan_digest: Digest
    profile_digest: Digest
    input_digests: dict[Slug, Digest]
    source_file_digests: dict[Slug, list[Digest]] = Field(default_factory=empty_dict)
    result_digest: Digest
    interval_method: IntervalMethod
    # The plan's confidence level for every interval; left out of packets sealed before it was recorded.
    interval_confidence: float | None = Field(default=None, gt=0, lt=1, exclude_if=lambda v: v is None)
    bootstrap_seed: int
    created_at: str


class EvalPacket(Artifact):
    KIND = "eval_packet"
    DIGEST_FIELD = "packet_digest"

    def to_json_dict(self) -> dict[str, Any]:
        """model_dump(mode="json"), each cell a copy of the values it holds: every CellResult field is
        a JSON scalar held as its JSON value, so pydantic's dump of 100k cells (~0.2 s) gives the same."""
        head = self.model_dump(mode="json", exclude={"cells"})
        return {name: (cell_rows(self.cells) if name == "cells" else head[name])
                for name in type(self).model_fields if name == "cells" or name in head}

    plan_id: Slug
    plan_digest: Digest
    profile_id: Slug
    policy_id: Slug
    claim_intent: ShortText
    denominator_policy: DenominatorPolicy
    strict_missing_evidence: bool = False
    conformance: Conformance
    cells: list[CellResult]
    denominator_policies: list[PolicyResult]
    probe_summaries: list[ProbeSummary]
    probe_aggregates: list[Aggregate] = Field(default_factory=empty_list)
    axis_aggregates: list[Aggregate] = Field(default_factory=empty_list)
    cherry_pick_signals: CherryPickSignals
    observed_score_signals: list[ShortText] = Field(default_factory=empty_list)
    unsupported_claims: list[ShortText] = Field(default_factory=empty_list)
    training_exposure_caveats: list[ShortText] = Field(default_factory=empty_list)
    missing_evidence_questions: list[ShortText] = Field(default_factory=empty_list)
    missing_cells: list[Slug] = Field(default_factory=empty_list)
    underpowered_cells: list[Slug] = Field(default_factory=empty_list)
    # Underpowered even with every planned episode present: the plan's own counts cannot reach its targets.
    planned_in_underpowered_cells: list[Slug] = Field(default_factory=empty_list)
    flagged_episodes: list[FlaggedEpisode] = Field(default_factory=empty_list)
    flagged_episodes_truncated: int = Field(default=0, ge=0)
    # Per kind of flag, how many rows or episodes it covers (the flags themselves are capped per kind).
    flagged_totals: dict[Slug, int] = Field(default_factory=empty_dict)
    # Per kind of flag, the rows per cell they name (cells in plan order; rows naming no cell left out).
    flagged_cells: dict[Slug, dict[Slug, int]] = Field(default_factory=empty_dict)
    contract_checks: list[ContractCheck] = Field(default_factory=empty_list)
    # The detectors' findings, most of the planned evidence first (core.detect).
    findings: list[Finding] = Field(default_factory=empty_list)
    source_checks: list[SourceCheck] = Field(default_factory=empty_list)
    task_mappings: list[TaskMappingEntry] = Field(default_factory=empty_list)
    freeze_anchor: FreezeAnchor | None = None
    next_falsification_axes: list[ShortText] = Field(default_factory=empty_list)
    warnings: list[ShortText] = Field(default_factory=empty_list)
    redactions: list[Redaction] = Field(default_factory=empty_list)
    consent_markers: dict[Slug, ShortText] = Field(default_factory=empty_dict)
    provenance: Provenance
    created_at: str = now_field()
    packet_digest: Digest | None = None


class ReviewerQuestion(Frozen):
    about: ShortText  # the cell id or probe id the question concerns
    question: ShortText


class ReviewerBrief(Artifact):
    KIND = "reviewer_brief"
    DIGEST_FIELD = "brief_digest"

    public_share_ready: Literal[False] = False
    banner: ShortText
    plan_digest: Digest
    packet_digest: Digest
    packet_markdown_ref: ShortText | None = None
    profile_id: Slug
    policy_id: Slug
    claim_intent: ShortText
    headline: list[ShortText] = Field(default_factory=empty_list)
    warnings: list[ShortText] = Field(default_factory=empty_list)
    unsupported_claims: list[ShortText] = Field(default_factory=empty_list)
    missing_evidence: list[ShortText] = Field(default_factory=empty_list)
    reviewer_questions: list[ReviewerQuestion] = Field(default_factory=empty_list)
    acceptance_discussion: list[ShortText] = Field(default_factory=empty_list)
    created_at: str = now_field()
    brief_digest: Digest | None = None
