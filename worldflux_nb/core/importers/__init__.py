"""Evidence importers: pure parsers from harness output (already read) to a sealed AuditInput.

`FORMATS` maps a format name (as typed after `audit import`) to its Importer; an Importer is called
like its parser: `FORMATS["lerobot"](data, source_name=..., plan=..., probe_id=..., options=...)`.
The edge (worldflux_nb.io.evidence_files) reads the bytes, enforces size limits, decodes JSON or text
as `reads` says, and attaches the source files' digests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from worldflux_nb.core.importers import generic, lbm_eval, lerobot, maniskill, vla_eval
from worldflux_nb.core.importers.common import ImportOptions, parse_level, parse_task_map, with_files
from worldflux_nb.core.importers.generic import audit_input_from_frame
from worldflux_nb.models.evidence import AuditInput


@dataclass(frozen=True)
class Importer:
    name: str
    # What the parser takes: a parsed JSON value, or the file's text (JSONL, CSV).
    reads: Literal["json", "text"]
    allow_nan: bool
    parse: Callable[..., AuditInput]
    # `per_episode`, `aggregate_only`, `score_only`, `missing_denominator` or None (not this format).
    detect: Callable[[Any], str | None]
    description: str

    def __call__(self, data: Any, **kwargs: Any) -> AuditInput:
        return self.parse(data, **kwargs)


def _detect_jsonl(text: Any) -> str | None:
    import json

    if not isinstance(text, str):
        return None
    sample = []
    for line in text.splitlines()[:50]:
        if line.strip():
            try:
                sample.append(json.loads(line))
            except ValueError:
                return None
    return generic.detect_records(sample)


def _detect_csv(text: Any) -> str | None:
    import csv
    import io

    if not isinstance(text, str):
        return None
    try:
        sample = [row for _, row in zip(range(50), csv.DictReader(io.StringIO(text)))]
    except csv.Error:
        return None
    return generic.detect_records([{k: v for k, v in row.items() if k} for row in sample])


FORMATS: dict[str, Importer] = {
    importer.name: importer for importer in (
        Importer("lerobot", "json", True, lerobot.parse_lerobot, lerobot.detect,
                 "LeRobot eval_info.json (legacy per_episode or multi-task per_task)"),
        Importer("vla-eval", "json", False, vla_eval.parse_vla_eval, vla_eval.detect,
                 "vla-eval <benchmark>_aggregate.json (tasks[].episodes[])"),
        Importer("lbm-eval", "json", False, lbm_eval.parse_lbm_eval, lbm_eval.detect,
                 "lbm_eval results-*.json (evaluations[])"),
        Importer("maniskill", "json", False, maniskill.parse_maniskill, maniskill.detect,
                 "ManiSkill episode_results.json ({episode_id: {success, ...}})"),
        Importer("jsonl", "text", False, generic.parse_jsonl, _detect_jsonl,
                 "generic evidence, one JSON object a line"),
        Importer("csv", "text", False, generic.parse_csv, _detect_csv,
                 "generic evidence as CSV"),
    )
}


# The probe registry's `harness_formats` names, read as the formats they stand for.
ALIASES = {
    "lerobot-eval-info": "lerobot", "vla-eval-aggregate": "vla-eval",
    "lbm-eval-results": "lbm-eval", "maniskill-episode-results": "maniskill",
}


def importer_for(name: str) -> Importer | None:
    """The importer for a format name or alias; `vla_eval` and `vla-eval` are the same format."""
    key = name.strip().lower().replace("_", "-")
    return FORMATS.get(ALIASES.get(key, key))


__all__ = ["ALIASES", "FORMATS", "ImportOptions", "Importer", "audit_input_from_frame", "importer_for",
           "parse_level", "parse_task_map", "with_files"]
