"""An evidence table's columns as integer codes and numpy arrays, the form conformance matches on.

Built from the immutable `EvidenceTable` each time conformance runs (nothing is cached on a model):
text columns are dictionary-encoded by Arrow, a row's place (probe, task, axis, level) becomes one
code, and each distinct metadata text one code, so work on metadata is done once per distinct object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from worldflux_nb.core.arrow_values import numbers
from worldflux_nb.core.bulk import index_int, narrowest_int, object_array
from worldflux_nb.models.arrow_build import keys_first_appearance, numpy_values, scalar as arrow_scalar
from worldflux_nb.models.evidence_table import OPTIONAL_FIELDS, EvidenceTable

PLACE_FIELDS = ("probe_id", "task_id", "axis", "level")
CODE = np.int32  # codes of distinct values: fewer than 2**31 rows per audit input fit in memory anyway


@dataclass(frozen=True)
class EvidenceColumns:
    """Per row: `place` and `status` codes into `places` / `statuses`, `episode_index` (int32
    unless an index needs int64), `seed` (with `seed_missing`), `success` (1, 0, or -1 for none),
    `metadata` codes into `metadatas` (one dict per distinct metadata text; a row without metadata
    has `{}`), and the optional columns as Arrow text columns (read at positions with
    `optional_values`). Levels are text, as in the table."""

    place: np.ndarray
    places: list[tuple[str, str, str, str]]
    status: np.ndarray
    statuses: list[str]
    episode_index: np.ndarray
    seed: np.ndarray
    seed_missing: np.ndarray
    success: np.ndarray
    metadata: np.ndarray
    metadatas: list[dict[str, Any]]
    optional: dict[str, pa.ChunkedArray]

    def __len__(self) -> int:
        return len(self.episode_index)

    def optional_values(self, name: str, at: np.ndarray | None = None) -> np.ndarray:
        """An optional column's values (None where absent) as an object array, at these positions."""
        column = self.optional[name]
        if column.null_count == len(column):
            return np.full(len(column) if at is None else len(at), None, dtype=object)
        return object_array((column if at is None else column.take(numbers(np.asarray(at, dtype=np.int64)))).to_pylist())

    def optional_codes(self, name: str, at: np.ndarray) -> tuple[np.ndarray, list[Any]]:
        """An optional column at these positions (each holding a value) as codes into its distinct
        values, by Arrow's hash kernel (no Python object per row)."""
        taken = self.optional[name].take(numbers(np.asarray(at, dtype=np.int64))).combine_chunks()
        encoded = taken.dictionary_encode()
        return _values(encoded.indices).astype(np.int64), encoded.dictionary.to_pylist()

    def optional_present(self, name: str) -> np.ndarray:
        """Per row, whether the optional column holds a value."""
        column = self.optional[name]
        if not column.null_count:
            return np.ones(len(column), dtype=bool)
        return ~_nulls(column)


TEXT = pa.dictionary(pa.int32(), pa.string())


def evidence_columns(table: EvidenceTable) -> EvidenceColumns:
    """The table's columns as codes and arrays (see EvidenceColumns)."""
    return columns_of([table])


def columns_of(tables: Sequence[EvidenceTable]) -> EvidenceColumns:
    """Several evidence tables' columns as one, rows in table order, written straight into arrays
    of the joined length (no per-table copy held beside the joined one): codes of a later table
    are shifted past the earlier tables' values (a value seen in two tables has two codes)."""
    size = sum(len(t) for t in tables)
    place, status, metadata = (np.zeros(size, dtype=CODE) for _ in range(3))
    largest_index = max((pc.max(t.encoded.column("episode_index")).as_py() or 0 for t in tables), default=0)
    episode_index, seed = np.zeros(size, dtype=index_int(largest_index)), np.zeros(size, dtype=np.int64)
    seed_missing, success = np.zeros(size, dtype=bool), np.zeros(size, dtype=np.int8)
    places: list[tuple[str, str, str, str]] = []
    statuses: list[str] = []
    metadatas: list[dict[str, Any]] = []
    optional: dict[str, list[pa.ChunkedArray]] = {name: [] for name in OPTIONAL_FIELDS}
    start = 0
    for table in tables:
        arrow = table.encoded
        stop = start + len(table)
        rows = slice(start, stop)
        codes, uniques = zip(*(_encoded(arrow.column(name)) for name in PLACE_FIELDS))
        table_place, place_codes = _place_codes(list(codes), [len(u) for u in uniques])
        place[rows] = table_place + len(places)
        places += list(zip(*(np.asarray(u, dtype=object)[c] for u, c in zip(uniques, place_codes))))
        codes_of_status, distinct = _encoded(arrow.column("status"))
        status[rows] = codes_of_status + len(statuses)
        statuses += distinct
        codes_of_metadata, texts = _encoded(arrow.column("metadata"), null_code=True)
        metadata[rows] = codes_of_metadata + len(metadatas)
        metadatas += [json.loads(text) for text in texts] + [{}]
        episode_index[rows] = _numpy(arrow.column("episode_index"), 0)
        if arrow.column("seed").null_count < len(table):  # rows without seeds stay zero, their pages unwritten
            seed[rows] = _numpy(arrow.column("seed"), 0)
        seed_missing[rows] = _nulls(arrow.column("seed"))
        success[rows] = np.where(_nulls(arrow.column("success")), -1, _numpy(arrow.column("success"), False))
        for name in OPTIONAL_FIELDS:
            optional[name].append(arrow.column(name))
        start = stop
    # A handful of statuses and metadata objects: their codes fit int8 (10 MB each at ten million rows).
    status = status.astype(narrowest_int(len(statuses)), copy=False)
    metadata = metadata.astype(narrowest_int(len(metadatas)), copy=False)
    return EvidenceColumns(
        place=place, places=places, status=status, statuses=statuses, episode_index=episode_index,
        seed=seed, seed_missing=seed_missing, success=success, metadata=metadata, metadatas=metadatas,
        optional={name: _joined_text(parts) for name, parts in optional.items()})


