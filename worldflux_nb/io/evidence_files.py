"""The edge of evidence import: read a harness file (or a harness's output folder) within a size limit,
digest it, parse it."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Union

from worldflux_nb.core.bulk import gc_paused
from worldflux_nb.core.importers import Folder, ImportOptions, Importer, with_files
from worldflux_nb.errors import InputError, TooLarge
from worldflux_nb.io.evidence_limits import (  # noqa: F401  (the one size limit; re-exported)
    BYTES_PER_EVIDENCE_ROW, DEFAULT_MAX_BYTES, DEFAULT_MAX_EVIDENCE_ROWS, check_evidence_rows, evidence_bytes_limit,
)
from worldflux_nb.io.files import decode_text, file_digest, note_input, parse_json, read_bytes
from worldflux_nb.models.evidence import AuditInput, SourceFile
from worldflux_nb.models.plan import ProtocolPlan
from worldflux_nb.models.redaction import redact_text


def source_file(name: str, data: bytes) -> SourceFile:
    """What an audit input records about a file it read: its base name (never a host path) and digest."""
    return _source_entry(name, file_digest(data), len(data))


def _source_entry(name: str, digest: str, size: int) -> SourceFile:
    # A harness file's name can carry a token or a user name: it is recorded redacted.
    shown = redact_text(Path(name).name)[0][:255]
    return SourceFile(name=shown or "evidence", digest=digest, size_bytes=size)


def decode_for(importer: Importer, data: bytes, source: str) -> Any:
    """The file's content as the importer reads it: parsed JSON, text, or the bytes themselves."""
    if importer.reads == "bytes":
        return data
    text = decode_text(data, source)
    if importer.reads == "text":
        if not text.strip():
            raise InputError(source, None, "is empty")
        return text
    return parse_json(text, source, allow_nan=importer.allow_nan)


PlanSource = Union[ProtocolPlan, Callable[[], ProtocolPlan]]


def import_file(importer: Importer, path: str | os.PathLike[str], *, plan: PlanSource,
                probe_id: str, options: ImportOptions = ImportOptions(),
                max_bytes: int = DEFAULT_MAX_BYTES,
                episodes_ready: Callable[[Any], None] | None = None) -> AuditInput:
    """Read one harness file (or folder) and return its sealed AuditInput naming what it read.

    Generic JSON Lines take the vectorised path (io.evidence_tables) when the file is plain valid
    evidence; anything else is read row by row, which names the bad line. `plan` may be a function
    that loads it: a JSON Lines file is then parsed and hashed while the plan loads. On that path
    `episodes_ready` gets the evidence table before its content digest is computed, so the caller
    can start work on it (the Parquet row groups) that runs beside the digest.
    """
    source = str(path)
    if importer.name == "jsonl" and not Path(path).is_dir():
        if _small_file(path):  # read row by row: quicker than starting DuckDB, the same audit input
            data = read_bytes(path, max_bytes=max_bytes)
            return import_bytes(importer, data, source=source, plan=_loaded(plan), probe_id=probe_id,
                                options=options)
        with _JsonlRead(path, max_bytes=max_bytes) as read:
            plan = _loaded(plan)
            audit = read.audit(plan=plan, probe_id=probe_id, options=options, episodes_ready=episodes_ready)
        if audit is not None:
            return audit
    plan = _loaded(plan)
    if Path(path).is_dir():
        return import_folder(importer, path, plan=plan, probe_id=probe_id, options=options,
                             max_bytes=max_bytes)
    if importer.reads == "folder_names":
        raise InputError(source, None, f"is not a folder: {importer.name} reads a folder of files")
    data = read_bytes(path, max_bytes=max_bytes)
    return import_bytes(importer, data, source=source, plan=plan, probe_id=probe_id, options=options)


# JSON Lines files up to this size are read row by row: below it that is quicker than DuckDB's start
# (importing it, its first query), measured in bench/README.md ("small" round).
SMALL_JSONL_BYTES = 1 << 20


def _small_file(path: str | os.PathLike[str]) -> bool:
    try:
        return os.stat(path).st_size <= SMALL_JSONL_BYTES
    except OSError:
        return False  # the columns' path gives the usual refusal


def _loaded(plan: PlanSource) -> ProtocolPlan:
    return plan if isinstance(plan, ProtocolPlan) else plan()


