"""Shared model bases: frozen artifacts with a schema version, a privacy label and a digest."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from itertools import repeat
from typing import Annotated, Any, ClassVar, Iterable, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from worldflux_nb.models.digest import canonical_json_with, digest_of, seals, sha256_bytes

PRIVACY = "LOCAL_PRIVATE"

Slug = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128,
                                        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]*$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Digest = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]
# A perturbation level: an integer difficulty, or a short label; `nominal` axis uses level 0.
Level = int | Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetadataValue = str | int | float | bool | None


def _label(value: Any) -> Any:
    """Harness text shown as a name (an out-of-protocol row's task, axis or level): redacted, one
    line, at most 128 characters, so whatever a harness wrote reads safely and never fails a packet."""
    if not isinstance(value, str):
        return value
    text = " ".join(redacted_text(value).split()) or "(blank)"
    return text if len(text) <= 128 else text[:127] + "…"


Label = Annotated[str, BeforeValidator(_label)]
# Episode indexes and seeds become int64 columns in conformance; larger values are refused on load.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
EpisodeIndex = Annotated[int, Field(ge=0, le=INT64_MAX)]
Seed = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
NOMINAL_AXIS = "nominal"


def utc_timestamp() -> str:
    """Now in UTC, or SOURCE_DATE_EPOCH when set, so identical inputs give identical files."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (datetime.fromtimestamp(int(epoch), tz=timezone.utc) if epoch and epoch.isdigit()
              else datetime.now(tz=timezone.utc))
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


# One set of field names per distinct set, shared by every frozen instance given exactly those
# fields. Pydantic keeps a fresh set per instance (2.2 KB for a CellResult's 21 fields: 0.35 GB over
# a ten-million-episode packet's 100k plan cells and cell results); a frozen model never changes it
# (pydantic adds to it only on assignment, and model_copy copies it first).
_SHARED_FIELDS_SETS: dict[frozenset[str], set[str]] = {}


def shared_fields_set(names: Iterable[str]) -> set[str]:
    """The fields set every frozen instance given exactly these fields shares (never to be changed)."""
    names = frozenset(names)
    return _SHARED_FIELDS_SETS.setdefault(names, set(names))


class Frozen(BaseModel):
    """An immutable value: unknown fields are refused rather than silently dropped."""

    # defer_build: a model's validator is built on first use, so a process pays only for the models
    # it validates (the import command never builds the packet's or a comparison's).
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, defer_build=True)

    @model_validator(mode="after")
    def _share_fields_set(self) -> Self:
        given = self.__pydantic_fields_set__
        shared = _SHARED_FIELDS_SETS.setdefault(frozenset(given), given)
        if shared is not given:
            object.__setattr__(self, "__pydantic_fields_set__", shared)
        return self

    @classmethod
    def trusted_rows(cls, rows: Iterable[dict[str, Any]],
                     fields_sets: Iterable[set[str]] | None = None) -> list[Self]:
        """An instance holding each row (a dict of exactly its fields) as `model_construct` makes
        one: nothing else checked. Only for values our own code built or checked as the fields' types
        (tests validate such rows against the model): validating 10,000 rows cost ~50 ms.
        `fields_sets`: per row, the fields it was given (shared_fields_set); by default all."""
        names = frozenset(cls.__pydantic_fields__)
        fields_sets = repeat(shared_fields_set(names)) if fields_sets is None else fields_sets
        new, assign = cls.__new__, object.__setattr__
        out = []
        for row, fields_set in zip(rows, fields_sets):
            if row.keys() != names:
                raise ValueError(f"{cls.__name__} rows give exactly its fields, not {sorted(row)}")
            instance = new(cls)
            assign(instance, "__dict__", row)
            assign(instance, "__pydantic_fields_set__", fields_set)
            assign(instance, "__pydantic_extra__", None)
            assign(instance, "__pydantic_private__", None)
            out.append(instance)
        return out