def _joined_text(parts: list[pa.ChunkedArray]) -> pa.ChunkedArray:
    """One text column of the tables' columns in turn: Arrow's null type while no table has a value."""
    chunks = [chunk for part in parts for chunk in part.chunks]
    if all(pa.types.is_null(part.type) for part in parts):
        return pa.chunked_array(chunks, type=pa.null())
    return pa.chunked_array([chunk.cast(pa.string()) for chunk in chunks], type=pa.string())


def _encoded(column: pa.ChunkedArray, *, null_code: bool = False) -> tuple[np.ndarray, list[Any]]:
    """Codes and the distinct values (a dictionary-encoded column's own; a plain one's in order of
    first appearance); with `null_code`, nulls get the code one past the last value."""
    if not len(column) or pa.types.is_null(column.type):
        return np.zeros(len(column), dtype=CODE), []
    encoded = _text(column).combine_chunks()
    distinct = encoded.dictionary.to_pylist()
    indices = encoded.indices
    if null_code and indices.null_count:
        # The null code may not fit int8; a scalar from buffers (pyarrow's own conversion loads pandas).
        indices = indices.cast(pa.int32()).fill_null(arrow_scalar(len(distinct), pa.int32()))
    return _values(indices).astype(CODE, copy=False), distinct


def _text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column dictionary-encoded (as it is if it already is), one dictionary for all chunks."""
    if pa.types.is_dictionary(column.type):
        return column
    return column.dictionary_encode().cast(TEXT).unify_dictionaries()


def _values(array: pa.Array) -> np.ndarray:
    """A null-free integer or bool array's values, read from its buffers: `to_numpy` imports pandas,
    which the packet command never loads."""
    if not len(array):
        return np.zeros(0, dtype=np.bool_ if pa.types.is_boolean(array.type) else f"<i{array.type.bit_width // 8}")
    return numpy_values(array)


def _numpy(column: pa.ChunkedArray, fill: Any) -> np.ndarray:
    column = column.combine_chunks()
    return _values(column.fill_null(arrow_scalar(fill, column.type)) if column.null_count else column)


def _nulls(column: pa.ChunkedArray) -> np.ndarray:
    if not column.null_count:
        return np.zeros(len(column), dtype=bool)
    return _values(column.is_null().combine_chunks())


def _place_codes(codes: list[np.ndarray], widths: list[int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per row, one code per distinct (probe, task, axis, level) in order of first appearance; and per
    column, the code each place has in it (read back from the places' mixed-radix keys, not from rows)."""
    combined = np.zeros(len(codes[0]), dtype=np.int64)
    width = 1
    steps: list[tuple[int, int]] = []  # (column, distinct values) in the order they went into the key
    recoded: list[tuple[np.ndarray, list[tuple[int, int]]]] = []  # keys re-coded, and their steps
    for column, (column_codes, distinct) in enumerate(zip(codes, widths)):
        if distinct <= 1:  # one value (a probe's own id): its codes are all zero, nothing to add
            continue
        if width * distinct >= 2**62:  # keep the mixed-radix key inside int64: number its values first
            combined, keys = keys_first_appearance(combined)
            recoded.append((keys, steps))
            steps, width = [], len(keys)
        # In place: at ten million rows each new int64 array is 80 MB of fresh pages.
        combined *= distinct
        combined += column_codes
        width *= distinct
        steps.append((column, distinct))
    place, keys = keys_first_appearance(combined)
    per_column = [np.zeros(len(keys), dtype=np.int64) for _ in codes]
    for earlier, earlier_steps in [*reversed(recoded), (None, [])]:
        for column, distinct in reversed(steps):
            keys, per_column[column] = np.divmod(keys, distinct)
        if earlier is not None:
            keys = earlier[keys]  # the code of an earlier key: read that key in turn
        steps = earlier_steps
    return place, per_column
