"""A customer-owned probe declared by a custom eval contract."""

from __future__ import annotations

from pydantic import Field, field_validator

from worldflux_nb.models.common import (
    Artifact, Digest, Frozen, MetadataValue, ShortText, Slug, empty_dict, empty_list, redacted_text,
    refuse_secret,
)


class ContractTask(Frozen):
    task_id: Slug
    instruction: ShortText

    _redact = field_validator("instruction")(redacted_text)
    _no_secret_ids = field_validator("task_id")(refuse_secret)


class CustomEvalContract(Artifact):
    """Every item the reference requires; a missing one is refused by name at the boundary."""

    KIND = "custom_eval_contract"

    contract_id: Slug
    task_manifest_ref: ShortText
    task_manifest_digest: Digest
    metric_schema_ref: ShortText
    inclusion_rules: list[ShortText] = Field(min_length=1)
    exclusion_rules: list[ShortText] = Field(min_length=1)
    audit_metadata_keys: list[Slug] = Field(min_length=1)
    reviewer_owned_task_source: ShortText
    customer_consent_marker: ShortText
    customer_use_case: ShortText
    acceptance_question: ShortText
    workflow_claim: ShortText
    task_owner: ShortText
    tasks: list[ContractTask] = Field(min_length=1)
    # Values evidence must repeat under `metadata`, keyed by audit metadata key.
    pinned_values: dict[Slug, MetadataValue] = Field(default_factory=empty_dict)
    episodes_per_task: int | None = Field(default=None, gt=0)

    # Contract text travels into plans, packets and briefs: secrets are redacted or refused here.
    _redact = field_validator(
        "task_manifest_ref", "metric_schema_ref", "inclusion_rules", "exclusion_rules",
        "reviewer_owned_task_source", "customer_consent_marker", "customer_use_case",
        "acceptance_question", "workflow_claim", "task_owner")(redacted_text)
    _no_secret_ids = field_validator("contract_id", "audit_metadata_keys")(refuse_secret)

    @field_validator("pinned_values")
    @classmethod
    def _redact_pinned(cls, values: dict[str, MetadataValue]) -> dict[str, MetadataValue]:
        refuse_secret(list(values))
        # Importers redact evidence metadata the same way, so a pinned value still matches.
        return {key: redacted_text(value) for key, value in values.items()}

    @property
    def probe_id(self) -> str:
        return f"custom:{self.contract_id}"

    @field_validator("tasks")
    @classmethod
    def _unique_tasks(cls, tasks: list[ContractTask]) -> list[ContractTask]:
        ids = [t.task_id for t in tasks]
        if len(set(ids)) != len(ids):
            raise ValueError("task ids must be unique")
        return tasks
