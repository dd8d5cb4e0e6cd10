"""Small Arrow arrays and scalars built from buffers, never from pyarrow's conversion of Python values.

pyarrow's conversion of a Python value (`pa.array`, `pa.scalar`, a Python value handed to a compute
function) first asks whether the value is a pandas object, importing pandas to do so: a third of a
second that `audit import` otherwise never pays. The importers and the evidence table build their
literal arrays (a column's distinct values, a vocabulary, a constant) and the row-by-row reader's
columns here instead. numpy and pyarrow
are imported on use, so importing the models stays light.
"""

from __future__ import annotations

from typing import Any, Sequence


def _present(values: Sequence[Any]) -> Any:
    """Per value, whether it is not None."""
    import operator
    from itertools import repeat

    import numpy as np

    return np.fromiter(map(operator.is_not, values, repeat(None)), dtype=np.bool_, count=len(values))


def _validity(values: Sequence[Any]) -> tuple[Any, int]:
    """A validity bitmap (None when every value is present) and the number of nulls."""
    import numpy as np
    import pyarrow as pa

    present = _present(values)
    nulls = len(values) - int(present.sum())
    return (pa.py_buffer(np.packbits(present, bitorder="little")) if nulls else None), nulls


def _texts(values: Sequence[str | bytes | None], arrow_type: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    texts = all(v is None or type(v) is str for v in values)
    filled = [("" if texts else b"") if v is None else v for v in values]
    joined = "".join(filled) if texts else None
    if joined is not None and joined.isascii():  # a character is a byte: one encode, lengths in characters
        data, lengths = joined.encode("ascii"), filled
    else:
        lengths = [v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in filled]
        data = b"".join(lengths)
    large = pa.types.is_large_string(arrow_type) or pa.types.is_large_binary(arrow_type)
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, lengths), dtype=np.int64, count=len(values)), out=offsets[1:])
    if not large and offsets[-1] > np.iinfo(np.int32).max:
        return pa.array(values, type=arrow_type)  # past 32-bit offsets: pyarrow's own conversion decides
    validity, nulls = _validity(values)
    if not large:
        offsets = offsets.astype(np.int32)
    return pa.Array.from_buffers(arrow_type, len(values), [validity, pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=nulls)


def _bools(values: Sequence[bool | None]) -> Any:
    import numpy as np
    import pyarrow as pa

    validity, nulls = _validity(values)
    flags = (np.array(values, dtype=np.bool_) if not nulls and all(type(v) is bool for v in values)
             else np.fromiter((v is True for v in values), dtype=np.bool_, count=len(values)))
    bits = np.packbits(flags, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [validity, pa.py_buffer(bits)], null_count=nulls)


def _integers(values: Sequence[int | None], arrow_type: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    validity, nulls = _validity(values)
    width = {8: np.int8, 16: np.int16, 32: np.int32, 64: np.int64}[arrow_type.bit_width]
    filled = [0 if v is None else v for v in values] if nulls else values
    data = np.array(filled, dtype=width) if len(filled) else np.zeros(0, dtype=width)  # out of range: OverflowError
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


def keys_first_appearance(keys: Any) -> tuple[Any, Any]:
    """Integer keys numbered 0, 1, ... in order of first appearance, and the distinct keys in that
    order (pandas.factorize's codes and uniques), both int64, by Arrow's hash kernel on the keys' own
    buffer."""
    import numpy as np
    import pyarrow as pa

    keys = np.ascontiguousarray(keys, dtype=np.int64)
    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    encoded = pa.Array.from_buffers(pa.int64(), len(keys), [None, pa.py_buffer(keys)]).dictionary_encode()
    return numpy_values(encoded.indices).astype(np.int64), numpy_values(encoded.dictionary).astype(np.int64, copy=False)


def column(values: list[Any], arrow_type: Any, types: set[type] | None = None) -> Any:
    """A whole column of Python str, int or bool values (None: null) as `pa.array(values,
    arrow_type)` builds it (a JSON audit input's columns), through `array`. `types`: the values'
    exact types, if the caller has them. Other types, or a value pyarrow would refuse, go to
    `pa.array`, which then says what is wrong, as before."""
    import pyarrow as pa

    types = set(map(type, values)) if types is None else types
    fits = ((arrow_type == pa.string() and types <= {str, type(None)})
            or (arrow_type == pa.int64() and types <= {int, type(None)})
            or (arrow_type == pa.bool_() and types <= {bool, type(None)}))
    if fits:
        try:
            return array(values, arrow_type)
        except (ValueError, OverflowError):  # a lone surrogate, an integer beyond int64
            pass
    return pa.array(values, type=arrow_type)
