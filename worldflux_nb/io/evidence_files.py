"""The edge of evidence import: read a harness file within a size limit, digest it, parse it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from worldflux_nb.core.bulk import gc_paused
from worldflux_nb.core.importers import ImportOptions, Importer, with_files
from worldflux_nb.errors import InputError
from worldflux_nb.io.files import decode_text, file_digest, parse_json, read_bytes
from worldflux_nb.models.evidence import AuditInput, SourceFile
from worldflux_nb.models.plan import ProtocolPlan

# Harness files are untrusted: a quarter of a gibibyte is already a very large evaluation.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024


def source_file(name: str, data: bytes) -> SourceFile:
    """What an audit input records about a file it read: its base name (never a host path) and digest."""
    return SourceFile(name=Path(name).name or "evidence", digest=file_digest(data), size_bytes=len(data))


def decode_for(importer: Importer, data: bytes, source: str) -> Any:
    """The file's content as the importer reads it: parsed JSON or text."""
    text = decode_text(data, source)
    if importer.reads == "text":
        if not text.strip():
            raise InputError(source, None, "is empty")
        return text
    return parse_json(text, source, allow_nan=importer.allow_nan)


def import_file(importer: Importer, path: str | os.PathLike[str], *, plan: ProtocolPlan,
                probe_id: str, options: ImportOptions = ImportOptions(),
                max_bytes: int = DEFAULT_MAX_BYTES) -> AuditInput:
    """Read one harness file and return its sealed AuditInput naming the file and its digest."""
    source = str(path)
    data = read_bytes(path, max_bytes=max_bytes)
    return import_bytes(importer, data, source=source, plan=plan, probe_id=probe_id, options=options)


def import_bytes(importer: Importer, data: bytes, *, source: str, plan: ProtocolPlan,
                 probe_id: str, options: ImportOptions = ImportOptions()) -> AuditInput:
    with gc_paused():
        content = decode_for(importer, data, source)
        audit = importer(content, source_name=source, plan=plan, probe_id=probe_id, options=options)
        return with_files(audit, [source_file(source, data)])
