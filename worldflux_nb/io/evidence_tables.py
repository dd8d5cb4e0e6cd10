"""Generic evidence files read as columns by DuckDB (the fast path of `audit import jsonl`).

Chosen by measurement (bench/README.md): DuckDB reads JSON Lines in parallel and keeps each field's
JSON type, so a `level` of 3 and of "dim" in one file both survive as what they are (pyarrow's JSON
reader refuses the mix; Polars turns 2.0 and true into "2" and "true" and keeps the last of two
equal keys). DuckDB's `read_json` refuses a key given twice in one line. Keys besides the generic
fields and the optional columns are not read by it: `scan_file`, which digests the file, also counts
its key markers, and if they exceed the keys DuckDB read (`non_null_keys`) another key carries a
value, and the whole file goes to the row-by-row importer, which refuses that key naming the line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import deque
from typing import Any

# Every generic field is read from each line's JSON object as the JSON text of its value.
JSON_FIELDS = ("probe_id", "task_id", "axis", "level", "episode_index", "seed", "success", "status",
               "metadata", "failure_reason", "run_id", "recorded_at", "harness_task")
# A key ends in `":` (or `"`, whitespace, `:`); a value that starts with `n` is null (JSON has
# no other), written right after the colon or after one space (`_non_null_markers`).
_SPACED_MARKER = re.compile(rb'"[ \t\r\n]+:')
_CHUNK = 1 << 22
_BLOCK = 1 << 17  # bytes per numpy pass: the flags stay in the CPU's cache (2^16 and 2^15 measured slower)


def _query() -> str:
    types = ", ".join(f"{name}: 'JSON'" for name in JSON_FIELDS)
    return f"SELECT * FROM read_json($path, format='newline_delimited', columns={{{types}}})"


class JsonlBatches:
    """The file's generic fields as Arrow record batches of JSON texts (null: absent or null), at
    most `batch_rows` rows each (DuckDB's own batches, handed on without a copy), in file order.

    DuckDB reads them in a background thread from `start()` (or the first iteration), at most
    `ahead_bytes` of batches ahead of the consumer: it releases the GIL, so it parses while the
    caller loads the plan or checks earlier batches, and ten million lines are never one table of
    texts. Use it as a context manager so the reader stops when the caller does. Afterwards
    `readable` says whether DuckDB read the whole file (a key given twice, a line that is not an
    object or bad JSON stop it) and `keys` counts the keys with a value it read (`non_null_keys`,
    None if unknown)."""

    def __init__(self, path: str | os.PathLike[str], *, batch_rows: int = 1 << 17,
                 ahead_bytes: int = 512 << 20) -> None:
        self.path, self.batch_rows, self.ahead_bytes = str(path), batch_rows, ahead_bytes
        self.readable = False
        self.keys: int | None = 0
        self._pending: deque[tuple[Any, int]] = deque()  # (batch or outcome, its bytes), in file order
        self._pending_bytes = 0
        self._changed = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._reading = threading.Event()  # DuckDB's query is under way (or the reader has given up)

    def start(self) -> "JsonlBatches":
        if self._thread is None:
            self._thread = threading.Thread(target=self._read, name="wfnb-jsonl", daemon=True)
            self._thread.start()
        return self

    def wait_reading(self) -> None:
        """Wait until DuckDB's query is under way (or has failed). Until then the reader imports duckdb,
        pyarrow and numpy, Python that holds the GIL: a caller's own Python beside it only delays the
        parse, the longest part of an import, by as much."""
        self.start()._reading.wait()

    def __enter__(self) -> "JsonlBatches":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Stop the reader (it may be waiting for room to hand on a batch) and wait for it."""
        with self._changed:
            self._stopped = True
            self._pending.clear()
            self._pending_bytes = 0
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join()

    def _hand_on(self, item: Any, size: int) -> bool:
        """Queue a batch (or the outcome) once those waiting fit the budget; False once stopped."""
        with self._changed:
            while self._pending_bytes > self.ahead_bytes and not self._stopped:
                self._changed.wait()
            if self._stopped:
                return False
            self._pending.append((item, size))
            self._pending_bytes += size
            self._changed.notify_all()
            return True

    def _take(self) -> Any:
        with self._changed:
            while not self._pending:
                self._changed.wait()
            item, size = self._pending.popleft()
            self._pending_bytes -= size
            self._changed.notify_all()
            return item

    def _read(self) -> None:
        try:
            self._read_batches()
        finally:
            self._reading.set()

    def _read_batches(self) -> None:
        outcome: Any = _UNREADABLE
        try:
            import duckdb
        except BaseException as exc:  # handed to the consumer, which raises it
            self._hand_on(exc, 0)
            return
        try:
            connection = duckdb.connect()
            try:
                connection.execute("SET enable_progress_bar = false")  # nothing on a user's terminal
                connection.execute(f"SET threads = {_duckdb_threads()}")
                reader = connection.sql(_query(), params={"path": self.path}).to_arrow_reader(self.batch_rows)
                self._reading.set()
                for batch in reader:
                    if batch.num_rows and not self._hand_on(batch, batch.nbytes):
                        return
                outcome = _READ
            finally:
                connection.close()
        except duckdb.Error:
            pass
        except BaseException as exc:  # handed to the consumer, which raises it
            outcome = exc
        self._hand_on(outcome, 0)

    def __iter__(self) -> Any:
        self.start()
        try:
            while True:
                item = self._take()
                if item is _READ:
                    self.readable = True
                    return
                if item is _UNREADABLE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield self._counted(item)
        finally:
            self.close()

    def _counted(self, batch: Any) -> Any:
        batch = with_metadata_encoded(batch)
        keys = non_null_keys(batch)
        self.keys = None if keys is None or self.keys is None else self.keys + keys
        return batch


def _duckdb_threads() -> int:
    """All cores but one for DuckDB: the caller's thread and the file scan run beside it. On two
    cores a second DuckDB thread only competes with them (0.35 s more CPU, and more wall time,
    over the 1M libero-plus import)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


# What the reader thread hands on after the last batch: the whole file read, or DuckDB refused it.
_READ, _UNREADABLE = object(), object()


def read_jsonl_columns(path: str | os.PathLike[str]) -> Any:
    """The whole file as one table of JSON texts (see JsonlBatches), or None if DuckDB cannot read it."""
    import pyarrow as pa

    with JsonlBatches(path) as batches:
        read = list(batches)
    if not batches.readable:
        return None
    return pa.Table.from_batches(read) if read else None


def scan_file(path: str | os.PathLike[str], *, stop: threading.Event | None = None) -> tuple[str, int, int]:
    """One read of the file: its SHA-256 (`sha256:` form), its size, and its non-null key markers
    (occurrences of `":`, or of `"` and `:` with whitespace between, less those of `":null` and
    `": null`), read in line-aligned chunks so no marker straddles two of them. Strings holding
    these bytes only move the count away from the keys DuckDB read, never towards it. Once `stop`
    is set it returns early with a partial answer (the caller has stopped waiting for it).

    The chunks are read into one reused buffer, a partial last line moved to its front: a fresh
    buffer per chunk costs more in page faults than hashing and counting it."""
    digest = hashlib.sha256()
    size = markers = kept = 0
    buffer = bytearray(_CHUNK)
    with open(path, "rb") as handle:
        while stop is None or not stop.is_set():
            if kept == len(buffer):  # one line longer than the buffer: a bigger one
                buffer = buffer + bytearray(len(buffer))
            with memoryview(buffer) as view:
                got = handle.readinto(view[kept:])
                if not got:
                    markers += _non_null_markers(view[:kept])
                    break
                digest.update(view[kept:kept + got])
                size += got
                filled = kept + got
                end = buffer.rfind(b"\n", 0, filled)
                if end < 0:
                    kept = filled
                    continue
                markers += _non_null_markers(view[:end])
                kept = filled - end
                view[:kept] = view[end:filled]
    return "sha256:" + digest.hexdigest(), size, markers


def _non_null_markers(data: bytes | memoryview) -> int:
    """The key markers with a value in `data`: `":` (plus `"` and `:` with whitespace between),
    less `":n` and `": n`. Counted with numpy over cache-sized blocks, which releases the GIL
    (bytes.count holds it), so DuckDB's read and the caller's thread run alongside."""
    import numpy as np

    text = np.frombuffer(data, dtype=np.uint8)
    # One flag buffer per byte class, 3 bytes longer than a block: a marker starting in the
    # block may end in the next one; past the end of `data` they stay false.
    quote, colon, letter_n, space, key, hit = (np.zeros(_BLOCK + 3, dtype=bool) for _ in range(6))
    markers = colons = nulls = 0
    for start in range(0, len(text), _BLOCK):
        block = text[start:start + _BLOCK + 3]
        width, starts = len(block), min(_BLOCK, len(block))
        for flags, byte in ((quote, 0x22), (colon, 0x3A), (letter_n, 0x6E), (space, 0x20)):
            np.equal(block, byte, out=flags[:width])
            if width < len(flags):  # the last block
                flags[width:] = False
        marker, null = key[:starts], hit[:starts]
        np.logical_and(quote[:starts], colon[1:starts + 1], out=marker)  # `":`
        markers += int(np.count_nonzero(marker))
        colons += int(np.count_nonzero(colon[:starts]))
        np.logical_and(space[2:starts + 2], letter_n[3:starts + 3], out=null)  # `": n` or `":n` after a marker
        np.logical_or(null, letter_n[2:starts + 2], out=null)
        np.logical_and(null, marker, out=null)
        nulls += int(np.count_nonzero(null))
    if colons != markers:  # a colon not right after a quote: maybe `"key" : value`
        markers += sum(1 for _ in _SPACED_MARKER.finditer(data))
    return markers - nulls


def with_metadata_encoded(raw: Any) -> Any:
    """The batch (or table) with its `metadata` texts dictionary-encoded: the key count and the
    importer's distinct values (`Coded.of` keeps an encoded column as it is) share one pass over
    the longest texts of the file."""
    import pyarrow as pa

    column = raw.column("metadata")
    if pa.types.is_dictionary(column.type) or column.null_count == len(column):
        return raw
    index = raw.schema.get_field_index("metadata")
    columns = list(raw.columns)
    columns[index] = column.dictionary_encode()
    kind = pa.RecordBatch if isinstance(raw, pa.RecordBatch) else pa.Table
    return kind.from_arrays(columns, names=raw.schema.names)


def non_null_keys(raw: Any) -> int | None:
    """The keys with a non-null value that DuckDB read: generic fields present and not null, and
    the metadata objects' keys with a non-null value (each distinct object counted once, times its rows).

    Every such key adds one `":` to the file that is not followed by `null`, so a file whose
    `scan_file` markers equal this count has no other key with a value (a string holding `":`
    only makes the markers exceed it, which sends the file to the row-by-row reader).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    total = sum(raw.num_rows - raw.column(name).null_count for name in JSON_FIELDS)
    metadata = with_metadata_encoded(raw).column("metadata")
    if metadata.null_count == len(metadata):
        return total
    chunks = metadata.chunks if isinstance(metadata, pa.ChunkedArray) else [metadata]
    for chunk in chunks:
        texts = chunk.dictionary.to_pylist()
        for item in pc.value_counts(chunk.indices).to_pylist():
            code, count = item["values"], item["counts"]
            if code is None:
                continue
            try:
                parsed = json.loads(texts[code])
            except ValueError:
                return None
            if isinstance(parsed, dict):
                total += count * sum(value is not None for value in parsed.values())
    return total
