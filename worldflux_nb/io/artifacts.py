"""Loading artifacts by their schema version, verifying digests, and turning them into files."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from worldflux_nb.core.bulk import gc_paused
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import json_text, read_json
from worldflux_nb.models import ARTIFACT_KINDS, Artifact, AuditInput, CustomEvalContract, ProtocolPlan
from worldflux_nb.models.evidence import rows_json

if TYPE_CHECKING:
    from worldflux_nb.core.libero_plus import Classification

A = TypeVar("A", bound=Artifact)


def validation_error(exc: ValidationError, source: str) -> InputError:
    """The first pydantic error as one line naming the field."""
    first = exc.errors(include_url=False)[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    message = first.get("msg", "is invalid")
    if first.get("type") == "missing":
        message = "is required but missing"
    elif first.get("type") == "extra_forbidden":
        message = "is not a known field"
    return InputError(source, field, message)


def validate(cls: type[A], data: Any, source: str) -> A:
    if not isinstance(data, dict):
        raise InputError(source, None, f"must hold a JSON object, not {type(data).__name__}")
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, source) from None


def artifact_from_json(data: Any, source: str, expected: type[A] | None = None) -> A:
    """Validate a parsed artifact by its schema_version and refuse it if its digest no longer matches."""
    if not isinstance(data, dict):
        raise InputError(source, None, f"must hold a JSON object, not {type(data).__name__}")
    version = data.get("schema_version")
    cls = ARTIFACT_KINDS.get(version) if isinstance(version, str) else None
    if cls is None:
        raise InputError(source, "schema_version",
                         f"{version!r} is not a worldflux-nb artifact kind ({', '.join(sorted(ARTIFACT_KINDS))})")
    if expected is not None and cls is not expected:
        raise InputError(source, "schema_version", f"is {version}, expected {expected.schema_id()}")
    artifact = audit_input(data, source) if cls is AuditInput else validate(cls, data, source)
    problem = artifact.digest_problem()
    if problem:
        raise InputError(source, artifact.DIGEST_FIELD, problem)
    if isinstance(artifact, ProtocolPlan):
        from worldflux_nb.core.plan_keys import plan_keys  # numpy/pandas load on use, not on import

        plan_keys(artifact)  # built while the plan is at hand, as an audit input's columns are
    return artifact  # type: ignore[return-value]


def audit_input(data: dict[str, Any], source: str) -> AuditInput:
    """An audit input with its episodes' columns built (core.evidence_columns).

    Rows that validation would keep unchanged are recognised column by column (core.row_check) and
    the rest of the artifact is validated by pydantic; any other input is validated by pydantic in
    full, so refusals read exactly as before.
    """
    # Imported on use: `import worldflux_nb` must not pull in numpy and pandas.
    from worldflux_nb.core.evidence_columns import evidence_columns, keep_columns
    from worldflux_nb.core.row_check import checked_columns

    columns = checked_columns(data.get("episodes"))
    if columns is None:
        audit = validate(AuditInput, data, source)
        evidence_columns(audit)
        return audit
    head = validate(AuditInput, {**data, "episodes": []}, source)
    audit = head.model_copy(update={"episodes": data["episodes"]})
    keep_columns(audit, columns)
    return audit


def load(path: str | os.PathLike[str], expected: type[A] | None = None) -> A:
    """Read any worldflux-nb artifact file, verify its digest and return the model."""
    with gc_paused():
        return artifact_from_json(read_json(path), str(path), expected)


def load_contract(path: str | os.PathLike[str]) -> CustomEvalContract:
    """A custom eval contract file; hand-written ones may leave out schema_version and privacy."""
    data = read_json(path)
    if isinstance(data, dict) and "schema_version" not in data:
        return validate(CustomEvalContract, data, str(path))
    return artifact_from_json(data, str(path), CustomEvalContract)


def load_libero_plus_classification(path: str | os.PathLike[str]) -> Classification:
    """LIBERO-plus's task_classification.json as the operator supplies it (core.libero_plus)."""
    from worldflux_nb.core.libero_plus import parse_classification

    return parse_classification(read_json(path), str(path))


def artifact_json(artifact: Artifact) -> str:
    """The artifact as stable pretty JSON (json_text); an audit input's rows are written fast."""
    if isinstance(artifact, AuditInput):
        with gc_paused():
            rows = rows_json(artifact.episodes, indent=2)
            if rows is not None:
                head = artifact.model_dump(mode="json", exclude={"episodes"})
                head["episodes"] = []
                # Top-level keys are the only lines indented by two spaces, and JSON strings hold
                # no raw newlines: the rows go in at the one place `"episodes": []` is written.
                return json_text(head).replace('\n  "episodes": []', '\n  "episodes": '
                                               + rows.decode("utf-8").replace("\n", "\n  "), 1)
    return json_text(artifact.to_json_dict())
