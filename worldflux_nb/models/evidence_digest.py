"""The evidence table's content digest: SHA-256 of the canonical byte stream of docs/evidence-table.md.

The stream is built column by column with numpy and Arrow kernels (no per-row Python) in pieces of
about PIECE_BYTES, and the pieces are built by a small thread pool while the caller's thread hashes
them in order: Arrow, numpy's copies and hashlib release the GIL, so the two overlap on a second core.
A piece is small enough to be hashed while it is still in the CPU's cache and for its memory to be
reused by the next one (pieces of tens of MB cost more in page faults than in hashing). What a
column's pieces share is prepared once: a text column's distinct values and codes (form 2; form 1's
per-value pieces), a constant column's repeated piece. pyarrow and numpy are imported on use, so
importing the models stays light.
"""

from __future__ import annotations

import hashlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, Sequence

# Literals and numpy views built from buffers: pyarrow's conversions import pandas (models/arrow_build.py).
from worldflux_nb.models.arrow_build import (
    array as arrow_array, keys_first_appearance, numpy_values, scalar as arrow_scalar,
)

PIECE_BYTES = 1 << 21  # bytes of stream per piece (at least one row): bounds its memory, fits the cache
WORKERS = 2
_NULL_STRING = (-1).to_bytes(4, "little", signed=True)

Piece = Callable[[], Any]  # builds one piece of the stream (a bytes-like object)


# The stream's form sealed now. Form 2 writes a text column as its distinct values and one 4-byte
# code per row: at ten million rows 0.61 GB to hash instead of 2.35 GB (form 1 writes every row's
# text out). Audit inputs sealed in form 1 still verify (models.evidence.AuditInput).
FORM = 2
FORMS = (2, 1)  # the forms a stored digest is checked against, in turn


def content_digest(table: Any, columns: Sequence[tuple[str, str, bool]], form: int = FORM) -> str:
    """Hex SHA-256 of the canonical byte stream (in `form`) of `table`'s `columns` ((name, kind,
    nullable), in order)."""
    if form not in FORMS:
        raise ValueError(f"no canonical stream form {form}")
    pieces: list[Piece] = []
    for name, kind, _ in columns:
        head = name.encode("utf-8") + b"\x00"
        pieces.append(lambda head=head: head)
        if kind == "string" and form == 2:
            pieces += _coded_pieces(table.column(name))
        elif table.num_rows:
            pieces += _column_pieces(table.column(name), kind)
    digest = hashlib.sha256()
    for data in _in_order(pieces):
        digest.update(data)
    return digest.hexdigest()


def _in_order(pieces: list[Piece]) -> Iterator[Any]:
    """Each piece built on the pool and handed back in order, at most WORKERS + 1 held at a time."""
    if len(pieces) < 2:
        yield from (piece() for piece in pieces)
        return
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="wfnb-digest") as pool:
        pending = deque(pool.submit(piece) for piece in pieces[:WORKERS + 1])
        for piece in pieces[WORKERS + 1:]:
            yield pending.popleft().result()
            pending.append(pool.submit(piece))
        while pending:
            yield pending.popleft().result()


