"""Normalised per-episode evidence for one probe, imported from a harness's own files.

The episodes are an `EvidenceTable` (models.evidence_table); `OPTIONAL_FIELDS` and `EPISODE_STATUSES`
are re-exported from there for importers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from worldflux_nb.models.common import (
    Artifact, Digest, Frozen, Level, MetadataValue, Seed, ShortText, Slug, empty_dict, empty_list, now_field,
)
from worldflux_nb.models.digest import canonical_json, sha256_bytes
from worldflux_nb.models.evidence_table import EPISODE_STATUSES, OPTIONAL_FIELDS, EvidenceTable  # noqa: F401 (re-exported)

EpisodeStatus = Literal["completed", "timeout", "infra_failure", "pending"]
IdentityMode = Literal["explicit", "harness_order", "inferred_from_order"]
EvidenceKind = Literal["structured", "log", "file_names"]
# Where an audit input written as Parquet keeps its header: a key of the file's key-value metadata
# (io.artifacts writes and reads it; the run-folder triage knows an audit input by it).
PARQUET_HEADER_KEY = b"worldflux_nb.header"


class EvidenceRow(TypedDict):
    """One evidence row as importers build it (a type hint only: `EvidenceTable.build` checks rows)."""

    axis: str
    episode_index: int
    failure_reason: NotRequired[str | None]
    harness_task: NotRequired[str | None]
    level: Level
    metadata: NotRequired[dict[str, MetadataValue] | None]
    probe_id: str
    recorded_at: NotRequired[str | None]
    run_id: NotRequired[str | None]
    seed: int | None
    status: EpisodeStatus
    success: bool | None
    task_id: str


class SourceFile(Frozen):
    name: ShortText
    digest: Digest
    size_bytes: int = Field(ge=0)


class Redaction(Frozen):
    """A value replaced at the boundary: where it was and what kind of secret it looked like."""

    location: ShortText
    kind: Slug


class ReportedSummary(Frozen):
    """What the harness itself reported about the run, reconciled with the rows (null: not reported)."""

    episodes_requested: int | None = Field(default=None, ge=0)
    episodes_evaluated: int | None = Field(default=None, ge=0)
    success_rate: float | None = Field(default=None, ge=0, le=1)
    partial: bool | None = None
    run_seed: Seed | None = None
    discrepancies: list[ShortText] = Field(default_factory=empty_list)


class AuditSource(Frozen):
    importer: Slug
    format_version: ShortText
    files: list[SourceFile] = Field(default_factory=empty_list)
    identity: IdentityMode
    # For `harness_order`: which harness version's loop order was checked.
    identity_basis: ShortText | None = None
    # `log` and `file_names` evidence is a weaker grade than structured per-episode records.
    evidence_kind: EvidenceKind = "structured"
    reported: ReportedSummary = Field(default_factory=ReportedSummary)
    task_mapping: dict[str, str] = Field(default_factory=empty_dict)
    notes: list[ShortText] = Field(default_factory=empty_list)


class AuditInput(Artifact):
    KIND = "audit_input"
    DIGEST_FIELD = "audit_digest"
    DIGEST_COVERS_JSON = False

    plan_digest: Digest
    probe_id: Slug
    # An immutable evidence table; row dicts, a column mapping or an Arrow table are checked into one.
    episodes: EvidenceTable
    source: AuditSource
    redactions: list[Redaction] = Field(default_factory=empty_list)
    created_at: str = now_field()
    audit_digest: Digest | None = None

    def header(self) -> dict[str, Any]:
        """Everything but the episodes, in JSON form (the Parquet file's metadata, the digest's base)."""
        return self.model_dump(mode="json", exclude={"episodes"})

    def computed_digest(self, form: int | None = None) -> str:
        # docs/evidence-table.md: the header without the digest, `episodes` replaced by the hex
        # SHA-256 of the table's canonical byte stream (the same for JSON and Parquet files).
        head = self.header()
        head.pop(self.DIGEST_FIELD, None)
        head["episodes_digest"] = self.episodes.content_digest(form)
        return sha256_bytes(canonical_json(head))

    def digest_problem(self, source: dict[str, Any] | None = None) -> str | None:
        """As for every artifact, the stream in the form sealed now; an audit input sealed before
        that form (docs/evidence-table.md) verifies in the earlier one."""
        from worldflux_nb.models.evidence_digest import FORM, FORMS

        problem = super().digest_problem(source)
        if problem and any(self.audit_digest == self.computed_digest(form) for form in FORMS if form != FORM):
            return None
        return problem
