"""Normalised per-episode evidence for one probe, imported from a harness's own files."""

from __future__ import annotations

import hashlib
from itertools import chain, repeat
from typing import Annotated, Any, Literal, Sequence

import pydantic_core
from pydantic import Field, PrivateAttr, StringConstraints
from typing_extensions import NotRequired, TypedDict

from worldflux_nb.models.digest import canonical_json
from worldflux_nb.models.common import (
    Artifact, Digest, EpisodeIndex, Frozen, Level, MetadataValue, Seed, ShortText, Slug, now_field,
)

EpisodeStatus = Literal["completed", "timeout", "infra_failure", "pending"]
EPISODE_STATUSES: tuple[EpisodeStatus, ...] = ("completed", "timeout", "infra_failure", "pending")
IdentityMode = Literal["explicit", "harness_order", "inferred_from_order"]
EvidenceKind = Literal["structured", "log", "file_names"]
# The optional evidence columns (docs/evidence-table.md): a row omits them when the harness records none.
OPTIONAL_FIELDS = ("failure_reason", "run_id", "recorded_at", "harness_task")
FAILURE_REASON_CHARS = 500
OptionalText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class EvidenceRow(TypedDict):
    """The generic evidence fields. A TypedDict rather than a model: a million rows stay fast.

    Fields are declared in sorted order on purpose: validated rows keep this order, so their JSON
    is already canonical and `rows_json` can hand them to pydantic-core's serialiser.
    """

    axis: str
    episode_index: EpisodeIndex
    failure_reason: NotRequired[Annotated[str, StringConstraints(max_length=FAILURE_REASON_CHARS)]]
    harness_task: NotRequired[OptionalText]
    level: Level
    metadata: NotRequired[dict[str, MetadataValue]]
    probe_id: str
    recorded_at: NotRequired[OptionalText]
    run_id: NotRequired[OptionalText]
    seed: Seed | None
    status: EpisodeStatus
    success: bool | None
    task_id: str


def _canonical_shape(rows: Sequence[Any]) -> bool:
    """Keys sorted in every row and metadata object, and no float among the metadata values.

    Validated rows hold floats only in metadata; pydantic-core writes some floats differently from
    Python's repr (1e-7 against 1e-07), so rows with floats take the standard library's path.
    """
    try:
        shapes = set(map(tuple, rows))
        metadata = list(filter(None, map(dict.get, rows, repeat("metadata"))))
        metadata_shapes = set(map(tuple, metadata))
        value_types = set(map(type, chain.from_iterable(map(dict.values, metadata))))
    except TypeError:  # not plain dicts
        return False
    return (value_types <= {str, int, bool, type(None)}
            and all(list(keys) == sorted(keys) for keys in shapes | metadata_shapes))


def rows_json(rows: Sequence[Any], *, indent: int | None = None) -> bytes | None:
    """Validated evidence rows as canonical JSON (or as `json.dumps(indent=...)` writes them), fast.

    pydantic-core writes dicts in insertion order, so this returns None unless its output is
    byte-identical to the standard library's (see _canonical_shape); callers then fall back to it.
    """
    if not _canonical_shape(rows):
        return None
    try:
        return pydantic_core.to_json(list(rows), indent=indent)
    except (ValueError, TypeError, pydantic_core.PydanticSerializationError):
        return None


class DerivedCache:
    """A view computed from a frozen model's field, kept on the model: never serialised, never compared.

    The view is tied to the exact field object it was computed from, so a copy with another value
    for that field (model_copy(update=...)) computes its own. Its content is opaque to the models.
    """

    __slots__ = ("source", "value")

    def __init__(self) -> None:
        self.source: object = None
        self.value: Any = None

    def get(self, source: object) -> Any:
        return self.value if source is self.source and self.value is not None else None

    def put(self, source: object, value: Any) -> Any:
        self.source, self.value = source, value
        return value

    def __eq__(self, other: object) -> bool:  # a cache never makes two equal models unequal
        return isinstance(other, DerivedCache)

    __hash__ = None  # type: ignore[assignment]


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
    discrepancies: list[ShortText] = Field(default_factory=list)


class AuditSource(Frozen):
    importer: Slug
    format_version: ShortText
    files: list[SourceFile] = Field(default_factory=list)
    identity: IdentityMode
    # For `harness_order`: which harness version's loop order was checked.
    identity_basis: ShortText | None = None
    # `log` and `file_names` evidence is a weaker grade than structured per-episode records.
    evidence_kind: EvidenceKind = "structured"
    reported: ReportedSummary = Field(default_factory=ReportedSummary)
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
    # The episodes as columns (core.evidence_columns builds it): conformance reads it, JSON never does.
    _columns: DerivedCache = PrivateAttr(default_factory=DerivedCache)

    def computed_digest(self) -> str:
        # A million rows: serialise them with pydantic-core when that is byte-identical to
        # canonical_json (see rows_json), and hash the canonical object piece by piece.
        rows = rows_json(self.episodes)
        if rows is None:
            return super().computed_digest()
        head = self.model_dump(mode="json", exclude={"episodes"})
        head.pop(self.DIGEST_FIELD, None)
        head["episodes"] = None
        digest = hashlib.sha256(b"{")
        for i, (key, value) in enumerate(sorted(head.items())):
            digest.update((b"," if i else b"") + canonical_json(key) + b":")
            digest.update(rows if key == "episodes" else canonical_json(value))
        digest.update(b"}")
        return "sha256:" + digest.hexdigest()
