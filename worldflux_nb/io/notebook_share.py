"""A sanitised copy of an executed notebook for a private reviewer: redacted, no remote code, labelled."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbformat import NotebookNode

from worldflux_nb.models.redaction import redact_text, redact_value
from worldflux_nb.models import PRIVACY
from worldflux_nb.models.evidence import Redaction

BANNER_ID = "worldflux-nb-share-banner"
REPORT_SCHEMA = "worldflux_nb.share_report.v1"
# Base64 payloads are left as they are: redacting inside them would corrupt the image, not hide text.
BINARY_MEDIA = ("image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf")
CODE_MEDIA = ("application/javascript", "text/javascript", "application/x-javascript")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_REMOTE = r"(?:https?:)?//[^\s\"'>)]+"
# HTML or SVG that would run code or fetch something when opened.
_LOADS_REMOTE = re.compile(
    r"(?is)<\s*(?:script|iframe|object|embed|base)\b"
    r"|\bsrc\s*=\s*[\"']?\s*" + _REMOTE +
    r"|<\s*(?:link|image|use|img)\b[^>]*\bhref\s*=\s*[\"']?\s*" + _REMOTE +
    r"|url\(\s*[\"']?\s*" + _REMOTE + r"|@import\b|<[^>]*\son[a-z]+\s*=")


@dataclass
class ShareReport:
    """What the sanitised copy changed: each redaction and each output dropped, with where it was."""

    redactions: list[Redaction] = field(default_factory=list)
    dropped: list[tuple[str, str]] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for item in self.redactions:
            kinds[item.kind] = kinds.get(item.kind, 0) + 1
        return {
            "schema_version": REPORT_SCHEMA, "privacy": PRIVACY, "public_share_ready": False,
            "redaction_count": len(self.redactions), "redactions_by_kind": dict(sorted(kinds.items())),
            "redactions": [r.model_dump(mode="json") for r in self.redactions],
            "dropped_outputs": [{"location": where, "reason": why} for where, why in self.dropped],
        }

    def summary_lines(self) -> list[str]:
        counts = self.to_json_dict()["redactions_by_kind"]
        kinds = ", ".join(f"{kind} x{n}" for kind, n in counts.items()) or "none found"
        lines = [f"redacted {len(self.redactions)} value(s): {kinds}",
                 f"dropped {len(self.dropped)} output(s) that would load remote code"]
        lines += [f"  redacted {r.kind} in {r.location}" for r in self.redactions]
        lines += [f"  dropped {where}: {why}" for where, why in self.dropped]
        return lines


def loads_remote_code(text: str) -> bool:
    return bool(_LOADS_REMOTE.search(text))


def _remote_url_in(value: Any) -> bool:
    """A JSON payload that tells its renderer to fetch something (e.g. Vega `data.url`)."""
    if isinstance(value, dict):
        return any((key in ("url", "src") and isinstance(sub, str) and re.match(_REMOTE, sub.strip()))
                   or _remote_url_in(sub) for key, sub in value.items())
    if isinstance(value, list):
        return any(_remote_url_in(sub) for sub in value)
    return False


class _Sanitiser:
    def __init__(self) -> None:
        self.report = ShareReport()

    def text(self, value: Any, where: str) -> Any:
        """Redact text (or nbformat's list-of-lines form), dropping terminal colour codes first."""
        if isinstance(value, list):
            return [self.text(part, f"{where}[{i}]") for i, part in enumerate(value)]
        if not isinstance(value, str):
            return value
        clean, kinds = redact_text(_ANSI.sub("", value))
        self.report.redactions += [Redaction(location=where, kind=kind) for kind in kinds]
        return clean

    def value(self, value: Any, where: str) -> Any:
        clean, found = redact_value(value, where)
        self.report.redactions += found
        return clean

    def bundle(self, data: dict[str, Any], where: str) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for media, payload in data.items():
            at = f"{where} {media}"
            if media in CODE_MEDIA:
                self.report.dropped.append((at, "executable script output"))
                continue
            if media in BINARY_MEDIA:
                kept[media] = payload
                continue
            if media.endswith("json"):
                parsed = json.loads(payload) if isinstance(payload, str) else payload
                if _remote_url_in(parsed):
                    self.report.dropped.append((at, "tells its renderer to fetch a remote URL"))
                    continue
                kept[media] = self.value(payload, at)
                continue
            text = "".join(payload) if isinstance(payload, list) else payload
            if isinstance(text, str) and media != "text/plain" and loads_remote_code(text):
                self.report.dropped.append((at, "HTML/SVG that runs scripts or loads remote resources"))
                continue
            kept[media] = self.text(payload, at)
        return kept

    def output(self, output: NotebookNode, where: str) -> NotebookNode | None:
        kind = output.get("output_type")
        out = dict(output)
        if kind == "stream":
            out["text"] = self.text(output.get("text", ""), where)
        elif kind == "error":
            out["ename"] = self.text(output.get("ename", ""), f"{where} ename")
            out["evalue"] = self.text(output.get("evalue", ""), f"{where} evalue")
            out["traceback"] = [self.text(line, f"{where} traceback[{i}]")
                                for i, line in enumerate(output.get("traceback", []))]
        elif kind in ("display_data", "execute_result"):
            out["data"] = self.bundle(dict(output.get("data", {})), where)
            if not out["data"]:
                return None
        if "metadata" in out:
            out["metadata"] = self.value(output["metadata"], f"{where} metadata")
        return nbformat.from_dict(out)

    def cell(self, cell: NotebookNode, index: int) -> NotebookNode:
        out = dict(cell)
        out["source"] = self.text(cell.get("source", ""), f"cell {index} source")
        out["metadata"] = self.value(cell.get("metadata", {}), f"cell {index} metadata")
        if cell.cell_type == "code":
            outputs = []
            for number, output in enumerate(cell.get("outputs", [])):
                clean = self.output(output, f"cell {index} output {number}")
                if clean is not None:
                    outputs.append(clean)
            out["outputs"] = outputs
        return nbformat.from_dict(out)


def banner_cell(report: ShareReport) -> NotebookNode:
    text = (
        "> **LOCAL_PRIVATE — reviewer copy, not public-share-ready** (`public_share_ready: false`).\n"
        ">\n"
        "> A sanitised copy of an executed worldflux-nb notebook, for a private reviewer only. "
        f"{len(report.redactions)} value(s) that looked like secrets, signed URLs or host-local paths "
        f"were redacted, and {len(report.dropped)} output(s) that would load remote code were removed. "
        "Do not publish it or pass it on.")
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [BANNER_ID]})
    cell["id"] = BANNER_ID
    return cell


def share_copy(nb: NotebookNode) -> tuple[NotebookNode, ShareReport]:
    """The sanitised copy and what was changed; the input notebook is left untouched."""
    sanitiser = _Sanitiser()
    cells = [sanitiser.cell(cell, index) for index, cell in enumerate(nb.cells)
             if BANNER_ID not in cell.get("metadata", {}).get("tags", [])]
    metadata = dict(sanitiser.value(dict(nb.metadata), "notebook metadata"))
    report = sanitiser.report
    metadata["worldflux_nb"] = {
        **(metadata.get("worldflux_nb") if isinstance(metadata.get("worldflux_nb"), dict) else {}),
        "privacy": PRIVACY, "public_share_ready": False, "sanitised_copy": True,
        "redaction_count": len(report.redactions), "dropped_outputs": len(report.dropped),
    }
    copy = nbformat.from_dict({**nb, "metadata": metadata, "cells": [banner_cell(report)] + cells})
    nbformat.validate(copy)
    return copy, report
