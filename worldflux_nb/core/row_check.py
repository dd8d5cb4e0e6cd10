"""Evidence rows parsed from JSON, recognised column by column as rows that validation keeps as they are.

Loading a million-row audit input spends most of its validation time confirming that plain JSON
rows are already well-formed. `checked_columns` answers that with one type scan per column (and
per distinct metadata object) and returns the rows' columns; anything it cannot vouch for — a
missing or extra key, a value pydantic would coerce or refuse — returns None, and the caller
validates with pydantic as usual, so every refusal keeps pydantic's own message.
"""

from __future__ import annotations

import math
from itertools import repeat
from operator import is_not, itemgetter
from typing import Any

import numpy as np

from worldflux_nb.core.evidence_columns import FIELDS, EvidenceColumns, columns_from
from worldflux_nb.models.evidence import EPISODE_STATUSES

# The types a validated row holds, per field; exact types, so True never passes for 1.
FIELD_TYPES: dict[str, set[type]] = {
    "probe_id": {str}, "task_id": {str}, "axis": {str}, "level": {int, str},
    "episode_index": {int}, "seed": {int, type(None)}, "success": {bool, type(None)}, "status": {str},
}
METADATA_VALUE_TYPES = {str, int, float, bool, type(None)}
LEVEL_TEXT_LENGTH = (1, 64)
_MISSING = object()
_EMPTY: dict[str, Any] = {}


def checked_columns(rows: Any) -> EvidenceColumns | None:
    """The rows' columns when every row is a dict that EvidenceRow validation returns unchanged
    (JSON-parsed values: exact types, in range, no missing or extra key); otherwise None."""
    if type(rows) is not list or not rows or set(map(type, rows)) != {dict}:
        return None
    try:
        fields = {name: list(map(itemgetter(name), rows)) for name in FIELDS}
    except KeyError:
        return None
    for name, allowed in FIELD_TYPES.items():
        if not set(map(type, fields[name])) <= allowed:
            return None
    found = list(map(dict.get, rows, repeat("metadata"), repeat(_MISSING)))
    has_metadata = np.fromiter(map(is_not, found, repeat(_MISSING)), dtype=bool, count=len(found))
    sizes = np.fromiter(map(len, rows), dtype=np.int64, count=len(rows))
    if not np.array_equal(sizes, len(FIELDS) + has_metadata):  # an extra key
        return None
    metas = [_EMPTY if m is _MISSING else m for m in found]
    if not set(map(type, metas)) <= {dict}:
        return None
    try:
        columns = columns_from(fields, metas)
    except OverflowError:  # an index or seed outside int64
        return None
    if not _in_range(columns) or not all(map(_valid_metadata, columns.metadatas)):
        return None
    return columns


def _in_range(columns: EvidenceColumns) -> bool:
    """Indexes non-negative (int64 bounds were enforced by the conversion), known statuses, and
    level texts of a valid length (checked once per distinct place)."""
    if len(columns.episode_index) and columns.episode_index.min() < 0:
        return False
    if not set(columns.statuses) <= set(EPISODE_STATUSES):
        return False
    low, high = LEVEL_TEXT_LENGTH
    return all(low <= len(place[3]) <= high for place in columns.places if type(place[3]) is str)


def _valid_metadata(metadata: dict[str, Any]) -> bool:
    """Checked once per distinct metadata object: a hash table merges only values of valid types
    (True, 1 and 1.0), so a representative's verdict holds for every row it stands for."""
    return (set(map(type, metadata)) <= {str}
            and set(map(type, metadata.values())) <= METADATA_VALUE_TYPES
            and all(math.isfinite(v) for v in metadata.values() if type(v) is float))

