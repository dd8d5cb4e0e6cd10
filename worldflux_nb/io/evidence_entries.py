"""Evidence named as entries — a harness file with its format and options, or an audit input file —
imported as `worldflux-nb audit import` does, for the template notebook and the Python API."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from worldflux_nb.core.importers import ImportOptions, importer_for, parse_level, parse_task_map
from worldflux_nb.errors import InputError
from worldflux_nb.io.evidence_files import import_file
from worldflux_nb.io.evidence_limits import (
    API_KEYWORD, check_evidence_rows, evidence_bytes_limit, load_audit_input, naming_the_flag, row_limit,
)
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.plan import ProtocolPlan

AUDIT_INPUT = "audit_input"
_KEYS = {"probe_id", "format", "path", "task", "axis", "level", "task_map", "harness_version"}


@dataclass(frozen=True)
class EvidenceEntry:
    """One evidence file and what the importer needs to know that the file does not say."""

    format: str
    path: str
    probe_id: str | None = None
    options: ImportOptions = ImportOptions()


def entry_from_mapping(data: Any, source: str = "harness_files") -> EvidenceEntry:
    """An entry from `{"probe_id", "format", "path"[, "task", "axis", "level", "task_map",
    "harness_version"]}`."""
    if not isinstance(data, Mapping):
        raise InputError(source, None, f"each entry must be a mapping, not {type(data).__name__}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise InputError(source, unknown[0], f"is not an entry key (known: {', '.join(sorted(_KEYS))})")
    for key in ("format", "path"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise InputError(source, key, "is required and must be text")
    if data["format"] != AUDIT_INPUT and not isinstance(data.get("probe_id"), str):
        raise InputError(data["path"], "probe_id", "is required for a harness file")
    task_map = data.get("task_map") or {}
    level = data.get("level")
    options = ImportOptions(
        task_map=parse_task_map(task_map, source) if isinstance(task_map, list) else dict(task_map),
        task=data.get("task"), axis=data.get("axis"),
        level=parse_level(level) if isinstance(level, str) else level,
        harness_version=data.get("harness_version"))
    return EvidenceEntry(format=data["format"], path=data["path"], probe_id=data.get("probe_id"),
                         options=options)


def sample_entries(samples: Iterable[Any], folder: str | Path) -> list[EvidenceEntry]:
    """Entries for the bundled sample files written into `folder` (their options are `audit import` flags)."""
    entries = []
    for sample in samples:
        flags: dict[str, Any] = {}
        for flag, value in sample.options:
            key = flag.lstrip("-").replace("-", "_")
            flags[key] = flags.get(key, []) + [value] if key == "task_map" else value
        entries.append(entry_from_mapping({"probe_id": sample.probe_id, "format": sample.format,
                                           "path": str(Path(folder) / sample.name), **flags}))
    return entries


def import_entry(entry: EvidenceEntry, plan: ProtocolPlan, *,
                 max_evidence_rows: int | None = None) -> AuditInput:
    """The entry's audit input, under the limit `audit import --max-evidence-rows` sets (None: its
    default): at most that many rows, from a file of at most 1 KiB a row."""
    limit = row_limit(max_evidence_rows)
    if entry.format == AUDIT_INPUT:
        return load_audit_input(entry.path, limit)
    importer = importer_for(entry.format)
    if importer is None:
        raise InputError(entry.path, "format", f"{entry.format!r} is not a known evidence format")
    with naming_the_flag(API_KEYWORD, limit):
        audit = import_file(importer, entry.path, plan=plan, probe_id=entry.probe_id or "",
                            options=entry.options, max_bytes=evidence_bytes_limit(limit))
    return check_evidence_rows(audit, entry.path, limit, API_KEYWORD)


def import_entries(entries: Sequence[EvidenceEntry], plan: ProtocolPlan, *,
                   max_evidence_rows: int | None = None) -> list[AuditInput]:
    return [import_entry(entry, plan, max_evidence_rows=max_evidence_rows) for entry in entries]
