"""Bulk work over a million rows: the cyclic garbage collector paused, object arrays built in one go."""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Any, Hashable, Iterator, Mapping, Sequence


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while building millions of acyclic objects (parsed JSON, rows).

    Each collection would walk every live container, so a million-row load spends about half its
    time in the collector otherwise. Reference counting still frees everything as usual. The pause
    is counted for the whole process, since the collector is: it ends when the last pause does, in
    whichever thread (the packet command reads the audit inputs on another thread while this one
    loads the plan), and the collector's state before the first is restored.
    """
    global _pauses, _resume
    with _pause_lock:
        if not _pauses:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if not _pauses and _resume:
                gc.enable()


_pause_lock = threading.Lock()
_pauses = 0
_resume = False


def object_array(values: Sequence[Any]) -> Any:
    """A 1-d numpy object array of the values as they are (tuples stay elements, nothing is converted)."""
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def first_appearance(values: Sequence[Hashable]) -> tuple[Any, list[Any]]:
    """Codes numbering the distinct values 0, 1, ... in order of first appearance, and those values:
    pandas.factorize's codes and uniques, by a dict (equal values share a code, so True and 1 do;
    raises TypeError on an unhashable value). For a few thousand values, without loading pandas."""
    import numpy as np

    seen: dict[Any, int] = {}
    codes = np.fromiter((seen.setdefault(v, len(seen)) for v in values), dtype=np.int64, count=len(values))
    return codes, list(seen)


def group_sums(keys: Sequence[Hashable], columns: Mapping[str, Sequence[int]]) -> tuple[list[Any], dict[str, Any]]:
    """The distinct keys in order of first appearance and, per named column, its int64 sums per key
    (a groupby with sort=False, then sum)."""
    import numpy as np

    codes, groups = first_appearance(keys)
    sums = {}
    for name, values in columns.items():
        sums[name] = np.zeros(len(groups), dtype=np.int64)
        np.add.at(sums[name], codes, np.asarray(values, dtype=np.int64))
    return groups, sums


def narrowest_int(largest: int) -> Any:
    """The narrowest signed numpy integer type holding every value from -1 to `largest` (signed, so
    a difference of two such values cannot wrap): int8 for a few codes or counts per row, a quarter
    of int32 at ten million rows."""
    import numpy as np

    return next(t for t in (np.int8, np.int16, np.int32, np.int64) if largest <= np.iinfo(t).max)


def index_int(largest: int) -> Any:
    """int32 where it holds every value up to `largest`, else int64: for episode indexes (40 MB
    instead of 80 at ten million rows), never narrower, so arithmetic with them cannot wrap."""
    import numpy as np

    return np.int32 if largest <= np.iinfo(np.int32).max else np.int64