class _JsonlRead:
    """The vectorised JSONL import, begun on entry: DuckDB parses the file (io.evidence_tables) while
    another thread digests it and counts its key markers, both releasing the GIL. `audit` gives the
    audit input, or None for the row path: a file whose key markers exceed the keys DuckDB read, or
    whose size, times or inode changed meanwhile, is read again row by row."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int) -> None:
        from worldflux_nb.io.evidence_tables import JsonlBatches

        self.path = path
        self.before = _file_state(path, max_bytes=max_bytes)
        self.max_bytes = max_bytes
        self.batches = JsonlBatches(path)
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wfnb-scan")

    def __enter__(self) -> "_JsonlRead":
        from worldflux_nb.io.evidence_tables import scan_file

        # DuckDB's parse is the longest part: it starts first, the scan and the plan's load once it runs.
        self.batches.wait_reading()
        self.scanned = self.pool.submit(scan_file, self.path, stop=self.stop)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.batches.close()
        self.pool.shutdown()

    def audit(self, *, plan: ProtocolPlan, probe_id: str, options: ImportOptions,
              episodes_ready: Callable[[Any], None] | None = None) -> AuditInput | None:
        from worldflux_nb.core.importers.generic import audit_input_from_json_columns

        path, batches = self.path, self.batches
        with gc_paused():  # sealed by with_files below, once the file is known to be read whole
            audit = audit_input_from_json_columns(batches, source_name=str(path), plan=plan,
                                                  probe_id=probe_id, options=options, sealed=False)
        if audit is None or not batches.readable:
            return None
        digest, size, markers = self.scanned.result()
        if _file_state(path, max_bytes=self.max_bytes) != self.before or size != self.before[0]:
            return None
        if markers != batches.keys:
            return None  # another key with a value (or a string holding `":`): the row path reads it
        if episodes_ready is not None:
            episodes_ready(audit.episodes)
        return with_files(audit, [_source_entry(str(path), digest, size)])


def _file_state(path: str | os.PathLike[str], *, max_bytes: int) -> tuple[int, ...]:
    """Size, modification and change times and inode of a regular file within the limit (refused
    with the usual one-line error otherwise): any write or replacement changes one of them."""
    p = Path(path)
    note_input(p)
    try:
        st = p.stat()
    except OSError:
        st = None
    if st is None or not p.is_file() or st.st_size > max_bytes:
        read_bytes(path, max_bytes=max_bytes)  # raises the usual one-line refusal
    assert st is not None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


# A harness's output folder holds at most this many files worth listing (rollout videos, results).
MAX_FOLDER_FILES = 200_000


def _folder_listing(root: Path, source: str) -> list[str]:
    """Relative paths of the regular files under `root`, sorted; links are not followed."""
    names: list[str] = []
    for directory, subdirs, files in os.walk(root, followlinks=False):
        subdirs.sort()
        for name in files:
            full = Path(directory) / name
            if full.is_symlink() or not full.is_file():
                continue
            names.append(full.relative_to(root).as_posix())
            if len(names) > MAX_FOLDER_FILES:
                raise InputError(source, None, f"holds more than {MAX_FOLDER_FILES} files")
    return sorted(names)


def import_folder(importer: Importer, path: str | os.PathLike[str], *, plan: ProtocolPlan,
                  probe_id: str, options: ImportOptions = ImportOptions(),
                  max_bytes: int = DEFAULT_MAX_BYTES) -> AuditInput:
    """A harness's output folder: its file names (rollout videos) or its result files, parsed."""
    root, source = Path(path), str(path)
    if not importer.reads_folders:
        raise InputError(source, None, f"is a folder: {importer.name} reads one file "
                                       "(`audit import run-folder` triages a whole folder)")
    names = _folder_listing(root, source)
    if importer.reads == "folder_names":
        listing = "\n".join(names).encode("utf-8")
        folder = Folder(name=root.name, files=tuple((name, None) for name in names))
        files = [SourceFile(name=f"{root.name or 'folder'} (file names)", digest=file_digest(listing),
                            size_bytes=len(listing))]
    else:
        chosen = [name for name in names if importer.folder_files.match(Path(name).name)]
        named, total = [], 0
        for name in chosen:
            data = read_bytes(root / name, max_bytes=max_bytes)
            total += len(data)
            if total > max_bytes:
                raise TooLarge(source, None, f"its result files hold over {max_bytes} bytes")
            named.append((name, data))
        return import_result_files(importer, named, source=source, plan=plan, probe_id=probe_id,
                                   options=options)
    with gc_paused():
        audit = importer(folder, source_name=source, plan=plan, probe_id=probe_id, options=options)
        return with_files(audit, files)


def import_result_files(importer: Importer, named: list[tuple[str, bytes]], *, source: str,
                        plan: ProtocolPlan, probe_id: str, options: ImportOptions = ImportOptions()) -> AuditInput:
    """A harness folder's result files, already read ((path relative to the folder, bytes) in name
    order), parsed together as the folder importer reads them."""
    contents = [(name, decode_for(importer, data, str(Path(source) / name))) for name, data in named]
    files = [SourceFile(name=name[-200:], digest=file_digest(data), size_bytes=len(data)) for name, data in named]
    with gc_paused():
        audit = importer(Folder(name=Path(source).name, files=tuple(contents)), source_name=source, plan=plan,
                         probe_id=probe_id, options=options)
        return with_files(audit, files)


def import_bytes(importer: Importer, data: bytes, *, source: str, plan: ProtocolPlan,
                 probe_id: str, options: ImportOptions = ImportOptions()) -> AuditInput:
    with gc_paused():
        content = decode_for(importer, data, source)
        audit = importer(content, source_name=source, plan=plan, probe_id=probe_id, options=options)
        return with_files(audit, [source_file(source, data)])
