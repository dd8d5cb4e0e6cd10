"""Arrays built from buffers (models/arrow_build.py) equal what pyarrow's own conversion builds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from worldflux_nb.models.arrow_build import array, numpy_values, scalar


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