class Artifact(Frozen):
    """A file artifact: `schema_version` names its kind, `privacy` is always LOCAL_PRIVATE.

    Subclasses set KIND and, when the artifact seals itself, DIGEST_FIELD; the digest covers the
    canonical JSON of everything except that field.
    """

    KIND: ClassVar[str] = ""
    DIGEST_FIELD: ClassVar[str | None] = None
    # Whether the digest covers the artifact's JSON form (an audit input's covers its episodes'
    # canonical byte stream instead), so that JSON as read can be checked against it directly.
    DIGEST_COVERS_JSON: ClassVar[bool] = True

    schema_version: str = ""
    privacy: Literal["LOCAL_PRIVATE"] = PRIVACY

    @classmethod
    def schema_id(cls) -> str:
        return f"worldflux_nb.{cls.KIND}.v1"

    @classmethod
    def media_type(cls) -> str:
        return f"application/vnd.worldflux-nb.{cls.KIND}.v1+json"

    @model_validator(mode="before")
    @classmethod
    def _default_schema_version(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("schema_version"):
            data = {**data, "schema_version": cls.schema_id()}
        return data

    @model_validator(mode="after")
    def _check_schema_version(self) -> Self:
        if self.schema_version != self.schema_id():
            raise ValueError(f"schema_version must be {self.schema_id()!r}, got {self.schema_version!r}")
        return self

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def computed_digest(self) -> str:
        return digest_of(self.to_json_dict(), without=self.DIGEST_FIELD)

    def sealed(self) -> Self:
        """A copy whose digest field holds the digest of everything else."""
        if self.DIGEST_FIELD is None:
            return self
        return self.model_copy(update={self.DIGEST_FIELD: self.computed_digest()})

    def sealed_with(self, key: str, value_json: bytes) -> Self:
        """sealed(), given the canonical JSON of the field `key` as to_json_dict() holds it (a packet's
        cells, which its results digest has encoded already): that field is neither dumped nor encoded again."""
        if self.DIGEST_FIELD is None:
            return self
        head = self.model_dump(mode="json", exclude={key, self.DIGEST_FIELD})
        digest = sha256_bytes(canonical_json_with(head, key, value_json))
        return self.model_copy(update={self.DIGEST_FIELD: digest})

    def digest_problem(self, source: dict[str, Any] | None = None) -> str | None:
        """Why the stored digest does not match the content, or None when it does.

        `source`, the parsed JSON this artifact was validated from: when it is exactly what the
        stored digest sealed, the model holds that content and is not dumped again (a plan of
        10,000 cells: ~60 ms); otherwise the model's own content decides, as without it.
        """
        if self.DIGEST_FIELD is None:
            return None
        stored = getattr(self, self.DIGEST_FIELD)
        if source is not None and self.DIGEST_COVERS_JSON and seals(stored, source, without=self.DIGEST_FIELD):
            return None
        actual = self.computed_digest()
        if stored != actual:
            return f"{self.DIGEST_FIELD} {stored} does not match the content ({actual}); the file was changed after it was sealed"
        return None


def redacted_text(value: Any) -> Any:
    """Free text with secret-shaped spans replaced by `[REDACTED:kind]`, which says what was removed."""
    # Imported here: models.redaction itself imports the evidence models.
    from worldflux_nb.models.redaction import redact_text

    if isinstance(value, str):
        return redact_text(value)[0]
    if isinstance(value, list):
        return [redacted_text(item) for item in value]
    return value


def refuse_secret(value: Any) -> Any:
    """Identifiers travel into every artifact verbatim, so one that looks like a secret is refused."""
    from worldflux_nb.models.redaction import redact_text

    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, str):
            kinds = redact_text(item)[1]
            if kinds:
                raise ValueError(f"looks like a secret ({kinds[0]}); identifiers must not carry secrets")
    return value


def now_field() -> Any:
    return Field(default_factory=utc_timestamp)


# Default factories for `Field(default_factory=...)` as Python functions, not the builtins `list` and
# `dict`: pydantic reads a factory's signature when it builds a model, and a builtin's costs a pass of
# the tokenizer (~0.4 ms; the plan's model with its profile: 47-65 -> 21-25 ms, once per process).
def empty_list() -> list[Any]:
    return []


def empty_dict() -> dict[Any, Any]:
    return {}
