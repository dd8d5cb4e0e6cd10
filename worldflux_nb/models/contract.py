"""A customer-owned probe declared by a custom eval contract."""

from __future__ import annotations

from pydantic import Field, field_validator

from worldflux_nb.models.common import Artifact, Digest, Frozen, MetadataValue, ShortText, Slug


class ContractTask(Frozen):
    task_id: Slug
    instruction: ShortText


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
    pinned_values: dict[Slug, MetadataValue] = Field(default_factory=dict)
    episodes_per_task: int | None = Field(default=None, gt=0)

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
