"""A plan receipt: the plan digest as the reviewer received it, and when, kept by the reviewer."""

from __future__ import annotations

from pydantic import field_validator

from worldflux_nb.models.common import Artifact, Digest, ShortText, Slug, now_field, refuse_secret


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

    # A name, shown in the packet and the brief: never a secret, never a control character.
    _no_secret = field_validator("received_by")(refuse_secret)

    @field_validator("received_by")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise ValueError("must be one line of printable text (no control characters)")
        return value
