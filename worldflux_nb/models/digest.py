"""Canonical JSON and `sha256:` digests shared by every artifact (pure: no I/O)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8; NaN is refused so digests stay portable."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def digest_of(value: Any, *, without: str | None = None) -> str:
    """Digest of a JSON-ready value, leaving out its own digest field when named."""
    if without is not None and isinstance(value, dict):
        value = {k: v for k, v in value.items() if k != without}
    return sha256_bytes(canonical_json(value))
