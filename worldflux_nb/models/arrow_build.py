"""Small Arrow arrays and scalars built from buffers, never from pyarrow's conversion of Python values.

pyarrow's conversion of a Python value (`pa.array`, `pa.scalar`, a Python value handed to a compute
function) first asks whether the value is a pandas object, importing pandas to do so: a third of a
second that `audit import` otherwise never pays. The importers and the evidence table build their
literal arrays (a column's distinct values, a vocabulary, a constant) and the row-by-row reader's
columns here instead. numpy and
pyarrow are imported on use, so importing the models stays light.
"""

from __future__ import annotations

from typing import Any, Sequence


def _validity(values: Sequence[Any]) -> tuple[Any, int]:
    """A validity bitmap (None when every value is present) and the number of nulls."""
    import numpy as np
    import pyarrow as pa

    present = np.fromiter((v is not None for v in values), dtype=np.bool_, count=len(values))
    nulls = len(values) - int(present.sum())
    return (pa.py_buffer(np.packbits(present, bitorder="little")) if nulls else None), nulls


def _texts(values: Sequence[str | bytes | None], arrow_type: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    encoded = [b"" if v is None else v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
    large = pa.types.is_large_string(arrow_type) or pa.types.is_large_binary(arrow_type)
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    if not large and offsets[-1] > np.iinfo(np.int32).max:
        return pa.array(values, type=arrow_type)  # past 32-bit offsets: pyarrow's own conversion decides
    validity, nulls = _validity(values)
    if not large:
        offsets = offsets.astype(np.int32)
    return pa.Array.from_buffers(arrow_type, len(encoded), [validity, pa.py_buffer(offsets),
                                                            pa.py_buffer(b"".join(encoded))], null_count=nulls)


def _bools(values: Sequence[bool | None]) -> Any:
    import numpy as np
    import pyarrow as pa

    validity, nulls = _validity(values)
    bits = np.packbits(np.fromiter((v is True for v in values), dtype=np.bool_, count=len(values)),
                       bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [validity, pa.py_buffer(bits)], null_count=nulls)


def _integers(values: Sequence[int | None], arrow_type: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    validity, nulls = _validity(values)
    width = {8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}[arrow_type.bit_width]
    data = np.fromiter((0 if v is None else v for v in values), dtype=width, count=len(values))
    return pa.Array.from_buffers(arrow_type, len(values), [validity, pa.py_buffer(data)], null_count=nulls)


def array(values: Sequence[Any], arrow_type: Any) -> Any:
    """Python strings, bytes, booleans or integers (None: null) as an Arrow array of `arrow_type`
    (string or binary, large or not; bool; a signed integer type)."""
    import pyarrow as pa

    if (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
            or pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type)):
        return _texts(values, arrow_type)
    if arrow_type == pa.bool_():
        return _bools(values)
    if pa.types.is_signed_integer(arrow_type):
        return _integers(values, arrow_type)
    raise TypeError(f"no buffer builder for {arrow_type}")


def scalar(value: Any, arrow_type: Any) -> Any:
    """One Arrow scalar of `arrow_type` (see `array`)."""
    return array([value], arrow_type)[0]


def numpy_values(array: Any) -> Any:
    """A null-free signed integer or bool Arrow array's values as numpy, read from its buffers
    (`Array.to_numpy` imports pandas too)."""
    import numpy as np
    import pyarrow as pa

    data, offset, size = array.buffers()[1], array.offset, len(array)
    if pa.types.is_boolean(array.type):
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8), bitorder="little", count=offset + size)
        return bits[offset:].astype(np.bool_)
    width = array.type.bit_width // 8
    return np.frombuffer(data, dtype=f"<i{width}", count=size, offset=offset * width)