def _column_pieces(column: Any, kind: str) -> list[Piece]:
    """One column's stream (a non-empty column) as pieces of about PIECE_BYTES, in row order."""
    import pyarrow as pa

    size, nulls = len(column), column.null_count
    if nulls == size:  # no value at all: one piece of nulls, repeated
        return _repeated({"int64": bytes(9), "bool": b"\x00"}.get(kind, _NULL_STRING), size)
    if kind == "string" and pa.types.is_dictionary(column.type):
        return _dictionary_pieces(column, size, nulls)
    width = {"int64": 9, "bool": 1}.get(kind)
    if width is None:  # plain text: its length headers plus its UTF-8 bytes, on average
        width = 4 + -(-_data_bytes(column) // size)
    rows = max(1, PIECE_BYTES // width)
    return [lambda start=start: canonical_bytes(column.slice(start, rows), kind) for start in range(0, size, rows)]


def _coded_pieces(column: Any) -> list[Piece]:
    """Form 2's text column: its distinct values in order of first appearance (a 4-byte count, then
    each value's 4-byte length and UTF-8 bytes), then per row the 4-byte position of its value
    among them (-1 for null); every integer little-endian, signed."""
    import pyarrow as pa

    size = len(column)
    if column.null_count == size:  # no value at all (or no row): no distinct value, -1 on every row
        return [lambda: bytes(4)] + (_repeated(_NULL_STRING, size) if size else [])
    codes, values = _first_appearance_codes(column)
    count, block = len(values).to_bytes(4, "little"), _data(_pieces(values.cast(pa.large_string()), len(values)))
    rows = PIECE_BYTES // 4
    return [lambda: count, lambda: block] + [lambda start=start: codes[start:start + rows]
                                             for start in range(0, size, rows)]


def _first_appearance_codes(column: Any) -> tuple[Any, Any]:
    """A text column with a value as (per row, int32 code in order of first appearance, -1 for
    null; the distinct values in that order). A dictionary from Parquet or from Arrow's encoder is
    usually in that order already; otherwise its codes are renumbered."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    chunks = pa.chunked_array([column]) if isinstance(column, pa.Array) else column
    if not pa.types.is_dictionary(chunks.type):
        chunks = pc.dictionary_encode(chunks)
    chunks = chunks.unify_dictionaries()
    dictionary = chunks.chunk(0).dictionary  # (unified: every chunk's)
    null_code = arrow_scalar(-1, pa.int32())
    codes = np.concatenate([numpy_values(chunk.indices.cast(pa.int32()).fill_null(null_code) if chunk.null_count
                                         else chunk.indices.cast(pa.int32())) for chunk in chunks.chunks])
    if pc.count_distinct(dictionary).as_py() < len(dictionary):  # a value given twice: one code for it
        once = pc.dictionary_encode(dictionary)
        codes = np.append(numpy_values(once.indices.cast(pa.int32())), np.int32(-1))[codes]
        dictionary = once.dictionary
    present = codes[codes >= 0] if chunks.null_count else codes
    running = np.maximum.accumulate(present)
    if present[0] == 0 and not (np.diff(running) > 1).any():  # each new value is the next code
        return codes.astype("<i4", copy=False), dictionary.slice(0, int(running[-1]) + 1)
    order = keys_first_appearance(present)[1]
    renumbered = np.full(len(dictionary) + 1, -1, dtype="<i4")  # the last entry: a null's -1 reads it
    renumbered[order] = np.arange(len(order), dtype="<i4")
    positions = pa.Array.from_buffers(pa.int64(), len(order), [None, pa.py_buffer(order.astype(np.int64))])
    return renumbered[codes], dictionary.take(positions)


def _repeated(piece: bytes, size: int) -> list[Piece]:
    """`size` copies of one row's piece: the same block of rows hashed again and again, built once."""
    rows = max(1, PIECE_BYTES // len(piece))
    block = piece * min(rows, size)
    full, rest = divmod(size, rows)
    return [lambda: block] * full + ([lambda: block[:rest * len(piece)]] if rest else [])


def _data_bytes(column: Any) -> int:
    import pyarrow.compute as pc

    return pc.sum(pc.binary_length(column)).as_py() or 0


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
        return b"".join(piece() for piece in _dictionary_pieces(array, size, nulls))
    return _string_bytes(array, size, nulls)


def _dictionary_pieces(column: Any, size: int, nulls: int) -> list[Piece]:
    """A dictionary-encoded text column's stream: each distinct value's piece (length, UTF-8) built
    once, then the pieces gathered by the codes (a null's piece is the length -1 alone)."""
    import numpy as np
    import pyarrow as pa

    chunks = pa.chunked_array([column]) if isinstance(column, pa.Array) else column
    chunks = chunks.unify_dictionaries()  # one dictionary for every chunk (a Parquet file's may differ)
    values = chunks.chunk(0).dictionary
    pieces = pa.concat_arrays([_pieces(values.cast(pa.large_string()), len(values)),
                               arrow_array([_NULL_STRING], pa.large_binary())])
    widths = np.diff(np.frombuffer(pieces.buffers()[1], dtype=np.int64)[: len(pieces) + 1])
    # Every row's code as one numpy array, a null's code one past the dictionary's values.
    null_code = arrow_scalar(len(values), pa.int32())
    codes = np.concatenate([numpy_values(chunk.indices.cast(pa.int32()).fill_null(null_code) if chunk.null_count
                                         else chunk.indices) for chunk in chunks.chunks])
    used = np.flatnonzero(np.bincount(codes, minlength=len(widths)))
    if len(used) == 1:  # one value on every row (a probe's id, a run's metadata): one piece repeated
        return _repeated(_data(pieces.slice(int(used[0]), 1)).to_pybytes(), size)
    width = int(widths[used].max())
    rows = max(1, PIECE_BYTES // width)
    if widths[used].min() == width:
        # Every piece used as wide (ids, a probe's tasks): the stream is a (rows x width) grid.
        grid = np.frombuffer(pieces.buffers()[2], dtype=np.uint8, count=len(widths) * width).reshape(-1, width) \
            if widths.min() == widths.max() else _grid(pieces, widths, used, width)
        # np.take gathers rows a few times faster than indexing with the codes does.
        return [lambda start=start: np.take(grid, codes[start:start + rows], axis=0) for start in range(0, size, rows)]

    def gathered(start: int) -> Any:
        part = codes[start:start + rows]
        return _data(pieces.take(pa.Array.from_buffers(pa.from_numpy_dtype(part.dtype), len(part),
                                                       [None, pa.py_buffer(np.ascontiguousarray(part))])))

    return [lambda start=start: gathered(start) for start in range(0, size, rows)]


def _grid(pieces: Any, widths: Any, used: Any, width: int) -> Any:
    """The used pieces (all `width` bytes) as rows of a grid indexed by code (unused rows left zero)."""
    import numpy as np

    grid = np.zeros((len(widths), width), dtype=np.uint8)
    at = np.frombuffer(pieces.buffers()[1], dtype=np.int64)[:len(widths)]
    data = np.frombuffer(pieces.buffers()[2], dtype=np.uint8)
    grid[used] = data[at[used][:, None] + np.arange(width)]
    return grid


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
    return _data(_pieces(filled, size, numpy_values(array.is_valid()) if nulls else None))


def _data(joined: Any) -> Any:
    """A large_binary array's values back to back: its data buffer between its first and last offsets."""
    import numpy as np

    at = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset: joined.offset + len(joined) + 1]
    return joined.buffers()[2].slice(int(at[0]), int(at[-1] - at[0]))
