"""Arrow arrays and scalars from numpy arrays and Python strings without `pa.array`/`pa.scalar`.

pyarrow imports pandas on its first conversion of a Python or numpy value (to check for pandas
types), about a third of a second; the run sheet command needs no pandas, so it builds its few
arrays from buffers here instead.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

_TYPES = {np.dtype(np.int32): "int32", np.dtype(np.int64): "int64"}


def numbers(values: np.ndarray) -> Any:
    """An int32/int64 or bool numpy array as an Arrow array (no nulls)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    if values.dtype == np.bool_:
        bits = np.packbits(values, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
    kind = getattr(pa, _TYPES[values.dtype])()
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def texts(values: Sequence[str]) -> Any:
    """Python strings as an Arrow large_string array (no nulls)."""
    import pyarrow as pa

    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    return pa.Array.from_buffers(pa.large_string(), len(encoded),
                                 [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def text(value: str) -> Any:
    """One large_string scalar."""
    return texts([value])[0]
