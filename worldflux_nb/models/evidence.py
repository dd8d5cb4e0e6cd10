"""Normalised per-episode evidence for one probe, imported from a harness's own files."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from worldflux_nb.models.common import (
    Artifact, Digest, EpisodeIndex, Frozen, Level, MetadataValue, Seed, ShortText, Slug, now_field,
)

EpisodeStatus = Literal["completed", "timeout", "infra_failure", "pending"]
EPISODE_STATUSES: tuple[EpisodeStatus, ...] = ("completed", "timeout", "infra_failure", "pending")
IdentityMode = Literal["explicit", "inferred_from_order"]


class EvidenceRow(TypedDict):
    """The generic evidence fields. A TypedDict rather than a model: a million rows stay fast."""

    probe_id: str
    task_id: str
    axis: str
    level: Level
    episode_index: EpisodeIndex
    seed: Seed | None
    success: bool | None
    status: EpisodeStatus
    metadata: NotRequired[dict[str, MetadataValue]]


class SourceFile(Frozen):
    name: ShortText
    digest: Digest
    size_bytes: int = Field(ge=0)


class Redaction(Frozen):
    """A value replaced at the boundary: where it was and what kind of secret it looked like."""

    location: ShortText
    kind: Slug


class AuditSource(Frozen):
    importer: Slug
    format_version: ShortText
    files: list[SourceFile] = Field(default_factory=list)
    identity: IdentityMode
    task_mapping: dict[str, str] = Field(default_factory=dict)
    notes: list[ShortText] = Field(default_factory=list)


class AuditInput(Artifact):
    KIND = "audit_input"
    DIGEST_FIELD = "audit_digest"

    plan_digest: Digest
    probe_id: Slug
    episodes: list[EvidenceRow]
    source: AuditSource
    redactions: list[Redaction] = Field(default_factory=list)
    created_at: str = now_field()
    audit_digest: Digest | None = None
