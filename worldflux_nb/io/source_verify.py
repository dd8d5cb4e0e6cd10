"""Re-import the harness file an audit input names and compare the rows (`audit verify`,
`packet --verify-source`). The comparison itself is core.detect_sources.compare_audit_inputs."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from worldflux_nb.core.detect_sources import compare_audit_inputs
from worldflux_nb.core.evidence_columns import evidence_columns
from worldflux_nb.core.importers import FORMATS, ImportOptions, Importer, importer_for
from worldflux_nb.errors import InputError, TooLarge
from worldflux_nb.io.evidence_files import DEFAULT_MAX_BYTES, import_file
from worldflux_nb.io.files import file_digest
from worldflux_nb.models.evidence import AuditInput
from worldflux_nb.models.evidence_table import level_value
from worldflux_nb.models.plan import ProtocolPlan


@dataclass(frozen=True)
class Verification:
    differences: list[str]
    rows: int
    source_digest: str

    @property
    def agrees(self) -> bool:
        return not self.differences


def format_of(audit: AuditInput) -> Importer:
    """The importer that wrote the audit input: its recorded importer name (generic: JSONL, CSV or Parquet)."""
    source = audit.source
    if source.importer == "generic":
        recorded = source.format_version.lower()
        return FORMATS[next((name for name in ("csv", "parquet") if name in recorded), "jsonl")]
    importer = importer_for(source.importer)
    if importer is None:
        raise InputError("audit input", "source.importer",
                         f"{source.importer!r} is not an importer this version can re-run; give --format")
    return importer


def recorded_options(audit: AuditInput) -> list[ImportOptions]:
    """Import options to try, from what the audit input records: its task mapping first, then also
    the single task, axis and level its rows carry (a file that names none needed them as flags)."""
    task_map = {name: task for name, task in audit.source.task_mapping.items() if not name.startswith("(")}
    # The harness version an import was told (`--harness-version`), as its format_version records it.
    stated = re.search(r"\(harness ([^)]+)\)", audit.source.format_version)
    version = stated.group(1) if stated else None
    options = [ImportOptions(task_map=task_map, harness_version=version)]
    places = evidence_columns(audit.episodes).places  # (probe, task, axis, level text)
    tasks = {task for _, task, _, _ in places}
    cells = {(axis, level_value(level)) for _, _, axis, level in places}
    task = next(iter(tasks)) if len(tasks) == 1 else None
    axis, level = next(iter(cells)) if len(cells) == 1 else (None, None)
    if task is not None or axis is not None:
        options.append(ImportOptions(task_map=task_map, task=task, axis=axis, level=level,
                                     harness_version=version))
    return options


def verify_source(audit: AuditInput, path: str | os.PathLike[str], plan: ProtocolPlan, *,
                  importer: Importer | None = None, options: Sequence[ImportOptions] | None = None,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> Verification:
    """Re-import `path` (a file, or a harness's results folder) as `audit import` imports it (JSON
    Lines by columns) and compare; InputError if it cannot be read."""
    folder = Path(path).is_dir()
    importer = importer or format_of(audit)
    tries = list(options) if options is not None else recorded_options(audit)
    error: InputError | None = None
    for option in tries:
        try:
            fresh = import_file(importer, path, plan=plan, probe_id=audit.probe_id, options=option,
                                max_bytes=max_bytes)
        except TooLarge:
            raise  # no other options can make the file smaller
        except InputError as exc:
            error = error or exc
            continue
        # A file's digest is its own; a folder's, over the digests of the files read from it, in order.
        digest = fresh.source.files[0].digest if not folder else file_digest(
            "\n".join(f"{f.name} {f.digest}" for f in fresh.source.files).encode("utf-8"))
        return Verification(compare_audit_inputs(audit, fresh), len(fresh.episodes), digest)
    assert error is not None
    raise error
