"""Tables held as numpy columns, read either as a pandas DataFrame (notebooks, charts, explorer)
or as one dict per row (the packet command, which never loads pandas).

A column is a numpy array; `Nullable` where a value may be missing (pandas' nullable integer or
boolean); or `CodedValues`: numpy codes into a few distinct values (the importers' Arrow codes are
`generic_columns.Coded`), read as a string array, a categorical or objects. Both readings come
from the same columns, so they cannot disagree on a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping

import numpy as np

from worldflux_nb.core.bulk import object_array
from worldflux_nb.core.text import is_missing

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Nullable:
    """Integer or bool values, and per value whether it is missing (numpy.ma would cost its import)."""

    values: np.ndarray
    missing: np.ndarray


@dataclass(frozen=True)
class CodedValues:
    """Per row, a code into `values`; read as pandas' string dtype ("str"), a categorical with
    `values` as its categories ("category"), or the values themselves ("object")."""

    codes: np.ndarray
    values: list[Any]
    kind: Literal["str", "category", "object"] = "str"


def frame(columns: Mapping[str, Any]) -> pd.DataFrame:
    """The columns as a DataFrame: Nullable columns as pandas' nullable integers or booleans, object
    arrays as object columns, CodedValues columns as their kind says."""
    import pandas as pd

    def column(values: Any) -> Any:
        if isinstance(values, CodedValues):
            if values.kind == "category":
                return pd.Categorical.from_codes(values.codes, categories=values.values)
            if values.kind == "str":
                return pd.array(values.values, dtype="str").take(values.codes)
            return pd.Series(object_array(values.values)[values.codes], dtype=object, copy=False)
        if isinstance(values, Nullable):
            nullable = pd.arrays.BooleanArray if values.values.dtype == np.bool_ else pd.arrays.IntegerArray
            return nullable(values.values, values.missing)
        if values.dtype == object:
            return pd.Series(values, dtype=object, copy=False)
        return values

    return pd.DataFrame({name: column(values) for name, values in columns.items()}, copy=False)


def records(columns: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The columns as one dict per row of Python values, None where a value is missing (Nullable,
    or NaN in an object column): `frame(columns).to_dict("records")` with pandas' NA as None."""
    def values(column: Any) -> list[Any]:
        if isinstance(column, CodedValues):
            return object_array(column.values)[column.codes].tolist()
        if isinstance(column, Nullable):
            return [None if gone else v for v, gone in zip(column.values.tolist(), column.missing.tolist())]
        out = column.tolist()
        if column.dtype == object:
            out = [None if is_missing(v) else v for v in out]
        return out

    names = list(columns)
    return [dict(zip(names, row)) for row in zip(*(values(columns[name]) for name in names))]
