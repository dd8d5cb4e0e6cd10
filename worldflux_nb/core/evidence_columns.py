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
import pandas as pd
import pyarrow as pa

from worldflux_nb.core.bulk import object_array
from worldflux_nb.models.evidence_table import OPTIONAL_FIELDS, EvidenceTable

PLACE_FIELDS = ("probe_id", "task_id", "axis", "level")
CODE = np.int32  # codes of distinct values: fewer than 2**31 rows per audit input fit in memory anyway


@dataclass(frozen=True)
class EvidenceColumns:
    """Per row: `place` and `status` codes into `places` / `statuses`, `episode_index`, `seed`
    (with `seed_missing`), `success` (1, 0, or -1 for none), `metadata` codes into `metadatas`
    (one dict per distinct metadata text; a row without metadata has `{}`), and the optional
    columns as object arrays (None where absent). Levels are text, as in the table."""

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
    optional: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.episode_index)


def evidence_columns(table: EvidenceTable) -> EvidenceColumns:
    """The table's columns as codes and arrays (see EvidenceColumns)."""
    arrow = table.arrow
    size = len(table)
    codes = []
    uniques = []
    for name in PLACE_FIELDS:
        column_codes, distinct = _encoded(arrow.column(name))
        codes.append(column_codes)
        uniques.append(distinct)
    place, firsts = _place_codes(codes, [len(u) for u in uniques])
    places = list(zip(*(np.asarray(u, dtype=object)[c[firsts]] for u, c in zip(uniques, codes)))) if size else []
    status, statuses = _encoded(arrow.column("status"))
    seed = arrow.column("seed")
    success = arrow.column("success")
    metadata, texts = _encoded(arrow.column("metadata"), null_code=True)
    return EvidenceColumns(
        place=place.astype(CODE), places=places, status=status.astype(CODE), statuses=list(statuses),
        episode_index=_numpy(arrow.column("episode_index"), 0),
        seed=_numpy(seed, 0), seed_missing=_nulls(seed),
        success=np.where(_nulls(success), -1, _numpy(success, False)).astype(np.int8),
        metadata=metadata.astype(CODE),
        metadatas=[json.loads(text) for text in texts] + [{}],
        optional={name: _objects(arrow.column(name)) for name in OPTIONAL_FIELDS})


def _encoded(column: pa.ChunkedArray, *, null_code: bool = False) -> tuple[np.ndarray, list[Any]]:
    """Dense codes in order of first appearance and the distinct values; with `null_code`, nulls
    get the code one past the last value."""
    encoded = column.combine_chunks().dictionary_encode() if len(column) else None
    if encoded is None:
        return np.zeros(0, dtype=np.int64), []
    distinct = encoded.dictionary.to_pylist()
    indices = encoded.indices
    if null_code:
        indices = indices.fill_null(len(distinct))
    return indices.to_numpy(zero_copy_only=False).astype(np.int64), distinct


def _numpy(column: pa.ChunkedArray, fill: Any) -> np.ndarray:
    return column.combine_chunks().fill_null(fill).to_numpy(zero_copy_only=False) if len(column) else \
        np.zeros(0, dtype=np.int64 if fill == 0 and fill is not False else bool)


def _nulls(column: pa.ChunkedArray) -> np.ndarray:
    if not column.null_count:
        return np.zeros(len(column), dtype=bool)
    return column.is_null().to_numpy(zero_copy_only=False)


def _objects(column: pa.ChunkedArray) -> np.ndarray:
    if column.null_count == len(column):
        return np.full(len(column), None, dtype=object)
    return object_array(column.to_pylist())


def _place_codes(codes: list[np.ndarray], widths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """One code per distinct (probe, task, axis, level) in order of first appearance, and the row
    where each first appears."""
    size = len(codes[0])
    combined = np.zeros(size, dtype=np.int64)
    width = 1
    for column_codes, distinct in zip(codes, widths):
        distinct = max(distinct, 1)
        if width * distinct >= 2**62:  # keep the mixed-radix code inside int64
            combined, _ = pd.factorize(combined)
            width = int(combined.max()) + 1 if size else 1
        combined = combined * distinct + column_codes
        width *= distinct
    place, _ = pd.factorize(combined)
    place = place.astype(np.int64)
    # factorize numbers keys by first appearance: a code is new exactly where it exceeds all before it.
    before = np.maximum.accumulate(np.r_[-1, place[:-1]]) if size else place
    return place, np.flatnonzero(place > before)


def joined_columns(parts: Sequence[EvidenceColumns]) -> EvidenceColumns:
    """Several audit inputs' columns as one: codes are shifted past the earlier parts' values
    (a value seen in two parts simply has two codes)."""
    if len(parts) == 1:
        return parts[0]

    def shifted(codes: str, values: str) -> np.ndarray:
        offsets = np.cumsum([0] + [len(getattr(p, values)) for p in parts[:-1]])
        return np.concatenate([getattr(p, codes) + offset for p, offset in zip(parts, offsets)]
                              or [np.zeros(0, dtype=np.int64)])

    def stacked(name: str, dtype: Any) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts] or [np.zeros(0, dtype=dtype)])

    return EvidenceColumns(
        place=shifted("place", "places"), places=[v for p in parts for v in p.places],
        status=shifted("status", "statuses"), statuses=[v for p in parts for v in p.statuses],
        episode_index=stacked("episode_index", np.int64), seed=stacked("seed", np.int64),
        seed_missing=stacked("seed_missing", bool), success=stacked("success", np.int8),
        metadata=shifted("metadata", "metadatas"), metadatas=[v for p in parts for v in p.metadatas],
        optional={name: np.concatenate([p.optional[name] for p in parts] or [np.zeros(0, dtype=object)])
                  for name in OPTIONAL_FIELDS})


def empty_columns() -> EvidenceColumns:
    """The columns of no evidence at all."""
    return evidence_columns(EvidenceTable.build([]))
