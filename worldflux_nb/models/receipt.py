"""A plan receipt: the plan digest as the reviewer received it, and when, kept by the reviewer."""

from __future__ import annotations

from worldflux_nb.models.common import Artifact, Digest, ShortText, Slug, now_field


class PlanReceipt(Artifact):
    """Anchors a plan's freeze in something the operator did not choose: the reviewer's own record
    of when the plan digest reached them (see docs/freeze-anchor.md for what it does not prove)."""

    KIND = "plan_receipt"
    DIGEST_FIELD = "receipt_digest"

    plan_id: Slug
    plan_digest: Digest
    received_at: str = now_field()
    received_by: ShortText | None = None
    receipt_digest: Digest | None = None
