"""A sanitised copy of an executed notebook for a private reviewer: redacted, allowlisted, labelled.

Outputs are kept by mimetype (text, Markdown, HTML, SVG, inline images, JSON kinds the toolkit
writes); HTML, SVG and Markdown are cleaned by an allowlist (io/allowlist.py, nh3); every text,
key, cell id, attachment name, metadata value and widget value is redacted. The one script kept is the
explorer's in a saved record (render/explorer_record.py), and only when it is ours byte for byte: its static
view is cleaned, its embedded state redacted value by value and written back by the record's own writer.
A widget view whose model has no saved state (a notebook saved by hand from a live session) is dropped, so
front ends show the output's other representations instead of "model not found" (io/notebook_widgets.py).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbformat import NotebookNode

from worldflux_nb.io.allowlist import clean_html, clean_markdown, clean_svg, remote_reference
from worldflux_nb.io.notebook_ids import WIDGET_STATE, WIDGET_VIEW
from worldflux_nb.io.notebook_widgets import ORPHAN_REASON, drawable_models, is_orphan_view, saved_models
from worldflux_nb.models.redaction import placeholder, redact_pair, redact_text, redact_value
from worldflux_nb.models import PRIVACY
from worldflux_nb.models.evidence import Redaction
from worldflux_nb.render.explorer_record import record_html, record_parts

BANNER_ID = "worldflux-nb-share-banner"
REPORT_SCHEMA = "worldflux_nb.share_report.v1"
# What may stay in an output, by mimetype; everything else (application/javascript,
# application/ecmascript, text/javascript, PDFs, unknown renderers) is dropped.
IMAGE_MEDIA = ("image/png", "image/jpeg", "image/gif", "image/webp")
_JSON_MEDIA = re.compile(r"^application/(?:json|vnd\.worldflux-nb\.[a-z_]+\.v1\+json|vnd\.vegalite\.v\d+\+json|"
                         r"vnd\.jupyter\.widget-view\+json)$")
# Vega-Lite specs are drawn by a renderer that fetches whatever URL the spec names.
_FETCHING_JSON = re.compile(r"^application/vnd\.vegalite\.")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")
# A table row whose header cell names a secret and whose next cell holds its value.
_TABLE_PAIR = re.compile(r"(?is)(<t[hd][^<>]{0,200}>\s{0,20})([^<>]{1,200}?)(\s{0,20}</t[hd]>\s{0,20}<t[hd][^<>]{0,200}>)"
                         r"([^<>]{1,512})(</t[hd]>)")
# Widget models that run code from the notebook (anywidget's _esm/_css) may not import anything remote.
_REMOTE_IMPORT = re.compile(r"(?i)(?:from|import)\s*\(?\s*[\"'](?:[a-z][a-z0-9+.-]{0,30}:)?//|@import|url\(")


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
                 f"removed {len(self.dropped)} output(s) or part(s) outside the allowlist "
                 "or widget views with no saved state"]
        lines += [f"  redacted {r.kind} in {r.location}" for r in self.redactions]
        lines += [f"  removed {where}: {why}" for where, why in self.dropped]
        return lines


def loads_remote_code(text: str) -> bool:
    """Whether HTML or SVG would lose anything to the allowlist (a script, a handler, a remote load)."""
    return _lost(text, clean_svg(text) if "<svg" in text else clean_html(text))


_NAMES = re.compile(r"<\s{0,5}/?\s{0,5}([A-Za-z][\w:-]{0,64})|\s([A-Za-z_:][\w:.-]{0,64})\s{0,5}=")
# Names the cleaner itself adds: the implied <tbody> and rel="noopener ...".
_ADDED = {"tbody", "rel"}


def _lost(before: str, after: str) -> bool:
    """Whether cleaning removed a tag or an attribute (re-serialising alone removes neither)."""
    def names(markup: str) -> Counter[str]:
        return Counter(n.lower() for pair in _NAMES.findall(markup) for n in pair if n and n.lower() not in _ADDED)
    return bool(names(before) - names(after)) or before.lower().count("url(") > after.lower().count("url(")


def _loads_remote(model: Any) -> bool:
    """Whether a saved widget model runs code (anywidget's _esm/_css) that imports or loads a remote resource."""
    inner = model.get("state", {}) if isinstance(model, dict) else {}
    code = " ".join(str(inner.get(k, "")) for k in ("_esm", "_css", "_module", "_anywidget_id"))
    return bool(_REMOTE_IMPORT.search(code))


class _Sanitiser:
    def __init__(self, kept_models: set[str]) -> None:
        self.report = ShareReport()
        # The models the copy keeps saved state for: a view of any other one is an orphan.
        self.kept_models = kept_models

    def redact(self, text: str, where: str) -> str:
        clean, kinds = redact_text(_ANSI.sub("", text))
        self.report.redactions += [Redaction(location=where, kind=kind) for kind in kinds]
        return clean

    def text(self, value: Any, where: str) -> Any:
        """Redact text (or nbformat's list-of-lines form), dropping terminal colour codes first."""
        if isinstance(value, list):
            return [self.text(part, f"{where}[{i}]") for i, part in enumerate(value)]
        return self.redact(value, where) if isinstance(value, str) else value

    def value(self, value: Any, where: str) -> Any:
        clean, found = redact_value(value, where)
        self.report.redactions += found
        return clean

    def markup(self, text: str, where: str, media: str) -> str:
        """HTML, SVG or Markdown: redacted (a secret named in one table cell and given in the next
        too), then cleaned by the allowlist; what the allowlist removed is reported."""
        text = _TABLE_PAIR.sub(lambda m: self._table_pair(m, where), text)
        text = self.redact(text, where)
        cleaner = {"text/html": clean_html, "image/svg+xml": clean_svg, "text/markdown": clean_markdown}[media]
        clean = cleaner(text)
        if _lost(text, clean):
            self.report.dropped.append((where, f"{media} outside the allowlist removed (scripts, handlers, "
                                               "remote images, forms, frames or styles that load URLs)"))
        return clean

    def _table_pair(self, match: re.Match[str], where: str) -> str:
        _, _, kinds = redact_pair(match.group(2).strip(), match.group(4).strip())
        if not kinds:
            return match.group(0)
        self.report.redactions += [Redaction(location=where, kind=kind) for kind in kinds]
        return match.group(1) + match.group(2) + match.group(3) + placeholder(kinds[0]) + match.group(5)

    def bundle(self, data: dict[str, Any], where: str) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        orphan = is_orphan_view(data, self.kept_models)
        for media, payload in data.items():
            at = f"{where} {media}"
            if media == WIDGET_VIEW and orphan:
                self.report.dropped.append((at, ORPHAN_REASON))
            elif media in IMAGE_MEDIA:
                kept[media] = payload
            elif _JSON_MEDIA.match(media):
                parsed = _json_payload(payload)
                if _FETCHING_JSON.match(media) and remote_reference(parsed):
                    self.report.dropped.append((at, "tells its renderer to fetch a URL"))
                    continue
                kept[media] = self.value(payload, at)
            elif media in ("text/html", "image/svg+xml", "text/markdown"):
                text = "".join(payload) if isinstance(payload, list) else str(payload)
                record = record_parts(text) if media == "text/html" else None
                if record is not None:  # the explorer: static view cleaned, state redacted, our script
                    kept[media] = record_html(self.markup(record[0], at, media),
                                              self.value(record[1], f"{at} explorer state"))
                else:
                    kept[media] = self.markup(text, at, media)
            elif media == "text/plain":
                kept[media] = self.text(payload, at)
            else:
                self.report.dropped.append((at, "a mimetype outside the allowlist (it may run code)"))
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

    def attachments(self, attachments: dict[str, Any], where: str) -> dict[str, Any]:
        """Inline images only, under redacted names (a Markdown cell names them in its source,
        which is redacted the same way)."""
        kept: dict[str, Any] = {}
        for name, bundle in attachments.items():
            clean_name = self.redact(name, f"{where} attachment name")
            images = {m: p for m, p in dict(bundle).items() if m in IMAGE_MEDIA}
            if len(images) < len(bundle):
                self.report.dropped.append((f"{where} attachment {clean_name}", "not an inline image"))
            if images:
                kept[clean_name] = images
        return kept

    def cell(self, cell: NotebookNode, index: int) -> NotebookNode:
        out = dict(cell)
        where = f"cell {index}"
        if isinstance(cell.get("id"), str):
            clean_id = self.redact(cell["id"], f"{where} id")
            out["id"] = clean_id if _CELL_ID.match(clean_id) else f"shared-cell-{index}"
        if cell.cell_type == "markdown":
            source = "".join(cell.source) if isinstance(cell.source, list) else cell.get("source", "")
            out["source"] = self.markup(source, f"{where} source", "text/markdown")
        else:
            out["source"] = self.text(cell.get("source", ""), f"{where} source")
        out["metadata"] = self.value(cell.get("metadata", {}), f"{where} metadata")
        if "attachments" in cell:
            out["attachments"] = self.attachments(dict(cell["attachments"]), where)
        if cell.cell_type == "code":
            outputs = []
            for number, output in enumerate(cell.get("outputs", [])):
                clean = self.output(output, f"{where} output {number}")
                if clean is not None:
                    outputs.append(clean)
            out["outputs"] = outputs
        return nbformat.from_dict(out)

    def widgets(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Saved widget state: models that load remote code are dropped; HTML values are cleaned."""
        key = WIDGET_STATE
        saved = metadata.get("widgets", {}).get(key) if isinstance(metadata.get("widgets"), dict) else None
        if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
            return metadata
        state: dict[str, Any] = {}
        for model_id, model in saved["state"].items():
            where = f"widget {model_id}"
            inner = model.get("state", {}) if isinstance(model, dict) else {}
            if _loads_remote(model):
                self.report.dropped.append((where, "widget code that imports or loads a remote resource"))
                continue
            if isinstance(model, dict) and str(model.get("model_name", "")).startswith("HTML"):
                for field_name in ("value", "description", "placeholder"):
                    if isinstance(inner.get(field_name), str):
                        inner = {**inner, field_name: self.markup(inner[field_name], f"{where} {field_name}",
                                                                  "text/html")}
                model = {**model, "state": inner}
            state[model_id] = model
        widgets = {**metadata["widgets"], key: {**saved, "state": state}}
        return {**metadata, "widgets": widgets}


def _json_payload(payload: Any) -> Any:
    """A JSON output as a value: front ends may store it as text, and that text may not be JSON."""
    if not isinstance(payload, str):
        return payload
    try:
        return json.loads(payload)
    except ValueError:
        return payload


def banner_cell(report: ShareReport) -> NotebookNode:
    text = (
        "> **LOCAL_PRIVATE — reviewer copy, not public-share-ready** (`public_share_ready: false`).\n"
        ">\n"
        "> A sanitised copy of an executed worldflux-nb notebook, for a private reviewer only. "
        f"{len(report.redactions)} value(s) that looked like secrets, signed URLs or host-local paths "
        f"were redacted, and {len(report.dropped)} output(s) or part(s) outside the allowlist (scripts, "
        "remote images, code-loading widgets) or widget views with no saved state were removed. "
        "Do not publish it or pass it on.")
    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [BANNER_ID]})
    cell["id"] = BANNER_ID
    return cell


def share_copy(nb: NotebookNode) -> tuple[NotebookNode, ShareReport]:
    """The sanitised copy and what was changed; the input notebook is left untouched."""
    # Known before the cells are read: a view of a model dropped for loading remote code, or of one that
    # uses such a model or an unsaved one, is an orphan too.
    sanitiser = _Sanitiser(drawable_models({model_id: model for model_id, model in saved_models(nb.metadata).items()
                                            if not _loads_remote(model)}))
    cells = [sanitiser.cell(cell, index) for index, cell in enumerate(nb.cells)
             if BANNER_ID not in cell.get("metadata", {}).get("tags", [])]
    metadata = dict(sanitiser.value(sanitiser.widgets(dict(nb.metadata)), "notebook metadata"))
    report = sanitiser.report
    metadata["worldflux_nb"] = {
        **(metadata.get("worldflux_nb") if isinstance(metadata.get("worldflux_nb"), dict) else {}),
        "privacy": PRIVACY, "public_share_ready": False, "sanitised_copy": True,
        "redaction_count": len(report.redactions), "dropped_outputs": len(report.dropped),
    }
    copy = nbformat.from_dict({**nb, "metadata": metadata, "cells": [banner_cell(report)] + cells})
    nbformat.validate(copy)
    return copy, report
