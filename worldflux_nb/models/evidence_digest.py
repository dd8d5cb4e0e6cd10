"""The evidence table's content digest: SHA-256 of the canonical byte stream of docs/evidence-table.md.

The stream is built column by column with numpy and Arrow kernels (no per-row Python) in batches of
rows, and the batches are built by a small thread pool while the caller's thread hashes them in order:
Arrow, numpy's copies and hashlib release the GIL, so the two overlap on a second core. pyarrow and
numpy are imported on use, so importing the models stays light.
"""

from __future__ import annotations

import hashlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, Sequence

# Literals and numpy views built from buffers: pyarrow's conversions import pandas (models/arrow_build.py).
from worldflux_nb.models.arrow_build import array as arrow_array, numpy_values, scalar as arrow_scalar

BATCH_ROWS = 1 << 18  # rows per piece of the stream: bounds its memory (WORKERS + 1 pieces in flight)
WORKERS = 2
_NULL_STRING = (-1).to_bytes(4, "little", signed=True)


def content_digest(table: Any, columns: Sequence[tuple[str, str, bool]]) -> str:
    """Hex SHA-256 of the canonical byte stream of `table`'s `columns` ((name, kind, nullable), in order)."""
    pieces = [(name, kind, start) for name, kind, _ in columns for start in range(0, max(table.num_rows, 1), BATCH_ROWS)]

    def piece(job: tuple[str, str, int]) -> Any:
        name, kind, start = job
        column = table.column(name)
        head = name.encode("utf-8") + b"\x00" if start == 0 else b""
        return head, (canonical_bytes(column.slice(start, BATCH_ROWS), kind) if table.num_rows else b"")

    digest = hashlib.sha256()
    for head, data in _in_order(piece, pieces):
        digest.update(head)
        digest.update(data)
    return digest.hexdigest()


def _in_order(work: Any, jobs: list[Any]) -> Iterator[Any]:
    """`map(work, jobs)` run on the pool, at most WORKERS + 1 results held at a time."""
    if len(jobs) < 2:
        yield from map(work, jobs)
        return
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="wfnb-digest") as pool:
        pending = deque(pool.submit(work, job) for job in jobs[:WORKERS + 1])
        for job in jobs[WORKERS + 1:]:
            yield pending.popleft().result()
            pending.append(pool.submit(work, job))
        while pending:
            yield pending.popleft().result()


def canonical_bytes(column: Any, kind: str) -> Any:
    """The canonical byte stream of one column's values (docs/evidence-table.md), as a bytes-like object."""
    import numpy as np
    import pyarrow as pa

    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    size = len(array)
    if not size:
        return b""
    nulls = array.null_count
    if kind == "int64":
        if nulls == size:
            return bytes(9 * size)
        out = np.zeros(size, dtype=[("present", "u1"), ("value", "<i8")])
        out["present"] = 1 if not nulls else numpy_values(array.is_valid())
        out["value"] = numpy_values(array.fill_null(arrow_scalar(0, array.type)) if nulls else array)
        return out
    if kind == "bool":
        if nulls == size:
            return bytes(size)
        values = numpy_values(array.fill_null(arrow_scalar(False, pa.bool_())) if nulls else array).astype(np.uint8) + 1
        if nulls:
            values[~numpy_values(array.is_valid())] = 0
        return values
    if nulls == size:
        return _NULL_STRING * size
    if pa.types.is_dictionary(array.type):
        return _dictionary_bytes(array, size, nulls)
    return _string_bytes(array, size, nulls)


def _dictionary_bytes(array: Any, size: int, nulls: int) -> Any:
    """A dictionary-encoded text column's stream: each distinct value's piece (length, UTF-8) built
    once, then the pieces gathered by the codes (a null's piece is the length -1 alone)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    values = array.dictionary
    codes = array.indices.cast(pa.int32()).fill_null(len(values)) if nulls else array.indices
    pieces = pa.concat_arrays([_pieces(values.cast(pa.large_string()), len(values)),
                               arrow_array([_NULL_STRING], pa.large_binary())])
    widths = np.diff(np.frombuffer(pieces.buffers()[1], dtype=np.int64)[: len(pieces) + 1])
    used = len(widths) if nulls else len(widths) - 1  # the null's piece only where there are nulls
    if used and widths[:used].min() == widths[:used].max():
        # Every piece as wide (ids, a probe's one task): the stream is a (rows x width) grid.
        width = int(widths[0])
        grid = np.frombuffer(pieces.buffers()[2], dtype=np.uint8, count=used * width).reshape(used, width)
        return grid[numpy_values(codes)]
    gathered = pc.take(pieces, codes)
    at = np.frombuffer(gathered.buffers()[1], dtype=np.int64)[gathered.offset: gathered.offset + size + 1]
    return gathered.buffers()[2].slice(int(at[0]), int(at[-1] - at[0]))


def _pieces(values: Any, size: int, valid: Any = None) -> Any:
    """Per value of a large_string array without nulls: its 4-byte length (-1 where `valid` is
    false) joined to its UTF-8 bytes, as one large_binary array (Arrow's kernel does the joining)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets = np.frombuffer(values.buffers()[1], dtype=np.int64)[values.offset: values.offset + size + 1]
    header = np.diff(offsets).astype("<i4")
    if valid is not None:
        header[~valid] = -1
    headers = pa.Array.from_buffers(pa.large_binary(), size, [
        None, pa.py_buffer(np.arange(0, 4 * size + 1, 4, dtype=np.int64)), pa.py_buffer(header)])
    return pc.binary_join_element_wise(headers, values.cast(pa.large_binary()), arrow_scalar(b"", pa.large_binary()))


def _string_bytes(array: Any, size: int, nulls: int) -> Any:
    """Per value: 4-byte little-endian signed length (-1 for null), then its UTF-8 bytes."""
    import numpy as np
    import pyarrow as pa

    filled = (array.fill_null(arrow_scalar("", array.type)) if nulls else array).cast(pa.large_string())
    offsets = np.frombuffer(filled.buffers()[1], dtype=np.int64)[filled.offset: filled.offset + size + 1]
    lengths = np.diff(offsets)
    data = filled.buffers()[2]
    if not nulls and lengths.min() == lengths.max():
        header = lengths.astype("<i4")
        # Every value as long as the next (ids, statuses): the stream is a plain (rows x (4 + width)) grid.
        width = int(lengths[0])
        grid = np.empty((size, 4 + width), dtype=np.uint8)
        grid[:, :4] = header.view(np.uint8).reshape(size, 4)
        if width:
            values = np.frombuffer(data, dtype=np.uint8, count=size * width, offset=int(offsets[0]))
            grid[:, 4:] = values.reshape(size, width)
        return grid
    # Each value's 4-byte header joined to its bytes by Arrow's kernel: the joined values' data buffer
    # is the stream (a numpy scatter over every byte costs 4x as much).
    joined = _pieces(filled, size, numpy_values(array.is_valid()) if nulls else None)
    bounds = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset: joined.offset + size + 1]
    return joined.buffers()[2].slice(int(bounds[0]), int(bounds[-1] - bounds[0]))
