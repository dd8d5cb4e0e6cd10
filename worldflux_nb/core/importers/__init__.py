"""Evidence importers, registered in one place: `IMPORTERS` below.

Each `Importer` states its name and the other names it answers to (`aliases`, including the probe
registry's `harness_formats`), what the edge hands its parser (`reads`), which file suffixes the
run-folder triage sniffs with it, and its failure-mapping table. `FORMATS`, `importer_for`, the CLI's
format list, the run-folder triage and the registry check all read this one list.
An Importer is called like its parser:
`FORMATS["lerobot"](data, source_name=..., plan=..., probe_id=..., options=...)`.
The edge (worldflux_nb.io.evidence_files) reads the bytes (or a folder), enforces size limits, decodes
JSON or text as `reads` says, and attaches the source files' digests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal

from worldflux_nb.core.importers import generic, generic_parquet, lbm_eval, lerobot, logs, maniskill, vla_eval
from worldflux_nb.core.importers.common import Folder, ImportOptions, parse_level, parse_task_map, with_files
from worldflux_nb.core.importers.generic import audit_input_from_frame
from worldflux_nb.models.evidence import AuditInput

# What the edge hands a parser: a parsed JSON value, the file's text, its bytes (a binary format such
# as Parquet), or a folder (`Folder`) whose files are only named (`folder_names`: the names are the evidence). A `json` importer with
# `folder_files` also takes a folder: a `Folder` of those files, parsed.
Reads = Literal["json", "text", "bytes", "folder_names"]


@dataclass(frozen=True)
class Importer:
    name: str
    reads: Reads
    allow_nan: bool
    parse: Callable[..., AuditInput]
    # `per_episode`, `aggregate_only`, `score_only`, `missing_denominator` or None (not this format).
    detect: Callable[[Any], str | None]
    description: str
    aliases: tuple[str, ...] = ()
    # Suffixes of the files the run-folder triage tries this importer's `detect` on.
    sniff_suffixes: tuple[str, ...] = ()
    # A folder given as SOURCE: the files of it this importer reads (a name pattern), for `json` readers.
    folder_files: Any = None
    # Suffixes of the files the run-folder triage names this importer for but never imports with it
    # (evidence of a weaker grade: a log, video file names).
    offer_suffixes: tuple[str, ...] = ()
    # (what the harness records, the evidence status it becomes): DESIGN "Importers".
    failure_mapping: tuple[tuple[str, str], ...] = ()

    def __call__(self, data: Any, **kwargs: Any) -> AuditInput:
        return self.parse(data, **kwargs)

    @property
    def reads_folders(self) -> bool:
        return self.reads == "folder_names" or self.folder_files is not None

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


IMPORTERS: tuple[Importer, ...] = (
    Importer("lerobot", "json", lerobot.ALLOW_NAN, lerobot.parse_lerobot, lerobot.detect,
             "LeRobot eval_info.json (legacy per_episode or multi-task per_task)",
             aliases=("lerobot-eval-info",), sniff_suffixes=(".json",),
             failure_mapping=lerobot.FAILURE_MAPPING),
    Importer("vla-eval", "json", vla_eval.ALLOW_NAN, vla_eval.parse_vla_eval, vla_eval.detect,
             "vla-eval *_aggregate.json, older *_sync_*/*_partial_* results, or a results folder",
             aliases=("vla-eval-aggregate",), sniff_suffixes=(".json",), folder_files=vla_eval.RESULT_FILE,
             failure_mapping=vla_eval.FAILURE_MAPPING),
    Importer("lbm-eval", "json", lbm_eval.ALLOW_NAN, lbm_eval.parse_lbm_eval, lbm_eval.detect,
             "lbm_eval results-*.json (evaluations[]), finished or mid-run",
             aliases=("lbm-eval-results",), sniff_suffixes=(".json",),
             failure_mapping=lbm_eval.FAILURE_MAPPING),
    Importer("maniskill", "json", maniskill.ALLOW_NAN, maniskill.parse_maniskill, maniskill.detect,
             "ManiSkill episode_results.json or RecordEpisode trajectory JSON",
             aliases=("maniskill-episode-results", "maniskill-trajectory"), sniff_suffixes=(".json",),
             failure_mapping=maniskill.FAILURE_MAPPING),
    Importer("libero-log", "text", False, logs.parse_libero_log, logs.detect_log,
             "OpenVLA EVAL-*.txt log or a captured openpi LIBERO log (weaker grade: a log)",
             aliases=("openvla-log", "openpi-log"), offer_suffixes=(".txt", ".log"),
             failure_mapping=logs.LOG_FAILURE_MAPPING),
    Importer("rollout-videos", "folder_names", False, logs.parse_rollout_videos, logs.detect_videos,
             "a folder of OpenVLA or SimplerEnv rollout videos (weaker grade: file names)",
             aliases=("openvla-videos", "simpler-env-videos"), offer_suffixes=(".mp4",),
             failure_mapping=logs.VIDEO_FAILURE_MAPPING),
    Importer("jsonl", "text", False, generic.parse_jsonl, _detect_jsonl,
             "generic evidence, one JSON object a line", sniff_suffixes=(".jsonl",)),
    Importer("csv", "text", False, generic.parse_csv, _detect_csv,
             "generic evidence as CSV", sniff_suffixes=(".csv",)),
    Importer("parquet", "bytes", False, generic_parquet.parse_parquet, generic_parquet.detect,
             "generic evidence as Parquet columns", sniff_suffixes=(".parquet",)),
)

FORMATS: dict[str, Importer] = {importer.name: importer for importer in IMPORTERS}
# Every other name an importer answers to (the probe registry's `harness_formats` among them).
ALIASES: dict[str, str] = {alias: importer.name for importer in IMPORTERS for alias in importer.aliases}


def importer_for(name: str) -> Importer | None:
    """The importer for a format name or alias; `vla_eval` and `vla-eval` are the same format."""
    key = name.strip().lower().replace("_", "-")
    return FORMATS.get(ALIASES.get(key, key))


def sniffers(suffix: str) -> list[Importer]:
    """The importers the run-folder triage tries on a file with this suffix, in registry order."""
    return [importer for importer in IMPORTERS if suffix.lower() in importer.sniff_suffixes]


def offered(suffix: str) -> list[Importer]:
    """The weaker-grade importers the run-folder triage names (never uses) for a file with this suffix."""
    return [importer for importer in IMPORTERS if suffix.lower() in importer.offer_suffixes]


__all__ = ["ALIASES", "FORMATS", "IMPORTERS", "Folder", "ImportOptions", "Importer", "audit_input_from_frame",
           "importer_for", "offered", "parse_level", "parse_task_map", "sniffers", "with_files"]
