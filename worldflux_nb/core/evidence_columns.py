"""An audit input's episodes as integer-coded numpy columns, built once and cached on the audit input.

Conformance reads these columns instead of a million row dicts. Text fields are coded per distinct
value (a row's place — probe, task, axis, level — is one code), and each distinct metadata object
gets one code, so work on metadata values is done once per distinct object, not once per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count, repeat
from operator import itemgetter
from typing import Any, Sequence

import numpy as np
import pandas as pd

from worldflux_nb.core.bulk import gc_paused
from worldflux_nb.models.evidence import OPTIONAL_FIELDS, AuditInput

PLACE_FIELDS = ("probe_id", "task_id", "axis", "level")
FIELDS = (*PLACE_FIELDS, "episode_index", "seed", "success", "status")
CODE = np.int32  # codes of distinct values: fewer than 2**31 rows per audit input fit in memory anyway
_EMPTY: dict[str, Any] = {}


@dataclass(frozen=True)
class EvidenceColumns:
    """Per row: `place` and `status` codes into `places` / `statuses`, `episode_index`, `seed`
    (with `seed_missing`), `success` (1, 0, or -1 for none) and `metadata` codes into `metadatas`
    (one representative dict per distinct metadata object; a row without metadata has `{}`)."""

    place: np.ndarray
    places: list[tuple[Any, ...]]
    status: np.ndarray
    statuses: list[Any]
    episode_index: np.ndarray
    seed: np.ndarray
    seed_missing: np.ndarray
    success: np.ndarray
    metadata: np.ndarray
    metadatas: list[dict[str, Any]]
    # The optional columns (models.evidence.OPTIONAL_FIELDS) as object arrays, None where absent.
    optional: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.episode_index)


def evidence_columns(audit: AuditInput) -> EvidenceColumns:
    """The audit input's columns, built on first use and then kept on the audit input."""
    cache = audit._columns
    columns = cache.get(audit.episodes)
    if columns is None or len(columns) != len(audit.episodes):
        with gc_paused():
            columns = cache.put(audit.episodes, build_columns(audit.episodes))
    return columns


def keep_columns(audit: AuditInput, columns: EvidenceColumns) -> None:
    """Keep columns built from exactly these episodes (by whoever already read every row)."""
    if len(columns) != len(audit.episodes):
        raise ValueError("the columns were built from other episodes")
    audit._columns.put(audit.episodes, columns)


def build_columns(rows: Sequence[Any]) -> EvidenceColumns:
    """Columns from validated evidence rows, read field by field with C-level maps (no per-row Python)."""
    rows = list(rows)
    fields = {name: _field(rows, name) for name in FIELDS}
    if any(len(row) > len(FIELDS) + ("metadata" in row) for row in rows):
        fields.update({name: list(map(dict.get, rows, repeat(name))) for name in OPTIONAL_FIELDS})
    return columns_from(fields, [m or _EMPTY for m in map(dict.get, rows, repeat("metadata"))])


def columns_from(fields: dict[str, list[Any]], metas: list[dict[str, Any]]) -> EvidenceColumns:
    """Columns from each field's values (FIELDS, and any of OPTIONAL_FIELDS, in row order) and each
    row's metadata dict."""
    place, places = _place_codes([fields[name] for name in PLACE_FIELDS])
    status, statuses = pd.factorize(_objects(fields["status"]), use_na_sentinel=False)
    seeds = _objects(fields["seed"])
    seed_missing = seeds == None  # noqa: E711 (elementwise)
    success = _objects(fields["success"])
    metadata, metadatas = metadata_codes(metas)
    return EvidenceColumns(
        place=place.astype(CODE), places=places, status=status.astype(CODE), statuses=list(statuses),
        episode_index=np.asarray(fields["episode_index"], dtype=np.int64).reshape(len(metas)),
        seed=np.where(seed_missing, 0, seeds).astype(np.int64), seed_missing=seed_missing,
        success=np.where(success == None, -1, success == True).astype(np.int8),  # noqa: E711,E712
        metadata=metadata.astype(CODE), metadatas=metadatas,
        optional={name: _objects(fields[name]) if name in fields else np.full(len(metas), None, dtype=object)
                  for name in OPTIONAL_FIELDS})


def _field(rows: list[Any], name: str) -> list[Any]:
    try:
        return list(map(itemgetter(name), rows))
    except KeyError:  # a row built by hand without the field: read it as missing
        return [row.get(name) for row in rows]


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _place_codes(fields: list[list[Any]]) -> tuple[np.ndarray, list[tuple[Any, ...]]]:
    """One code per distinct (probe, task, axis, level), from one factorisation per field.

    Levels 1 and "1" stay distinct here (they are different values); conformance compares levels
    as text, per distinct place.
    """
    size = len(fields[0])
    combined = np.zeros(size, dtype=np.int64)
    uniques: list[np.ndarray] = []
    width = 1
    for values in fields:
        codes, distinct = pd.factorize(_objects(values), use_na_sentinel=False)
        uniques.append(np.asarray(distinct, dtype=object))
        if width * max(len(distinct), 1) >= 2**62:  # keep the mixed-radix code inside int64
            combined, _ = pd.factorize(combined)
            width = int(combined.max()) + 1 if size else 1
        combined = combined * max(len(distinct), 1) + codes
        width *= max(len(distinct), 1)
    place, firsts = _first_seen_codes(combined)
    parts = [np.asarray(values, dtype=object)[firsts] for values in fields] if size else []
    return place, list(zip(*parts))


def _first_seen_codes(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense codes in order of first appearance, and the row where each code first appears."""
    codes, _ = pd.factorize(keys)
    codes = codes.astype(np.int64)
    # factorize numbers keys by first appearance: a code is new exactly where it exceeds all before it.
    before = np.maximum.accumulate(np.r_[-1, codes[:-1]]) if len(codes) else codes
    return codes, np.flatnonzero(codes > before)


def metadata_codes(metas: list[dict[str, Any]]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """One code per distinct metadata object and a representative dict for each.

    Items are hashed as tuples, and a hash table holds True, 1 and 1.0 as one key; rows whose
    object holds a value equal to 0 or 1 are therefore re-coded with each value's type in the key.
    Objects holding unhashable values get one code per row.
    """
    first: dict[tuple[Any, ...], int] = {}
    # setdefault with a running count stores, per distinct key, the row where it first appears.
    try:
        seen = np.fromiter(map(first.setdefault, map(tuple, map(dict.items, metas)), count()),
                           dtype=np.int64, count=len(metas))
    except TypeError:  # an unhashable value (a list): not valid evidence, but keep every row
        return np.arange(len(metas), dtype=np.int64), list(metas)
    representatives = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    lookup = np.empty(len(metas), dtype=np.int64)
    lookup[representatives] = np.arange(len(representatives))
    codes = lookup[seen] if len(metas) else seen
    distinct = [metas[i] for i in representatives]
    ambiguous = np.array([_may_conflate(d) for d in distinct] + [False], dtype=bool)
    retyped = np.flatnonzero(ambiguous[codes]) if len(codes) else codes
    if len(retyped):
        typed: dict[tuple[Any, ...], int] = {}
        for i in retyped.tolist():
            key = tuple((k, type(v), v) for k, v in metas[i].items())
            if key not in typed:
                typed[key] = len(distinct)
                distinct.append(metas[i])
            codes[i] = typed[key]
    return codes, distinct


def _may_conflate(metadata: dict[str, Any]) -> bool:
    return any(type(v) in (bool, int, float) and (v == 0 or v == 1) for v in metadata.values())


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
