"""How a single value reads in text: one spelling of a missing value, and integers kept integers."""

from __future__ import annotations

import math
from typing import Any

# The one way every output writes a value that is not there (None, NaN, pandas' NA).
NO_VALUE = "—"


def is_missing(value: Any) -> bool:
    """True for None, NaN and pandas' NA/NaT (whose truth value itself cannot be asked)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def value_text(value: Any) -> str:
    """A value as text: NO_VALUE when missing, a whole float (e.g. a seed through a float column) as an
    integer, every other value as `str` gives it."""
    if is_missing(value):
        return NO_VALUE
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return value_text(value.item())
    return str(value)
