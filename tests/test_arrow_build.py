"""Arrays built from buffers (models/arrow_build.py) equal what pyarrow's own conversion builds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from worldflux_nb.models.arrow_build import array, column, numpy_values, scalar


@pytest.mark.parametrize("values, arrow_type", [
    (["a", None, "é", ""], pa.string()), ([], pa.string()), ([None, None], pa.string()),
    (["a", None], pa.large_string()), ([b"\x00x", None, b""], pa.large_binary()),
    ([True, None, False, True, False, False, True, True, None], pa.bool_()),
    ([1, None, -3, 2**31 - 1], pa.int32()), ([-(2**63), None, 2**63 - 1], pa.int64()),
])
def test_an_array_from_buffers_is_the_one_pyarrow_converts(values, arrow_type):
    built = array(values, arrow_type)
    built.validate(full=True)
    assert built.equals(pa.array(values, arrow_type)) and built.null_count == values.count(None)
    if values:
        assert scalar(values[0], arrow_type) == pa.scalar(values[0], arrow_type)


def test_numpy_values_read_slices_at_any_offset():
    flags = pa.array([True, False, True, True, False, True, False, False, True, True, False])
    numbers = pa.array(range(-5, 20), pa.int64())
    for offset in range(9):
        assert numpy_values(flags.slice(offset, 3)).tolist() == flags.slice(offset, 3).to_pylist()
        assert numpy_values(numbers.slice(offset, 7)).tolist() == numbers.slice(offset, 7).to_pylist()
    assert numpy_values(flags).dtype == np.bool_


@pytest.mark.parametrize("seed", range(6))
def test_a_whole_column_is_the_one_pyarrow_converts(seed):
    """models.arrow_build.column (a JSON audit input's columns, without pyarrow's pandas-loading
    conversion) builds pa.array's array, nulls, empty texts and non-ASCII texts included."""
    import random

    rng = random.Random(seed)
    size = rng.choice([0, 1, 7, 1000])
    null = rng.choice([0.0, 0.1, 1.0])
    texts = ["", "a", "é", "libero-plus", "日本", "x" * 40, "\x00", "2026-01-01T00:00:00Z"]
    pools = {pa.string(): lambda: rng.choice(texts if rng.random() < 0.5 else texts[:2] + texts[3:4]),
             pa.int64(): lambda: rng.choice([0, -1, 2**63 - 1, -(2**63), rng.randrange(10**9)]),
             pa.bool_(): lambda: rng.random() < 0.5}
    for arrow_type, value in pools.items():
        values = [None if rng.random() < null else value() for _ in range(size)]
        built = column(values, arrow_type)
        built.validate(full=True)
        assert built.equals(pa.array(values, arrow_type)) and built.type == arrow_type


@pytest.mark.parametrize("values, arrow_type", [
    ([1, 2**63], pa.int64()), (["a", "\ud800"], pa.string()), (["a", 1], pa.string()), ([True, 1], pa.bool_()),
    ([1, True], pa.int64()), ([1.0, None], pa.int64()), ([b"a"], pa.string()), (["a"], pa.large_string()),
])
def test_what_pyarrow_refuses_or_converts_goes_to_pyarrow(values, arrow_type):
    """Values of another type, or ones pyarrow refuses, give pa.array's array or its error."""
    def outcome(build):
        try:
            return build(values, arrow_type)
        except Exception as exc:  # noqa: BLE001 - the error's type is what is compared
            return type(exc)

    built, converted = outcome(column), outcome(pa.array)
    assert built == converted if isinstance(converted, type) else built.equals(converted)
