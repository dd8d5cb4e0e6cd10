"""Small Arrow arrays and scalars built from buffers, never from pyarrow's conversion of Python values.

pyarrow's conversion of a Python value (`pa.array`, `pa.scalar`, a Python value handed to a compute
function) first asks whether the value is a pandas object, importing pandas to do so: a third of a
second that `audit import` otherwise never pays. The importers and the evidence table build their
few literal arrays (a column's distinct values, a vocabulary, a constant) here instead. numpy and
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

    validity, nulls = _validity(values)
    encoded = [b"" if v is None else v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values]
    large = pa.types.is_large_string(arrow_type) or pa.types.is_large_binary(arrow_type)
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64 if large else np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
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


def column(values: list[Any], arrow_type: Any, types: set[type] | None = None) -> Any:
    """A whole column of Python str, int or bool values (None: null) as `pa.array(values,
    arrow_type)` builds it, at about its speed (a JSON audit input's columns): texts joined and
    encoded at once, integers and booleans through numpy. `types`: the values' exact types, if the
    caller has them. Other types, or a value pyarrow would refuse, go to `pa.array`, which then
    says what is wrong, as before."""
    import pyarrow as pa

    types = set(map(type, values)) if types is None else types
    nulls = type(None) in types
    try:
        if pa.types.is_string(arrow_type) and types <= {str, type(None)}:
            built = _text_column(values, nulls)
        elif arrow_type == pa.int64() and types <= {int, type(None)}:
            built = _number_column(values, nulls, arrow_type, np_type="int64")
        elif arrow_type == pa.bool_() and types <= {bool, type(None)}:
            built = _number_column(values, nulls, arrow_type, np_type="bool")
        else:
            built = None
    except (ValueError, OverflowError):  # a lone surrogate, an integer beyond int64
        built = None
    return pa.array(values, type=arrow_type) if built is None else built


def _present(values: list[Any]) -> Any:
    """Per value, whether it is not None."""
    import operator
    from itertools import repeat

    import numpy as np

    return np.fromiter(map(operator.is_not, values, repeat(None)), dtype=np.bool_, count=len(values))


def _text_column(values: list[Any], nulls: bool) -> Any:
    import numpy as np
    import pyarrow as pa

    texts = ["" if v is None else v for v in values] if nulls else values
    joined = "".join(texts)
    if joined.isascii():  # a character is a byte: one encode, lengths in characters
        data, lengths = joined.encode("ascii"), np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    else:
        encoded = [t.encode("utf-8") for t in texts]
        data, lengths = b"".join(encoded), np.fromiter(map(len, encoded), dtype=np.int64, count=len(texts))
    if len(data) > 2**31 - 1:
        return None  # beyond a string array's 32-bit offsets
    offsets = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    present = _present(values) if nulls else None
    return pa.Array.from_buffers(pa.string(), len(texts), [_validity_bits(present), pa.py_buffer(offsets),
                                                            pa.py_buffer(data)],
                                 null_count=0 if present is None else len(texts) - int(present.sum()))


def _number_column(values: list[Any], nulls: bool, arrow_type: Any, np_type: str) -> Any:
    import numpy as np
    import pyarrow as pa

    filled = [0 if v is None else v for v in values] if nulls else values
    data = np.array(filled, dtype=np_type) if len(filled) else np.zeros(0, dtype=np_type)
    if np_type == "bool":
        data = np.packbits(data, bitorder="little")
    present = _present(values) if nulls else None
    return pa.Array.from_buffers(arrow_type, len(values), [_validity_bits(present), pa.py_buffer(data)],
                                 null_count=0 if present is None else len(values) - int(present.sum()))


def _validity_bits(present: Any) -> Any:
    import numpy as np
    import pyarrow as pa

    return None if present is None else pa.py_buffer(np.packbits(present, bitorder="little"))
