"""Secrets, signed URL queries and host-local paths, found and replaced before anything is written."""

from __future__ import annotations

import re
from typing import Any

from worldflux_nb.models.evidence import Redaction

# (kind, pattern). Order matters: URL-shaped secrets first, so a signed URL is one finding, not three.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern)) for kind, pattern in (
        ("password_in_url", r"(?i)\b[a-z][a-z0-9+.-]*://[^\s/:@\"']+:[^\s/@\"']+@[^\s\"']+"),
        ("signed_url_query", r"(?i)\bhttps?://[^\s\"'?]+\?[^\s\"']*(?:X-Amz-Signature|X-Amz-Credential|X-Goog-Signature|X-Goog-Credential|Signature=|sig=|se=|sv=|token=|access_token=|Expires=|Key-Pair-Id)[^\s\"']*"),
        ("private_key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
        ("bearer_token", r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{12,}"),
        ("authorization_header", r"(?i)\bauthorization\s*[:=]\s*[\"']?(?:basic|token)\s+[A-Za-z0-9._~+/=-]{8,}"),
        ("aws_access_key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b"),
        ("aws_secret_key", r"(?i)aws_secret_access_key\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}"),
        ("google_api_key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
        ("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
        ("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}\b"),
        ("openai_api_key", r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}\b"),
        ("slack_token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
        ("wandb_api_key", r"(?i)\bwandb[_-]?api[_-]?key\s*[:=]\s*[\"']?[0-9a-f]{40}\b"),
        ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        ("secret_assignment", r"(?i)\b(?:api[_-]?key|secret|password|passwd|access[_-]?token|auth[_-]?token)\s*[:=]\s*[\"']?[^\s\"',;]{8,}"),
        ("home_path", r"(?:(?<=^)|(?<=[\s\"'=:(\[,]))(?:/home/[^/\s\"']+|/Users/[^/\s\"']+|/root)(?:/[^\s\"',;)\]]*)?"),
        ("windows_user_path", r"(?i)\b[A-Z]:\\Users\\[^\\\s\"']+(?:\\[^\s\"',;]*)?"),
        ("host_local_path", r"(?:(?<=^)|(?<=[\s\"'=:(\[,]))/(?:mnt|media|scratch|data|tmp|var/folders|private/var|opt|srv|workspace|work)/[^\s\"',;)\]]+"),
    )
)


def placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def redact_text(text: str) -> tuple[str, list[str]]:
    """The text with every secret-shaped span replaced, and the kinds found (one per span)."""
    kinds: list[str] = []
    for kind, pattern in _PATTERNS:
        def replace(_: re.Match[str], kind: str = kind) -> str:
            kinds.append(kind)
            return placeholder(kind)

        text = pattern.sub(replace, text)
    return text, kinds


def redact_value(value: Any, location: str) -> tuple[Any, list[Redaction]]:
    """Redact every string inside a JSON-like value (keys too); report where and what was replaced."""
    found: list[Redaction] = []

    def walk(item: Any, where: str) -> Any:
        if isinstance(item, str):
            clean, kinds = redact_text(item)
            found.extend(Redaction(location=where, kind=k) for k in kinds)
            return clean
        if isinstance(item, dict):
            out = {}
            for key, sub in item.items():
                clean_key = walk(key, f"{where}.<key>") if isinstance(key, str) else key
                out[clean_key] = walk(sub, f"{where}.{clean_key}")
            return out
        if isinstance(item, list):
            return [walk(sub, f"{where}[{i}]") for i, sub in enumerate(item)]
        if isinstance(item, tuple):
            return tuple(walk(sub, f"{where}[{i}]") for i, sub in enumerate(item))
        return item

    return walk(value, location), found


def contains_secret(text: str) -> bool:
    return any(pattern.search(text) for _, pattern in _PATTERNS)
